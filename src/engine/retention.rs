//! The retention step: the local snapshots the policy no longer keeps are removed.

use super::side::Side;
use super::{Done, Engine, StepLog, StepReturn};
use crate::plan::{TaskPlan, policy_words};
use crate::retention;

pub(super) fn run(engine: &Engine, task: &TaskPlan, log: &mut StepLog) -> StepReturn {
    let side = Side::here(&task.local_dir, &engine.scripts.snapshots);
    let listing = side.list(log)?;
    let delete = retention::to_delete(&listing.snapshots, engine.plan.today, &task.policy);
    log.line(&format!(
        "keeping {}: {} of {} snapshots stay, {} go",
        policy_words(&task.policy),
        listing.snapshots.len() - delete.len(),
        listing.snapshots.len(),
        delete.len()
    ));
    let (after, warnings) = side.prune(log, &delete, listing)?;
    Ok(Done {
        warnings,
        local: Some(after.space()),
        ..Done::default()
    })
}
