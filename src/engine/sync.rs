//! The sync step: bring the target up to date, one snapshot's worth of work a day.
//!
//! Only snapshots the target lacks are sent, each hard-linked on the target to the
//! newest snapshot it already holds; the seed's `rsync --delete` of the whole task
//! tree re-walked every retained snapshot every night. Each is committed on the
//! target only once rsync's outcome says it is whole. The target is then pruned by
//! the retention policy applied to its own snapshots, never by mirroring what is
//! missing locally (an empty or replaced local disk cannot wipe it), and never after
//! a transfer or a commit failed.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use jiff::civil::Date;

use super::backup::blocked;
use super::farm;
use super::rsync::Rsync;
use super::scan::{Scan, Transfer};
use super::{Done, Engine, StepReturn};
use crate::outcome::{ErrorKind, StepError, TransferStats};
use crate::plan::{TargetPlan, TaskPlan};
use crate::sides::{Commit, Listing, Made, Side, Way, identity, target_disk_mounted};
use crate::step_log::StepLog;
use crate::{retention, snapshot};

pub(super) fn run(
    engine: &Engine,
    task: &TaskPlan,
    to: &TargetPlan,
    log: &mut StepLog,
) -> StepReturn {
    let scripts = engine.scripts;
    let here = Side::backup_disk(task, scripts);
    let mut local = here.list(log)?;
    let local_space = local.space();
    if local.snapshots.is_empty() {
        return Err(StepError::new(
            ErrorKind::Refused,
            format!(
                "refusing to sync: {} holds no complete snapshot; the target is left as it is",
                task.local_dir.display()
            ),
        ));
    }
    let ssh_config = engine.ssh_config(to.dir.is_remote())?;
    let target = Side::target(to, scripts, ssh_config)?;
    if let Some(dir) = target.local_dir() {
        apart_from_the_backup_disk(dir, &engine.plan.backup_root)?;
        target_disk_mounted(to)?;
    }
    let any_config = engine.ssh_config(true).ok().flatten();
    identity::apart_from_the_other_targets(task, to, scripts, any_config, log)?;
    let found = target.list(log)?;
    let (mut listing, mut warnings) = target.prepare(log, &found, Way::Rsync)?;
    // Both sides on btrfs: each snapshot that is a subvolume goes by btrfs send |
    // receive; any other way, by rsync as ever.
    let btrfs = local.way() == Way::Btrfs && found.way() == Way::Btrfs;
    log.line(&format!(
        "{target} is {}; {}",
        found.way_words(),
        if btrfs {
            "the backup disk is too: snapshots are sent by btrfs send | btrfs receive"
        } else {
            "snapshots are sent by rsync"
        }
    ));
    if !listing.sync.is_empty() {
        // What a killed receive left (complete or not, it is received again).
        let leftovers: Vec<Date> = listing.sync.iter().copied().collect();
        let (released, more) = target.release(log, &leftovers, listing)?;
        warnings.extend(more);
        listing = released;
    }
    listing = listing.with_free_from(&found);

    let today = engine.plan.today;
    let send = to_send(&local.snapshots, &listing.snapshots, today, &to.policy);
    log.line(&format!(
        "sending {}",
        if send.is_empty() {
            "nothing: the target has every snapshot it keeps".to_string()
        } else {
            send.iter()
                .map(|d| snapshot::name(*d))
                .collect::<Vec<_>>()
                .join(", ")
        }
    ));
    let rsync = Rsync::snapshot()
        .mirror()
        .paced(to.compress, to.bwlimit_kib)
        .fake_super(found.uid, false)
        .ssh(ssh_config)
        .progress();
    if rsync.fakes_super() {
        log.line(&format!(
            "{target} is written by a user that is not root: owners, groups, device files and system \
             xattrs are kept in rsync's fake-super xattrs there, and given back by a restore"
        ));
    }
    // A night the backup made from a change list is replayed on a target that holds
    // its base: no walk of either tree (engine/farm.rs).
    let replaying = Rsync::snapshot()
        .with("--stats")
        .paced(to.compress, to.bwlimit_kib)
        .fake_super(found.uid, false)
        .ssh(ssh_config)
        .progress();
    let store = farm::Store::new(engine.state.changes(&task.name));
    let at = to.dir.to_string();
    let mut stats = TransferStats::default();
    for date in send {
        if let Some(what) = listing.blocked.get(&date) {
            return Err(blocked(&target, date, what));
        }
        let commit = if listing.snapshots.contains(&date) {
            Commit::Replace
        } else {
            Commit::New
        };
        let made = if btrfs && local.subvolumes.contains(&date) {
            let sent;
            (sent, local) = send_btrfs(&here, &target, date, commit, local, &listing, log)?;
            stats.add(&sent);
            Made::Received
        } else {
            let base = listing.newest();
            let local_id = farm::identity(&task.local_dir, date);
            let given = store.given(&to.name, &at);
            let snapshot = task.local_dir.join(snapshot::name(date));
            let replayed = match store.replayable(date, local_id, base, given) {
                Some(night) => match target.farm(log, night.base) {
                    Ok(_) => Some(night),
                    Err(e) => {
                        // The farm is removed again; rsync sends the snapshot as before.
                        log.line(&format!(
                            "not replaying the backup's change list: the hard-link copy of {} \
                             could not be made ({e})",
                            night.base
                        ));
                        target.prepare(log, &found, Way::Rsync)?;
                        None
                    }
                },
                None => None,
            };
            let mut command = match replayed {
                Some(night) => {
                    log.line(&format!(
                        "{}: a hard-link copy of the target's {} (a link farm), into which rsync \
                         writes what the backup's change list says changed",
                        snapshot::name(date),
                        night.base
                    ));
                    let mut command = Command::new(&scripts.replay);
                    command
                        .arg(to.dir.host())
                        .arg(to.dir.path())
                        .arg(&snapshot)
                        .arg(snapshot::name(night.base))
                        .arg(store.breaks())
                        .arg(store.list())
                        .args(replaying.options());
                    command
                }
                None => {
                    let mut command = Command::new(&scripts.sync);
                    command
                        .arg(to.dir.host())
                        .arg(to.dir.path())
                        .arg(&snapshot)
                        .arg(base.map(snapshot::name).unwrap_or_default())
                        .args(rsync.options());
                    command
                }
            };
            command.stdin(Stdio::null());
            let (kept_warnings, mut sent) =
                Scan::new(Transfer::Sync, target.to_string()).run(&mut command, log, |_| false)?;
            if let Some(night) = replayed {
                sent = TransferStats {
                    files_total: night.files_total,
                    total_size: night.total_size,
                    ..sent
                };
            }
            warnings.extend(kept_warnings);
            stats.add(&sent);
            Made::Rsync
        };
        let (committed, more) = target.commit(log, date, commit, made)?;
        warnings.extend(more);
        listing = committed;
        if let Some(id) = farm::identity(&task.local_dir, date) {
            store.gave(&to.name, &at, date, id)?;
        }
    }
    if !local.sync.is_empty() {
        let keep = parents_kept(task, to, &listing, scripts, any_config);
        let release: Vec<Date> = local
            .sync
            .iter()
            .filter(|d| keep.as_ref().is_some_and(|keep| !keep.contains(d)))
            .copied()
            .collect();
        if !release.is_empty() {
            log.line(&format!(
                "removing the sent copies no target needs as a parent: {}",
                release
                    .iter()
                    .map(|d| format!(".sync-{d}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        warnings.extend(here.release(log, &release, local)?.1);
    }

    let delete = super::prune::judge(log, &listing.snapshots, today, &to.policy);
    log.line(&format!(
        "the target keeps {} snapshots and deletes {}",
        listing.snapshots.len() - delete.len(),
        delete.len()
    ));
    let (after, pruned) = target.prune(log, &delete, listing)?;
    warnings.extend(pruned);
    Ok(Done {
        warnings,
        stats: Some(stats),
        local: Some(local_space),
        target: Some(after.space()),
    })
}

/// Sends the snapshot `date` to `target` by btrfs send | receive: a fresh read-only
/// `.sync-DATE` of it is made on the backup disk, sent incrementally from the newest
/// `.sync-PARENT` whose date the target holds (a subvolume it received from that
/// parent), or whole when there is none or the target cannot find it (once, logged).
/// Returns the stream's figures and the backup disk's listing after.
fn send_btrfs(
    here: &Side,
    target: &Side,
    date: Date,
    commit: Commit,
    local: Listing,
    listing: &Listing,
    log: &mut StepLog,
) -> Result<(TransferStats, Listing), StepError> {
    if local.sync.contains(&date) {
        // Made for an earlier send: of a snapshot replaced since, or sent to a
        // target that was killed before it committed. Made again, to be sure.
        here.release(log, &[date], local)?;
    }
    let local = here.freeze(log, date)?.0;
    let parent = listing
        .snapshots
        .iter()
        .rev()
        .find(|p| **p < date && local.sync.contains(p))
        .copied();
    if commit == Commit::Replace {
        log.line(&format!(
            "{date} replaces the target's {date} of earlier today"
        ));
    }
    match super::send::send(here, target, date, parent, log) {
        Ok(sent) => Ok((sent, local)),
        Err(failed) if failed.parent_missing && parent.is_some() => {
            log.line(&format!(
                "{target} has no subvolume received from .sync-{}: sending {date} whole instead ({})",
                parent.map(snapshot::name).unwrap_or_default(),
                failed.error.message
            ));
            let found = target.list(log)?;
            if found.sync.contains(&date) {
                target.release(log, &[date], found)?;
            }
            let sent = super::send::send(here, target, date, None, log).map_err(|f| f.error)?;
            Ok((sent, local))
        }
        Err(failed) => Err(failed.error),
    }
}

/// The dates whose `.sync-DATE` the backup disk keeps as the parent of a next
/// incremental send: the newest snapshot of this target (`listing`) and of every
/// other target on btrfs. None when another target cannot be listed: then nothing is
/// removed.
fn parents_kept(
    task: &TaskPlan,
    to: &TargetPlan,
    listing: &Listing,
    scripts: &crate::scripts::Scripts,
    ssh_config: Option<&Path>,
) -> Option<BTreeSet<Date>> {
    let mut keep: BTreeSet<Date> = listing.newest().into_iter().collect();
    for other in task.targets.iter().filter(|t| t.name != to.name) {
        let side = Side::target(other, scripts, ssh_config).ok()?;
        let theirs = side.list_quietly().ok()?;
        if theirs.way() == Way::Btrfs {
            keep.extend(theirs.newest());
        }
    }
    Some(keep)
}

/// A local target reached through a symlink may be the backup disk after all: pruned by
/// the target's policy, it would delete the backup disk's snapshots. Compared after
/// resolving symlinks (the config compares the paths as written).
fn apart_from_the_backup_disk(task_dir: &Path, backup_root: &Path) -> Result<(), StepError> {
    let (Some(Ok(target)), Ok(backup)) = (
        task_dir.parent().map(std::fs::canonicalize),
        std::fs::canonicalize(backup_root),
    ) else {
        // One of them is not there: the steps that need it say so.
        return Ok(());
    };
    if target.starts_with(&backup) || backup.starts_with(&target) {
        return Err(StepError::new(
            ErrorKind::Refused,
            format!(
                "the target {} is (or holds, or lies inside) the backup disk {} (really {} and {}): \
                 a target pruned by its own policy would delete the backup disk's snapshots",
                task_dir.display(),
                backup_root.display(),
                target.display(),
                backup.display()
            ),
        ));
    }
    Ok(())
}

/// The local snapshots to send: those the target lacks that the policy would keep
/// among everything either side holds (so that the target's own pruning never
/// deletes what was just sent, and nothing is sent again every night only to be
/// pruned), and today's, which a same-day re-run may have replaced, unless the target
/// holds a newer one: a snapshot older than the newest is never replaced.
fn to_send(
    local: &BTreeSet<Date>,
    remote: &BTreeSet<Date>,
    today: Date,
    policy: &retention::Policy,
) -> Vec<Date> {
    let everything: BTreeSet<Date> = local.union(remote).copied().collect();
    let kept = retention::keep(&everything, today, policy);
    let newest_remote = remote.last().copied();
    local
        .iter()
        .filter(|d| {
            let lacking = !remote.contains(d) && kept.contains(d);
            let replace_today = **d == today && newest_remote.is_none_or(|n| n <= today);
            lacking || replace_today
        })
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dates(list: &[&str]) -> BTreeSet<Date> {
        list.iter().map(|d| d.parse().unwrap()).collect()
    }

    fn send(
        local: &[&str],
        remote: &[&str],
        today: &str,
        policy: &retention::Policy,
    ) -> Vec<String> {
        to_send(
            &dates(local),
            &dates(remote),
            today.parse().unwrap(),
            policy,
        )
        .into_iter()
        .map(snapshot::name)
        .collect()
    }

    #[test]
    fn sends_what_the_target_lacks_and_todays_snapshot() {
        let policy = retention::Policy::default();
        assert_eq!(
            send(
                &["2026-01-01", "2026-01-02", "2026-01-03"],
                &["2026-01-01", "2026-01-03"],
                "2026-01-03",
                &policy
            ),
            ["2026-01-02", "2026-01-03"]
        );
    }

    #[test]
    fn never_replaces_a_snapshot_older_than_the_targets_newest() {
        let policy = retention::Policy::default();
        assert_eq!(
            send(
                &["2026-01-03"],
                &["2026-01-03", "2026-01-05"],
                "2026-01-03",
                &policy
            ),
            Vec::<String>::new()
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
        assert_eq!(
            send(
                &["2026-01-06", "2026-01-20"],
                &["2026-01-05", "2026-01-19"],
                "2026-01-20",
                &policy
            ),
            ["2026-01-20"]
        );
    }
}
