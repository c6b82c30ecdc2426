//! The sync step: bring the target up to date, one snapshot's worth of work a day.
//!
//! Only snapshots the target lacks are sent, each hard-linked on the target to the
//! newest snapshot it already holds; the seed's `rsync --delete` of the whole task
//! tree re-walked every retained snapshot every night. The target is then pruned by
//! the retention policy applied to its own snapshots, never by mirroring what is
//! missing locally: an empty or replaced local disk cannot wipe the remote.

use std::collections::BTreeSet;

use jiff::civil::Date;

use super::{
    Context, StepLog, StepResult, add_warning, argv, outcome_result, run_script, ssh_config_arg,
};
use crate::config::Task;
use crate::{retention, snapshot};

pub(super) fn run(ctx: &Context, task: &Task, log: &mut StepLog) -> StepResult {
    let local_dir = ctx.config.local_task_dir(task);
    let local = snapshot::list_local(&local_dir)
        .map_err(|e| format!("cannot list {}: {e}", local_dir.display()))?;
    if local.is_empty() {
        return Err(format!(
            "refusing to sync: {} holds no complete snapshot; the target is left as it is",
            local_dir.display()
        ));
    }
    let target = ctx.config.dir_backup_remote.join(&task.name);
    let ssh_config = ssh_config_arg(ctx, target.is_remote())?;
    let script = &ctx.scripts.sync;
    let on_target = || argv![&ssh_config, target.host(), target.path()];

    let mut args = argv!["list"];
    args.extend(on_target());
    let (outcome, listing) = log.run(script, &args, true).map_err(|e| e.to_string())?;
    let mut warning = outcome_result(outcome)?;
    let mut remote = snapshot::from_names(listing.lines());

    let send = to_send(&local, &remote, ctx.today, &task.retention);
    log.line(&format!(
        "target {target} holds {} snapshots; sending {}",
        remote.len(),
        if send.is_empty() {
            "none".to_string()
        } else {
            send.iter()
                .map(|d| snapshot::name(*d))
                .collect::<Vec<_>>()
                .join(", ")
        }
    ));
    for date in send {
        let link_dest = remote
            .last()
            .map(|d| snapshot::name(*d))
            .unwrap_or_default();
        // As for the backup: only a full copy may reuse an unfinished .in-progress.
        let mode = if link_dest.is_empty() {
            "resume"
        } else {
            "fresh"
        };
        let mut args = argv!["send"];
        args.extend(on_target());
        args.extend(argv![&local_dir, snapshot::name(date), link_dest, mode]);
        warning = add_warning(warning, run_script(log, script, args)?);
        remote.insert(date);
    }

    let delete = retention::to_delete(&remote, ctx.today, &task.retention);
    log.line(&format!(
        "target keeps {} snapshots, deleting {}",
        remote.len() - delete.len(),
        delete.len()
    ));
    if !delete.is_empty() {
        let mut args = argv!["prune"];
        args.extend(on_target());
        args.extend(delete.into_iter().map(|d| snapshot::name(d).into()));
        warning = add_warning(warning, run_script(log, script, args)?);
    }
    Ok(warning)
}

/// The local snapshots to send: those the target lacks that the policy would keep
/// among everything either side holds (so that the target's own pruning never
/// deletes what was just sent, and nothing is sent again every night only to be
/// pruned), and today's, which a same-day re-run may have replaced.
fn to_send(
    local: &BTreeSet<Date>,
    remote: &BTreeSet<Date>,
    today: Date,
    policy: &retention::Policy,
) -> Vec<Date> {
    let everything: BTreeSet<Date> = local.union(remote).copied().collect();
    let kept = retention::keep(&everything, today, policy);
    local
        .iter()
        .filter(|d| **d == today || (!remote.contains(d) && kept.contains(d)))
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dates(list: &[&str]) -> BTreeSet<Date> {
        list.iter().map(|d| d.parse().unwrap()).collect()
    }

    #[test]
    fn sends_what_the_target_lacks_and_todays_snapshot() {
        let local = dates(&["2026-01-01", "2026-01-02", "2026-01-03"]);
        let remote = dates(&["2026-01-01", "2026-01-03"]);
        let send = to_send(
            &local,
            &remote,
            "2026-01-03".parse().unwrap(),
            &retention::Policy::default(),
        );
        assert_eq!(
            send,
            dates(&["2026-01-02", "2026-01-03"])
                .into_iter()
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn does_not_send_what_the_target_would_prune_at_once() {
        // The target holds Monday 2026-01-05; locally only Tuesday survives as that
        // week's representative. With weekly retention only, Tuesday would be pruned
        // on the target right after being sent.
        let policy = retention::Policy {
            daily: 1,
            weekly: 4,
            monthly: 0,
            yearly: 0,
        };
        let local = dates(&["2026-01-06", "2026-01-20"]);
        let remote = dates(&["2026-01-05", "2026-01-19"]);
        let send = to_send(&local, &remote, "2026-01-20".parse().unwrap(), &policy);
        assert_eq!(send, dates(&["2026-01-20"]).into_iter().collect::<Vec<_>>());
    }
}
