//! The retention step: the local snapshots the policy no longer keeps are removed.
//!
//! Its log says, snapshot by snapshot, why each one stays and until when, and which
//! go; the sync's pruning of a target says the same with the target's policy.

use std::collections::BTreeSet;

use jiff::civil::Date;

use super::{Done, Engine, StepReturn};
use crate::plan::{TaskPlan, policy_words};
use crate::retention::{self, Policy};
use crate::sides::Side;
use crate::step_log::StepLog;

pub(super) fn run(engine: &Engine, task: &TaskPlan, log: &mut StepLog) -> StepReturn {
    let side = Side::backup_disk(task, engine.scripts);
    let listing = side.list(log)?;
    let delete = judge(log, &listing.snapshots, engine.plan.today, &task.policy);
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

/// The snapshots of `snapshots` the policy does not keep, oldest first; the log gets
/// one line per snapshot, newest first: why it stays and until when, or that it goes.
pub(super) fn judge(
    log: &mut StepLog,
    snapshots: &BTreeSet<Date>,
    today: Date,
    policy: &Policy,
) -> Vec<Date> {
    let kept = retention::explain(snapshots, today, policy);
    for date in snapshots.iter().rev() {
        log.line(&match kept.get(date) {
            Some(kept) => format!("  {date} stays: {kept}"),
            None => format!("  {date} goes: no rule keeps it"),
        });
    }
    snapshots
        .iter()
        .filter(|d| !kept.contains_key(d))
        .copied()
        .collect()
}
