//! When something is wrong: the right step fails, the rest are skipped, the remote is
//! left alone, and the run is recorded.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::nobody::give_to_nobody;
use support::{World, entries, path_with, show, slow_rsync, stderr, write};

#[test]
fn a_missing_source_fails_the_backup_skips_the_rest_and_is_recorded() {
    let world = World::new();
    world.run_expecting("2026-03-01", 0);
    fs::remove_dir_all(&world.source).unwrap();
    let out = world.run_expecting("2026-03-02", 1);

    assert!(
        stderr(&out).contains("task data: backup FAILED"),
        "{}",
        show(&out)
    );
    assert!(stderr(&out).contains("does not exist"), "{}", show(&out));
    assert!(
        stderr(&out).contains("skipped retention and sync"),
        "{}",
        show(&out)
    );
    assert_eq!(entries(&world.local_task()), ["2026-03-01"]);
    assert_eq!(entries(&world.remote_task()), ["2026-03-01"]);
    assert_eq!(&world.db_steps()[3..], ["backup:0:0"]);
    assert!(
        world
            .step_log("backup")
            .contains("(dir_source) does not exist")
    );
}

#[test]
fn a_missing_backup_disk_fails_the_backup_and_creates_nothing() {
    let world = World::new();
    fs::remove_dir_all(&world.local).unwrap();
    let out = world.run_expecting("2026-03-01", 1);

    assert!(
        stderr(&out).contains("is the backup disk mounted?"),
        "{}",
        show(&out)
    );
    assert!(
        !world.local.exists(),
        "the missing disk's mount point must not be created"
    );
    assert!(entries(&world.remote).is_empty());
    assert_eq!(world.db_steps(), ["backup:0:0"]);
}

#[test]
fn a_backup_dir_that_is_not_a_mount_point_fails_when_one_is_required() {
    let mut world = World::new();
    world.extra = "require_mountpoint: true\n".into();
    let out = world.run_expecting("2026-03-01", 1);

    assert!(
        stderr(&out).contains("is not a mount point"),
        "{}",
        show(&out)
    );
    assert!(entries(&world.local).is_empty());
    assert!(entries(&world.remote).is_empty());
    assert_eq!(world.db_steps(), ["backup:0:0"]);
}

/// Runs the world's `run` in a mount namespace of its own, after `mount` (a shell
/// command, `$DIR` the backup directory) has changed what is mounted there.
fn run_with_mount(world: &World, mount: &str) -> std::process::Output {
    let command = world.command("2026-03-01");
    let argv: Vec<String> = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy()))
        .collect();
    Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "DIR='{}'; {mount} && exec {}",
            world.local.display(),
            argv.join(" ")
        ))
        .output()
        .unwrap()
}

#[test]
fn a_backup_dir_bound_onto_itself_as_systemd_does_is_not_taken_for_a_mounted_disk() {
    let mut world = World::new();
    world.extra = "require_mountpoint: true\n".into();
    // What ProtectSystem=strict with ReadWritePaths= makes of an empty mount point.
    let out = run_with_mount(&world, "mount --bind \"$DIR\" \"$DIR\"");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        stderr(&out).contains("is not a mount point"),
        "{}",
        show(&out)
    );
    assert!(entries(&world.local).is_empty());
    // A disk mounted there (a tmpfs, in its namespace) is one.
    let out = run_with_mount(&world, "mount -t tmpfs tmpfs \"$DIR\"");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

#[test]
fn an_unreachable_remote_fails_the_sync_after_a_good_local_backup() {
    let mut world = World::new();
    // Nothing listens on this port: bind it, note it, let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ssh_dir = world.root.path().join("ssh");
    fs::create_dir_all(&ssh_dir).unwrap();
    write(
        &ssh_dir.join("config"),
        &format!("Host deadhost\n  HostName 127.0.0.1\n  Port {port}\n"),
    );
    write(
        &ssh_dir.join("key"),
        "not used: the connection is refused first\n",
    );
    world.remote_spec = "root@deadhost:/srv/backup".into();
    world.extra = format!(
        "ssh_key: {0}/key\nssh_config: {0}/config\n",
        ssh_dir.display()
    );
    let out = world.run_expecting("2026-03-01", 1);

    assert!(
        stderr(&out).contains("task data: sync FAILED"),
        "{}",
        show(&out)
    );
    assert_eq!(
        entries(&world.local_task()),
        ["2026-03-01"],
        "the local snapshot is still taken"
    );
    assert_eq!(
        world.db_steps(),
        ["backup:1:0", "retention:1:0", "sync:0:0"]
    );
    assert!(
        world.step_log("sync").contains("Connection refused"),
        "{}",
        world.step_log("sync")
    );
}

#[test]
fn a_killed_backup_leaves_no_complete_looking_snapshot_and_the_next_run_succeeds() {
    let world = World::new();
    write(&world.source.join("video.bin"), &"x".repeat(3_000_000));
    let slow = slow_rsync(world.root.path(), 300); // about ten seconds for the video
    let mut run = world
        .command("2026-03-01")
        .env("PATH", path_with(&slow))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let partial = world.local_task().join(".in-progress");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !partial.join("docs").exists() {
        assert!(Instant::now() < deadline, "rsync never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    run.kill().unwrap(); // SIGKILL, mid-rsync
    run.wait().unwrap();

    assert_eq!(
        entries(&world.local_task()),
        [".in-progress"],
        "nothing named like a snapshot"
    );
    // The killed run's rsync may take a moment to notice; until then it holds the lock.
    let deadline = Instant::now() + Duration::from_secs(20);
    let out = loop {
        let out = world.run("2026-03-01");
        if out.status.code() != Some(75) || Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(entries(&world.local_task()), ["2026-03-01"]);
    let copied = fs::read(world.local_task().join("2026-03-01/video.bin")).unwrap();
    assert_eq!(copied.len(), 3_000_000);
}

#[test]
fn a_second_run_while_one_is_running_exits_75_and_names_the_first() {
    let world = World::new();
    write(&world.source.join("video.bin"), &"x".repeat(2_000_000));
    let slow = slow_rsync(world.root.path(), 300);
    let mut first = world
        .command("2026-03-01")
        .env("PATH", path_with(&slow))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lock_file = world.state.join("lock");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !fs::read_to_string(&lock_file).is_ok_and(|t| t.starts_with("run: pid ")) {
        assert!(
            Instant::now() < deadline,
            "the first run never took the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let second = world.run("2026-03-01");
    assert_eq!(second.status.code(), Some(75), "{}", show(&second));
    assert!(
        stderr(&second).contains(&format!("pid {} since", first.id())),
        "{}",
        show(&second)
    );

    assert!(
        first.wait().unwrap().success(),
        "the first run is not disturbed"
    );
    assert_eq!(entries(&world.local_task()), ["2026-03-01"]);
}

#[test]
fn an_unreadable_file_is_a_warning_not_a_failure() {
    let world = World::new();
    let secret = world.source.join("docs/secret.key");
    write(&secret, "root only");
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o000)).unwrap();
    // Run as nobody: it can read everything but the secret, and write where it must.
    for dir in [
        world.root.path(),
        &world.source,
        &world.source.join("docs"),
        &world.source.join("photos"),
    ] {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    }
    fs::create_dir_all(&world.state).unwrap();
    give_to_nobody(&world.state);

    let out = world
        .binary_as_nobody()
        .args(["--no-email", "--today", "2026-03-01", "run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        stderr(&out).contains("backup succeeded with warnings in 00:00:00: 1 unreadable file is not in the snapshot, first: rsync: [sender] send_files failed to open"),
        "{}",
        show(&out)
    );
    assert!(
        stderr(&out).contains("Permission denied (13)"),
        "{}",
        show(&out)
    );
    let snapshot = world.local_task().join("2026-03-01");
    assert!(snapshot.join("docs/report.txt").exists());
    assert!(!snapshot.join("docs/secret.key").exists());
    assert_eq!(
        entries(&world.remote_task()),
        ["2026-03-01"],
        "and the sync still ran"
    );
}
