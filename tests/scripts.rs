//! The step scripts on their own: `snapshots.sh` under every POSIX shell a target may
//! have (dash, busybox ash, bash), changing the set of snapshots only by renames and
//! never touching what it did not make; and the transfer scripts' guards.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The shells a target's login shell may be; `snapshots.sh` must run under each.
const SHELLS: [&[&str]; 3] = [&["dash"], &["busybox", "ash"], &["bash", "--posix"]];

fn script_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name)
}

fn snapshots(shell: &[&str], args: &[&str]) -> Output {
    Command::new(shell[0])
        .args(&shell[1..])
        .arg(script_path("snapshots.sh"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{shell:?}: {e}"))
}

fn script(name: &str, args: &[&str]) -> Output {
    Command::new(script_path(name)).args(args).output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn refused(out: &Output, why: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(why), "expected {why:?} in {stderr:?}");
}

fn inode(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    fs::symlink_metadata(path).unwrap().ino()
}

/// Entry names of a directory, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A task directory with two snapshots (each holding a file) and a precious file beside it.
fn task_dir() -> (tempfile::TempDir, PathBuf, String) {
    let root = tempfile::tempdir().unwrap();
    let task = root.path().join("task");
    for snapshot in ["2026-01-01", "2026-01-02"] {
        fs::create_dir_all(task.join(snapshot)).unwrap();
        fs::write(task.join(snapshot).join("file"), snapshot).unwrap();
    }
    fs::write(root.path().join("precious"), "keep me").unwrap();
    let text = task.display().to_string();
    (root, task, text)
}

#[test]
fn prune_refuses_what_is_not_a_snapshot_and_then_deletes_nothing() {
    for shell in SHELLS {
        let (root, task, dir) = task_dir();
        refused(
            &snapshots(shell, &["prune", &dir, "2026-01-01", "../precious"]),
            "not a YYYY-MM-DD snapshot name",
        );
        refused(
            &snapshots(shell, &["prune", &dir, "2026-01-01", "2026-01-03"]),
            "not a snapshot directory",
        );
        refused(
            &snapshots(shell, &["prune", "task", "2026-01-01"]),
            "must be an absolute path",
        );
        refused(
            &snapshots(shell, &["prune", &format!("{dir}/../task"), "2026-01-01"]),
            "must be a plain path",
        );
        refused(
            &snapshots(shell, &["prune", "/", "2026-01-01"]),
            "must be an absolute path",
        );
        // A name that is a link to somewhere else.
        symlink(root.path(), task.join("2026-01-05")).unwrap();
        refused(
            &snapshots(shell, &["prune", &dir, "2026-01-05"]),
            "not a snapshot directory",
        );
        assert_eq!(
            names(&task),
            ["2026-01-01", "2026-01-02", "2026-01-05"],
            "{shell:?}: nothing was touched"
        );
        assert!(root.path().join("precious").exists());

        ok(&snapshots(shell, &["prune", &dir, "2026-01-01"]));
        assert_eq!(
            names(&task),
            ["2026-01-02", "2026-01-05"],
            "{shell:?}: gone whole, nothing hidden left"
        );
    }
}

#[test]
fn the_listing_is_typed_and_no_name_can_break_it() {
    for shell in SHELLS {
        let (_root, task, dir) = task_dir();
        fs::write(task.join("2026-01-03"), "a file named like a snapshot").unwrap();
        symlink(task.join("2026-01-01"), task.join("2026-01-04")).unwrap();
        fs::create_dir(task.join("junk\n2026-01-05")).unwrap();
        fs::create_dir(task.join(".in-progress")).unwrap();
        let out = snapshots(shell, &["list", &dir]);
        let text = ok(&out);
        let mut records: Vec<&str> = text.split('\0').filter(|r| !r.is_empty()).collect();
        let space = records.pop().unwrap();
        // F FSTYPE BTRFS: the test's directory is not on btrfs, so "-".
        let file_system = records.pop().unwrap();
        let expected = format!("F {} -", file_system_type(&dir));
        assert_eq!(file_system, expected, "{shell:?}: the file system type");
        assert_eq!(
            records.pop(),
            Some("u 0"),
            "{shell:?}: the user it ran as, root"
        );
        records.sort();
        assert_eq!(
            records,
            [
                "d .in-progress",
                "d 2026-01-01",
                "d 2026-01-02",
                "d junk\n2026-01-05",
                "f 2026-01-03",
                "l 2026-01-04",
            ],
            "{shell:?}"
        );
        // s FREE_KIB TOTAL_KIB FREE_INODES TOTAL_INODES.
        let figures: Vec<&str> = space.split(' ').collect();
        assert_eq!(figures[0], "s", "{shell:?}");
        let numbers: Vec<u64> = figures[1..].iter().map(|f| f.parse().unwrap()).collect();
        assert!(
            numbers.len() == 4 && numbers[0] < numbers[1] && numbers[2] < numbers[3],
            "{space}"
        );

        let missing = snapshots(shell, &["list", &format!("{dir}/not-yet")]);
        assert!(
            ok(&missing).starts_with(&format!("u 0\0{expected}\0s ")),
            "a missing directory lists only the user it runs as, the file system and the free space"
        );
    }
}

#[test]
fn prepare_puts_back_a_snapshot_a_killed_swap_had_parked_and_clears_leftovers() {
    for shell in SHELLS {
        let (_root, task, dir) = task_dir();
        // Killed between the two renames of a same-day replacement of 2026-01-02.
        fs::rename(task.join("2026-01-02"), task.join(".replaced-2026-01-02")).unwrap();
        fs::create_dir(task.join(".in-progress")).unwrap();
        // Killed while deleting 2026-01-01's predecessor.
        fs::create_dir_all(task.join(".deleting-77-1-2025-12-31/deep")).unwrap();
        // Killed after a completed swap of 2026-01-01.
        fs::create_dir(task.join(".replaced-2026-01-01")).unwrap();
        fs::write(task.join("notes.txt"), "foreign").unwrap();

        ok(&snapshots(
            shell,
            &["prepare", &dir, "fresh", "2026-01-01", "2026-01-02"],
        ));
        assert_eq!(
            names(&task),
            ["2026-01-01", "2026-01-02", "notes.txt"],
            "{shell:?}"
        );
        assert_eq!(
            fs::read_to_string(task.join("2026-01-02/file")).unwrap(),
            "2026-01-02",
            "{shell:?}: the old snapshot is back"
        );
        assert_eq!(
            fs::read_to_string(task.join("2026-01-01/file")).unwrap(),
            "2026-01-01",
            "{shell:?}: the complete one stays"
        );

        fs::create_dir(task.join(".in-progress")).unwrap();
        ok(&snapshots(shell, &["prepare", &dir, "resume"]));
        assert!(task.join(".in-progress").is_dir(), "resume keeps it");
    }
}

#[test]
fn prepare_never_follows_a_symlink_and_never_creates_a_missing_disk() {
    for shell in SHELLS {
        let (root, task, dir) = task_dir();
        let victim = root.path().join("victim");
        fs::create_dir(&victim).unwrap();
        fs::write(victim.join("precious"), "x").unwrap();
        symlink(&victim, task.join(".in-progress")).unwrap();
        refused(
            &snapshots(shell, &["prepare", &dir, "fresh"]),
            ".in-progress is a symlink, not a directory backup-server made",
        );
        assert!(victim.join("precious").exists(), "{shell:?}");
        assert!(task.join(".in-progress").is_symlink());

        let linked = root.path().join("linked-task");
        symlink(&task, &linked).unwrap();
        refused(
            &snapshots(shell, &["prepare", &linked.display().to_string(), "fresh"]),
            "it is a symlink; a task directory must be a real directory",
        );

        let unmounted = root.path().join("unmounted/task").display().to_string();
        let out = snapshots(shell, &["prepare", &unmounted, "fresh"]);
        assert_eq!(out.status.code(), Some(3), "{shell:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("is the disk mounted?"));
        assert!(!root.path().join("unmounted").exists());

        let new = root.path().join("new-task");
        ok(&snapshots(
            shell,
            &["prepare", &new.display().to_string(), "fresh"],
        ));
        assert!(new.is_dir());
    }
}

#[test]
fn commit_adds_or_swaps_in_and_refuses_what_is_in_the_way() {
    for shell in SHELLS {
        let (_root, task, dir) = task_dir();
        let in_progress = |text: &str| {
            fs::create_dir(task.join(".in-progress")).unwrap();
            fs::write(task.join(".in-progress/file"), text).unwrap();
        };
        in_progress("new day");
        ok(&snapshots(shell, &["commit", &dir, "2026-01-03", "new"]));
        in_progress("again");
        refused(
            &snapshots(shell, &["commit", &dir, "2026-01-03", "new"]),
            "exists already",
        );
        ok(&snapshots(
            shell,
            &["commit", &dir, "2026-01-03", "replace"],
        ));
        assert_eq!(
            fs::read_to_string(task.join("2026-01-03/file")).unwrap(),
            "again"
        );
        fs::write(task.join("2026-01-04"), "a file").unwrap();
        in_progress("blocked");
        refused(
            &snapshots(shell, &["commit", &dir, "2026-01-04", "new"]),
            "2026-01-04 is not a snapshot directory: it is a file",
        );
        assert_eq!(
            names(&task),
            [
                ".in-progress",
                "2026-01-01",
                "2026-01-02",
                "2026-01-03",
                "2026-01-04"
            ],
            "{shell:?}: no hidden leftover but the refused .in-progress"
        );
    }
}

#[test]
fn the_transfer_scripts_refuse_bad_names_options_and_symlinks() {
    let (root, task, dir) = task_dir();
    let excludes = root.path().join("excludes").display().to_string();
    fs::write(&excludes, "").unwrap();
    // backup.sh TASK_DIR SOURCE EXCLUDES_FILE LINK_DEST [OPTION...]
    refused(
        &script("backup.sh", &[&dir, "/src", &excludes, "../x"]),
        "not a YYYY-MM-DD",
    );
    refused(
        &script(
            "backup.sh",
            &[&dir, "/src", &excludes, "", "--delete-before"],
        ),
        "refusing rsync option '--delete-before'",
    );
    // An --rsh of any other shape could run any program.
    refused(
        &script(
            "backup.sh",
            &[&dir, "host:/src", &excludes, "", "--rsh=sh -c 'rm -rf /'"],
        ),
        "refusing rsync option '--rsh=sh -c 'rm -rf /''",
    );
    symlink(root.path(), task.join(".in-progress")).unwrap();
    refused(
        &script("backup.sh", &[&dir, "/src", &excludes, ""]),
        ".in-progress is a symlink",
    );
    // sync_backup_to_remote.sh HOST TARGET_DIR SNAPSHOT LINK_DEST [OPTION...]
    let snapshot = format!("{dir}/2026-01-01");
    refused(
        &script(
            "sync_backup_to_remote.sh",
            &["user@host", &dir, &snapshot, "", "-a"],
        ),
        "a remote HOST needs --rsh=ssh -F SSH_CONFIG",
    );
    refused(
        &script(
            "sync_backup_to_remote.sh",
            &["", &dir, &format!("{dir}/notes"), ""],
        ),
        "not a YYYY-MM-DD",
    );
    assert!(task.join("2026-01-01").exists(), "nothing was touched");
}

#[test]
fn a_link_farm_is_made_only_where_nothing_is_and_replayed_only_into_itself() {
    let (root, task, dir) = task_dir();
    let lists = root.path().join("list").display().to_string();
    fs::write(&lists, "file\0").unwrap();
    // snapshots.sh farm DIR NAME
    for shell in [&["dash"][..], &["busybox", "ash"]] {
        refused(
            &snapshots(shell, &["farm", &dir, "notes"]),
            "not a YYYY-MM-DD",
        );
        refused(
            &snapshots(shell, &["farm", &dir, "2026-01-09"]),
            "not a snapshot directory",
        );
        ok(&snapshots(shell, &["farm", &dir, "2026-01-01"]));
        assert_eq!(
            inode(&task.join(".in-progress/file")),
            inode(&task.join("2026-01-01/file")),
            "{shell:?}: every file is a hard link to the snapshot's"
        );
        refused(
            &snapshots(shell, &["farm", &dir, "2026-01-02"]),
            ".in-progress exists already",
        );
        fs::remove_dir_all(task.join(".in-progress")).unwrap();
    }
    // busybox's cp -al drops directories' xattrs and ACLs: a farm is refused there.
    let busybox_cp = root.path().join("busybox-bin");
    fs::create_dir_all(&busybox_cp).unwrap();
    symlink("/bin/busybox", busybox_cp.join("cp")).unwrap();
    let out = Command::new("dash")
        .arg(script_path("snapshots.sh"))
        .args(["farm", &dir, "2026-01-01"])
        .env("PATH", format!("{}:/usr/bin:/bin", busybox_cp.display()))
        .output()
        .unwrap();
    refused(&out, "cp here is not GNU cp");
    assert!(!task.join(".in-progress").exists());
    // replay.sh HOST TASK_DIR SOURCE BASE BREAKS LIST [OPTION...]
    let source = root.path().display().to_string();
    refused(
        &script("replay.sh", &["", &dir, &source, "../x", &lists, &lists]),
        "not a YYYY-MM-DD",
    );
    refused(
        &script(
            "replay.sh",
            &[
                "",
                &dir,
                &source,
                "2026-01-01",
                &lists,
                &lists,
                "--delete-before",
            ],
        ),
        "refusing rsync option '--delete-before'",
    );
    refused(
        &script(
            "replay.sh",
            &[
                "user@host",
                &dir,
                &source,
                "2026-01-01",
                &lists,
                &lists,
                "-a",
            ],
        ),
        "a remote HOST needs --rsh=ssh -F SSH_CONFIG",
    );
    // Removals through a symlink would reach what it names (here: `precious`' directory).
    symlink(root.path(), task.join(".in-progress")).unwrap();
    fs::write(&lists, "precious\0").unwrap();
    refused(
        &script(
            "replay.sh",
            &["", &dir, &source, "2026-01-01", &lists, &lists, "-a"],
        ),
        ".in-progress is not a link farm",
    );
    assert!(root.path().join("precious").exists(), "nothing was removed");
}

#[test]
fn lookup_walks_into_a_snapshot_part_by_part_and_never_through_a_symlink() {
    for shell in SHELLS {
        let (root, task, dir) = task_dir();
        let snapshot = task.join("2026-01-02");
        fs::create_dir_all(snapshot.join("a dir/sub")).unwrap();
        symlink(root.path(), snapshot.join("a dir/out")).unwrap();
        let kinds = |parts: &[&str]| {
            let mut args = vec!["lookup", &dir, "2026-01-02"];
            args.extend(parts);
            ok(&snapshots(shell, &args)).replace('\0', " ")
        };
        assert_eq!(kinds(&[]), "", "{shell:?}: the snapshot itself");
        assert_eq!(kinds(&["file"]), "f ", "{shell:?}");
        assert_eq!(kinds(&["a dir", "sub"]), "d d ", "{shell:?}");
        assert_eq!(
            kinds(&["a dir", "out", "precious"]),
            "d l ",
            "{shell:?}: it stops at the symlink"
        );
        assert_eq!(kinds(&["a dir", "none", "x"]), "d - ", "{shell:?}");
        refused(
            &snapshots(shell, &["lookup", &dir, "2026-01-02", "a dir/sub"]),
            "not a single name",
        );
        refused(
            &snapshots(shell, &["lookup", &dir, "2026-01-02", ".."]),
            "not a single name",
        );
        refused(
            &snapshots(shell, &["lookup", &dir, "2026-01-03"]),
            "not a snapshot directory",
        );
    }
}

#[test]
fn identify_gives_one_real_path_for_every_spelling_of_a_directory() {
    for shell in SHELLS {
        let root = tempfile::tempdir().unwrap();
        let real = fs::canonicalize(root.path()).unwrap().join("real dir");
        fs::create_dir_all(&real).unwrap();
        let link = root.path().join("link");
        symlink(&real, &link).unwrap();
        let identify =
            |dir: &Path| ok(&snapshots(shell, &["identify", &dir.display().to_string()]));
        let expected = format!("{}/data\0", real.display());
        assert_eq!(
            identify(&real.join("data")),
            expected,
            "{shell:?}: not made yet"
        );
        assert_eq!(
            identify(&link.join("data")),
            expected,
            "{shell:?}: through the symlink"
        );
        fs::create_dir(real.join("data")).unwrap();
        assert_eq!(
            identify(&link.join("data")),
            expected,
            "{shell:?}: once it exists"
        );
        refused(
            &snapshots(shell, &["identify", "relative/dir"]),
            "absolute path",
        );
    }
}

/// What `stat -f` calls DIR's file system, the name the listing reports.
fn file_system_type(dir: &str) -> String {
    let out = std::process::Command::new("stat")
        .args(["-f", "-c", "%T", dir])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
