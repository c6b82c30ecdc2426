//! The retention step: delete the local snapshots the policy does not keep.

use super::{Context, StepLog, StepResult, argv, run_script};
use crate::config::Task;
use crate::{retention, snapshot};

pub(super) fn run(ctx: &Context, task: &Task, log: &mut StepLog) -> StepResult {
    let task_dir = ctx.config.local_task_dir(task);
    let snapshots = snapshot::list_local(&task_dir)
        .map_err(|e| format!("cannot list {}: {e}", task_dir.display()))?;
    let delete = retention::to_delete(&snapshots, ctx.today, &task.retention);
    log.line(&format!(
        "{} snapshots, policy {:?}: keeping {}, deleting {}",
        snapshots.len(),
        task.retention,
        snapshots.len() - delete.len(),
        delete.len()
    ));
    if delete.is_empty() {
        return Ok(None);
    }
    let mut args = argv![&task_dir];
    args.extend(delete.into_iter().map(|d| snapshot::name(d).into()));
    run_script(log, &ctx.scripts.retention, args)
}
