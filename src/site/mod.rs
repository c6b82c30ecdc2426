//! The history site: static pages rendered from the log DB after every run, for nginx.
//!
//! the record's history, judged by the health rule → pages, charts and feeds (rendered one file
//! at a time) → publish (one atomic swap). It replaces the seed's Flask dashboard:
//! nothing to log into, nothing to crash.

pub mod charts;
pub mod context;
pub mod feeds;
pub mod nginx;
pub mod pages;
pub mod publish;
pub mod snapshot_table;

use std::path::Path;

use crate::clock::Clock;
use crate::health::disks::Disk;
use crate::health::{self, Health};
use crate::record::{Progress, Record, RecordError, RunId, TaskHistory, TaskRun};
use context::{Context, PAGE_SIZE, page_file, slug};

const STYLE: &str = include_str!("../../site/style.css");

/// Runs kept per task for the index's strip and sparkline.
const RECENT: usize = 30;
/// Failed runs kept per task for the feed.
const FAILURES: usize = 50;

/// What the index and the machine-readable files need of a task: kept once its pages
/// are written and its whole history dropped, so the site renders one task's history
/// at a time, however long the record.
pub struct TaskSummary {
    pub name: String,
    pub health: Health,
    /// The newest runs, newest first.
    pub recent: Vec<TaskRun>,
    pub last_run: Option<TaskRun>,
    pub last_success: Option<TaskRun>,
    pub success_rate: Option<f64>,
    pub runs: usize,
    pub successes: usize,
    /// The newest failed or interrupted runs, newest first.
    pub failures: Vec<TaskRun>,
    /// The checks of its last verification.
    pub verification: Vec<crate::record::Comparison>,
    /// What its newest backup that recorded it moved, however long ago: the metrics'
    /// last-known figures, which a failed night does not blank.
    pub last_backup: Option<crate::outcome::TransferStats>,
}

impl TaskSummary {
    fn of(history: &TaskHistory, health: Health) -> TaskSummary {
        TaskSummary {
            name: history.name.clone(),
            health,
            recent: history.runs.iter().take(RECENT).cloned().collect(),
            last_run: history.last_run().cloned(),
            last_success: history.last_success().cloned(),
            success_rate: history.success_rate(),
            runs: history.runs.len(),
            successes: history.runs.iter().filter(|r| r.succeeded()).count(),
            failures: history
                .runs
                .iter()
                .filter(|r| r.reason().is_some() && !r.succeeded())
                .take(FAILURES)
                .cloned()
                .collect(),
            verification: history.inventory.verification.clone(),
            last_backup: history.runs.iter().find_map(TaskRun::backup_stats),
        }
    }
}

/// What the site takes of the config.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    pub stale_after_days: u32,
    pub thresholds: crate::config::Thresholds,
    /// Where the pages are served: the feed's links are made absolute with it.
    pub site_url: Option<&'a str>,
    /// The timer's OnCalendar expression, for "next run expected".
    pub schedule: Option<&'a str>,
}

impl<'a> Settings<'a> {
    pub fn of(config: &'a crate::config::Config) -> Settings<'a> {
        Settings {
            stale_after_days: config.stale_after_days,
            thresholds: config.disk,
            site_url: config.site_url.as_deref(),
            schedule: config.schedule.as_deref(),
        }
    }
}

/// What a render leaves for the live updates of a running run.
pub struct Rendered {
    pub pages: usize,
    pub summaries: Vec<TaskSummary>,
    pub disks: Vec<Disk>,
    /// The last run's pings that could not be delivered, in words.
    pub undelivered_pings: Vec<String>,
    pub site_url: Option<String>,
    pub next_run: Option<f64>,
}

/// Why the history site could not be rendered: the record could not be read, or
/// the site could not be published. `Display` is what follows "cannot render the
/// site: " in `Error::Site`.
#[derive(Debug)]
pub enum SiteError {
    Record(RecordError),
    Publish(publish::PublishError),
    /// The run has no record to render from; the reason is the run's own words
    /// for why it is unrecorded.
    Unrecorded(String),
}

impl std::fmt::Display for SiteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SiteError::Record(e) => e.fmt(f),
            SiteError::Publish(e) => e.fmt(f),
            SiteError::Unrecorded(why) => write!(f, "the log database cannot be read ({why})"),
        }
    }
}

impl std::error::Error for SiteError {}

impl From<RecordError> for SiteError {
    fn from(e: RecordError) -> SiteError {
        SiteError::Record(e)
    }
}

/// Renders the site for the tasks `names`, each task's history read by `load` when
/// its turn comes, and publishes it at `site_dir`. `running`: the run going now; the
/// index names the last run's `undelivered_pings`.
#[allow(clippy::too_many_arguments)]
pub fn render(
    names: &[String],
    load: &dyn Fn(&str) -> Result<TaskHistory, RecordError>,
    disks: Vec<Disk>,
    clock: &Clock,
    settings: &Settings,
    running: Option<&Progress>,
    undelivered_pings: Vec<String>,
    site_dir: &Path,
) -> Result<Rendered, SiteError> {
    let host = crate::host::name();
    let stale_after_days = settings.stale_after_days;
    let next_run = settings
        .schedule
        .and_then(|s| crate::schedule::next_run(s, clock.now()));
    let ctx = Context::new(&host, clock, running, &disks)
        .with_undelivered_pings(&undelivered_pings)
        .with_site(settings.site_url, next_run);
    let now = ctx.now;
    let mut pages = 0;
    let mut failure = None;
    let mut summaries = Vec::new();
    publish::publish(site_dir, |writer| {
        for (i, name) in names.iter().enumerate() {
            let history = match load(name) {
                Ok(history) => history,
                Err(e) => {
                    failure = Some(e);
                    return Err(std::io::Error::other("the log database cannot be read"));
                }
            };
            let health = health::judge(&history, now, stale_after_days);
            pages += write_task(&ctx, i, &history, &health, writer)?;
            summaries.push(TaskSummary::of(&history, health));
        }
        for (name, bytes) in front_pages(&ctx, &summaries) {
            writer.write(name, &bytes)?;
        }
        writer.write("style.css", STYLE.as_bytes())?;
        writer.write("feed.atom", feeds::atom(&ctx, &summaries).as_bytes())?;
        pages += 1;
        Ok(())
    })
    .map_err(|e| {
        failure
            .take()
            .map_or(SiteError::Publish(e), SiteError::Record)
    })?;
    Ok(Rendered {
        pages,
        summaries,
        disks,
        undelivered_pings,
        site_url: settings.site_url.map(str::to_string),
        next_run,
    })
}

/// Renders the site from `record` (none yet: every configured task never ran) for the
/// tasks `configured` and those found only in the record. `active`: the run going
/// now, whose unfinished task shows as running; `progress`: how far it is.
#[allow(clippy::too_many_arguments)]
pub fn render_recorded(
    record: Option<&Record>,
    configured: &[String],
    active: Option<RunId>,
    progress: Option<&Progress>,
    clock: &Clock,
    settings: &Settings,
    site_dir: &Path,
) -> Result<Rendered, SiteError> {
    let names = match record {
        Some(record) => record.task_names(configured)?,
        None => configured.to_vec(),
    };
    let load = |name: &str| match record {
        Some(record) => record.history(name, active),
        None => Ok(TaskHistory {
            name: name.to_string(),
            runs: Vec::new(),
            inventory: Default::default(),
        }),
    };
    let disks = match record {
        Some(record) => crate::health::disks::disks(record, clock.now(), settings.thresholds)?,
        None => Vec::new(),
    };
    // The newest finished run's pings that could not be delivered.
    let undelivered_pings = match record {
        Some(record) => record
            .undelivered_pings()?
            .iter()
            .map(|p| p.describe())
            .collect(),
        None => Vec::new(),
    };
    render(
        &names,
        &load,
        disks,
        clock,
        settings,
        progress,
        undelivered_pings,
        site_dir,
    )
}

/// The files that say how things stand now: the index, `status.json` and `metrics.prom`.
fn front_pages(ctx: &Context, summaries: &[TaskSummary]) -> [(&'static str, Vec<u8>); 3] {
    [
        (
            "index.html",
            pages::index(ctx, summaries).into_string().into_bytes(),
        ),
        (
            "status.json",
            feeds::status_json(ctx, summaries).into_bytes(),
        ),
        ("metrics.prom", feeds::metrics(ctx, summaries).into_bytes()),
    ]
}

/// Re-publishes the index, `status.json` and `metrics.prom` of a published site with
/// `running`, each file replaced by one rename: while a run goes, at each step, from
/// what the render at its start kept.
pub fn republish(
    site_dir: &Path,
    rendered: &Rendered,
    clock: &Clock,
    running: Option<&Progress>,
) -> std::io::Result<()> {
    let host = crate::host::name();
    let ctx = Context::new(&host, clock, running, &rendered.disks)
        .with_undelivered_pings(&rendered.undelivered_pings)
        .with_site(rendered.site_url.as_deref(), rendered.next_run);
    for (name, bytes) in front_pages(&ctx, &rendered.summaries) {
        publish::replace(site_dir, name, &bytes)?;
    }
    Ok(())
}

/// Writes the pages of the task at position `i`; returns how many.
fn write_task(
    ctx: &Context,
    i: usize,
    task: &TaskHistory,
    health: &Health,
    writer: &publish::SiteWriter,
) -> std::io::Result<usize> {
    let pages = task.runs.len().div_ceil(PAGE_SIZE).max(1);
    for page in 1..=pages {
        let html = pages::task_page(ctx, task, health, page, pages).into_string();
        writer.write(
            &format!("tasks/{}/{}", slug(i, &task.name), page_file(page)),
            html.as_bytes(),
        )?;
    }
    Ok(pages)
}
