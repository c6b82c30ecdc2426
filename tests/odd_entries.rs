//! Odd entries in a task directory, locally and on the target: only real directories
//! named exactly `YYYY-MM-DD` are snapshots; nothing is written through a symlink;
//! a name no listing can break; foreign entries are never touched, and one that
//! blocks a snapshot's name fails the step with a message naming it. And backups
//! never nest inside backups, however the paths are spelled.

mod support;

use std::fs;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::targets::{Target, world_syncing_to};
use support::tree::{Fingerprint, differences, fingerprint, manifest, snapshots};
use support::{World, show, stderr, write};

/// The one stderr line saying that `step` of task `data` failed.
fn failure_of(out: &Output, step: &str) -> String {
    let wanted = format!("task data: {step} FAILED");
    let text = stderr(out);
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(&wanted)).collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one '{wanted}' line:\n{}",
        show(out)
    );
    lines[0].to_string()
}

/// `path` is still there, byte for byte and inode for inode; `context` says when.
fn assert_same(before: &Fingerprint, path: &Path, context: &str) {
    assert!(
        fs::symlink_metadata(path).is_ok(),
        "{} is gone {context}",
        path.display()
    );
    let diff = differences(before, &fingerprint(path), 10);
    assert!(
        diff.is_empty(),
        "{} changed:\n{}\n{context}",
        path.display(),
        diff.join("\n")
    );
}

/// A directory outside every task directory holding files of its own.
fn victim(world: &World) -> PathBuf {
    let victim = world.root.path().join("victim");
    write(&victim.join("precious.txt"), "not a backup\n");
    write(&victim.join("sub/more.txt"), "nor this\n");
    victim
}

/// Inode numbers of the files under `dir`.
fn file_inodes(dir: &Path) -> Vec<u64> {
    manifest(dir)
        .into_keys()
        .map(|p| dir.join(p))
        .filter(|p| fs::symlink_metadata(p).unwrap().is_file())
        .map(|p| fs::metadata(p).unwrap().ino())
        .collect()
}

// --- .in-progress that is a symlink ---------------------------------------------

#[test]
fn an_in_progress_symlink_locally_fails_the_backup_and_nothing_is_written_through_it() {
    let world = World::new();
    let victim = victim(&world);
    let before = fingerprint(&victim);
    fs::create_dir(world.local_task()).unwrap();
    let link = world.local_task().join(".in-progress");
    symlink(&victim, &link).unwrap();

    let out = world.run("2026-03-01");
    assert_same(&before, &victim, &format!("after the run:\n{}", show(&out)));
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let failure = failure_of(&out, "backup");
    assert!(failure.contains(".in-progress is a symlink"), "{failure}");
    assert_eq!(
        fs::read_link(&link).unwrap(),
        victim,
        "the link is left alone"
    );
    assert!(snapshots(&world.local_task()).is_empty());
    assert!(support::entries(&world.remote).is_empty());
}

fn an_in_progress_symlink_on_the_target(target: Target) {
    let (world, _sshd) = world_syncing_to(target);
    let victim = victim(&world);
    let before = fingerprint(&victim);
    fs::create_dir(world.remote_task()).unwrap();
    let link = world.remote_task().join(".in-progress");
    symlink(&victim, &link).unwrap();

    let out = world.run("2026-03-01");
    assert_same(&before, &victim, &format!("after the run:\n{}", show(&out)));
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let failure = failure_of(&out, "sync");
    assert!(failure.contains(".in-progress is a symlink"), "{failure}");
    assert_eq!(
        fs::read_link(&link).unwrap(),
        victim,
        "the link is left alone"
    );
    assert!(snapshots(&world.remote_task()).is_empty());
    assert_eq!(
        snapshots(&world.local_task()),
        ["2026-03-01".to_string()].into()
    );
}

#[test]
fn an_in_progress_symlink_on_a_local_path_target_fails_the_sync_and_nothing_is_written_through_it()
{
    an_in_progress_symlink_on_the_target(Target::LocalPath);
}

#[test]
fn an_in_progress_symlink_on_an_ssh_target_fails_the_sync_and_nothing_is_written_through_it() {
    an_in_progress_symlink_on_the_target(Target::Ssh);
}

// --- something that is not a snapshot directory, named like today ---------------

/// What blocks today's name: a regular file, or a symlink to a real snapshot.
#[derive(Clone, Copy, Debug)]
enum Blocker {
    File,
    SymlinkToSnapshot,
}

fn place_blocker(task_dir: &Path, name: &str, blocker: Blocker) -> PathBuf {
    let path = task_dir.join(name);
    match blocker {
        Blocker::File => fs::write(&path, "someone's notes, named like a date\n").unwrap(),
        Blocker::SymlinkToSnapshot => symlink("2026-03-01", &path).unwrap(),
    }
    path
}

/// Where today's name is blocked: on the backup disk, or on a target reached one way
/// or the other.
#[derive(Clone, Copy, Debug)]
enum Side {
    Local,
    Target(Target),
}

/// Today's name on `side` is taken by `blocker`: the step writing there fails naming
/// it, it and the real snapshot stay as they were, and the other side goes on as the
/// step allows (nothing new is synced after a failed backup; a failed sync leaves the
/// local backup taken).
fn todays_name_blocked(side: Side, blocker: Blocker) {
    let (world, _sshd) = match side {
        Side::Local => (World::new(), None),
        Side::Target(target) => world_syncing_to(target),
    };
    let (task, step, other, other_holds, why) = match side {
        Side::Local => (
            world.local_task(),
            "backup",
            world.remote_task(),
            &["2026-03-01"][..],
            "nothing new is synced",
        ),
        Side::Target(_) => (
            world.remote_task(),
            "sync",
            world.local_task(),
            &["2026-03-01", "2026-03-02"][..],
            "the local backup is taken",
        ),
    };
    world.run_expecting("2026-03-01", 0);
    let blocked = place_blocker(&task, "2026-03-02", blocker);
    let before = fingerprint(&blocked);
    let real = fingerprint(&task.join("2026-03-01"));

    let out = world.run("2026-03-02");
    let context = format!("after the run:\n{}", show(&out));
    assert_same(&before, &blocked, &context);
    assert_same(&real, &task.join("2026-03-01"), &context);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let failure = failure_of(&out, step);
    assert!(failure.contains("is not a snapshot directory"), "{failure}");
    assert!(
        failure.contains(&blocked.display().to_string()),
        "the message names {}: {failure}",
        blocked.display()
    );
    assert_eq!(
        snapshots(&other),
        other_holds.iter().map(|s| s.to_string()).collect(),
        "{why}"
    );
}

#[test]
fn a_file_named_like_today_locally_fails_the_backup_and_is_left_alone() {
    todays_name_blocked(Side::Local, Blocker::File);
}

#[test]
fn a_symlink_to_a_snapshot_named_like_today_locally_fails_the_backup_and_is_left_alone() {
    todays_name_blocked(Side::Local, Blocker::SymlinkToSnapshot);
}

#[test]
fn a_file_named_like_today_on_a_local_path_target_fails_the_sync_and_is_left_alone() {
    todays_name_blocked(Side::Target(Target::LocalPath), Blocker::File);
}

#[test]
fn a_file_named_like_today_on_an_ssh_target_fails_the_sync_and_is_left_alone() {
    todays_name_blocked(Side::Target(Target::Ssh), Blocker::File);
}

#[test]
fn a_symlink_to_a_snapshot_named_like_today_on_a_local_path_target_fails_the_sync_and_is_left_alone()
 {
    todays_name_blocked(Side::Target(Target::LocalPath), Blocker::SymlinkToSnapshot);
}

#[test]
fn a_symlink_to_a_snapshot_named_like_today_on_an_ssh_target_fails_the_sync_and_is_left_alone() {
    todays_name_blocked(Side::Target(Target::Ssh), Blocker::SymlinkToSnapshot);
}

// --- a symlink named like a past date --------------------------------------------

/// A copy of the source (same contents, modes and times), as `--link-dest` would
/// gladly hard-link to, reached through a symlink named `2026-03-02` in `task_dir`.
fn past_date_symlink(world: &World, task_dir: &Path) -> (PathBuf, PathBuf) {
    let elsewhere = world.root.path().join("elsewhere");
    let copy = Command::new("cp")
        .arg("-a")
        .arg(&world.source)
        .arg(&elsewhere)
        .status()
        .unwrap();
    assert!(copy.success());
    let link = task_dir.join("2026-03-02");
    symlink(&elsewhere, &link).unwrap();
    (link, elsewhere)
}

/// `task_dir` after a run on 2026-03-03 that follows one on 2026-03-01, with a
/// symlink named 2026-03-02 beside them and `daily: 1`: the symlink is neither the
/// link base nor pruned, and the real 2026-03-01 is.
fn assert_past_date_symlink_ignored(world: &World, task_dir: &Path, link: &Path, elsewhere: &Path) {
    let names = support::entries(task_dir);
    assert_eq!(
        names,
        ["2026-03-02", "2026-03-03"],
        "{}",
        task_dir.display()
    );
    assert_eq!(
        fs::read_link(link).unwrap(),
        elsewhere,
        "the link is left alone"
    );
    let today = task_dir.join("2026-03-03");
    assert!(
        differences(&manifest(&world.source), &manifest(&today), 10).is_empty(),
        "today's snapshot is the source"
    );
    assert_no_inode_shared(&today, elsewhere);
}

/// No file of `snapshot` is a hard link to one under `elsewhere`.
fn assert_no_inode_shared(snapshot: &Path, elsewhere: &Path) {
    let theirs = file_inodes(elsewhere);
    let shared: Vec<u64> = file_inodes(snapshot)
        .into_iter()
        .filter(|i| theirs.contains(i))
        .collect();
    assert!(
        shared.is_empty(),
        "{} shares {} inodes with what the symlink points at: it was used as --link-dest",
        snapshot.display(),
        shared.len()
    );
}

const DAILY_ONE: &str = "    retention: {daily: 1, weekly: 0, monthly: 0, yearly: 0}\n";

#[test]
fn a_symlink_named_like_a_past_date_locally_is_not_a_snapshot() {
    let mut world = World::new();
    world.task_extra = DAILY_ONE.into();
    world.run_expecting("2026-03-01", 0);
    let (link, elsewhere) = past_date_symlink(&world, &world.local_task());
    let before = fingerprint(&elsewhere);

    world.run_expecting("2026-03-03", 0);
    assert_past_date_symlink_ignored(&world, &world.local_task(), &link, &elsewhere);
    assert_same(&before, &elsewhere, "after the run");
    assert_eq!(
        support::entries(&world.remote_task()),
        ["2026-03-03"],
        "the symlink is not sent as a snapshot"
    );
}

fn a_past_date_symlink_on_the_target(target: Target) {
    let (mut world, _sshd) = world_syncing_to(target);
    world.task_extra = DAILY_ONE.into();
    world.run_expecting("2026-03-01", 0);
    let (link, elsewhere) = past_date_symlink(&world, &world.remote_task());
    let before = fingerprint(&elsewhere);

    let out = world.run("2026-03-03");
    assert_same(&before, &elsewhere, "after the run");
    let today = world.remote_task().join("2026-03-03");
    assert_no_inode_shared(&today, &elsewhere);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_past_date_symlink_ignored(&world, &world.remote_task(), &link, &elsewhere);
}

#[test]
fn a_symlink_named_like_a_past_date_on_a_local_path_target_is_not_a_snapshot() {
    a_past_date_symlink_on_the_target(Target::LocalPath);
}

#[test]
fn a_symlink_named_like_a_past_date_on_an_ssh_target_is_not_a_snapshot() {
    a_past_date_symlink_on_the_target(Target::Ssh);
}

// --- a name holding a newline ------------------------------------------------------

fn a_newline_in_a_name_on_the_target(target: Target) {
    let (world, _sshd) = world_syncing_to(target);
    world.run_expecting("2026-03-01", 0);
    write(&world.source.join("docs/report.txt"), "second day\n");
    world.run_expecting("2026-03-02", 0);
    // The target lost 2026-03-02; beside it lies a directory whose name, read one
    // name a line, looks like "junk" and "2026-03-02".
    let target_dir = world.remote_task();
    fs::remove_dir_all(target_dir.join("2026-03-02")).unwrap();
    let odd = target_dir.join("junk\n2026-03-02");
    write(&odd.join("inside.txt"), "an odd name\n");
    let odd_before = fingerprint(&odd);

    write(&world.source.join("docs/report.txt"), "third day\n");
    world.run_expecting("2026-03-03", 0);
    assert_eq!(
        snapshots(&target_dir),
        [
            "2026-03-01".to_string(),
            "2026-03-02".to_string(),
            "2026-03-03".to_string()
        ]
        .into(),
        "2026-03-02 was sent again"
    );
    let sent = differences(
        &manifest(&world.local_task().join("2026-03-02")),
        &manifest(&target_dir.join("2026-03-02")),
        10,
    );
    assert!(sent.is_empty(), "{}", sent.join("\n"));
    assert_same(&odd_before, &odd, "after the run");
}

#[test]
fn a_name_with_a_newline_on_a_local_path_target_does_not_hide_a_missing_snapshot() {
    a_newline_in_a_name_on_the_target(Target::LocalPath);
}

#[test]
fn a_name_with_a_newline_on_an_ssh_target_does_not_hide_a_missing_snapshot() {
    a_newline_in_a_name_on_the_target(Target::Ssh);
}

// --- foreign entries -----------------------------------------------------------------

/// Entries that are neither snapshots nor the engine's own hidden names
/// (`.in-progress`, `.replaced-YYYY-MM-DD`, `.deleting-*`).
fn place_foreign_entries(task_dir: &Path) -> Vec<PathBuf> {
    write(&task_dir.join("notes.txt"), "the admin's notes\n");
    write(&task_dir.join("2026-13-45/inside.txt"), "not a date\n");
    write(&task_dir.join(".hidden/inside.txt"), "hidden\n");
    write(&task_dir.join("2026-3-4/inside.txt"), "not the shape\n");
    write(&task_dir.join("2026-03-01.old/inside.txt"), "an old copy\n");
    symlink("notes.txt", task_dir.join("2026-02-30")).unwrap();
    [
        "notes.txt",
        "2026-13-45",
        ".hidden",
        "2026-3-4",
        "2026-03-01.old",
        "2026-02-30",
    ]
    .iter()
    .map(|n| task_dir.join(n))
    .collect()
}

/// Hidden names that look like the engine's own but are not exactly one of them.
fn place_look_alikes_of_hidden_names(task_dir: &Path) -> Vec<PathBuf> {
    write(
        &task_dir.join(".replaced-notes"),
        "not .replaced-YYYY-MM-DD\n",
    );
    write(
        &task_dir.join(".replaced-2026-13-45/inside.txt"),
        "no such date\n",
    );
    write(
        &task_dir.join(".in-progress.old/inside.txt"),
        "not .in-progress\n",
    );
    [
        ".replaced-notes",
        ".replaced-2026-13-45",
        ".in-progress.old",
    ]
    .iter()
    .map(|n| task_dir.join(n))
    .collect()
}

/// Runs nights that prune on both sides (and a same-day re-run) with `place`'s
/// entries in both task directories; each is untouched after every run.
fn entries_survive(target: Target, place: fn(&Path) -> Vec<PathBuf>) {
    let (mut world, _sshd) = world_syncing_to(target);
    world.task_extra = DAILY_ONE.into();
    let mut foreign = place(&world.local_task());
    foreign.extend(place(&world.remote_task()));
    let before: Vec<Fingerprint> = foreign.iter().map(|p| fingerprint(p)).collect();

    for (i, day) in ["2026-03-01", "2026-03-02", "2026-03-02", "2026-03-03"]
        .into_iter()
        .enumerate()
    {
        write(&world.source.join("docs/report.txt"), &format!("run {i}\n"));
        let out = world.run(day);
        for (path, print) in foreign.iter().zip(&before) {
            assert_same(print, path, &format!("after run {i} on {day}"));
        }
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    }
    for task in [world.local_task(), world.remote_task()] {
        assert_eq!(
            snapshots(&task),
            ["2026-03-03".to_string()].into(),
            "{}",
            task.display()
        );
    }
}

#[test]
fn foreign_entries_survive_every_run_locally_and_on_a_local_path_target() {
    entries_survive(Target::LocalPath, place_foreign_entries);
}

#[test]
fn foreign_entries_survive_every_run_locally_and_on_an_ssh_target() {
    entries_survive(Target::Ssh, place_foreign_entries);
}

#[test]
fn look_alikes_of_the_engines_hidden_names_are_foreign_too_locally_and_on_a_local_path_target() {
    entries_survive(Target::LocalPath, place_look_alikes_of_hidden_names);
}

#[test]
fn look_alikes_of_the_engines_hidden_names_are_foreign_too_locally_and_on_an_ssh_target() {
    entries_survive(Target::Ssh, place_look_alikes_of_hidden_names);
}

// --- backups never nest through symlinks --------------------------------------------

#[test]
fn a_backup_directory_reached_through_a_symlink_into_the_source_is_not_backed_up() {
    let mut world = World::new();
    // The source holds the real backup disk; the config names it through a symlink.
    let tree = world.root.path().join("tree");
    write(&tree.join("home/letter.txt"), "dear backup\n");
    let real_backups = tree.join("backups");
    fs::create_dir(&real_backups).unwrap();
    let link = world.root.path().join("backup-link");
    symlink(&real_backups, &link).unwrap();
    world.source_spec = tree.display().to_string();
    world.local = link;

    let out = world.run_expecting("2026-03-01", 0);
    let snapshot = real_backups.join("data/2026-03-01");
    assert!(snapshot.join("home/letter.txt").is_file(), "{}", show(&out));
    assert!(
        !snapshot.join("backups").exists(),
        "the backup directory was copied into its own snapshot: {:?}",
        support::entries(&snapshot.join("backups"))
    );
}

#[test]
fn a_source_reached_through_a_symlink_into_the_backup_directory_is_refused() {
    let mut world = World::new();
    let inner = world.local.join("inner");
    write(&inner.join("file.txt"), "inside the backup disk\n");
    let link = world.root.path().join("source-link");
    symlink(&inner, &link).unwrap();
    world.source_spec = link.display().to_string();

    let out = world.run("2026-03-01");
    assert!(
        matches!(out.status.code(), Some(1 | 2)),
        "expected exit 1 or 2:\n{}",
        show(&out)
    );
    assert!(
        stderr(&out).contains("would back up the backups"),
        "{}",
        show(&out)
    );
    assert!(snapshots(&world.local_task()).is_empty());
    assert!(
        !world.local_task().exists()
            || support::entries(&world.local_task())
                .iter()
                .all(|n| !n.starts_with('2')),
        "{:?}",
        support::entries(&world.local_task())
    );
    assert!(support::entries(&world.remote).is_empty());
}
