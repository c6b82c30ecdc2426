//! Real servers: several targets, each on its own, and `before`/`after` commands
//! around a task (a database dumped into the source, restored from the snapshot).

mod support;

use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use support::{World, entries, show, stderr, write};

/// The seed's `task_run` rows as `id_step:success_step:success_task`, and our `steps`
/// rows as `step:outcome`, oldest first.
fn recorded(world: &World) -> (Vec<String>, Vec<String>) {
    (
        world.db_steps(),
        world.query("SELECT step || ':' || outcome FROM steps ORDER BY rowid"),
    )
}

#[test]
fn an_unreachable_target_never_stops_the_other_one_or_the_local_snapshot() {
    let mut world = World::new();
    let usb = world.root.path().join("usb");
    fs::create_dir(&usb).unwrap();
    // Nothing listens on this port.
    let port = support::free_port();
    let key = world.root.path().join("key");
    write(&key, "not used: the connection is refused first\n");
    world.remote_spec = "backup@127.0.0.1:/srv/backup".into();
    world.extra = format!(
        "ssh_key: {}\nssh_config: {}\ntargets:\n  - {{name: usb, location: {}, retention: {{daily: 30}}}}\n",
        key.display(),
        world.root.path().join("ssh_config").display(),
        usb.display()
    );
    write(
        &world.root.path().join("ssh_config"),
        &format!("Host 127.0.0.1\n  Port {port}\n  ConnectTimeout 5\n"),
    );

    let out = world.run_expecting("2026-03-01", 1);
    let text = stderr(&out);
    assert!(
        text.contains("task data: sync FAILED after ")
            && text.contains("cannot reach the host over SSH: ssh: connect to host 127.0.0.1 port"),
        "{}",
        show(&out)
    );
    assert!(
        text.contains("task data: sync-usb succeeded in "),
        "{}",
        show(&out)
    );
    assert_eq!(entries(&world.local_task()), ["2026-03-01"]);
    assert_eq!(entries(&usb.join("data")), ["2026-03-01"]);
    assert_eq!(
        fs::read_to_string(usb.join("data/2026-03-01/docs/report.txt")).unwrap(),
        "quarterly numbers\n"
    );
    assert_eq!(
        recorded(&world),
        (
            vec![
                "backup:1:0".to_string(),
                "retention:1:0".into(),
                "sync:0:0".into(),
                "sync-usb:1:0".into()
            ],
            vec![
                "backup:ok".to_string(),
                "retention:ok".into(),
                "sync:failed".into(),
                "sync-usb:ok".into()
            ]
        )
    );
}

#[test]
fn each_target_keeps_by_its_own_policy() {
    let mut world = World::new();
    let archive = world.root.path().join("archive");
    fs::create_dir(&archive).unwrap();
    world.extra = format!(
        "retention: {{daily: 2, weekly: 0, monthly: 0, yearly: 0}}\n\
         targets:\n  - {{name: archive, location: {}, retention: {{daily: 5}}}}\n",
        archive.display()
    );
    for day in 1..=6 {
        write(
            &world.source.join("docs/report.txt"),
            &format!("day {day}\n"),
        );
        world.run_expecting(&format!("2026-03-0{day}"), 0);
    }
    assert_eq!(entries(&world.local_task()), ["2026-03-05", "2026-03-06"]);
    assert_eq!(entries(&world.remote_task()), ["2026-03-05", "2026-03-06"]);
    assert_eq!(
        entries(&archive.join("data")),
        [
            "2026-03-02",
            "2026-03-03",
            "2026-03-04",
            "2026-03-05",
            "2026-03-06"
        ],
        "the archive keeps longer than the backup disk"
    );
}

#[test]
fn a_failing_before_takes_no_snapshot_and_after_is_told() {
    let mut world = World::new();
    let told = world.root.path().join("told");
    world.task_extra = format!(
        "    before: 'printf \"\\377 binary noise\\n\"; echo dumping; printf \"the database is locked\" >&2; exit 3'\n\
         \x20   after: 'echo \"$BACKUP_SERVER_TASK $BACKUP_SERVER_OUTCOME [$BACKUP_SERVER_FAILED_STEPS]\" > {}'\n",
        told.display()
    );
    let out = world.run_expecting("2026-03-01", 1);
    let text = stderr(&out);
    assert!(
        text.contains("task data: before FAILED after 00:00:00: the before command exited with status 3: the database is locked"),
        "{}",
        show(&out)
    );
    assert!(
        text.contains("task data: skipped backup and retention and sync"),
        "{}",
        show(&out)
    );
    assert!(
        text.contains("task data: after succeeded in "),
        "{}",
        show(&out)
    );
    assert!(
        entries(&world.local_task()).is_empty(),
        "no snapshot of a half-written dump"
    );
    assert_eq!(fs::read_to_string(&told).unwrap(), "data failed [before]\n");
    let log = world.step_log("before");
    assert!(
        log.contains("\u{fffd} binary noise\ndumping\nthe database is locked\nbefore FAILED"),
        "the hook's output is in its log, and our line on a line of its own: {log}"
    );
    assert_eq!(
        recorded(&world),
        (
            vec!["before:0:0".to_string(), "after:1:0".into()],
            vec!["before:failed".to_string(), "after:ok".into()]
        )
    );
}

#[test]
fn a_before_that_runs_too_long_is_stopped_with_what_it_started() {
    let mut world = World::new();
    let pid_file = world.root.path().join("pid");
    world.task_extra = format!(
        "    before: 'sleep 600 & echo $! > {}; wait'\n    hook_timeout_secs: 1\n",
        pid_file.display()
    );
    let started = Instant::now();
    let out = world.run_expecting("2026-03-01", 1);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "stopped in time"
    );
    assert!(
        stderr(&out)
            .contains("the before command ran longer than 1 s (hook_timeout_secs) and was stopped"),
        "{}",
        show(&out)
    );
    // Stopped: gone, or a zombie waiting for init to reap it.
    let pid = fs::read_to_string(&pid_file).unwrap();
    let status = fs::read_to_string(format!("/proc/{}/status", pid.trim())).unwrap_or_default();
    assert!(
        status.is_empty() || status.contains("State:\tZ"),
        "the hook's child was stopped too: {status}"
    );
}

#[test]
fn a_before_that_starts_a_daemon_does_not_keep_the_run_waiting_or_locked() {
    let mut world = World::new();
    let pid_file = world.root.path().join("daemon.pid");
    // A daemon in a session of its own, holding stdout and stderr open: the hook
    // itself ends at once, and so must its step.
    world.task_extra = format!(
        "    before: 'setsid sleep 60 & echo $! > {}; echo daemon started'\n    hook_timeout_secs: 30\n",
        pid_file.display()
    );
    let started = Instant::now();
    world.run_expecting("2026-03-01", 0);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the step did not wait for the daemon"
    );
    // The next run is not locked out by the daemon.
    world.run_expecting("2026-03-02", 0);
    let pid = fs::read_to_string(&pid_file).unwrap();
    unsafe { libc::kill(pid.trim().parse().unwrap(), libc::SIGKILL) };
}

#[test]
fn a_sqlite_database_dumped_by_before_comes_back_from_the_snapshot() {
    let mut world = World::new();
    let live = world.root.path().join("app/app.db");
    fs::create_dir_all(live.parent().unwrap()).unwrap();
    let sqlite = |db: &std::path::Path, sql: &str| {
        let out = Command::new("sqlite3").arg(db).arg(sql).output().unwrap();
        assert!(out.status.success(), "{}", show(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    sqlite(
        &live,
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT);
         INSERT INTO orders (item) VALUES ('tea'), ('coffee'), ('cake');",
    );
    // As the README shows: an online .backup into the source, never a copy of the live file.
    world.task_extra = format!(
        "    before: 'mkdir -p \"$BACKUP_SERVER_SOURCE/db\" && sqlite3 {} \".backup $BACKUP_SERVER_SOURCE/db/app.db\"'\n",
        live.display()
    );
    world.run_expecting("2026-03-01", 0);
    sqlite(&live, "DELETE FROM orders;");

    let restored = world.root.path().join("restored.db");
    fs::copy(world.local_task().join("2026-03-01/db/app.db"), &restored).unwrap();
    assert_eq!(sqlite(&restored, "PRAGMA integrity_check;"), "ok\n");
    assert_eq!(
        sqlite(&restored, "SELECT item FROM orders ORDER BY id;"),
        "tea\ncoffee\ncake\n"
    );
    assert_eq!(
        recorded(&world).1,
        ["before:ok", "backup:ok", "retention:ok", "sync:ok"]
    );
}

#[test]
fn a_target_that_is_the_backup_disk_through_a_symlink_prunes_nothing_and_says_why() {
    let mut world = World::new();
    let link = world.root.path().join("usb");
    std::os::unix::fs::symlink(&world.local, &link).unwrap();
    world.extra = format!(
        "targets:\n  - {{name: usb, location: {}, retention: {{daily: 1, weekly: 0, monthly: 0, yearly: 0}}}}\n",
        link.display()
    );
    for day in ["2026-03-01", "2026-03-02", "2026-03-03"] {
        let out = world.run_expecting(day, 1);
        assert!(
            stderr(&out).contains("task data: sync-usb FAILED after ")
                && stderr(&out).contains("is (or holds, or lies inside) the backup disk"),
            "{}",
            show(&out)
        );
    }
    assert_eq!(
        entries(&world.local_task()),
        ["2026-03-01", "2026-03-02", "2026-03-03"],
        "the backup disk keeps its own policy's snapshots"
    );
}

#[test]
fn a_target_that_requires_its_disk_is_not_filled_through_an_empty_mount_directory() {
    let mut world = World::new();
    let usb = world.root.path().join("usb");
    fs::create_dir(&usb).unwrap();
    world.extra = format!(
        "targets:\n  - {{name: usb, location: {}, require_mountpoint: true}}\n",
        usb.display()
    );
    let out = world.run_expecting("2026-03-01", 1);
    assert!(
        stderr(&out).contains(&format!(
            "task data: sync-usb FAILED after 00:00:00: {} is not a mount point and its require_mountpoint is set: is the target's disk mounted?",
            usb.display()
        )),
        "{}",
        show(&out)
    );
    assert_eq!(entries(&world.local_task()), ["2026-03-01"]);
    assert!(
        entries(&usb).is_empty(),
        "nothing written onto the root disk"
    );
    // Its snapshots are unknown, not none.
    let out = world.cli("2026-03-01", &["list"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!(
            "  usb          {}/data: cannot be listed: {} is not a mount point and its require_mountpoint is set: is the target's disk mounted?\n",
            usb.display(),
            usb.display()
        )),
        "{}",
        show(&out)
    );

    // With a disk mounted there (a tmpfs, in a mount namespace of its own) it syncs.
    let command = world.command("2026-03-02");
    let argv: Vec<String> = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy()))
        .collect();
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "mount -t tmpfs tmpfs '{}' && exec {}",
            usb.display(),
            argv.join(" ")
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        stderr(&out).contains("task data: sync-usb succeeded in "),
        "{}",
        show(&out)
    );
}
