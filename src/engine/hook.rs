//! The `before` and `after` steps: the task's own commands, run by `/bin/sh -c` with
//! a time limit, their output in the step's log.
//!
//! `before` prepares the source (a database dump into it, say): if it fails or runs
//! out of time, no snapshot is taken of what it left half-written. `after` always
//! runs, and is told in its environment how the task went, so it can clean up or
//! call for help.

use std::process::{Command, Stdio};
use std::time::Duration;

use super::{Done, Engine, StepLog, StepReturn, hook_group};
use crate::outcome::{ErrorKind, StepError, StepOutcome, StepResult};
use crate::plan::{Hook, TaskPlan};

pub(super) fn before(engine: &Engine, task: &TaskPlan, log: &mut StepLog) -> StepReturn {
    let hook = task.before.as_ref().ok_or_else(|| no_hook("before"))?;
    run(engine, task, "before", hook, &[], log)
}

/// `earlier`: the task's steps that ran before it.
pub(super) fn after(
    engine: &Engine,
    task: &TaskPlan,
    earlier: &[StepResult],
    log: &mut StepLog,
) -> StepReturn {
    let hook = task.after.as_ref().ok_or_else(|| no_hook("after"))?;
    let failed: Vec<&str> = earlier
        .iter()
        .filter(|s| s.outcome.failed())
        .map(|s| s.id.as_str())
        .collect();
    // Fewer steps than planned before this one: the rest were skipped.
    let skipped = earlier.len() < task.steps.len() - 1;
    let warned = earlier
        .iter()
        .any(|s| matches!(s.outcome, StepOutcome::Warned { .. }));
    let outcome = crate::outcome::word(!failed.is_empty() || skipped, warned);
    let env = [
        ("BACKUP_SERVER_OUTCOME", outcome.to_string()),
        ("BACKUP_SERVER_FAILED_STEPS", failed.join(" ")),
    ];
    run(engine, task, "after", hook, &env, log)
}

fn no_hook(which: &str) -> StepError {
    StepError::new(ErrorKind::Io, format!("the plan has no {which} command"))
}

fn run(
    engine: &Engine,
    task: &TaskPlan,
    which: &str,
    hook: &Hook,
    env: &[(&str, String)],
    log: &mut StepLog,
) -> StepReturn {
    let record = hook_group::record_path(engine.state, &task.name, which);
    if let Ok(held) = fs_err::read_to_string(&record) {
        return Err(StepError::new(
            ErrorKind::Refused,
            format!(
                "refusing to start the {which} command: the one a killed run started is still \
                 running and could not be stopped ({}; {}): end it, then run again",
                held.lines()
                    .find(|l| l.starts_with("group "))
                    .unwrap_or("group unknown"),
                record.display()
            ),
        ));
    }
    let token = hook_group::new_token();
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(&hook.command)
        .env("BACKUP_SERVER_TASK", &task.name)
        .env("BACKUP_SERVER_SOURCE", task.source.to_string())
        .env("BACKUP_SERVER_SNAPSHOT", task.snapshot(engine.plan.today))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env(hook_group::TOKEN_VAR, &token)
        .stdin(Stdio::null());
    let mut unrecorded = None;
    let mut started = None;
    let ran = log.run_limited(
        &mut command,
        Duration::from_secs(u64::from(hook.timeout_secs)),
        engine.lock_fd,
        |group| {
            started = Some(group);
            let running = hook_group::Running {
                task: task.name.clone(),
                hook: which.to_string(),
                group,
                token: token.clone(),
            };
            if let Err(e) = running.write(&record) {
                unrecorded = Some(e);
            }
        },
    );
    if let Some(e) = unrecorded {
        log.line(&format!(
            "note: the hook's process group could not be recorded ({e}): a run killed while it \
             ran could not end it"
        ));
    }
    let (code, timed_out, last_line) = match ran {
        Ok(ran) => ran,
        Err(e) => {
            let _ = fs_err::remove_file(&record);
            return Err(StepError::new(ErrorKind::Io, e.to_string()));
        }
    };
    let stuck = started.filter(|group| timed_out && crate::step_log::group_alive(*group));
    if let Some(group) = stuck {
        // Still writing, perhaps: the record stays, and the next run refuses to start
        // another writer beside it.
        return Err(StepError::new(
            ErrorKind::Hook,
            format!(
                "the {which} command ran longer than {} s (hook_timeout_secs), and its process \
                 group {group} is still there after SIGKILL (stuck on a disk?); the next run \
                 will not start the {which} command until it is gone",
                hook.timeout_secs
            ),
        ));
    }
    // Ended, or stopped whole: nothing of it is left for the next run to end (a
    // program it left running on its own when it ended is left alone, as documented).
    let _ = fs_err::remove_file(&record);
    let failed = |why: String| {
        let detail = last_line
            .as_ref()
            .map(|line| format!(": {line}"))
            .unwrap_or_default();
        Err(StepError::new(
            ErrorKind::Hook,
            format!("the {which} command {why}{detail}"),
        ))
    };
    match code {
        _ if timed_out => failed(format!(
            "ran longer than {} s (hook_timeout_secs) and was stopped",
            hook.timeout_secs
        )),
        Some(0) => Ok(Done::default()),
        Some(code) => failed(format!("exited with status {code}")),
        None => failed("was killed by a signal".to_string()),
    }
}
