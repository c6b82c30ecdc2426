//! What each side of a task holds now: the backup disk and every target, listed live
//! the way the engine lists them (`snapshots.sh list`, over SSH with the run's
//! ssh_config) and judged by each side's own policy. `list` prints it, a run records
//! it at its end for the pages, and the site and `list` lay it out as one table, a
//! row a date and a column a side.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use jiff::civil::Date;

use super::{LOCAL, Side, backup_disk_mounted, target_disk_mounted};
use crate::outcome::{ErrorKind, StepError, TaskResult};
use crate::plan::{Plan, TaskPlan};
use crate::record::{SideRecord, SnapshotRecord};
use crate::retention::{self, Kept, Policy};
use crate::scripts::Scripts;
use crate::words::verdict;

/// One side of a task, as listed now.
#[derive(Debug, Clone)]
pub struct SideNow {
    /// `local` for the backup disk, else the target's name.
    pub name: String,
    /// The task directory there: `/path` or `user@host:/path`.
    pub location: String,
    /// The policy that side is pruned by.
    pub policy: Policy,
    /// Its snapshots, or why it could not be listed.
    pub listing: Result<BTreeSet<Date>, String>,
}

impl SideNow {
    /// Each snapshot with the policy's verdict on `today` (`None`: not kept).
    pub fn verdicts(&self, today: Date) -> BTreeMap<Date, Option<Kept>> {
        let Ok(snapshots) = &self.listing else {
            return BTreeMap::new();
        };
        let mut kept = retention::explain(snapshots, today, &self.policy);
        snapshots.iter().map(|d| (*d, kept.remove(d))).collect()
    }

    /// The side as the record keeps it.
    pub fn record(&self, today: Date, listed: f64) -> SideRecord {
        SideRecord {
            side: self.name.clone(),
            location: self.location.clone(),
            listed,
            error: self.listing.as_ref().err().cloned(),
            snapshots: self
                .verdicts(today)
                .into_iter()
                .map(|(date, kept)| SnapshotRecord { date, kept })
                .collect(),
        }
    }
}

/// Lists the backup disk of `task`, then each of its targets. `ssh_config` is the
/// run's (or why there is none); `unreachable(i)` says why target `i` is not to be
/// tried again (its sync just failed to reach it), if it is not. A disk that must be
/// a mount point (require_mountpoint) and is not is unknown, never empty.
pub fn take(
    plan: &Plan,
    task: &TaskPlan,
    scripts: &Scripts,
    ssh_config: &Result<Option<PathBuf>, crate::ssh::SetupError>,
    unreachable: &dyn Fn(usize) -> Option<String>,
) -> Vec<SideNow> {
    let local = backup_disk_mounted(plan).map_err(|e| e.message);
    let mut sides = vec![SideNow {
        name: LOCAL.to_string(),
        location: task.local_dir.display().to_string(),
        policy: task.policy,
        listing: local.and_then(|()| snapshots_of(Ok(Side::backup_disk(task, scripts)))),
    }];
    for (i, target) in task.targets.iter().enumerate() {
        let unmounted = target_disk_mounted(target).err().map(|e| e.message);
        let listing = match (
            unreachable(i).or(unmounted),
            target.dir.is_remote(),
            ssh_config,
        ) {
            (Some(why), ..) => Err(why),
            (None, true, Err(why)) => Err(why.to_string()),
            (None, _, config) => {
                let config = config.as_ref().ok().and_then(|c| c.as_deref());
                snapshots_of(Side::target(target, scripts, config))
            }
        };
        sides.push(SideNow {
            name: target.name.clone(),
            location: target.dir.to_string(),
            policy: target.policy,
            listing,
        });
    }
    sides
}

/// The sides of `task` at the end of a run, as the record keeps them: listed again,
/// but for a target whose sync just failed to reach it.
pub fn after_run(
    plan: &Plan,
    task: &TaskPlan,
    result: &TaskResult,
    scripts: &Scripts,
    ssh_config: Option<&Path>,
    now: f64,
) -> Vec<SideRecord> {
    let ssh_config = match (ssh_config, &plan.ssh) {
        (Some(config), _) => Ok(Some(config.to_path_buf())),
        (None, None) => Ok(None),
        (None, Some(_)) => Err(crate::ssh::SetupError::NotWritten),
    };
    let unreachable = |i: usize| {
        let step = task.steps.iter().find(|s| s.target == Some(i))?;
        let error = result
            .steps
            .iter()
            .find(|s| s.id == step.id)?
            .outcome
            .error()?;
        (error.kind == ErrorKind::Unreachable)
            .then(|| format!("its sync could not reach it: {}", error.message))
    };
    take(plan, task, scripts, &ssh_config, &unreachable)
        .iter()
        .map(|side| side.record(plan.today, now))
        .collect()
}

/// The snapshots `side` holds, listed as the engine lists them.
fn snapshots_of(side: Result<Side, StepError>) -> Result<BTreeSet<Date>, String> {
    side.and_then(|side| side.list_quietly())
        .map(|listing| listing.snapshots)
        .map_err(|e| e.message)
}

/// One snapshot date across the sides: on each side, absent (`None`), or there with
/// the policy's verdict.
pub type Row = (Date, Vec<Option<Option<Kept>>>);

/// Every date any side holds, newest first, from each side's verdicts.
pub fn rows(verdicts: &[BTreeMap<Date, Option<Kept>>]) -> Vec<Row> {
    let dates: BTreeSet<Date> = verdicts.iter().flat_map(|v| v.keys().copied()).collect();
    dates
        .into_iter()
        .rev()
        .map(|date| {
            (
                date,
                verdicts.iter().map(|v| v.get(&date).cloned()).collect(),
            )
        })
        .collect()
}

/// What a side's cell of a row says: for the backup disk the verdict, for a target
/// whether it has the snapshot, and its verdict where it differs from the backup
/// disk's; `?` for a side that could not be listed.
pub fn cell(
    local: bool,
    listed: bool,
    cell: &Option<Option<Kept>>,
    local_cell: &Option<Option<Kept>>,
) -> String {
    match (cell, listed) {
        (_, false) => "?".to_string(),
        (None, true) => "no".to_string(),
        (Some(kept), true) if local => verdict(kept),
        (Some(kept), true) if Some(kept) == local_cell.as_ref() => "yes".to_string(),
        (Some(kept), true) => format!("yes: {}", verdict(kept)),
    }
}

/// The column heading of the side named `name`.
pub fn heading(name: &str) -> &str {
    if name == LOCAL { "backup disk" } else { name }
}
