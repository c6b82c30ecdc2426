//! A snapshot is faithful: every file type, permission bit, owner, ACL and xattr a
//! Linux file system holds comes back from the backup disk, from a second disk and
//! from an SSH target whose user is not root; what a file system cannot hold is said
//! once per kind.

mod support;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use support::sshd::{self, LoginShell, Sshd};
use support::{World, show, stderr, write};

/// Runs `program args...` and insists it succeeds.
fn sh(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(out.status.success(), "{program} {args:?}: {}", show(&out));
}

/// A source that looks like a server's: other owners, setuid and sticky bits, a root-only
/// file, hard links, a symlink, a FIFO, a device node, ACLs, user and security xattrs,
/// and a sparse file.
fn server_like(source: &Path) {
    let path = |p: &str| source.join(p).display().to_string();
    write(&source.join("home/alice/thesis.tex"), "chapter one\n");
    write(&source.join("home/alice/.ssh/id_ed25519"), "secret key\n");
    sh("chown", &["-R", "1234:5678", &path("home/alice")]);
    sh("chmod", &["0700", &path("home/alice/.ssh")]);
    sh("chmod", &["0600", &path("home/alice/.ssh/id_ed25519")]);
    write(&source.join("srv/tools/ping"), "#!/bin/sh\n");
    sh("chmod", &["4755", &path("srv/tools/ping")]);
    sh(
        "setfattr",
        &[
            "-n",
            "security.capability",
            "-v",
            "0sAQAAAgAgAAAAAAAAAAAAAAAAAAA=",
            &path("srv/tools/ping"),
        ],
    );
    fs::create_dir_all(source.join("srv/shared")).unwrap();
    sh("chmod", &["3777", &path("srv/shared")]);
    sh("chown", &["0:5678", &path("srv/shared")]);
    write(&source.join("srv/shared/notes.md"), "shared notes\n");
    sh(
        "setfacl",
        &["-m", "u:1234:rw,g:5678:r", &path("srv/shared/notes.md")],
    );
    sh("setfacl", &["-d", "-m", "u:1234:rwx", &path("srv/shared")]);
    sh(
        "setfattr",
        &[
            "-n",
            "user.origin",
            "-v",
            "camera",
            &path("home/alice/thesis.tex"),
        ],
    );
    fs::hard_link(
        source.join("home/alice/thesis.tex"),
        source.join("srv/thesis-link.tex"),
    )
    .unwrap();
    std::os::unix::fs::symlink("../home/alice/thesis.tex", source.join("srv/latest")).unwrap();
    sh("mkfifo", &[&path("srv/queue")]);
    fs::create_dir_all(source.join("srv/chroot/dev")).unwrap();
    sh("mknod", &[&path("srv/chroot/dev/null"), "c", "1", "3"]);
    write(&source.join("var/lib/disk.img"), "");
    sh("truncate", &["-s", "64M", &path("var/lib/disk.img")]);
    sh(
        "sh",
        &["-c", &format!("printf end >> {}", path("var/lib/disk.img"))],
    );
}

/// The differences between two trees, as tests/twin/manifest.py compares them (types,
/// modes, owners, sizes, times, contents, links, devices, every xattr, hard links).
fn differences(source: &Path, copy: &Path) -> String {
    let out = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/twin/manifest.py"))
        .arg(source)
        .arg(copy)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn allocated(path: &Path) -> u64 {
    fs::metadata(path).unwrap().blocks() * 512
}

#[test]
fn every_kind_of_file_comes_back_from_each_disk_and_from_a_target_whose_user_is_not_root() {
    let mut world = World::new();
    server_like(&world.source);
    let sshd = Sshd::start(&world.root.path().join("sshd"));
    let user = sshd::target_user(LoginShell::Dash);
    sshd::use_ssh_target(&mut world, &sshd, &user);
    let second_disk = world.root.path().join("usb");
    fs::create_dir(&second_disk).unwrap();
    world.extra.push_str(&format!(
        "targets:\n  - {{name: usb, location: {}}}\n",
        second_disk.display()
    ));

    let out = world.run_expecting("2026-03-01", 0);
    assert!(!stderr(&out).contains("warning"), "{}", show(&out));

    let day = "2026-03-01";
    for copy in [
        world.local_task().join(day),
        second_disk.join("data").join(day),
    ] {
        assert_eq!(
            differences(&world.source, &copy),
            "{}",
            "{}",
            copy.display()
        );
        assert!(
            allocated(&copy.join("var/lib/disk.img")) < 1 << 20,
            "the sparse file stays sparse"
        );
    }
    // The target's user cannot own files as others: rsync keeps owners, devices and
    // security xattrs in its fake-super xattrs there, and a restore gives them back.
    let on_target = world.remote_task().join(day);
    assert_eq!(
        fs::metadata(on_target.join("home/alice/thesis.tex"))
            .unwrap()
            .uid(),
        user.uid
    );
    assert!(
        world
            .step_log("sync")
            .contains("kept in rsync's fake-super xattrs there")
    );
    let restored = world.root.path().join("restored");
    let ssh = format!("ssh -F {}", world.state.join("ssh_config").display());
    sh(
        "rsync",
        &[
            "-aHAXS",
            "--numeric-ids",
            "--remote-option=--fake-super",
            "--rsh",
            &ssh,
            &format!("{}@backuphost:{}/", user.name, on_target.display()),
            &format!("{}/", restored.display()),
        ],
    );
    assert_eq!(differences(&world.source, &restored), "{}");
}

#[test]
fn what_a_file_system_cannot_hold_is_named_once_per_kind() {
    let mut world = World::new();
    server_like(&world.source);
    // ramfs holds neither ACLs nor xattrs.
    let ramfs = world.root.path().join("ramfs");
    fs::create_dir(&ramfs).unwrap();
    sh(
        "mount",
        &["-t", "ramfs", "ramfs", &ramfs.display().to_string()],
    );
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(ramfs.clone());
    world.remote_spec = ramfs.display().to_string();

    let out = world.run_expecting("2026-03-01", 0);
    let text = stderr(&out);
    let warned: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("warning: task data: sync"))
        .collect();
    assert_eq!(warned.len(), 1, "{}", show(&out));
    let ramfs_data = format!("{}/data", ramfs.display());
    for expected in [
        format!(
            "ACLs of 2 files were not kept: the file system at {ramfs_data} does not hold them; first: rsync: [generator] set_acl: "
        ),
        format!(
            "extended attributes of 2 files were not kept: the file system at {ramfs_data} does not hold them; first: rsync: [receiver] rsync_xal_set: "
        ),
    ] {
        assert!(
            warned[0].contains(&expected),
            "{expected}\nin\n{}",
            warned[0]
        );
    }
    assert_eq!(
        differences(&world.source, &world.local_task().join("2026-03-01")),
        "{}",
        "the backup disk keeps everything"
    );
}

#[test]
fn one_file_system_leaves_a_mount_inside_the_source_out() {
    let mut world = World::new();
    let mounted = world.source.join("mnt/other");
    fs::create_dir_all(&mounted).unwrap();
    sh(
        "mount",
        &["-t", "tmpfs", "tmpfs", &mounted.display().to_string()],
    );
    write(&mounted.join("elsewhere.txt"), "on another file system\n");
    world.task_extra = "    one_file_system: true\n".into();
    let out = world.run("2026-03-01");
    let _ = Command::new("umount").arg(&mounted).status();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let snapshot = world.local_task().join("2026-03-01");
    assert!(snapshot.join("docs/report.txt").exists());
    assert!(
        snapshot.join("mnt/other").is_dir(),
        "the mount point itself is kept"
    );
    assert!(!snapshot.join("mnt/other/elsewhere.txt").exists());
}
