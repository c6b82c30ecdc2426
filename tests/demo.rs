//! The newcomer's first command: a week of runs on sample data, one night failing.

mod support;

use std::collections::BTreeSet;
use std::process::Command;

use backup_server::config::Config;
use backup_server::plan::Plan;
use backup_server::retention;
use jiff::ToSpan;
use jiff::civil::Date;

use support::{entries, show};

#[test]
fn the_demo_runs_a_week_with_one_failed_night_and_says_where_to_look() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_backup-server"))
        .arg("demo")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("The demo is in {}", dir.path().display())),
        "{stdout}"
    );

    // Seven nights up to today, the fifth failing. What the policy keeps depends on the
    // weekday and the month, so it is asked of the policy the demo's config gives its task.
    let local = entries(&dir.path().join("backup/local/home"));
    let today: Date = local.last().expect("a snapshot of today").parse().unwrap();
    let good: BTreeSet<Date> = (0..7)
        .filter(|&night| night != 4)
        .map(|night| today.checked_sub((6 - night).days()).unwrap())
        .collect();
    let config = Config::load(&dir.path().join("backup_config.yml")).unwrap();
    let policy = Plan::new(&config, today).tasks[0].policy;
    let kept: Vec<String> = retention::keep(&good, today, &policy)
        .iter()
        .map(Date::to_string)
        .collect();
    assert_eq!(local, kept, "{policy:?} over six good nights");
    // Said without the policy's own code: the newest three good nights are all kept.
    for night in good.iter().rev().take(3) {
        assert!(
            local.contains(&night.to_string()),
            "{night} is kept daily: {local:?}"
        );
    }
    assert_eq!(local, entries(&dir.path().join("backup/remote/home")));
    let snapshot = dir
        .path()
        .join("backup/local/home")
        .join(local.last().unwrap());
    assert!(snapshot.join("documents/diary.txt").exists());
    assert!(
        !snapshot.join("thumbnails.cache").exists(),
        "the exclude is honoured"
    );

    let failed = Command::new("sqlite3")
        .arg(dir.path().join("state/log.db"))
        .arg("SELECT COUNT(DISTINCT dt_task_start) FROM task_run WHERE success_task = 0")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&failed.stdout).trim(),
        "1",
        "exactly one night failed"
    );

    let reports = entries(&dir.path().join("reports"));
    assert_eq!(reports.len(), 7, "a report per night: {reports:?}");
    let failed_reports = reports
        .iter()
        .filter(|r| {
            std::fs::read_to_string(dir.path().join("reports").join(r))
                .unwrap()
                .contains("Subject: Backup FAILED")
        })
        .count();
    assert_eq!(failed_reports, 1);

    let index = std::fs::read_to_string(dir.path().join("site/index.html")).unwrap();
    assert!(
        index.contains("All backups are fine"),
        "the last night succeeded"
    );
    assert!(
        stdout.contains(&format!("file://{}/site/index.html", dir.path().display())),
        "{stdout}"
    );
    assert!(stdout.contains("nginx -p "), "{stdout}");
    assert!(dir.path().join("nginx.conf").exists());

    // The ping service's view: a start and an end every night, the failed night's
    // /fail and ntfy's failure, the next night's recovery; nothing beyond loopback.
    let pings = std::fs::read_to_string(dir.path().join("pings.txt")).unwrap();
    assert!(stdout.contains(&pings), "{stdout}");
    assert!(
        stdout.contains("The ping service's view (http://127.0.0.1:"),
        "{stdout}"
    );
    let count = |what: &str| pings.lines().filter(|l| l.contains(what)).count();
    assert_eq!(count("POST /ping/demo-check/start "), 7, "{pings}");
    assert_eq!(count("POST /ping/demo-check "), 6, "{pings}");
    assert_eq!(count("POST /ping/demo-check/fail "), 1, "{pings}");
    let ntfy: Vec<&str> = pings
        .lines()
        .filter(|l| l.contains("POST /backup-demo"))
        .collect();
    assert_eq!(ntfy.len(), 2, "{pings}");
    assert!(
        ntfy[0].contains("ntfy message \"Backup FAILED on "),
        "{pings}"
    );
    assert!(
        ntfy[1].contains("ntfy message \"Backup recovered on "),
        "{pings}"
    );
    let night5 = pings.find("night 5 (").expect("night 5 is named");
    assert!(pings[night5..].starts_with("night 5") && pings[night5..].contains("/fail"));

    // The live state: status.json as the last night's run re-published it at each step.
    for line in [
        "  running: task home, step backup; done: nothing yet\n",
        "  running: task home, step sync; done: backup ok, retention ok\n",
    ] {
        assert!(stdout.contains(line), "{line:?} in {stdout}");
    }
    let live = std::fs::read_to_string(dir.path().join("status-while-running.json")).unwrap();
    assert!(live.contains("\"step\": \"sync\""), "{live}");
    // The disks and their forecast, as the report and the pages show them.
    assert!(stdout.contains("\n  backup disk: "), "{stdout}");
    assert!(stdout.contains("\n  remote: "), "{stdout}");
}
