//! `backup-server restore`, against real rsync and a real sshd: what comes back is
//! what was backed up, byte for byte and by stat (owners, modes, times, hard links,
//! symlinks, xattrs), from the backup disk and from the target; and what must not
//! happen does not (overwriting, writing into the backups, leaving the snapshot
//! through a symlink).

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

use support::sshd::Sshd;
use support::sshd::chown_tree;
use support::targets::world_syncing_over_ssh;
use support::{World, show, write};

/// Everything `stat` and the contents say about each entry under `root` (and the
/// root itself, as `.`), with the hard links inside the tree shown as groups: two
/// trees with equal manifests are the same to anyone reading them.
fn stat_manifest(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut inodes: BTreeMap<u64, Vec<PathBuf>> = BTreeMap::new();
    let mut paths = vec![PathBuf::from(".")];
    let mut i = 0;
    while i < paths.len() {
        let relative = paths[i].clone();
        i += 1;
        let path = if relative == Path::new(".") {
            root.to_path_buf()
        } else {
            root.join(&relative)
        };
        let meta = fs::symlink_metadata(&path).unwrap();
        let kind = if meta.is_dir() {
            let mut names: Vec<_> = fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            names.sort();
            paths.extend(names.into_iter().map(|n| relative.join(n)));
            "dir".to_string()
        } else if meta.file_type().is_symlink() {
            format!("symlink -> {}", fs::read_link(&path).unwrap().display())
        } else {
            inodes.entry(meta.ino()).or_default().push(relative.clone());
            let bytes = fs::read(&path).unwrap();
            format!("file {} bytes {:?}", bytes.len(), bytes)
        };
        let xattrs = Command::new("getfattr")
            .args([
                "--no-dereference",
                "--dump",
                "--match=-",
                "--absolute-names",
            ])
            .arg(&path)
            .output()
            .unwrap();
        let xattrs: Vec<String> = String::from_utf8_lossy(&xattrs.stdout)
            .lines()
            .filter(|l| l.contains('='))
            .map(str::to_string)
            .collect();
        let mtime = if meta.file_type().is_symlink() {
            0 // rsync sets a symlink's time where it can; its own time is not compared
        } else {
            meta.mtime() * 1_000_000_000 + meta.mtime_nsec()
        };
        out.insert(
            relative,
            format!(
                "{kind}, mode {:o}, owner {}:{}, mtime {mtime}, xattrs {xattrs:?}",
                meta.mode() & 0o7777,
                meta.uid(),
                meta.gid()
            ),
        );
    }
    for names in inodes.values().filter(|names| names.len() > 1) {
        for name in names {
            let entry = out.get_mut(name).unwrap();
            entry.push_str(&format!(", one inode with {}", names[0].display()));
        }
    }
    out
}

fn assert_same_tree(expected: &Path, actual: &Path) {
    let (expected_manifest, actual_manifest) = (stat_manifest(expected), stat_manifest(actual));
    let diff = support::tree::differences(&expected_manifest, &actual_manifest, 20);
    assert!(
        diff.is_empty(),
        "{} differs from {}:\n{}",
        actual.display(),
        expected.display(),
        diff.join("\n")
    );
}

fn run(command: &mut Command) {
    let out = command.output().unwrap();
    assert!(out.status.success(), "{command:?}: {}", show(&out));
}

/// A project tree with everything a restore must give back: other owners, setuid,
/// setgid and sticky bits, a private file, hard links, symlinks (relative, absolute,
/// dangling), an empty directory, an xattr and an ACL.
fn project(source: &Path) -> PathBuf {
    let project = source.join("project");
    write(&project.join("docs/report.txt"), "quarterly numbers\n");
    write(&project.join("docs/notes.md"), "# notes\n");
    write(&project.join("bin/tool"), "#!/bin/sh\necho tool\n");
    write(&project.join("secret/key"), "hunter2\n");
    fs::create_dir_all(project.join("shared/empty")).unwrap();
    fs::hard_link(
        project.join("docs/report.txt"),
        project.join("shared/report-link.txt"),
    )
    .unwrap();
    symlink("../docs/notes.md", project.join("shared/notes")).unwrap();
    symlink("/etc/hostname", project.join("shared/absolute")).unwrap();
    symlink("nowhere", project.join("shared/dangling")).unwrap();
    chown_tree(&project, 1234, 5678);
    chown_tree(&project.join("secret"), 4321, 8765);
    for (path, mode) in [
        ("bin/tool", 0o4755),
        ("secret", 0o2750),
        ("secret/key", 0o600),
        ("shared", 0o1777),
    ] {
        fs::set_permissions(
            project.join(path),
            std::os::unix::fs::PermissionsExt::from_mode(mode),
        )
        .unwrap();
    }
    run(Command::new("setfattr")
        .args(["-n", "user.origin", "-v", "scanner"])
        .arg(project.join("docs/report.txt")));
    run(Command::new("setfacl")
        .args(["-m", "u:4321:r"])
        .arg(project.join("docs/notes.md")));
    // Times of a year ago, to the nanosecond, so a restore that lost them shows.
    run(Command::new("touch")
        .args(["-h", "-d", "2025-03-01 10:00:00.123456789"])
        .arg(project.join("docs/notes.md")));
    project
}

/// A world backed up once to an SSH target as root (which keeps owners), with the
/// project in its source.
fn backed_up() -> (World, Sshd, PathBuf) {
    let (world, sshd) = world_syncing_over_ssh();
    let project = project(&world.source);
    world.run_expecting("2026-03-01", 0);
    (world, sshd, project)
}

#[test]
fn a_file_and_a_tree_come_back_as_they_were_from_the_backup_disk_and_from_the_target() {
    let (world, _sshd, project) = backed_up();
    // The source moves on; the snapshot of the 1st is what comes back.
    write(&project.join("docs/report.txt"), "rewritten later\n");
    let original = world.root.path().join("original");
    run(Command::new("cp")
        .args(["-a", "--preserve=all"])
        .arg(world.local_task().join("2026-03-01/project"))
        .arg(&original));
    assert_same_tree(&world.local_task().join("2026-03-01/project"), &original);

    for from in ["local", "remote"] {
        let to = world.root.path().join(format!("restored-{from}"));
        let to_arg = to.display().to_string();
        // The whole tree, named as it was in the source.
        let source_path = format!("{}/project", world.source.display());
        let out = world.cli_expecting(
            "2026-03-02",
            &[
                "restore",
                "data",
                &source_path,
                "--from",
                from,
                "--to",
                &to_arg,
            ],
            0,
        );
        assert!(
            out.ends_with(&format!("into {}.\n", to.join("project").display())),
            "{out}"
        );
        assert_same_tree(&original, &to.join("project"));

        // One file, named inside the snapshot, by its date.
        let file_to = to.join("one-file");
        let out = world.cli_expecting(
            "2026-03-02",
            &[
                "restore",
                "data",
                "project/secret/key",
                "--date",
                "2026-03-01",
                "--from",
                from,
                "--to",
                &file_to.display().to_string(),
            ],
            0,
        );
        assert!(out.contains("Restored 1 file (8 bytes)"), "{out}");
        assert_eq!(
            stat_manifest(&file_to.join("key"))[Path::new(".")],
            stat_manifest(&original.join("secret/key"))[Path::new(".")]
        );
    }
}

#[test]
fn a_restore_that_would_overwrite_is_refused_and_names_what_it_would_replace() {
    let (world, _sshd, _project) = backed_up();
    let to = world.root.path().join("place");
    write(&to.join("docs/report.txt"), "my newer edit\n");
    write(&to.join("docs/mine.txt"), "not in the snapshot\n");
    let to_arg = to.display().to_string();
    let before = stat_manifest(&to);

    let out = world.cli(
        "2026-03-01",
        &["restore", "data", "project/docs", "--to", &to_arg],
    );
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert_eq!(
        support::stderr(&out),
        format!(
            "error: refusing to overwrite: 1 entry already in {to_arg} would be replaced or changed \
             (nothing was written; add --overwrite to replace them, or choose another --to):\n\
             \x20 {to_arg}/docs/report.txt\n"
        )
    );
    assert_eq!(stat_manifest(&to), before, "nothing was written");

    let out = world.cli_expecting(
        "2026-03-01",
        &[
            "restore",
            "data",
            "project/docs",
            "--to",
            &to_arg,
            "--overwrite",
        ],
        0,
    );
    assert!(
        out.contains(&format!(
            "It replaces or changes 1 entry already there (--overwrite):\n  {to_arg}/docs/report.txt\n"
        )),
        "{out}"
    );
    assert_eq!(
        fs::read_to_string(to.join("docs/report.txt")).unwrap(),
        "quarterly numbers\n"
    );
    assert_eq!(
        fs::read_to_string(to.join("docs/mine.txt")).unwrap(),
        "not in the snapshot\n",
        "a restore deletes nothing"
    );
}

#[test]
fn it_says_what_it_will_do_and_a_dry_run_stops_there() {
    let (world, _sshd, _project) = backed_up();
    let cwd = world.root.path().join("cwd");
    fs::create_dir(&cwd).unwrap();
    // Run from `cwd`, where the default destination is made.
    let restore = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_backup-server"))
            .current_dir(&cwd)
            .arg("--config")
            .arg(world.config_path())
            .arg("--state-dir")
            .arg(&world.state)
            .args(["--today", "2026-03-05", "restore", "data", "project/docs"])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = restore(&["--dry-run"]);
    assert!(out.status.success(), "{}", show(&out));
    let snapshot = world.local_task().join("2026-03-01/project/docs");
    let restored = cwd.join("restored-data-2026-03-01/docs");
    let plan = format!(
        "Restoring project/docs from the snapshot 2026-03-01 of task data on the backup disk:\n  {}\n\
         into {}, with owners, modes, times, hard links, ACLs and xattrs.\n\
         It holds 3 entries, 26 bytes in all.\n",
        snapshot.display(),
        restored.display()
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{plan}Dry run: nothing was written.\n")
    );
    assert!(support::entries(&cwd).is_empty(), "nothing was written");

    // Without --dry-run, it says the same, then does it, into a new directory.
    let out = restore(&[]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "{plan}Restored 2 files (26 bytes) into {}.\n",
            restored.display()
        )
    );
    assert_same_tree(&snapshot, &restored);
}

#[test]
fn it_never_writes_into_the_backups_nor_leaves_the_snapshot_through_a_symlink() {
    let (world, _sshd, _project) = backed_up();
    let backups_before = support::tree::fingerprint(&world.local);
    let inside = world.local.join("data/restored");
    let out = world.cli(
        "2026-03-01",
        &[
            "restore",
            "data",
            "project",
            "--to",
            &inside.display().to_string(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert_eq!(
        support::stderr(&out),
        format!(
            "error: refusing to restore into {}: it is inside the backup directory {}, and a \
             restore never writes into a snapshot or beside one\n",
            inside.display(),
            world.local.display()
        )
    );

    // project/shared/absolute -> /etc/hostname: the restore would read the host's.
    let out = world.cli(
        "2026-03-01",
        &[
            "restore",
            "data",
            "project/shared/absolute/x",
            "--to",
            "/tmp",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert_eq!(
        support::stderr(&out),
        "error: project/shared/absolute is a symlink in the snapshot 2026-03-01: a restore never \
         follows one out of the snapshot; restore project/shared/absolute itself, or the path it \
         points to\n"
    );
    assert_eq!(support::tree::fingerprint(&world.local), backups_before);
}

#[test]
fn bad_requests_are_refused_naming_what_is_wrong() {
    let (world, _sshd, _project) = backed_up();
    let source = world.source.display().to_string();
    let refused = |args: &[&str], expected: String| {
        let out = world.cli("2026-03-01", args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", show(&out));
        assert_eq!(support::stderr(&out), expected, "{args:?}");
    };
    refused(
        &["restore", "nope", "x"],
        format!(
            "error: there is no task \"nope\" in {}; its tasks are data\n",
            world.config_path().display()
        ),
    );
    refused(
        &["restore", "data", "project", "--from", "usb"],
        "error: --from usb: task data has no such copy; it has local, remote\n".into(),
    );
    refused(
        &["restore", "data", "project", "--date", "2026-02-30"],
        "error: --date \"2026-02-30\" is not a date: give YYYY-MM-DD or latest\n".into(),
    );
    refused(
        &["restore", "data", "project", "--date", "2026-02-28"],
        format!(
            "error: there is no snapshot 2026-02-28 of task data on the backup disk ({}): it \
             holds 1 snapshot from 2026-03-01 to 2026-03-01 (see backup-server list data)\n",
            world.local_task().display()
        ),
    );
    refused(
        &["restore", "data", "/etc/passwd"],
        format!(
            "error: /etc/passwd is not inside the source of task data ({source}): give a path \
             inside the snapshot, or one under {source}\n"
        ),
    );
    refused(
        &["restore", "data", "project/../../etc"],
        "error: project/../../etc: '..' may not step out of the snapshot\n".into(),
    );
    refused(
        &["restore", "data", "project/docs/missing.txt"],
        format!(
            "error: there is no project/docs/missing.txt in the snapshot 2026-03-01 on the backup \
             disk (see its contents at {}/2026-03-01)\n",
            world.local_task().display()
        ),
    );
}

#[test]
fn from_a_target_whose_user_is_not_root_the_owners_come_back_too() {
    let mut world = World::new();
    let project = project(&world.source);
    let sshd = Sshd::start(&world.root.path().join("sshd"));
    let user = support::sshd::target_user(support::sshd::LoginShell::Dash);
    support::sshd::use_ssh_target(&mut world, &sshd, &user);
    world.run_expecting("2026-03-01", 0);
    // There, every file is the target user's; rsync keeps the real owners beside.
    let on_target = world.remote_task().join("2026-03-01/project/secret/key");
    assert_eq!(fs::metadata(&on_target).unwrap().uid(), user.uid);

    let to = world.root.path().join("back");
    world.cli_expecting(
        "2026-03-01",
        &[
            "restore",
            "data",
            "project",
            "--from",
            "remote",
            "--to",
            &to.display().to_string(),
        ],
        0,
    );
    assert_same_tree(&project, &to.join("project"));
}
