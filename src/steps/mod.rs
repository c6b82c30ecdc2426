//! The three steps of a task (backup, retention, sync) and the loop that runs them.
//!
//! Each step decides everything in Rust (snapshot name, link target, what to delete,
//! what to send) and hands the file work to its script. A failed step ends the task;
//! every step that ran is returned as a status, whatever happened to it.

mod backup;
mod outcome;
mod retention;
mod script;
mod sync;

use std::ffi::OsString;
use std::path::PathBuf;

use jiff::civil::Date;

use crate::config::{Config, Task};
use crate::scripts::Scripts;
use crate::status::{self, Step, StepStatus, TaskStatus};
pub use outcome::Outcome;
use script::StepLog;

/// What every step of a run shares.
pub struct Context<'a> {
    pub config: &'a Config,
    pub scripts: &'a Scripts,
    /// Where step logs go: `<state>/logs`.
    pub logs_dir: PathBuf,
    /// Where per-run files go (exclude lists): `<state>/run`.
    pub work_dir: PathBuf,
    /// The generated ssh_config (when any location is remote).
    pub ssh_config: Option<PathBuf>,
    pub today: Date,
}

/// `Ok(None)`: done; `Ok(Some(w))`: done with a warning; `Err(reason)`: failed.
type StepResult = Result<Option<String>, String>;

/// Runs backup, retention and sync for `task`, stopping at the first failure.
pub fn run_task(ctx: &Context, task: &Task) -> TaskStatus {
    let dt_task_start = status::now();
    let mut steps = Vec::new();
    for step in Step::ALL {
        let done = run_step(ctx, task, step);
        let failed = !done.success;
        steps.push(done);
        if failed {
            break;
        }
    }
    TaskStatus {
        name: task.name.clone(),
        success: steps.len() == Step::ALL.len() && steps.iter().all(|s| s.success),
        dt_task_start,
        dt_task_end: status::now(),
        steps,
    }
}

fn run_step(ctx: &Context, task: &Task, step: Step) -> StepStatus {
    let local_dir = ctx.config.local_task_dir(task);
    let (dir_from, dir_to) = match step {
        Step::Backup => (
            task.dir_source.to_string(),
            local_dir
                .join(crate::snapshot::name(ctx.today))
                .display()
                .to_string(),
        ),
        Step::Retention => (
            local_dir.display().to_string(),
            local_dir.display().to_string(),
        ),
        Step::Sync => (
            local_dir.display().to_string(),
            ctx.config.dir_backup_remote.join(&task.name).to_string(),
        ),
    };
    let file_log = ctx.logs_dir.join(format!("{}_{step}.log", task.name));
    let dt_start = status::now();
    let result = match StepLog::create(file_log.clone()) {
        Ok(mut log) => {
            log.line(&format!(
                "{step} of task {:?}: {dir_from} -> {dir_to}",
                task.name
            ));
            let result = match step {
                Step::Backup => backup::run(ctx, task, &mut log),
                Step::Retention => retention::run(ctx, task, &mut log),
                Step::Sync => sync::run(ctx, task, &mut log),
            };
            match &result {
                Ok(None) => log.line(&format!("{step} succeeded")),
                Ok(Some(warning)) => {
                    log.line(&format!("{step} succeeded with a warning: {warning}"))
                }
                Err(reason) => log.line(&format!("{step} FAILED: {reason}")),
            }
            result
        }
        Err(e) => Err(format!(
            "cannot create the step log {}: {e}",
            file_log.display()
        )),
    };
    let dt_end = status::now();
    let (error, warning) = match result {
        Ok(warning) => (None, warning),
        Err(reason) => (Some(reason), None),
    };
    StepStatus {
        step,
        success: error.is_none(),
        dt_start,
        dt_end,
        time_elapsed: status::elapsed(dt_end - dt_start),
        dir_from,
        dir_to,
        file_log,
        error,
        warning,
    }
}

/// Runs a script and turns its outcome into a step result.
fn run_script(log: &mut StepLog, script: &std::path::Path, args: Vec<OsString>) -> StepResult {
    let (outcome, _) = log.run(script, &args, false).map_err(|e| e.to_string())?;
    outcome_result(outcome)
}

fn outcome_result(outcome: Outcome) -> StepResult {
    match outcome {
        Outcome::Success => Ok(None),
        Outcome::Warnings { count, example } => Ok(Some(format!(
            "{count} warning{} from rsync (files unreadable or vanished), first: {example}",
            if count == 1 { "" } else { "s" }
        ))),
        Outcome::Failure(reason) => Err(reason),
    }
}

/// Joins two optional warnings into one.
fn add_warning(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (a, b) => a.or(b),
    }
}

/// The ssh_config argument for the scripts: the generated file, or "" for local work.
fn ssh_config_arg(ctx: &Context, remote: bool) -> Result<OsString, String> {
    if !remote {
        return Ok(OsString::new());
    }
    let key = &ctx.config.ssh_key;
    if !key.is_file() {
        return Err(format!(
            "the SSH key {} (ssh_key) does not exist or is not a file",
            key.display()
        ));
    }
    ctx.ssh_config
        .clone()
        .map(OsString::from)
        .ok_or_else(|| "no ssh_config was written for this run".to_string())
}

/// Builds an argv from anything path- or string-like.
macro_rules! argv {
    ($($arg:expr),* $(,)?) => {
        vec![$(std::ffi::OsString::from($arg)),*]
    };
}
use argv;
