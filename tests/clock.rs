//! History is never rewritten: a run whose date is not after the newest snapshot (a
//! clock set back, a wrong `--today`, a restored VM) changes nothing, on either side.

mod support;

use std::fs;

use support::tree::{assert_snapshots_unchanged, snapshot_fingerprints, snapshots};
use support::{World, show, stderr, write};

const DAYS: [&str; 5] = [
    "2026-03-01",
    "2026-03-02",
    "2026-03-03",
    "2026-03-04",
    "2026-03-05",
];

/// A world with a snapshot on each of `DAYS`, locally and on the target, each day's
/// source a little different.
fn five_days_of_snapshots() -> World {
    let world = World::new();
    for day in DAYS {
        write(
            &world.source.join("docs/report.txt"),
            &format!("as of {day}\n"),
        );
        world.run_expecting(day, 0);
    }
    assert_eq!(snapshots(&world.local_task()).len(), 5);
    assert_eq!(snapshots(&world.remote_task()).len(), 5);
    world
}

/// A run on `today` after `DAYS`: the backup fails, saying so, and nothing changes.
fn assert_refused_and_nothing_changes(world: &World, today: &str) {
    let local = snapshot_fingerprints(&world.local_task());
    let remote = snapshot_fingerprints(&world.remote_task());
    write(
        &world.source.join("docs/report.txt"),
        "the clock went back\n",
    );

    let out = world.run(today);
    assert_snapshots_unchanged(&local, &world.local_task(), "locally");
    assert_snapshots_unchanged(&remote, &world.remote_task(), "on the target");
    let stderr = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let failed: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("task data: backup FAILED"))
        .collect();
    assert_eq!(failed.len(), 1, "{}", show(&out));
    assert!(
        failed[0].contains("is before the newest snapshot (2026-03-05)"),
        "{}",
        failed[0]
    );
    assert!(
        stderr.contains("task data: skipped retention and sync"),
        "{}",
        show(&out)
    );
}

#[test]
fn a_run_dated_on_an_older_snapshot_fails_and_rewrites_nothing() {
    let world = five_days_of_snapshots();
    assert_refused_and_nothing_changes(&world, "2026-03-03");
    assert_eq!(
        fs::read_to_string(world.local_task().join("2026-03-03/docs/report.txt")).unwrap(),
        "as of 2026-03-03\n"
    );
}

#[test]
fn a_run_dated_on_a_missing_day_before_the_newest_snapshot_fails_and_adds_nothing() {
    let world = five_days_of_snapshots();
    for task in [world.local_task(), world.remote_task()] {
        fs::remove_dir_all(task.join("2026-03-02")).unwrap();
    }
    assert_refused_and_nothing_changes(&world, "2026-03-02");
    for task in [world.local_task(), world.remote_task()] {
        assert!(!task.join("2026-03-02").exists(), "{}", task.display());
    }
}

#[test]
fn a_target_ahead_of_today_never_has_a_snapshot_replaced_by_the_sync() {
    let world = World::new();
    write(&world.source.join("docs/report.txt"), "as of 2026-03-01\n");
    world.run_expecting("2026-03-01", 0);
    write(&world.source.join("docs/report.txt"), "as of 2026-03-02\n");
    world.run_expecting("2026-03-02", 0);
    // The local disk is restored from before 2026-03-02; the target meanwhile holds a
    // snapshot from a later day (another machine's clock, a restored VM).
    fs::remove_dir_all(world.local_task().join("2026-03-02")).unwrap();
    let later = world.remote_task().join("2026-03-05");
    fs::create_dir(&later).unwrap();
    write(&later.join("docs/report.txt"), "as of 2026-03-05\n");
    let remote = snapshot_fingerprints(&world.remote_task());
    assert_eq!(
        remote.keys().collect::<Vec<_>>(),
        ["2026-03-01", "2026-03-02", "2026-03-05"]
    );

    write(&world.source.join("docs/report.txt"), "2026-03-02 again\n");
    let out = world.run("2026-03-02");
    // Locally 2026-03-02 is after the newest snapshot, so it may be taken; the
    // target's 2026-03-02 is older than its newest and must stay as it is.
    assert_snapshots_unchanged(&remote, &world.remote_task(), "on the target");
    assert_eq!(
        fs::read_to_string(world.remote_task().join("2026-03-02/docs/report.txt")).unwrap(),
        "as of 2026-03-02\n",
        "{}",
        show(&out)
    );
}
