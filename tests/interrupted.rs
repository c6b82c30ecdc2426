//! What a killed run leaves, rebuilt by hand so that the moment is hit every time:
//! the next run finishes or undoes it, and no complete snapshot is lost.

mod support;

use std::fs;
use std::path::Path;
use std::process::Command;

use support::faults::dead_pid;
use support::targets::{Target, world_syncing_to};
use support::tree::{
    Manifest, assert_snapshots_kept, differences, manifest, snapshot_fingerprints,
};
use support::{World, entries, show, write};

/// `cp -a from to`: a complete copy, as rsync would have left it.
fn copy_tree(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

fn rename(task_dir: &Path, from: &str, to: &str) {
    fs::rename(task_dir.join(from), task_dir.join(to)).unwrap();
}

/// Neither side holds any of the engine's hidden entries after a complete run.
fn assert_no_leftovers(world: &World) {
    for task in [world.local_task(), world.remote_task()] {
        let hidden: Vec<String> = entries(&task)
            .into_iter()
            .filter(|n| {
                n == ".in-progress" || n.starts_with(".replaced-") || n.starts_with(".deleting-")
            })
            .collect();
        assert!(
            hidden.is_empty(),
            "{} still holds {hidden:?}",
            task.display()
        );
    }
}

fn assert_is(manifest_then: &Manifest, dir: &Path) {
    let diff = differences(manifest_then, &manifest(dir), 10);
    assert!(
        diff.is_empty(),
        "{} is not the source it was taken from:\n{}",
        dir.display(),
        diff.join("\n")
    );
}

/// A same-day re-run on 2026-03-02 killed between its two renames, on both sides:
/// `2026-03-02` is missing, the old complete snapshot is `.replaced-2026-03-02`, the
/// new complete one `.in-progress`. The next night restores the old one.
fn a_same_day_swap_killed_between_its_renames(target: Target) {
    let (world, _sshd) = world_syncing_to(target);
    write(&world.source.join("docs/report.txt"), "first day\n");
    world.run_expecting("2026-03-01", 0);
    write(&world.source.join("docs/report.txt"), "second day\n");
    world.run_expecting("2026-03-02", 0);
    let second_day = manifest(&world.source);
    let tasks = [world.local_task(), world.remote_task()];
    let before: Vec<_> = tasks.iter().map(|t| snapshot_fingerprints(t)).collect();

    write(
        &world.source.join("docs/report.txt"),
        "second day, afternoon\n",
    );
    for task in &tasks {
        rename(task, "2026-03-02", ".replaced-2026-03-02");
        copy_tree(&world.source, &task.join(".in-progress"));
    }

    write(&world.source.join("docs/report.txt"), "third day\n");
    let out = world.run("2026-03-03");
    let lost: Vec<String> = tasks
        .iter()
        .filter(|task| !task.join("2026-03-02").is_dir())
        .map(|task| format!("{} holds {:?}", task.display(), entries(task)))
        .collect();
    assert!(
        lost.is_empty(),
        "2026-03-02 is lost:\n{}\n{}",
        lost.join("\n"),
        show(&out)
    );
    for (task, before) in tasks.iter().zip(&before) {
        assert_is(&second_day, &task.join("2026-03-02"));
        assert_snapshots_kept(before, task, &task.display().to_string());
        assert_is(&manifest(&world.source), &task.join("2026-03-03"));
    }
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_no_leftovers(&world);
}

#[test]
fn a_same_day_swap_killed_between_its_renames_is_undone_locally_and_on_a_local_path_target() {
    a_same_day_swap_killed_between_its_renames(Target::LocalPath);
}

#[test]
fn a_same_day_swap_killed_between_its_renames_is_undone_locally_and_on_an_ssh_target() {
    a_same_day_swap_killed_between_its_renames(Target::Ssh);
}

/// The same re-run killed after its second rename, before the old snapshot was
/// deleted: `2026-03-02` is the new complete snapshot, `.replaced-2026-03-02` the
/// old one. The next night keeps the new one as it is and removes the old one.
fn a_same_day_swap_killed_before_the_old_snapshot_was_deleted(target: Target) {
    let (world, _sshd) = world_syncing_to(target);
    world.run_expecting("2026-03-01", 0);
    world.run_expecting("2026-03-02", 0);
    let tasks = [world.local_task(), world.remote_task()];
    write(
        &world.source.join("docs/report.txt"),
        "second day, afternoon\n",
    );
    let afternoon = manifest(&world.source);
    for task in &tasks {
        rename(task, "2026-03-02", ".replaced-2026-03-02");
        copy_tree(&world.source, &task.join("2026-03-02"));
    }
    let before: Vec<_> = tasks.iter().map(|t| snapshot_fingerprints(t)).collect();

    write(&world.source.join("docs/report.txt"), "third day\n");
    let out = world.run("2026-03-03");
    for (task, before) in tasks.iter().zip(&before) {
        assert_is(&afternoon, &task.join("2026-03-02"));
        assert_snapshots_kept(before, task, &task.display().to_string());
    }
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_no_leftovers(&world);
}

#[test]
fn a_same_day_swap_killed_before_the_old_snapshot_was_deleted_is_finished_on_a_local_path_target() {
    a_same_day_swap_killed_before_the_old_snapshot_was_deleted(Target::LocalPath);
}

#[test]
fn a_same_day_swap_killed_before_the_old_snapshot_was_deleted_is_finished_on_an_ssh_target() {
    a_same_day_swap_killed_before_the_old_snapshot_was_deleted(Target::Ssh);
}

#[test]
fn a_render_killed_mid_way_leaves_no_staging_directory_after_the_next_render() {
    let world = World::new();
    world.run_expecting("2026-03-01", 0);
    let site = world.root.path().join("site");
    // What a render-site killed while building leaves beside the site.
    let stale = world.root.path().join(format!(".site.new-{}", dead_pid()));
    write(&stale.join("index.html"), "half a site\n");
    write(&stale.join("tasks/0-data/index.html"), "half a page\n");

    world.render_site_expecting(&site, 0);
    assert!(site.join("index.html").is_file());
    let beside: Vec<String> = entries(world.root.path())
        .into_iter()
        .filter(|n| n.starts_with(".site."))
        .collect();
    assert!(
        beside.is_empty(),
        "staging directories left beside the site: {beside:?}"
    );
}
