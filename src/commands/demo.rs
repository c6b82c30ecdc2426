//! `backup-server demo [DIR]`: a newcomer's first run, on sample data.
//!
//! It builds a small world in DIR (a source, a backup disk, a local directory as the
//! "remote"), runs a simulated week of nightly runs through the real engine (one
//! night fails, because its source is unmounted), and says where to look. No
//! network, no root, nothing outside DIR. A ping service's view is shown too: the runs
//! ping a listener on 127.0.0.1 standing in for healthchecks.io and ntfy.

use std::path::{Path, PathBuf};

use jiff::ToSpan;

use crate::clock::Clock;
use crate::commands::run::{self, Email, RunOptions};
use crate::error::Error;
use crate::exit::Exit;
use crate::notify::recorder::Recorder;
use crate::state::StateDir;

pub fn demo(dir: Option<PathBuf>, scripts_dir: Option<PathBuf>) -> Result<Exit, Error> {
    build(dir, scripts_dir).map_err(Error::Demo)
}

fn build(dir: Option<PathBuf>, scripts_dir: Option<PathBuf>) -> std::io::Result<Exit> {
    let root = match dir {
        Some(dir) => {
            fs_err::create_dir_all(&dir)?;
            fs_err::canonicalize(dir)?
        }
        None => tempfile::Builder::new()
            .prefix("backup-server-demo.")
            .tempdir()?
            .keep(),
    };
    let source = root.join("home");
    let config = root.join("backup_config.yml");
    for sub in ["backup/local", "backup/remote", "secrets"] {
        fs_err::create_dir_all(root.join(sub))?;
    }
    // The ping services' stand-in; the healthchecks URL is a secret, so it is in a file.
    let pings = Recorder::start()?;
    let check_url = root.join("secrets/healthchecks-url");
    fs_err::write(
        &check_url,
        format!("{}/ping/demo-check\n", pings.base_url()),
    )?;
    fs_err::set_permissions(
        &check_url,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )?;
    fs_err::write(
        &config,
        format!(
            "# A sample config: edit and run `backup-server --config {config} check-config`.\n\
             dir_backup_local: {root}/backup/local\n\
             dir_backup_remote: {root}/backup/remote\n\
             email_sender: backup@example.com\n\
             email_report: admin@example.com\n\
             retention: {{daily: 3, weekly: 2, monthly: 2, yearly: 1}}\n\
             tasks:\n  - name: home\n    dir_source: {source}\n    excludes: [\"*.cache\"]\n\
             # Pings to a listener the demo ran on 127.0.0.1 (gone once it ended).\n\
             notify:\n  healthchecks: {{url_file: {check_url}}}\n  ntfy: {{url: \"{pings_url}/backup-demo\"}}\n",
            config = config.display(),
            root = root.display(),
            source = source.display(),
            check_url = check_url.display(),
            pings_url = pings.base_url(),
        ),
    )?;

    let today = Clock::system().today();
    let failing_night = 4;
    // status.json as the last night's run re-published it, step by step.
    let mut live: Vec<String> = Vec::new();
    // Which night each ping came in.
    let mut nights: Vec<(String, usize)> = Vec::new();
    for night in 0..7i64 {
        let date = today
            .checked_sub((6 - night).days())
            .map_err(std::io::Error::other)?;
        write_day(&source, night)?;
        // One night the source "disk" is not mounted: that run fails and says so.
        let parked = root.join("home.unmounted");
        if night == failing_night {
            fs_err::rename(&source, &parked)?;
        }
        eprintln!("--- night {} of 7: {date}", night + 1);
        // The last night is watched as the pages show it while it goes.
        let watcher = (night == 6).then(|| watch_live(root.join("site/status.json")));
        let night_run = run::run(&RunOptions {
            config: config.clone(),
            state: StateDir::new(root.join("state")),
            scripts_dir: scripts_dir.clone(),
            email: Email::WriteTo(root.join("reports")),
            site_dir: Some(root.join("site")),
            clock: Clock::on(date),
        });
        if let Err(e) = night_run {
            return Err(std::io::Error::other(e.to_string()));
        }
        if let Some(watcher) = watcher {
            let seen = watcher.stop();
            fs_err::write(root.join("status-while-running.json"), seen.join("\n---\n"))?;
            live.extend(seen);
        }
        if night == failing_night {
            fs_err::rename(&parked, &source)?;
        }
        nights.push((
            format!("night {} ({date})", night + 1),
            pings.received().len(),
        ));
    }
    let view = ping_view(&pings, &nights);
    fs_err::write(root.join("pings.txt"), &view)?;

    let nginx = crate::site::nginx::write_config(&root, &root.join("site"), 8080)?;
    // Readable by nginx workers (nobody) when nginx is started as root.
    fs_err::set_permissions(&root, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    println!("\nThe demo is in {}:", root.display());
    println!("  the site    file://{}/site/index.html", root.display());
    println!(
        "              or through nginx at http://127.0.0.1:8080/ : nginx -p {} -e stderr -c {}",
        root.display(),
        nginx.display()
    );
    println!(
        "  snapshots   {}/backup/local/home/YYYY-MM-DD (browse them: each is a full tree)",
        root.display()
    );
    println!("  the mirror  {}/backup/remote/home", root.display());
    println!(
        "  the reports {}/reports/*.eml (open one in a mail client)",
        root.display()
    );
    println!("  step logs   {}/state/logs", root.display());
    println!(
        "  the log DB  sqlite3 {}/state/log.db 'SELECT * FROM task_run'",
        root.display()
    );
    println!("  the config  {}", config.display());
    println!(
        "  the pings   {}/pings.txt: what the ping service received (below)",
        root.display()
    );
    println!(
        "\nThe ping service's view ({}, standing in for healthchecks.io and ntfy):",
        pings.base_url()
    );
    print!("{view}");
    println!(
        "A night with no ping at all (timer not fired, machine off, run hung) is what healthchecks.io\n\
         alerts on by itself, after the check's period and grace time: no email can say that."
    );
    println!(
        "\nWhile the last night ran, status.json said ({}/status-while-running.json):",
        root.display()
    );
    for state in &live {
        println!("  {}", live_line(state));
    }
    let record = crate::record::Record::open(&root.join("state/log.db"))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let disks = crate::health::disks::disks(&record, Clock::system().now(), Default::default())
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    println!(
        "\nThe disks, and when they fill up at the rate of the last 30 days (in the report, on the pages):"
    );
    for disk in disks {
        println!("  {}: {}", disk.name, disk.describe());
    }
    Ok(Exit::Success)
}

/// Reads `status` every few milliseconds while a run goes, keeping each distinct
/// version that says a run is going.
struct Watcher {
    stop: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<Vec<String>>,
}

fn watch_live(status: PathBuf) -> Watcher {
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let mut seen: Vec<String> = Vec::new();
        while stopped
            .recv_timeout(std::time::Duration::from_millis(5))
            .is_err()
        {
            let Ok(text) = fs_err::read_to_string(&status) else {
                continue;
            };
            let going = serde_json::from_str::<serde_json::Value>(&text)
                .is_ok_and(|v| !v["running"].is_null());
            if going && seen.last() != Some(&text) {
                seen.push(text);
            }
        }
        seen
    });
    Watcher { stop, thread }
}

impl Watcher {
    fn stop(self) -> Vec<String> {
        let _ = self.stop.send(());
        self.thread.join().unwrap_or_default()
    }
}

/// One line of a `status.json` a running run published: its task, step and steps done.
fn live_line(status: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(status).unwrap_or_default();
    let running = &value["running"];
    let done: Vec<String> = running["done"]
        .as_array()
        .map(|steps| {
            steps
                .iter()
                .map(|s| {
                    format!(
                        "{} {}",
                        s[1].as_str().unwrap_or(""),
                        s[2].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    format!(
        "running: task {}, step {}; done: {}",
        running["task"].as_str().unwrap_or("-"),
        running["step"].as_str().unwrap_or("-"),
        if done.is_empty() {
            "nothing yet".to_string()
        } else {
            done.join(", ")
        }
    )
}

/// What the ping service received, night by night; `nights` holds each night's name and
/// how many requests had come in by its end.
fn ping_view(pings: &Recorder, nights: &[(String, usize)]) -> String {
    let received = pings.received();
    let mut view = String::new();
    let mut from = 0;
    for (night, upto) in nights {
        for (i, request) in received.iter().enumerate().take(*upto).skip(from) {
            let label = if i == from { night.as_str() } else { "" };
            view.push_str(&format!("  {label:<22} {}\n", request.summary()));
        }
        from = *upto;
    }
    view
}

/// The sample data as it looks on night `night`: a few documents that change, a photo
/// that never does, a cache the config excludes.
fn write_day(source: &Path, night: i64) -> std::io::Result<()> {
    fs_err::create_dir_all(source.join("documents"))?;
    fs_err::create_dir_all(source.join("photos"))?;
    fs_err::write(
        source.join("photos/holiday.jpg"),
        "a photo that never changes\n".repeat(2000),
    )?;
    fs_err::write(
        source.join("documents/diary.txt"),
        format!("entries written up to night {}\n", night + 1),
    )?;
    fs_err::write(source.join("thumbnails.cache"), "regenerated every night\n")?;
    if night == 2 {
        fs_err::write(
            source.join("documents/draft.txt"),
            "a draft, deleted two nights later\n",
        )?;
    }
    if night == 4 {
        let _ = fs_err::remove_file(source.join("documents/draft.txt"));
    }
    Ok(())
}
