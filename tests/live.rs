//! A run you can watch: while a run goes, `status.json`, the index and `metrics.prom`
//! say so, step by step; a run that was killed leaves no "running" behind; and the
//! figures of real runs (what moved, how full each disk is) reach the metrics.

mod support;

use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::faults::{kill_group, spawn_in_own_group};
use support::site::checked_metrics;
use support::{World, path_with, show, slow_rsync, write};

fn status(site: &Path) -> serde_json::Value {
    fs::read_to_string(site.join("status.json"))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// Waits until `status.json` satisfies `what`, for at most 20 s.
fn wait_for(site: &Path, what: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = status(site);
        if what(&status) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "status.json never got there: {status:#}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A world whose backup takes a few seconds: 3 MB through an rsync slowed to 1 MB/s.
fn slow_world() -> (World, std::path::PathBuf, String) {
    let world = World::new();
    write(&world.source.join("big.bin"), &"x".repeat(3_000_000));
    let site = world.root.path().join("site");
    let path = path_with(&slow_rsync(world.root.path(), 1000));
    (world, site, path)
}

#[test]
fn the_pages_say_a_run_is_going_step_by_step_and_no_more_once_it_ends() {
    let (world, site, path) = slow_world();
    let child = world
        .command("2026-03-01")
        .arg("--site-dir")
        .arg(&site)
        .env("PATH", &path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let going = wait_for(&site, |s| s["running"]["step"] == "backup");
    assert_eq!(going["running"]["task"], "data");
    assert_eq!(going["running"]["done"], serde_json::json!([]));
    let index = fs::read_to_string(site.join("index.html")).unwrap();
    assert!(index.contains("<h1>A backup is running</h1>"), "{index}");
    assert!(
        index.contains("task <strong>data</strong>, step <strong>backup</strong>"),
        "{index}"
    );
    let metrics = fs::read_to_string(site.join("metrics.prom")).unwrap();
    assert!(metrics.contains("\nbackup_server_running 1\n"), "{metrics}");

    let later = wait_for(&site, |s| {
        s["running"]["done"]
            .as_array()
            .is_some_and(|d| !d.is_empty())
    });
    assert_eq!(
        later["running"]["done"][0],
        serde_json::json!(["data", "backup", "ok"])
    );

    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let done = status(&site);
    assert_eq!(done["running"], serde_json::Value::Null, "{done:#}");
    assert_eq!(done["tasks"][0]["state"], "ok");
    let metrics = fs::read_to_string(site.join("metrics.prom")).unwrap();
    assert!(metrics.contains("\nbackup_server_running 0\n"), "{metrics}");
}

#[test]
fn a_killed_run_leaves_no_running_state_once_the_pages_are_rendered_again() {
    let (world, site, path) = slow_world();
    let mut command = world.command("2026-03-01");
    command
        .arg("--site-dir")
        .arg(&site)
        .env("PATH", &path)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = spawn_in_own_group(&mut command);
    wait_for(&site, |s| s["running"]["step"] == "backup");
    kill_group(child.id());
    let _ = child.wait();
    // Its rsync dies with it; the lock is free once it has.
    support::faults::wait_until_none(
        |p| p.command.contains(&world.local.display().to_string()),
        Duration::from_secs(10),
    );
    assert_eq!(
        status(&site)["running"]["task"],
        "data",
        "the pages still show it going"
    );

    let out = world
        .site_command(&site)
        .args(["--today", "2026-03-01", "render-site"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let after = status(&site);
    assert_eq!(after["running"], serde_json::Value::Null, "{after:#}");
    assert_eq!(after["tasks"][0]["state"], "never_succeeded");
    assert_eq!(
        after["tasks"][0]["reason"],
        "the run was stopped before the task ended"
    );
    let index = fs::read_to_string(site.join("index.html")).unwrap();
    assert!(!index.contains("A backup is running"), "{index}");
}

#[test]
fn what_moved_and_how_full_each_disk_is_reach_the_metrics() {
    let world = World::new();
    let site = world.root.path().join("site");
    for day in ["2026-03-01", "2026-03-02"] {
        write(
            &world.source.join("docs/report.txt"),
            &format!("as of {day}\n"),
        );
        let out = world.run_rendering(day, &site);
        assert!(out.status.success(), "{}", show(&out));
    }
    let metrics = checked_metrics(&site);
    for line in [
        "\nbackup_server_running 0\n",
        // Only the changed file was copied on the second night.
        "\nbackup_server_last_backup_transferred_files{task=\"data\"} 1\n",
        "\nbackup_server_last_backup_transferred_bytes{task=\"data\"} 17\n",
        "\nbackup_server_disk_free_bytes{disk=\"backup disk\"} ",
        "\nbackup_server_disk_free_bytes{disk=\"remote\"} ",
        "\nbackup_server_disk_free_inodes{disk=\"remote\"} ",
    ] {
        assert!(metrics.contains(line), "{line:?} in\n{metrics}");
    }
    let index = fs::read_to_string(site.join("index.html")).unwrap();
    assert!(index.contains("<h2>Disks</h2>"), "{index}");
    assert!(
        index.contains("aria-label=\"free space on backup disk over the last "),
        "{index}"
    );
    let task = fs::read_to_string(site.join("tasks/data/index.html")).unwrap();
    assert!(
        task.contains("aria-label=\"data moved by the last 2 backups: "),
        "{task}"
    );
}
