//! The engine: executes a plan's steps, one at a time, and yields typed outcomes.
//!
//! Each step decides nothing the plan already decided; it reads the file system
//! (what snapshots exist, how much room is left), makes the decisions only that
//! can tell (the `--link-dest` snapshot, whether today's snapshot is new or replaces
//! the same day's, what to send and prune), and hands the file work to the scripts.
//! One protocol for every transfer: rsync runs, `rsync::Scan` classifies its exit
//! status and output, and only then does a separate call commit the snapshot;
//! nothing is pruned on a side whose commit did not happen. A failed step ends its
//! task. Observers (the record, the journal) hear of every step as it ends.

mod backup;
pub use backup::protected_inside;
pub mod excludes;
pub mod farm;
mod hook;
pub mod hook_group;
pub mod itemize;
mod manifest;
mod prune;
pub mod rsync;
pub mod scan;
mod send;
mod sync;

use std::path::{Path, PathBuf};

use crate::clock::Clock;
use crate::outcome::{
    ErrorKind, Space, StepError, StepOutcome, StepResult, TaskResult, TransferStats,
};
use crate::plan::{Plan, StepKind, StepPlan, TaskPlan};
use crate::scripts::Scripts;
use crate::state::StateDir;
use crate::step_log::StepLog;
pub use scan::{Scan, Transfer};

/// What every step of a run shares.
pub struct Engine<'a> {
    pub plan: &'a Plan,
    pub scripts: &'a Scripts,
    pub state: &'a StateDir,
    pub clock: &'a Clock,
    /// The generated ssh_config, when anything is reached over SSH and it was written.
    pub ssh_config: Option<PathBuf>,
    /// The run lock's descriptor: the step programs inherit it (a transfer that
    /// outlives a killed run still holds it), a hook's programs must not (a daemon a
    /// hook starts would hold it for good).
    pub lock_fd: Option<std::os::fd::RawFd>,
}

/// Hears of each step and task as it ends (the record, the journal, the live status).
pub trait Observer {
    fn task_started(&mut self, task: &TaskPlan, started: f64);
    fn step_started(&mut self, task: &TaskPlan, step: &StepPlan);
    fn step_finished(&mut self, task: &TaskPlan, step: &StepResult);
    fn task_finished(&mut self, task: &TaskPlan, result: &TaskResult);
}

/// What a step that did not fail has to say.
#[derive(Debug, Default)]
struct Done {
    warnings: Vec<String>,
    stats: Option<TransferStats>,
    local: Option<Space>,
    target: Option<Space>,
}

type StepReturn = Result<Done, StepError>;

impl Engine<'_> {
    /// Runs `task`'s steps in order. A failed `before` or backup skips what needs it
    /// (everything but `after`); a failed retention or sync stops nothing.
    pub fn run_task(&self, task: &TaskPlan, observer: &mut dyn Observer) -> TaskResult {
        let started = self.clock.now();
        observer.task_started(task, started);
        let mut steps: Vec<StepResult> = Vec::new();
        let mut skipped = Vec::new();
        for step in &task.steps {
            let blocked = steps
                .iter()
                .any(|s| s.kind.is_prerequisite() && s.outcome.failed());
            if blocked && step.kind != StepKind::After {
                skipped.push(step.id.clone());
                continue;
            }
            observer.step_started(task, step);
            let result = self.run_step(task, step, &steps);
            observer.step_finished(task, &result);
            steps.push(result);
        }
        let result = TaskResult {
            name: task.name.clone(),
            started,
            ended: self.clock.now(),
            steps,
            skipped,
            planned: task.steps.iter().map(|s| s.id.clone()).collect(),
        };
        observer.task_finished(task, &result);
        result
    }

    /// Runs one step; `earlier` are the task's steps that ran before it.
    fn run_step(&self, task: &TaskPlan, step: &StepPlan, earlier: &[StepResult]) -> StepResult {
        let log_path = self.state.step_log(&task.name, &step.id);
        let started = self.clock.now();
        crate::journal::detail(&format!(
            "task {}: {}: {} -> {} (log: {})",
            task.name,
            step.id,
            step.from,
            step.to,
            log_path.display()
        ));
        let _shown = crate::journal::progress::begin(&format!("task {}: {}", task.name, step.id));
        let done = match StepLog::create(log_path.clone()) {
            Ok(mut log) => {
                log.line(&format!(
                    "{} of task {:?}: {} -> {}",
                    step.id, task.name, step.from, step.to
                ));
                let done = match (step.kind, step.target.and_then(|i| task.targets.get(i))) {
                    (StepKind::Before, _) => hook::before(self, task, &mut log),
                    (StepKind::Backup, _) => backup::run(self, task, &mut log),
                    (StepKind::Retention, _) => prune::run(self, task, &mut log),
                    (StepKind::Sync, Some(target)) => sync::run(self, task, target, &mut log),
                    (StepKind::Sync, None) => Err(StepError::new(
                        ErrorKind::Io,
                        "the plan names no target for this sync",
                    )),
                    (StepKind::After, _) => hook::after(self, task, earlier, &mut log),
                };
                match &done {
                    Ok(done) if done.warnings.is_empty() => {
                        log.line(&format!("{} succeeded", step.id))
                    }
                    Ok(done) => log.line(&format!(
                        "{} succeeded with warnings: {}",
                        step.id,
                        done.warnings.join("; ")
                    )),
                    Err(e) => log.line(&format!("{} FAILED: {e}", step.id)),
                }
                done
            }
            Err(e) => Err(StepError::new(
                ErrorKind::Io,
                format!("cannot create the step log {}: {e}", log_path.display()),
            )),
        };
        let (outcome, done) = match done {
            Ok(done) if done.warnings.is_empty() => (StepOutcome::Ok, done),
            Ok(mut done) => (
                StepOutcome::Warned {
                    // Text from outside (file names, rsync's words), made visible
                    // where it enters the record, as an error's message is.
                    warnings: std::mem::take(&mut done.warnings)
                        .iter()
                        .map(|w| crate::outcome::visible(w))
                        .collect(),
                },
                done,
            ),
            Err(error) => (StepOutcome::Failed { error }, Done::default()),
        };
        StepResult {
            kind: step.kind,
            id: step.id.clone(),
            started,
            ended: self.clock.now(),
            from: step.from.clone(),
            to: step.to.clone(),
            log: log_path,
            outcome,
            stats: done.stats,
            local: done.local,
            target: done.target,
        }
    }

    /// The ssh_config for a step that reaches another host, once its key is there.
    fn ssh_config(&self, remote: bool) -> Result<Option<&Path>, StepError> {
        if !remote {
            return Ok(None);
        }
        if let Some(ssh) = &self.plan.ssh
            && !ssh.key.is_file()
        {
            return Err(StepError::new(
                ErrorKind::Unavailable,
                format!(
                    "the SSH key {} (ssh_key) does not exist or is not a file",
                    ssh.key.display()
                ),
            ));
        }
        self.ssh_config
            .as_deref()
            .map(Some)
            .ok_or_else(|| StepError::new(ErrorKind::Io, "no ssh_config was written for this run"))
    }
}
