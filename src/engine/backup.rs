//! The backup step: a new dated snapshot of the source, unchanged files hard-linked
//! to the newest complete snapshot; or, when the task directory is on btrfs, a
//! writable copy-on-write snapshot of the newest one that rsync brings up to date in
//! place and that is then snapshotted read-only under the date (the older snapshot
//! shares its blocks and is never written into).
//!
//! Today's snapshot is new, or replaces today's own (a same-day re-run); a snapshot
//! older than the newest is never replaced, so a clock that went back fails the step
//! instead of rewriting history.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::rsync::Rsync;
use super::scan::{Scan, Transfer};
use super::{Done, Engine, StepReturn};
use crate::outcome::{ErrorKind, StepError};
use crate::plan::{Plan, TaskPlan};
use crate::sides::{Commit, Made, Side, Way, backup_disk_mounted};
use crate::snapshot;
use crate::state::StateDir;
use crate::step_log::StepLog;

pub(super) fn run(engine: &Engine, task: &TaskPlan, log: &mut StepLog) -> StepReturn {
    let plan = engine.plan;
    let root = &plan.backup_root;
    if !root.is_dir() {
        return Err(StepError::new(
            ErrorKind::Unavailable,
            format!(
                "the backup directory {} (dir_backup_local) does not exist: is the backup disk mounted?",
                root.display()
            ),
        ));
    }
    backup_disk_mounted(plan)?;
    let mut warnings = Vec::new();
    let mut excludes = task.excludes.clone();
    if let Some(source) = task.source.local_path() {
        if !source.is_dir() {
            return Err(StepError::new(
                ErrorKind::Unavailable,
                format!(
                    "the source {} (dir_source) does not exist or is not a directory",
                    source.display()
                ),
            ));
        }
        for own in protected_inside(plan, engine.state, source)? {
            log.line(&format!(
                "excluding {own} from the source: it holds backup-server's own files"
            ));
            excludes.push(own);
        }
        if fs_err::read_dir(source).is_ok_and(|mut entries| entries.next().is_none()) {
            warnings.push(format!(
                "the source {} is empty (is its disk mounted?), and so is this snapshot",
                source.display()
            ));
        }
    }
    let ssh_config = engine.ssh_config(task.source.is_remote())?;

    let side = Side::backup_disk(task, engine.scripts);
    let found = side.list(log)?;
    let way = found.way();
    log.line(&format!("{side} is {}", found.way_words()));
    let (listing, cleaned) = side.prepare(log, &found, way)?;
    warnings.extend(cleaned);
    let today = plan.today;
    if let Some(what) = listing.blocked.get(&today) {
        return Err(blocked(&side, today, what));
    }
    let (commit, link_dest) = match listing.newest() {
        Some(newest) if today < newest => {
            return Err(StepError::new(
                ErrorKind::Refused,
                format!(
                    "today ({today}) is before the newest snapshot ({newest}) in {side}: is the system clock right? \
                     A snapshot older than the newest is never replaced, so nothing was written"
                ),
            ));
        }
        Some(newest) if newest == today => (Commit::Replace, Some(newest)),
        newest => (Commit::New, newest),
    };
    // On btrfs the new snapshot starts as a writable snapshot of the newest one that
    // is a subvolume (a plain directory, from before the disk was btrfs, cannot be
    // snapshotted: then it starts empty); nothing is hard-linked across subvolumes.
    let branch_from = listing.subvolumes.last().copied();
    let (link_dest, made) = match way {
        Way::Rsync => (link_dest, Made::Rsync),
        Way::Btrfs => (None, Made::Branch),
    };
    log.line(&match (made, commit, link_dest, branch_from) {
        (Made::Branch, _, _, Some(base)) => format!(
            "snapshot {today}: a read-only subvolume, from a writable snapshot of {base} \
             that rsync --inplace brings up to date"
        ),
        (Made::Branch, ..) => format!(
            "snapshot {today}: a read-only subvolume, a full copy (no earlier subvolume)"
        ),
        (_, Commit::Replace, ..) => format!(
            "snapshot {today}: replaces the one taken earlier today, unchanged files hard-linked to it"
        ),
        (_, Commit::New, Some(previous), _) => {
            format!("snapshot {today}: unchanged files hard-linked to {previous}")
        }
        (_, Commit::New, None, _) => {
            format!("snapshot {today}: a full copy (no earlier snapshot)")
        }
    });

    let exclude_file = engine.state.excludes(&task.name);
    super::excludes::write(&exclude_file, &excludes).map_err(|e| {
        StepError::new(
            ErrorKind::Io,
            format!("cannot write {}: {e}", exclude_file.display()),
        )
    })?;
    let rsync = Rsync::snapshot()
        .mirror()
        .when(task.source.is_remote(), "--compress")
        .when(task.one_file_system, "--one-file-system")
        .when(made == Made::Branch, "--inplace")
        .fake_super(listing.uid, task.source.is_remote())
        .ssh(ssh_config)
        .progress();
    if made == Made::Branch {
        side.branch(log, branch_from)?;
    }
    let mut command = Command::new(&engine.scripts.backup);
    command
        .arg(&task.local_dir)
        .arg(task.source.for_rsync())
        .arg(&exclude_file)
        .arg(link_dest.map(snapshot::name).unwrap_or_default())
        .args(rsync.options())
        .stdin(Stdio::null());
    let (kept_warnings, stats) =
        Scan::new(Transfer::Backup, side.to_string()).run(&mut command, log, |_| false)?;
    warnings.extend(kept_warnings);

    let (after, committed) = side.commit(log, today, commit, made)?;
    warnings.extend(committed);
    Ok(Done {
        warnings,
        stats: Some(stats),
        local: Some(after.space()),
        target: None,
    })
}

/// An entry named like a snapshot that is not one, in the way of `date`.
pub(super) fn blocked(side: &Side, date: jiff::civil::Date, what: &str) -> StepError {
    StepError::new(
        ErrorKind::Refused,
        format!(
            "{side}/{date} is not a snapshot directory: it is {what}; \
             backup-server never touches what it did not make: move it away"
        ),
    )
}

/// The directories that must never be in a snapshot (the backup directories, the
/// state directory) that lie inside `source`, as anchored rsync excludes (`/mnt/backup/`
/// for a source `/`). Paths are compared after resolving symlinks, so a backup
/// directory reached through a link is found too; a source that resolves to inside
/// one of them is refused.
/// `verify` reads a source with the same excludes.
pub fn protected_inside(
    plan: &Plan,
    state: &StateDir,
    source: &Path,
) -> Result<Vec<String>, StepError> {
    let real_source =
        fs_err::canonicalize(source).map_err(|e| StepError::new(ErrorKind::Io, e.to_string()))?;
    let mut protected: Vec<PathBuf> = plan.protected.clone();
    protected.push(state.root().to_path_buf());
    if state.is_fallback() {
        protected.push(state.own().to_path_buf());
    }
    let mut excludes = Vec::new();
    for dir in protected {
        // One that does not exist yet holds nothing to exclude.
        let Ok(real) = std::fs::canonicalize(&dir) else {
            continue;
        };
        if real_source.starts_with(&real) {
            return Err(StepError::new(
                ErrorKind::Refused,
                format!(
                    "the source {} (really {}) lies inside {} (really {}): it would back up the backups",
                    source.display(),
                    real_source.display(),
                    dir.display(),
                    real.display()
                ),
            ));
        }
        if let Ok(inside) = real.strip_prefix(&real_source) {
            excludes.push(format!("/{}/", inside.display()));
        }
    }
    Ok(excludes)
}
