//! The pages and the mail as a person sees them: rendered from a record with healthy
//! tasks, a failing task, a stale task, a target that stopped answering and names too
//! long for a phone, then opened in Debian's Chromium (Playwright, through
//! `tests/support/layout.py`) at 390, 768 and 1280 px (the mail at 390 and 600), light and
//! dark, and measured: nothing out of view sideways, every chart drawn, no row or card
//! taller than 240 px on a phone, failed outcomes and the tasks needing attention in the
//! first screen. Screenshots go to target/test-artifacts/layout.

mod support;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use backup_server::clock::Clock;
use backup_server::config::Config;
use backup_server::health::disks;
use backup_server::health::{State, Verdict};
use backup_server::outcome::{Space, TaskResult, TransferStats};
use backup_server::plan::StepKind;
use backup_server::record::{Record, SideRecord, SnapshotRecord};
use backup_server::report::{About, compose, enrich};
use backup_server::retention::{Policy, explain};
use mail_parser::MessageParser;
use support::results::{DAY, End, MadeRun, now};
use support::site::checked_metrics;
use support::{World, show};

/// A name as long as a configured name may sensibly be, without a place to break it.
const LONG: &str = "photos-of-the-whole-family-from-every-phone-we-ever-owned_2009-2026";
const LONG_SOURCE: &str = "/srv/family/photos/an-extremely-long-directory-name-without-any-space-to-break-it-at/DCIM/Camera";
const TB: u64 = 1_000_000_000_000;

/// A nightly run of `task` `days_ago`, its steps `(id, end, seconds)` one after the
/// other, with what the backup moved and how much room each disk had left.
fn run(
    task: &str,
    source: &str,
    days_ago: f64,
    steps: &[(&str, End, f64)],
    local_free: u64,
    target_free: u64,
) -> TaskResult {
    let space = |free: u64| Space {
        snapshots: 30,
        free_bytes: Some(free),
        free_inodes: Some(free / 20_000),
        total_bytes: Some(2 * TB),
        total_inodes: Some(122_000_000),
    };
    let mut run = MadeRun::of(task, now() - days_ago * DAY);
    for (id, end, seconds) in steps {
        let ok = matches!(end, End::Ok);
        run = if !matches!(*id, "backup" | "retention") {
            run.reading(format!("/mnt/backup/{task}")).writing(format!(
                "backup@{}.example.org:/srv/backups/{task}",
                &id[4..]
            ))
        } else {
            run.reading(source)
                .writing(format!("/mnt/backup/{task}/2026-12-03"))
        };
        run = run
            .logging(format!("/var/lib/backup-server/logs/{task}_{id}.log"))
            .step(id, end.clone(), *seconds)
            .with(|step| {
                let sync = step.kind == StepKind::Sync;
                step.stats = (step.kind == StepKind::Backup && ok).then_some(TransferStats {
                    files_total: 1_234_567,
                    files_transferred: 1_200 + (days_ago as u64 % 7) * 300,
                    bytes_transferred: 2_500_000_000 + (days_ago as u64 % 5) * 900_000_000,
                    total_size: 870_000_000_000,
                });
                step.local = (!sync && ok).then(|| space(local_free));
                step.target = (sync && ok).then(|| space(target_free));
            });
    }
    run.build()
}

/// The world: `data` healthy for 130 nights (two history pages) while the backup disk
/// fills; the long-named task failing its backup last night; `music` stale, its
/// offsite target unreachable for six; `archive` fine, its runs under a second; `fresh`
/// configured and never run.
fn scenario() -> Vec<TaskResult> {
    let mut runs = Vec::new();
    for night in (0..130).rev() {
        let d = night as f64 + 0.1;
        // The backup disk loses 8 GB a night: full in a few weeks.
        let local_free = 180_000_000_000 + night as u64 * 8_000_000_000;
        let remote_free = TB - night as u64 * 2_000_000_000;
        runs.push(run(
            "data",
            "/srv/data",
            d,
            &[
                ("backup", End::Ok, 312.4),
                ("retention", End::Ok, 0.4),
                ("sync", End::Ok, 95.0),
            ],
            local_free,
            remote_free,
        ));
        if night < 20 {
            let backup = if night < 1 {
                End::fails(
                    "rsync exited with status 23 (partial transfer due to error): cannot read /srv/family/photos/an-extremely-long-directory-name-without-any-space-to-break-it-at/DCIM/Camera/IMG_20261201_101010.jpg",
                )
            } else {
                End::Ok
            };
            runs.push(run(
                LONG,
                LONG_SOURCE,
                d,
                &[
                    ("backup", backup, 1800.0),
                    ("retention", End::Ok, 1.2),
                    ("sync", End::Ok, 4000.0),
                ],
                local_free,
                remote_free,
            ));
            let offsite = if night < 6 {
                End::fails("ssh: connect to host offsite.example.org port 22: No route to host")
            } else {
                End::Ok
            };
            runs.push(run(
                "music",
                "/srv/music",
                d,
                &[
                    ("backup", End::Ok, 40.0),
                    ("retention", End::Ok, 0.2),
                    ("sync-offsite", offsite, 60.0),
                ],
                local_free,
                400_000_000_000 - night as u64 * 1_000_000_000,
            ));
            runs.push(run(
                "archive",
                "/srv/archive",
                d,
                &[
                    ("backup", End::Ok, 0.6),
                    ("retention", End::Ok, 0.1),
                    ("sync", End::Ok, 0.3),
                ],
                local_free,
                remote_free,
            ));
        }
    }
    runs
}

fn record(world: &World, runs: &[TaskResult]) {
    let mut db = support::record_runs(&world.state, runs);
    // What the sides of `data` held at the end of its last run.
    let clock = Clock::system();
    let today = clock.today();
    let dates: BTreeSet<_> = (0..130)
        .filter_map(|n| today.checked_sub(jiff::Span::new().days(n)).ok())
        .collect();
    let kept = explain(&dates, today, &Policy::default());
    for (side, location) in [
        ("local", "/mnt/backup/data".to_string()),
        (
            "remote",
            "backup@remote.example.org:/srv/backups/data".to_string(),
        ),
    ] {
        let record = SideRecord {
            side: side.into(),
            location,
            listed: now(),
            error: None,
            snapshots: dates
                .iter()
                .rev()
                .take(40)
                .rev()
                .map(|d| SnapshotRecord {
                    date: *d,
                    kept: kept.get(d).cloned(),
                })
                .collect(),
        };
        db.record_side("data", &record).unwrap();
    }
}

/// The mail the last night's run sends, its HTML part written to `path`.
fn mail(world: &World, runs: &[TaskResult], path: &Path) {
    let db = Record::open(&world.state.join("log.db")).unwrap();
    let clock = Clock::system();
    let last: Vec<TaskResult> = ["data", LONG, "music", "archive"]
        .iter()
        .map(|name| runs.iter().rev().find(|r| r.name == *name).unwrap().clone())
        .collect();
    let histories: Vec<_> = last
        .iter()
        .map(|r| Some(db.history(&r.name, None).unwrap()))
        .collect();
    let verdicts: Vec<Verdict> = last
        .iter()
        .zip(&histories)
        .map(|(r, h)| Verdict::of(r, State::Ok, h.as_ref(), clock.now(), 2))
        .collect();
    let reports = enrich(&last, &verdicts, &histories, &clock);
    let disks = disks::disks(&db, clock.now(), Default::default()).unwrap();
    let pings = [
        "healthchecks https://hc-ping.com/… (finish): the server answered 503 Service Unavailable three times".to_string(),
    ];
    let about = About {
        host: "nas",
        unrecorded: None,
        disks: &disks,
        site_url: Some("https://backup.nas.lan/"),
        summary: false,
        undelivered_pings: &pings,
    };
    let config = Config::parse(&world.config_path(), &world.config_text()).unwrap();
    let composed = compose::compose(&config, &reports, &about).unwrap();
    let raw = composed.message.formatted();
    let message = MessageParser::default().parse(&raw).unwrap();
    fs::write(path, message.body_html(0).unwrap().as_bytes()).unwrap();
}

/// A Python with Playwright (tools/playwright-venv.sh makes it once).
fn playwright_python() -> String {
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/playwright-venv.sh");
    let out = Command::new(&tool)
        .output()
        .expect("tools/playwright-venv.sh runs");
    assert!(
        out.status.success(),
        "Playwright could not be installed (python3-venv and PyPI are needed): {}",
        show(&out)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The world of [`scenario`], recorded and rendered: (the world, its runs, the site).
fn rendered() -> (World, Vec<TaskResult>, PathBuf) {
    let mut world = World::new();
    world.extra = "site_url: https://backup.nas.lan/\nschedule: \"*-*-* 03:00:00\"\n".into();
    world.task_extra = format!(
        "  - name: {LONG}\n    dir_source: {LONG_SOURCE}\n  - name: music\n    dir_source: /srv/music\n  - name: archive\n    dir_source: /srv/archive\n  - name: fresh\n    dir_source: /srv/fresh\n"
    );
    let runs = scenario();
    record(&world, &runs);
    let site = world.root.path().join("site");
    world.render_site_expecting(&site, 0);
    (world, runs, site)
}

#[test]
fn the_pages_and_the_mail_fit_a_phone_and_a_desktop_and_draw_their_charts() {
    let (world, runs, site) = rendered();
    let mail_html = world.root.path().join("mail.html");
    mail(&world, &runs, &mail_html);

    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts/layout");
    let _ = fs::remove_dir_all(&artifacts);
    let page = |name: &str, file: &str, attention: &[&str], failed: bool, full: bool| {
        serde_json::json!({
            "name": name,
            "file": site.join(file),
            "widths": [390, 768, 1280],
            "attention": attention,
            "failed": failed,
            "full_page": full,
        })
    };
    let spec = serde_json::json!({
        "artifacts": artifacts,
        "chromium": "/usr/bin/chromium",
        "screenshots": std::env::var("BACKUP_SERVER_SCREENSHOTS").ok(),
        "documents": [
            page("index", "index.html", &[LONG, "music", "fresh"], true, true),
            page("task-data", "tasks/data/index.html", &[], false, false),
            page("task-data-page-2", "tasks/data/page-2.html", &[], false, false),
            page("task-failing", &format!("tasks/{LONG}/index.html"), &[], true, false),
            page("task-stale", "tasks/music/index.html", &[], true, false),
            page("task-archive", "tasks/archive/index.html", &[], false, false),
            page("task-never-ran", "tasks/fresh/index.html", &[], false, false),
            {
                "name": "mail",
                "file": mail_html,
                "widths": [390, 600],
                "attention": [LONG, "music"],
                "failed": true,
                "full_page": true,
            },
        ],
    });
    let spec_file = world.root.path().join("layout.json");
    fs::write(&spec_file, spec.to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/layout.py");
    let out = Command::new(playwright_python())
        .arg(&script)
        .arg(&spec_file)
        .output()
        .expect("the layout script runs");
    assert!(out.status.success(), "{}", show(&out));
}

#[test]
fn status_json_follows_its_schema_and_says_what_the_banner_says() {
    let (_world, _, site) = rendered();
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/status.schema.json");
    let check = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import json, sys, jsonschema\n\
             schema = json.load(open(sys.argv[1]))\n\
             jsonschema.Draft202012Validator.check_schema(schema)\n\
             jsonschema.Draft202012Validator(schema).validate(json.load(open(sys.argv[2])))",
        ])
        .arg(&schema)
        .arg(site.join("status.json"))
        .output()
        .expect("python3 runs (apt-get install python3-jsonschema)");
    assert!(check.status.success(), "{}", show(&check));

    let status: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(site.join("status.json")).unwrap()).unwrap();
    assert_eq!(status["version"], 2);
    assert_eq!(status["all_fine"], false);
    let disks: Vec<(&str, bool, bool)> = status["disks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap(),
                d["needs_attention"].as_bool().unwrap(),
                d["measured_before_last_run"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        disks,
        [
            ("backup disk", true, false),
            ("offsite", false, true),
            ("remote", false, false)
        ],
        "the filling backup disk needs attention; the lost target's figures are old"
    );
    // systemd (Debian's, as on NixOS) says when "*-*-* 03:00:00" next comes.
    let next = status["next_run"].as_str().expect("a next run");
    assert!(
        next.ends_with(":00:00+00:00") || next.contains("03:00:00"),
        "{next}"
    );
    let index = fs::read_to_string(site.join("index.html")).unwrap();
    assert!(
        index.contains("next run expected <span class=\"figure\">"),
        "{index}"
    );
    assert!(
        index.contains("<title>✗ 3 of 5 need attention — backups on "),
        "{index}"
    );
}

#[test]
fn metrics_keep_the_last_known_figures_and_one_hot_states_and_the_feed_links_absolutely() {
    let (_world, _, site) = rendered();
    let metrics = checked_metrics(&site);
    let version = env!("CARGO_PKG_VERSION");
    for expected in [
        format!("backup_server_build_info{{version=\"{version}\"}} 1\n"),
        "backup_server_task_state{task=\"music\",state=\"stale\"} 1\n".into(),
        "backup_server_task_state{task=\"music\",state=\"ok\"} 0\n".into(),
        "backup_server_task_state{task=\"fresh\",state=\"never_ran\"} 1\n".into(),
        "backup_server_disk_total_inodes{disk=\"backup disk\"} 122000000\n".into(),
        // Its last backup failed; the night before's figures stay.
        format!("backup_server_last_backup_size_bytes{{task=\"{LONG}\"}} 870000000000\n"),
        format!("backup_server_last_backup_transferred_files{{task=\"{LONG}\"}} 1500\n"),
    ] {
        assert!(metrics.contains(&expected), "{expected:?} in\n{metrics}");
    }
    let states = metrics
        .lines()
        .filter(|l| l.starts_with("backup_server_task_state{task=\"data\""))
        .count();
    assert_eq!(states, 6, "one series per state: {metrics}");

    let feed = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import feedparser, sys\n\
             f = feedparser.parse(sys.argv[1])\n\
             assert not f.bozo, f.bozo_exception\n\
             assert f.version == 'atom10', f.version\n\
             print([l.href for l in f.feed.links if l.rel == 'self'])\n\
             print(sorted({e.link for e in f.entries}))",
        ])
        .arg(site.join("feed.atom"))
        .output()
        .expect("python3-feedparser is installed");
    assert!(feed.status.success(), "{}", show(&feed));
    assert_eq!(
        String::from_utf8_lossy(&feed.stdout),
        format!(
            "['https://backup.nas.lan/feed.atom']\n['https://backup.nas.lan/tasks/music/index.html', 'https://backup.nas.lan/tasks/{LONG}/index.html']\n"
        )
    );
}
