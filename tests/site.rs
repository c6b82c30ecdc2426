//! The history site rendered from a log DB: escaping, pagination, banners, and the
//! machine-readable files checked by real parsers (serde_json, promtool, feedparser).

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use backup_server::outcome::TaskResult;
use backup_server::plan::StepKind;
use support::results::{DAY, End, MadeRun, now};
use support::site::checked_metrics;
use support::{World, show};

const STEPS: [StepKind; 3] = [StepKind::Backup, StepKind::Retention, StepKind::Sync];

/// A run of `task` that started `days_ago`, failing at `failed_step` if any: each
/// step 9 s, a second apart, the run 30 s however far it got.
fn task_run(
    task: &str,
    days_ago: f64,
    failed_step: Option<StepKind>,
    dir_from: &str,
) -> TaskResult {
    let start = now() - days_ago * DAY;
    let mut run = MadeRun::of(task, start)
        .reading(dir_from)
        .writing(format!("/backup/{task}"))
        .logging("x.log");
    for kind in STEPS {
        let end = if failed_step == Some(kind) {
            End::fails(format!("rsync failed on {dir_from}"))
        } else {
            End::Ok
        };
        run = run.step(kind.as_str(), end, 9.0).pause(1.0);
    }
    run.idle_until(start + 30.0).build()
}

/// Records each task run as a run of its own, as `backup-server run` would.
fn record(world: &World, runs: &[TaskResult]) {
    support::record_runs(&world.state, runs);
}

fn render(world: &World) -> (Output, PathBuf) {
    let site = world.root.path().join("site");
    let out = world.render_site(&site);
    (out, site)
}

fn rendered(world: &World) -> PathBuf {
    let (out, site) = render(world);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    site
}

fn read(site: &Path, file: &str) -> String {
    fs::read_to_string(site.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn hostile_strings_in_the_history_render_inert() {
    let world = World::new();
    let hostile = "<img src=x onerror=alert(1)>";
    record(
        &world,
        &[
            task_run(
                "data",
                1.0,
                Some(StepKind::Sync),
                "/data/<script>alert(1)</script>",
            ),
            task_run(hostile, 1.0, None, "\"/><script>alert(2)</script>"),
        ],
    );
    let site = rendered(&world);

    let mut pages = vec![
        "index.html".to_string(),
        "tasks/data/index.html".to_string(),
    ];
    // A name from the DB that is not a safe path gets a numbered directory instead.
    pages.push("tasks/task-1/index.html".into());
    for page in &pages {
        let html = read(&site, page);
        assert!(
            !html.contains("<script>") && !html.contains("<img src=x"),
            "{page} carries live markup"
        );
    }
    assert!(
        read(&site, "tasks/data/index.html")
            .contains("/data/&lt;script&gt;alert(1)&lt;/script&gt;")
    );
    assert!(read(&site, "index.html").contains("&lt;img src=x onerror=alert(1)&gt;"));
    let feed = read(&site, "feed.atom");
    assert!(!feed.contains("<script>"), "{feed}");
    let status: serde_json::Value = serde_json::from_str(&read(&site, "status.json")).unwrap();
    assert_eq!(
        status["tasks"][1]["name"], hostile,
        "JSON carries the name as data"
    );
}

#[test]
fn a_long_history_is_paginated() {
    let world = World::new();
    let runs: Vec<TaskResult> = (0..250)
        .map(|i| task_run("data", 250.0 - i as f64, None, "/data"))
        .collect();
    record(&world, &runs);
    let site = rendered(&world);

    let dir = site.join("tasks/data");
    assert!(
        dir.join("index.html").exists()
            && dir.join("page-2.html").exists()
            && dir.join("page-3.html").exists()
    );
    assert!(!dir.join("page-4.html").exists());
    let first = read(&site, "tasks/data/index.html");
    assert_eq!(first.matches("<article class=\"run\">").count(), 100);
    assert!(first.contains("href=\"page-2.html\""));
    let last = read(&site, "tasks/data/page-3.html");
    assert_eq!(last.matches("<article class=\"run\">").count(), 50);
    assert!(last.contains("rel=\"prev\" href=\"page-2.html\""));
}

#[test]
fn banners_say_which_tasks_need_attention_and_since_when() {
    let mut world = World::new();
    world.task_extra = "  - name: photos\n    dir_source: /photos\n  - name: music\n    dir_source: /music\n  - name: archive\n    dir_source: /archive\n  - name: fresh\n    dir_source: /fresh\n".into();
    record(
        &world,
        &[
            task_run("data", 1.5, None, "/data"),
            task_run("data", 1.0, Some(StepKind::Backup), "/data"),
            task_run("data", 0.5, Some(StepKind::Sync), "/data"),
            task_run("photos", 5.0, None, "/photos"),
            task_run("music", 0.5, None, "/music"),
            task_run("archive", 6.0, None, "/archive"),
            task_run("archive", 0.2, Some(StepKind::Backup), "/archive"),
        ],
    );
    let site = rendered(&world);
    let index = read(&site, "index.html");
    assert!(index.contains("4 of 5 tasks need attention"), "{index}");
    assert!(
        index.contains("<title>✗ 4 of 5 need attention — backups on "),
        "the browser tab says it: {index}"
    );
    assert!(
        index.contains(">data</a>: <span class=\"why\">failing since "),
        "{index}"
    );
    assert!(
        index.contains("(1 day ago): sync: rsync failed on /data</span></li>"),
        "the last success, and why the last run failed: {index}"
    );
    assert!(
        index.contains(">photos</a>: <span class=\"why\">stale: no success since "),
        "{index}"
    );
    assert!(
        index.contains("(5 days ago): backup: rsync failed on /archive</span></li>"),
        "stale whatever the last run did, and why it failed: {index}"
    );
    assert!(
        index.contains(">fresh</a>: <span class=\"why\">has never run"),
        "{index}"
    );
    assert!(
        !index.contains(">music</a>:"),
        "a fine task is not listed in the banner"
    );
    let data = read(&site, "tasks/data/index.html");
    assert!(
        data.contains("<p class=\"reason failed\">sync: rsync failed on /data</p>"),
        "the task page says why each run failed: {data}"
    );

    let status: serde_json::Value = serde_json::from_str(&read(&site, "status.json")).unwrap();
    let states: Vec<&str> = status["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["failing", "stale", "ok", "stale", "never_ran"]);
    assert_eq!(status["all_fine"], false);
    assert_eq!(status["tasks"][1]["days_since_last_success"], 4);
    assert_eq!(status["tasks"][0]["reason"], "sync: rsync failed on /data");

    // All fine: the banner says so.
    let fine = World::new();
    record(&fine, &[task_run("data", 0.5, None, "/data")]);
    assert!(read(&rendered(&fine), "index.html").contains("All backups are fine"));
}

#[test]
fn metrics_pass_promtool_and_the_feed_is_valid_atom() {
    let world = World::new();
    record(
        &world,
        &[
            task_run("data", 2.0, None, "/data"),
            task_run("data", 1.0, Some(StepKind::Sync), "/data"),
        ],
    );
    let site = rendered(&world);

    let metrics = checked_metrics(&site);
    assert!(
        metrics.contains("backup_server_last_run_success{task=\"data\"} 0\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("backup_server_step_duration_seconds{task=\"data\",step=\"sync\"} 9\n"),
        "{metrics}"
    );

    let feed = Command::new("/usr/bin/python3")
        .args(["-c", "import feedparser, sys\nf = feedparser.parse(sys.argv[1])\nassert not f.bozo, f.bozo_exception\nassert f.version == 'atom10', f.version\nprint(len(f.entries), f.entries[0].title)"])
        .arg(site.join("feed.atom"))
        .output()
        .expect("python3-feedparser is installed");
    assert!(feed.status.success(), "{}", show(&feed));
    assert!(
        String::from_utf8_lossy(&feed.stdout).starts_with("1 Backup FAILED: data on "),
        "{}",
        show(&feed)
    );
}

#[test]
fn a_site_dir_that_is_not_ours_is_left_alone() {
    let world = World::new();
    let site = world.root.path().join("site");
    fs::create_dir_all(&site).unwrap();
    fs::write(site.join("precious.html"), "someone else's page").unwrap();
    let (out, _) = render(&world);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a site rendered by backup-server"),
        "{}",
        show(&out)
    );
    assert!(site.join("precious.html").exists());
}

#[test]
fn run_renders_the_site_after_a_failed_task_too() {
    let world = World::new();
    fs::remove_dir_all(&world.source).unwrap();
    let site = world.root.path().join("site");
    let out = world.run_rendering("2026-03-01", &site);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let index = read(&site, "index.html");
    assert!(index.contains("1 of 1 task needs attention"), "{index}");
}

#[test]
fn a_site_dir_that_is_a_symlink_is_published_where_it_points_and_stays_a_symlink() {
    let world = World::new();
    world.run_expecting("2026-03-01", 0);
    let served = world.root.path().join("www/backups");
    fs::create_dir_all(&served).unwrap();
    let link = world.root.path().join("site");
    std::os::unix::fs::symlink(&served, &link).unwrap();
    for _ in 0..2 {
        let (out, _) = render(&world);
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    }
    assert_eq!(
        fs::read_link(&link).unwrap(),
        served,
        "the admin's symlink is still there, pointing where it did"
    );
    assert!(
        read(&served, "index.html").contains("data"),
        "the pages are in the directory nginx serves"
    );
    let beside: Vec<_> = support::entries(world.root.path().join("www").as_path());
    assert_eq!(beside, ["backups"], "nothing left beside it");
}
