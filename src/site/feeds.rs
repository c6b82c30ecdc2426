//! The site's machine-readable files: `status.json` for scripts, `metrics.prom` for
//! node_exporter's textfile collector, and an Atom feed of failed runs.

use std::fmt::Write;

use serde::Serialize;

use super::TaskSummary;
use super::context::{Context, slug};
use crate::record::Progress;
use crate::record::{Against, ComparisonOutcome, TaskRun};

/// The version of `status.json`'s schema (README, "status.json"; docs/status.schema.json):
/// raised when a field changes meaning or goes, not when one is added.
pub const STATUS_VERSION: u32 = 2;

#[derive(Serialize)]
struct Status<'a> {
    version: u32,
    /// RFC 3339, in the local time zone, as every time here.
    generated: String,
    generated_unix: f64,
    host: &'a str,
    /// Every task ok and no disk needing attention: the banner's rule (health::Overall).
    all_fine: bool,
    /// When the timer next starts a run (the config's `schedule`); null when unknown.
    next_run: Option<String>,
    /// The run going now: since, its task and step, the steps done; null when none.
    running: Option<Running<'a>>,
    tasks: Vec<TaskState<'a>>,
    disks: Vec<DiskState<'a>>,
}

#[derive(Serialize)]
struct Running<'a> {
    since: String,
    since_unix: f64,
    task: Option<&'a str>,
    step: Option<&'a str>,
    /// The steps that ended, in order: [task, step, outcome].
    done: &'a [(String, String, String)],
}

#[derive(Serialize)]
struct DiskState<'a> {
    /// `backup disk`, or a target's name.
    name: &'a str,
    measured: String,
    measured_unix: f64,
    /// Measured before the last run began: that run did not reach it.
    measured_before_last_run: bool,
    free_bytes: Option<u64>,
    total_bytes: Option<u64>,
    free_inodes: Option<u64>,
    total_inodes: Option<u64>,
    /// Days until it is full at the rate of the last 30 days; null when not filling up.
    full_in_days: Option<f64>,
    needs_attention: bool,
    /// Why it needs attention, in words.
    warning: Option<&'a str>,
}

#[derive(Serialize)]
struct TaskState<'a> {
    name: &'a str,
    /// ok, warning, failing, stale, never_succeeded or never_ran (see the health rule).
    state: &'static str,
    /// Since when it is in that state (local time, and Unix seconds).
    since: Option<String>,
    since_unix: Option<f64>,
    /// Why it is failing or warning.
    reason: Option<&'a str>,
    last_run: Option<RunState>,
    last_success: Option<RunState>,
    days_since_last_success: Option<i64>,
    runs: usize,
    success_rate: Option<f64>,
    /// The last `backup-server verify`, if it ever ran.
    last_verification: Option<Verification>,
}

#[derive(Serialize)]
struct Verification {
    end: String,
    end_unix: f64,
    /// Every copy equal to its snapshot, and every check made.
    success: bool,
    differences: u64,
}

#[derive(Serialize)]
struct RunState {
    start: String,
    end: String,
    start_unix: f64,
    end_unix: f64,
    success: bool,
    /// ok, warned, failed or interrupted.
    outcome: &'static str,
}

pub fn status_json(ctx: &Context, tasks: &[TaskSummary]) -> String {
    let run_state = |run: &TaskRun| RunState {
        start: ctx.clock.rfc3339(run.started),
        end: ctx.clock.rfc3339(run.ended),
        start_unix: run.started,
        end_unix: run.ended,
        success: run.succeeded(),
        outcome: run.state.word(),
    };
    let states: Vec<TaskState> = tasks
        .iter()
        .map(|t| TaskState {
            name: &t.name,
            state: t.health.state.word(),
            since: t.health.since.map(|t| ctx.clock.rfc3339(t)),
            since_unix: t.health.since,
            reason: t.health.reason.as_deref(),
            last_run: t.last_run.as_ref().map(run_state),
            last_success: t.last_success.as_ref().map(run_state),
            days_since_last_success: t.health.days_since_success,
            runs: t.runs,
            success_rate: t.success_rate,
            last_verification: (!t.verification.is_empty()).then(|| {
                let end = t.verification.iter().map(|c| c.ended).fold(0.0, f64::max);
                Verification {
                    end: ctx.clock.rfc3339(end),
                    end_unix: end,
                    success: t
                        .verification
                        .iter()
                        .all(|c| c.outcome == ComparisonOutcome::Ok),
                    differences: t.verification.iter().map(|c| c.differences).sum(),
                }
            }),
        })
        .collect();
    let last_run = tasks
        .iter()
        .filter_map(|t| t.last_run.as_ref())
        .map(|r| r.started)
        .reduce(f64::max);
    let disks = ctx
        .disks
        .iter()
        .map(|d| DiskState {
            name: &d.name,
            measured: ctx.clock.rfc3339(d.measured),
            measured_unix: d.measured,
            measured_before_last_run: last_run.is_some_and(|t| d.measured < t),
            free_bytes: d.free_bytes,
            total_bytes: d.total_bytes,
            free_inodes: d.free_inodes,
            total_inodes: d.total_inodes,
            full_in_days: d.full_in_days,
            needs_attention: d.warning.is_some(),
            warning: d.warning.as_deref(),
        })
        .collect();
    let status = Status {
        version: STATUS_VERSION,
        generated: ctx.clock.rfc3339(ctx.now),
        generated_unix: ctx.now,
        host: ctx.host,
        all_fine: super::pages::overall(ctx, tasks).all_fine(),
        next_run: ctx.next_run.map(|t| ctx.clock.rfc3339(t)),
        running: ctx.running.map(|r: &Progress| Running {
            since: ctx.clock.rfc3339(r.since),
            since_unix: r.since,
            task: r.task.as_deref(),
            step: r.step.as_deref(),
            done: &r.done,
        }),
        tasks: states,
        disks,
    };
    serde_json::to_string_pretty(&status).expect("status serializes") + "\n"
}

/// A Prometheus label value: backslash, double quote and newline escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

pub fn metrics(ctx: &Context, tasks: &[TaskSummary]) -> String {
    let mut out = String::new();
    let mut family = |name: &str, help: &str, samples: Vec<(String, f64)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (labels, value) in samples {
            if labels.is_empty() {
                let _ = writeln!(out, "{name} {value}");
            } else {
                let _ = writeln!(out, "{name}{{{labels}}} {value}");
            }
        }
    };
    family(
        "backup_server_build_info",
        "Always 1; its version label is the backup-server that rendered these metrics.",
        vec![(
            format!("version=\"{}\"", label(env!("CARGO_PKG_VERSION"))),
            1.0,
        )],
    );
    family(
        "backup_server_running",
        "1 while a backup-server run is going, else 0.",
        vec![(String::new(), f64::from(u8::from(ctx.running.is_some())))],
    );
    let per_disk = |f: &dyn Fn(&crate::health::disks::Disk) -> Option<f64>| -> Vec<(String, f64)> {
        ctx.disks
            .iter()
            .filter_map(|d| Some((format!("disk=\"{}\"", label(&d.name)), f(d)?)))
            .collect()
    };
    type DiskFigure = fn(&crate::health::disks::Disk) -> Option<f64>;
    let disk_families: [(&str, &str, DiskFigure); 6] = [
        (
            "backup_server_disk_free_bytes",
            "Free bytes on the backup disk or a target, as last measured.",
            |d| d.free_bytes.map(|v| v as f64),
        ),
        (
            "backup_server_disk_size_bytes",
            "Size of the backup disk's or a target's file system.",
            |d| d.total_bytes.map(|v| v as f64),
        ),
        (
            "backup_server_disk_free_inodes",
            "Free inodes on the backup disk or a target, as last measured.",
            |d| d.free_inodes.map(|v| v as f64),
        ),
        (
            "backup_server_disk_total_inodes",
            "Inodes of the backup disk's or a target's file system.",
            |d| d.total_inodes.map(|v| v as f64),
        ),
        (
            "backup_server_disk_measured_timestamp_seconds",
            "When the disk was last measured, in Unix seconds (a target the last run did not reach is older).",
            |d| Some(d.measured),
        ),
        (
            "backup_server_disk_full_in_seconds",
            "Time until the disk is full at the rate of the last 30 days (absent when it is not filling up).",
            |d| d.full_in_days.map(|days| days * crate::clock::DAY),
        ),
    ];
    for (name, help, figure) in disk_families {
        family(name, help, per_disk(&figure));
    }
    let per_task = |f: &dyn Fn(&TaskSummary) -> Option<f64>| -> Vec<(String, f64)> {
        tasks
            .iter()
            .filter_map(|t| Some((format!("task=\"{}\"", label(&t.name)), f(t)?)))
            .collect()
    };
    family(
        "backup_server_last_success_timestamp_seconds",
        "End of the task's last successful run, in Unix seconds.",
        per_task(&|t| t.last_success.as_ref().map(|r| r.ended)),
    );
    family(
        "backup_server_last_run_timestamp_seconds",
        "End of the task's last run, in Unix seconds.",
        per_task(&|t| t.last_run.as_ref().map(|r| r.ended)),
    );
    family(
        "backup_server_last_run_success",
        "1 if the task's last run succeeded, else 0.",
        per_task(&|t| {
            t.last_run
                .as_ref()
                .map(|r| f64::from(u8::from(r.succeeded())))
        }),
    );
    family(
        "backup_server_last_run_duration_seconds",
        "How long the task's last run took.",
        per_task(&|t| t.last_run.as_ref().map(|r| r.duration())),
    );
    family(
        "backup_server_last_backup_transferred_bytes",
        "Bytes the task's newest recorded backup copied (what it added to the snapshots); kept when later runs failed.",
        per_task(&|t| t.last_backup.map(|s| s.bytes_transferred as f64)),
    );
    family(
        "backup_server_last_backup_transferred_files",
        "Files the task's newest recorded backup copied rather than hard-linked; kept when later runs failed.",
        per_task(&|t| t.last_backup.map(|s| s.files_transferred as f64)),
    );
    family(
        "backup_server_last_backup_size_bytes",
        "Size of the tree the task's newest recorded backup took; kept when later runs failed.",
        per_task(&|t| t.last_backup.map(|s| s.total_size as f64)),
    );
    let states: Vec<(String, f64)> = tasks
        .iter()
        .flat_map(|t| {
            crate::health::State::ALL.iter().map(move |state| {
                (
                    format!("task=\"{}\",state=\"{}\"", label(&t.name), state.word()),
                    f64::from(u8::from(t.health.state == *state)),
                )
            })
        })
        .collect();
    family(
        "backup_server_task_state",
        "1 for the task's state by the health rule (ok, warning, failing, stale, never_succeeded, never_ran), 0 for the others.",
        states,
    );
    let steps: Vec<(String, f64)> = tasks
        .iter()
        .filter_map(|t| Some((t, t.last_run.as_ref()?)))
        .flat_map(|(t, run)| {
            run.steps.iter().map(move |s| {
                (
                    format!("task=\"{}\",step=\"{}\"", label(&t.name), label(&s.step)),
                    s.duration(),
                )
            })
        })
        .collect();
    family(
        "backup_server_step_duration_seconds",
        "How long each step of the task's last run took.",
        steps,
    );
    out.push_str(&verification_metrics(tasks));
    out
}

/// The last `backup-server verify` of each task that was ever verified.
fn verification_metrics(tasks: &[TaskSummary]) -> String {
    let mut out = String::new();
    let verified = || tasks.iter().filter(|t| !t.verification.is_empty());
    let mut family = |name: &str, help: &str, samples: Vec<(String, f64)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    };
    let task = |t: &TaskSummary| format!("task=\"{}\"", label(&t.name));
    family(
        "backup_server_verify_timestamp_seconds",
        "End of the task's last verification (backup-server verify), in Unix seconds.",
        verified()
            .map(|t| {
                let ended = t.verification.iter().map(|c| c.ended).fold(0.0, f64::max);
                (task(t), ended)
            })
            .collect(),
    );
    family(
        "backup_server_verify_success",
        "1 if the task's last verification found every copy equal to its snapshot, else 0.",
        verified()
            .map(|t| {
                let ok = t
                    .verification
                    .iter()
                    .all(|c| c.outcome == ComparisonOutcome::Ok);
                (task(t), f64::from(u8::from(ok)))
            })
            .collect(),
    );
    family(
        "backup_server_verify_differences",
        "Differences the task's last verification found, by what the snapshot was compared with (checks that could not be made are left out).",
        verified()
            .flat_map(|t| {
                t.verification
                    .iter()
                    .filter(|c| c.outcome != ComparisonOutcome::Failed)
                    .map(move |c| {
                        let against = match &c.against {
                            Against::Source => "source".to_string(),
                            Against::Target(name) => format!("target:{name}"),
                        };
                        (
                            format!("{},against=\"{}\"", task(t), label(&against)),
                            c.differences as f64,
                        )
                    })
            })
            .collect(),
    );
    out
}

/// XML text, escaped; a control character XML cannot hold (one recorded before the
/// record made them visible) is shown as its escape too, so the feed stays well-formed.
fn xml(text: &str) -> String {
    crate::outcome::visible(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn rfc3339(seconds: f64) -> String {
    jiff::Timestamp::from_millisecond((seconds * 1000.0) as i64)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

/// The newest 50 failed runs, newest first.
pub fn atom(ctx: &Context, tasks: &[TaskSummary]) -> String {
    let mut failures: Vec<(usize, &TaskRun)> = tasks
        .iter()
        .enumerate()
        .flat_map(|(i, t)| t.failures.iter().map(move |r| (i, r)))
        .collect();
    failures.sort_by(|a, b| b.1.started.total_cmp(&a.1.started));
    failures.truncate(50);
    let updated = failures.first().map_or(ctx.now, |(_, r)| r.ended);
    let host = xml(ctx.host);
    // Links absolute where the site's address is known (a feed reader fetches the feed
    // alone), else relative to the feed.
    let base = match ctx.site_url {
        Some(url) if url.ends_with('/') => url.to_string(),
        Some(url) => format!("{url}/"),
        None => String::new(),
    };
    let base = xml(&base);
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n\
         <title>Failed backups on {host}</title>\n<id>urn:backup-server:{host}:failures</id>\n\
         <updated>{}</updated>\n<author><name>backup-server on {host}</name></author>\n\
         <link rel=\"self\" type=\"application/atom+xml\" href=\"{base}feed.atom\"/>\n\
         <link rel=\"alternate\" type=\"text/html\" href=\"{base}index.html\"/>\n",
        rfc3339(updated)
    );
    for (i, run) in failures {
        let task = &tasks[i];
        let _ = write!(
            out,
            "<entry>\n<title>Backup FAILED: {name} on {host}</title>\n<id>urn:backup-server:{host}:{name}:{ms}</id>\n\
             <updated>{updated}</updated>\n<link rel=\"alternate\" type=\"text/html\" href=\"{base}tasks/{slug}/index.html\"/>\n\
             <summary>{summary}</summary>\n</entry>\n",
            name = xml(&task.name),
            ms = (run.started * 1000.0) as i64,
            updated = rfc3339(run.ended),
            slug = xml(&slug(i, &task.name)),
            summary = xml(&format!(
                "Run started {}: {}",
                ctx.clock.local_time(run.started),
                run.reason().unwrap_or_default()
            )),
        );
    }
    out.push_str("</feed>\n");
    out
}
