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
    let config = match Config::load(&opts.config) {
        Ok(config) => config,
        Err(e) => {
            journal::error(&e.to_string());
            return Exit::Usage;
        }
    };
    let scripts = match Scripts::locate(opts.scripts_dir.as_deref()) {
        Ok(scripts) => scripts,
        Err(e) => {
            journal::error(&e);
            return Exit::Usage;
        }
    };
    let state = &opts.state_dir;
    let (logs_dir, work_dir) = (state.join("logs"), state.join("run"));
    for dir in [state, &logs_dir, &work_dir] {
        if let Err(e) = fs_err::create_dir_all(dir) {
            journal::error(&format!("cannot prepare the state directory: {e}"));
            return Exit::TaskFailed;
        }
    }
    let _lock = match RunLock::acquire(&state.join("lock")) {
        Ok(lock) => lock,
        Err(e @ LockError::Busy { .. }) => {
            journal::error(&e.to_string());
            return Exit::Locked;
        }
        Err(e) => {
            journal::error(&e.to_string());
            return Exit::TaskFailed;
        }
    };

    let today = match opts.today {
        Some(today) => {
            crate::status::simulate_today(today);
            today
        }
        None => jiff::ZonedDateTime::now().date(),
    };
    let ssh_config = if config.uses_ssh() {
        match crate::ssh::write_config(&config, state) {
            Ok(path) => Some(path),
            Err(e) => {
                // The steps that need ssh fail and say so; local ones still run.
                journal::error(&format!("cannot write the ssh_config: {e}"));
                None
            }
        }
    } else {
        None
    };
    let mut db = open_db(state);
    let ctx = Context {
        config: &config,
        scripts: &scripts,
        logs_dir,
        work_dir,
        ssh_config,
        today,
    };

    let mut all_recorded = db.is_some();
    let mut statuses = Vec::new();
    for task in &config.tasks {
        journal::info(&format!("task {}: starting", task.name));
        let status = steps::run_task(&ctx, task);
        announce(&status);
        if let Some(Err(e)) = db.as_mut().map(|db| db.record(&status)) {
            journal::error(&format!(
                "task {}: cannot record the run in {}: {e}",
                task.name,
                state.join("log.db").display()
            ));
            all_recorded = false;
        }
        statuses.push(status);
    }

    let failed = statuses.iter().filter(|s| !s.success).count();
    journal::info(&format!(
        "{} of {} tasks succeeded",
        statuses.len() - failed,
        statuses.len()
    ));
    let mut tasks_exit = if failed > 0 || !all_recorded {
        Exit::TaskFailed
    } else {
        Exit::Success
    };
    if let Some(site_dir) = &opts.site_dir {
        // Rendered whatever happened: a failed task is what the site is for.
        match crate::site::render(&config, &state.join("log.db"), site_dir) {
            Ok(pages) => journal::info(&format!(
                "site rendered: {pages} pages in {}",
                site_dir.display()
            )),
            Err(e) => {
                journal::error(&format!("cannot render the site: {e}"));
                tasks_exit = Exit::TaskFailed;
            }
        }
    }
    if opts.no_email {
        return tasks_exit;
    }
    let report_options = ReportOptions {
        state_dir: state,
        password_file: opts.password_file.as_deref(),
        email_to: opts.email_to.as_deref(),
    };
    match report::deliver(&config, &statuses, db.as_ref(), &report_options) {
        Delivery::Sent => {
            journal::info(&format!("report sent to {}", config.email_report));
            tasks_exit
        }
        Delivery::Written(path) => {
            journal::info(&format!("report written to {}", path.display()));
            tasks_exit
        }
        Delivery::Undelivered { reason, kept } => {
            let kept = match kept {
                Some(path) => format!(
                    "; kept as {}, to be sent first by the next run",
                    path.display()
                ),
                None => String::new(),
            };
            journal::error(&format!("the report was not sent: {reason}{kept}"));
            // A failed task outranks an unsent report in the exit status.
            if tasks_exit == Exit::Success {
                Exit::ReportUndelivered
            } else {
                tasks_exit
            }
        }
    }
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
