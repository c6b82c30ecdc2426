//! Snapshots on the local disk and their mirror: what an administrator relies on.

mod support;

use std::fs;

use support::{World, entries, inode, write};

#[test]
fn two_days_share_unchanged_files_and_not_changed_ones_locally_and_on_the_remote() {
    let world = World::new();
    world.run_two_nights();
    for task in [world.local_task(), world.remote_task()] {
        world.assert_two_nights_in(&task);
    }
}

#[test]
fn excludes_are_honoured() {
    let mut world = World::new();
    write(&world.source.join("cache/big.bin"), "regenerable");
    write(&world.source.join("docs/draft.tmp"), "scratch");
    world.task_extra = "    excludes: [\"cache/\", \"*.tmp\"]\n".into();
    world.run_expecting("2026-03-01", 0);

    let snapshot = world.local_task().join("2026-03-01");
    assert!(snapshot.join("docs/report.txt").exists());
    assert!(!snapshot.join("cache").exists());
    assert!(!snapshot.join("docs/draft.tmp").exists());
    assert!(!world.remote_task().join("2026-03-01/cache").exists());
}

#[test]
fn a_deleted_file_vanishes_from_the_new_snapshot_only() {
    let world = World::new();
    world.run_expecting("2026-03-01", 0);
    fs::remove_file(world.source.join("docs/notes.md")).unwrap();
    world.run_expecting("2026-03-02", 0);

    for task in [world.local_task(), world.remote_task()] {
        assert!(
            task.join("2026-03-01/docs/notes.md").exists(),
            "the old snapshot keeps it"
        );
        assert!(
            !task.join("2026-03-02/docs/notes.md").exists(),
            "the new snapshot lacks it"
        );
    }
}

#[test]
fn a_same_day_rerun_replaces_todays_snapshot_on_both_sides() {
    let world = World::new();
    world.run_expecting("2026-03-01", 0);
    write(&world.source.join("docs/report.txt"), "afternoon edit\n");
    world.run_expecting("2026-03-01", 0);

    for task in [world.local_task(), world.remote_task()] {
        assert_eq!(entries(&task), ["2026-03-01"]);
        assert_eq!(
            fs::read_to_string(task.join("2026-03-01/docs/report.txt")).unwrap(),
            "afternoon edit\n"
        );
    }
}

#[test]
fn an_emptied_local_disk_gets_a_full_snapshot_and_the_remote_loses_nothing() {
    let world = World::new();
    for day in ["2026-03-01", "2026-03-02", "2026-03-03"] {
        world.run_expecting(day, 0);
    }
    // A new, empty disk is mounted where the old one was.
    fs::remove_dir_all(world.local_task()).unwrap();
    world.run_expecting("2026-03-04", 0);

    assert_eq!(entries(&world.local_task()), ["2026-03-04"]);
    assert_eq!(
        entries(&world.remote_task()),
        ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]
    );
    let remote = world.remote_task();
    assert_eq!(
        inode(&remote.join("2026-03-03/photos/cat.jpg")),
        inode(&remote.join("2026-03-04/photos/cat.jpg")),
        "the remote copy of the new full snapshot is still linked to the day before"
    );
}

#[test]
fn a_year_of_daily_runs_keeps_exactly_what_the_policy_says() {
    let world = World::new();
    let start: jiff::civil::Date = "2025-10-15".parse().unwrap();
    for day in 0..400 {
        let today = start.checked_add(jiff::Span::new().days(day)).unwrap();
        world.run_expecting(&today.to_string(), 0);
    }
    // The last run is on 2026-11-18, a Wednesday; default policy 7/4/12/5.
    let mut expected: Vec<&str> = vec![
        "2025-10-15", // yearly: the oldest of 2025
        "2025-12-01",
        "2026-01-01",
        "2026-02-01",
        "2026-03-01",
        "2026-04-01",
        "2026-05-01", // monthly: the
        "2026-06-01",
        "2026-07-01",
        "2026-08-01",
        "2026-09-01",
        "2026-10-01",
        "2026-11-01", // newest 12 months
        "2026-10-26",
        "2026-11-02",
        "2026-11-09",
        "2026-11-16", // weekly: Mondays of the newest 4 weeks
        "2026-11-12",
        "2026-11-13",
        "2026-11-14",
        "2026-11-15",
        "2026-11-17",
        "2026-11-18", // daily: newest 7
    ];
    expected.sort();
    assert_eq!(entries(&world.local_task()), expected);
    assert_eq!(entries(&world.remote_task()), expected);

    // Why each is kept, and the last day it stays if the nightly runs go on: worked
    // out by hand from the rules (README, Retention). The source never changed after
    // the first night, so only that snapshot added anything.
    let listed = world.cli_expecting("2026-11-18", &["list", "data"], 0);
    let root = world.root.path().display().to_string();
    assert_eq!(
        listed.replace(&root, "<root>"),
        "data\n\
         \x20 backup disk  <root>/local/data: 23 snapshots\n\
         \x20 remote       <root>/remote/data: 23 snapshots\n\
         \x20 date        added              backup disk                       remote\n\
         \x20 2026-11-18  nothing            newest, daily until 2026-11-24    yes\n\
         \x20 2026-11-17  nothing            daily until 2026-11-23            yes\n\
         \x20 2026-11-16  nothing            daily, weekly until 2026-12-13    yes\n\
         \x20 2026-11-15  nothing            daily until 2026-11-21            yes\n\
         \x20 2026-11-14  nothing            daily until 2026-11-20            yes\n\
         \x20 2026-11-13  nothing            daily until 2026-11-19            yes\n\
         \x20 2026-11-12  nothing            daily until 2026-11-18            yes\n\
         \x20 2026-11-09  nothing            weekly until 2026-12-06           yes\n\
         \x20 2026-11-02  nothing            weekly until 2026-11-29           yes\n\
         \x20 2026-11-01  nothing            monthly until 2027-10-31          yes\n\
         \x20 2026-10-26  nothing            weekly until 2026-11-22           yes\n\
         \x20 2026-10-01  nothing            monthly until 2027-09-30          yes\n\
         \x20 2026-09-01  nothing            monthly until 2027-08-31          yes\n\
         \x20 2026-08-01  nothing            monthly until 2027-07-31          yes\n\
         \x20 2026-07-01  nothing            monthly until 2027-06-30          yes\n\
         \x20 2026-06-01  nothing            monthly until 2027-05-31          yes\n\
         \x20 2026-05-01  nothing            monthly until 2027-04-30          yes\n\
         \x20 2026-04-01  nothing            monthly until 2027-03-31          yes\n\
         \x20 2026-03-01  nothing            monthly until 2027-02-28          yes\n\
         \x20 2026-02-01  nothing            monthly until 2027-01-31          yes\n\
         \x20 2026-01-01  nothing            monthly, yearly until 2030-12-31  yes\n\
         \x20 2025-12-01  nothing            monthly until 2026-11-30          yes\n\
         \x20 2025-10-15  4.0 kB in 3 files  yearly until 2029-12-31           yes\n"
    );
    // The last run's retention step said the same, and which snapshot went.
    let log = world.step_log("retention");
    for line in [
        "  2026-11-16 stays: daily, weekly until 2026-12-13\n",
        "  2026-11-11 goes: no rule keeps it\n",
        "  2025-10-15 stays: yearly until 2029-12-31\n",
    ] {
        assert!(log.contains(line), "{line:?} not in the log:\n{log}");
    }
}

#[test]
fn a_backup_disk_inside_its_source_is_not_backed_up_into_itself() {
    let mut world = World::new();
    // The source is the whole scratch world, which holds the backup disk, the
    // "remote" and the state directory.
    world.source_spec = world.root.path().display().to_string();
    let out = world.run_expecting("2026-03-01", 0);
    let snapshot = world.local_task().join("2026-03-01");
    assert!(
        snapshot.join("source/docs/report.txt").exists(),
        "{}",
        support::show(&out)
    );
    for own in ["local", "remote", "state"] {
        assert!(
            !snapshot.join(own).exists(),
            "{own} was copied into the snapshot"
        );
    }
    assert!(
        world
            .step_log("backup")
            .contains("excluding /local/ from the source")
    );
}

#[test]
fn an_empty_source_is_a_warning_in_the_report() {
    let world = World::new();
    world.run_expecting("2026-03-01", 0);
    fs::remove_dir_all(&world.source).unwrap();
    fs::create_dir(&world.source).unwrap();
    let out = world.run_expecting("2026-03-02", 0);
    let stderr = support::stderr(&out);
    assert!(
        stderr.contains("backup succeeded with warnings"),
        "{stderr}"
    );
    assert!(
        stderr.contains("is empty (is its disk mounted?)"),
        "{stderr}"
    );
    assert!(
        world
            .local_task()
            .join("2026-03-01/docs/report.txt")
            .exists(),
        "yesterday's snapshot is intact"
    );
}
