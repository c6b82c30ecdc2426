//! `backup-server run`: every task in order, each step recorded, one run at a time.
//!
//! The order of things guards the principles: the config is validated before anything
//! is touched; the lock is taken before any snapshot is; every task is recorded in
//! the log DB whether it failed or not; and nothing about email can stop a backup.

use std::path::{Path, PathBuf};

use jiff::civil::Date;

use crate::config::Config;
use crate::exit::Exit;
use crate::journal;
use crate::lock::{LockError, RunLock};
use crate::logdb::LogDb;
use crate::report::{self, Delivery, ReportOptions};
use crate::scripts::Scripts;
use crate::status::TaskStatus;
use crate::steps::{self, Context};

pub struct RunOptions {
    pub config: PathBuf,
    pub state_dir: PathBuf,
    pub scripts_dir: Option<PathBuf>,
    pub password_file: Option<PathBuf>,
    pub no_email: bool,
    /// Where to publish the history site after the run, if anywhere.
    pub site_dir: Option<PathBuf>,
    /// Write the report as an `.eml` file here instead of sending it.
    pub email_to: Option<PathBuf>,
    /// The date snapshots are named for; today in the local time zone by default.
    pub today: Option<Date>,
}

pub fn run(opts: &RunOptions) -> Exit {
    match run_stages(opts) {
        Ok(exit) | Err(exit) => exit,
    }
}

/// The run in its order; `Err` is an exit before any task ran, already explained.
fn run_stages(opts: &RunOptions) -> Result<Exit, Exit> {
    let config = Config::load(&opts.config).map_err(|e| fail(&e.to_string(), Exit::Usage))?;
    let scripts =
        Scripts::locate(opts.scripts_dir.as_deref()).map_err(|e| fail(&e, Exit::Usage))?;
    let state = &opts.state_dir;
    let (logs_dir, work_dir) = (state.join("logs"), state.join("run"));
    for dir in [state, &logs_dir, &work_dir] {
        fs_err::create_dir_all(dir).map_err(|e| {
            fail(
                &format!("cannot prepare the state directory: {e}"),
                Exit::TaskFailed,
            )
        })?;
    }
    let _lock = RunLock::acquire(&state.join("lock")).map_err(|e| {
        let exit = if matches!(e, LockError::Busy { .. }) {
            Exit::Locked
        } else {
            Exit::TaskFailed
        };
        fail(&e.to_string(), exit)
    })?;

    let ctx = Context {
        config: &config,
        scripts: &scripts,
        logs_dir,
        work_dir,
        ssh_config: write_ssh_config(&config, state),
        today: today(opts.today),
    };
    let mut db = open_db(state);
    let (statuses, all_recorded) = run_tasks(&ctx, db.as_mut(), state);

    let failed = statuses.iter().filter(|s| !s.success).count();
    journal::info(&format!(
        "{} of {} tasks succeeded",
        statuses.len() - failed,
        statuses.len()
    ));
    let mut exit = if failed > 0 || !all_recorded {
        Exit::TaskFailed
    } else {
        Exit::Success
    };
    if let Some(site_dir) = &opts.site_dir
        && !publish_site(&config, state, site_dir)
    {
        exit = Exit::TaskFailed;
    }
    if !opts.no_email
        && !send_report(&config, &statuses, db.as_ref(), opts)
        && exit == Exit::Success
    {
        // A failed task outranks an unsent report in the exit status.
        exit = Exit::ReportUndelivered;
    }
    Ok(exit)
}

/// Says why the run stops, and with which status.
fn fail(message: &str, exit: Exit) -> Exit {
    journal::error(message);
    exit
}

/// The date snapshots are named for; `--today` also shifts the recorded clock.
fn today(simulated: Option<Date>) -> Date {
    match simulated {
        Some(today) => {
            crate::status::simulate_today(today);
            today
        }
        None => jiff::ZonedDateTime::now().date(),
    }
}

/// The ssh_config for this run, when anything is reached over SSH. If it cannot be
/// written, the steps that need it fail and say so; local ones still run.
fn write_ssh_config(config: &Config, state: &Path) -> Option<PathBuf> {
    if !config.uses_ssh() {
        return None;
    }
    crate::ssh::write_config(config, state)
        .map_err(|e| journal::error(&format!("cannot write the ssh_config: {e}")))
        .ok()
}

/// Every task in order, each recorded as it ends. Returns the statuses and whether all
/// of them reached the log DB.
fn run_tasks(ctx: &Context, mut db: Option<&mut LogDb>, state: &Path) -> (Vec<TaskStatus>, bool) {
    let mut all_recorded = db.is_some();
    let mut statuses = Vec::new();
    for task in &ctx.config.tasks {
        journal::info(&format!("task {}: starting", task.name));
        let status = steps::run_task(ctx, task);
        announce(&status);
        if let Some(Err(e)) = db.as_mut().map(|db| db.record(&status)) {
            let db_path = state.join("log.db");
            journal::error(&format!(
                "task {}: cannot record the run in {}: {e}",
                task.name,
                db_path.display()
            ));
            all_recorded = false;
        }
        statuses.push(status);
    }
    (statuses, all_recorded)
}

/// Renders the site whatever happened (a failed task is what the site is for).
fn publish_site(config: &Config, state: &Path, site_dir: &Path) -> bool {
    match crate::site::render(config, &state.join("log.db"), site_dir) {
        Ok(pages) => {
            journal::info(&format!(
                "site rendered: {pages} pages in {}",
                site_dir.display()
            ));
            true
        }
        Err(e) => {
            journal::error(&format!("cannot render the site: {e}"));
            false
        }
    }
}

/// Sends (or writes, or keeps) the report; false when it did not go out.
fn send_report(
    config: &Config,
    statuses: &[TaskStatus],
    db: Option<&LogDb>,
    opts: &RunOptions,
) -> bool {
    let report_options = ReportOptions {
        state_dir: &opts.state_dir,
        password_file: opts.password_file.as_deref(),
        email_to: opts.email_to.as_deref(),
    };
    match report::deliver(config, statuses, db, &report_options) {
        Delivery::Sent => journal::info(&format!("report sent to {}", config.email_report)),
        Delivery::Written(path) => journal::info(&format!("report written to {}", path.display())),
        Delivery::Undelivered { reason, kept } => {
            let kept = kept
                .map(|path| {
                    format!(
                        "; kept as {}, to be sent first by the next run",
                        path.display()
                    )
                })
                .unwrap_or_default();
            journal::error(&format!("the report was not sent: {reason}{kept}"));
            return false;
        }
    }
    true
}

fn open_db(state: &Path) -> Option<LogDb> {
    let path = state.join("log.db");
    match LogDb::open(&path) {
        Ok(db) => Some(db),
        Err(e) => {
            // The backups still run; the run ends in failure because it went unrecorded.
            journal::error(&format!(
                "cannot open the log database {}: {e}",
                path.display()
            ));
            None
        }
    }
}

/// One line per step, so the journal tells the story without opening a log file.
fn announce(status: &TaskStatus) {
    for step in &status.steps {
        let head = format!("task {}: {} ", status.name, step.step);
        match (&step.error, &step.warning) {
            (Some(error), _) => journal::error(&format!(
                "{head}FAILED after {}: {error} (log: {})",
                step.time_elapsed,
                step.file_log.display()
            )),
            (None, Some(warning)) => journal::warn(&format!(
                "{head}succeeded with a warning in {}: {warning} (log: {})",
                step.time_elapsed,
                step.file_log.display()
            )),
            (None, None) => journal::info(&format!("{head}succeeded in {}", step.time_elapsed)),
        }
    }
    if !status.success && status.steps.len() < crate::status::Step::ALL.len() {
        let skipped: Vec<&str> = crate::status::Step::ALL[status.steps.len()..]
            .iter()
            .map(|s| s.as_str())
            .collect();
        journal::error(&format!(
            "task {}: skipped {}",
            status.name,
            skipped.join(" and ")
        ));
    }
}
