//! The backup step: a new dated snapshot of the source, unchanged files hard-linked
//! to the newest complete snapshot. On a file system without copy-on-write the night
//! is a link farm of the newest one brought up to date from a change list
//! (`farm.rs`), or rsync's `--link-dest` where the list cannot make it faithfully;
//! when the task directory is on btrfs, a writable copy-on-write snapshot of the
//! newest one that rsync brings up to date in place and that is then snapshotted
//! read-only under the date (the older snapshot shares its blocks and is never
//! written into).
//!
//! Today's snapshot is new, or replaces today's own (a same-day re-run); a snapshot
//! older than the newest is never replaced, so a clock that went back fails the step
//! instead of rewriting history.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use jiff::civil::Date;

use super::farm;
use super::manifest;
use super::rsync::Rsync;
use super::scan::{Scan, Transfer};
use super::{Done, Engine, StepReturn};
use crate::outcome::{ErrorKind, StepError};
use crate::plan::{Plan, TaskPlan};
use crate::sides::{Commit, Listing, Made, Side, Way, backup_disk_mounted};
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
    let exclude_file = engine.state.excludes(&task.name);
    super::excludes::write(&exclude_file, &excludes).map_err(|e| {
        StepError::new(
            ErrorKind::Io,
            format!("cannot write {}: {e}", exclude_file.display()),
        )
    })?;
    let remote = task.source.is_remote();
    let reading = Rsync::snapshot()
        .when(remote, "--compress")
        .when(task.one_file_system, "--one-file-system")
        .fake_super(listing.uid, remote)
        .ssh(ssh_config);
    let store = farm::Store::new(engine.state.changes(&task.name));
    store.forget()?;
    let tonight = Tonight {
        task,
        side: &side,
        found: &found,
        reading: &reading,
        exclude_file: &exclude_file,
        store: &store,
    };
    let record = task
        .source
        .local_path()
        .map(|source| manifest::settings(source, &exclude_file, reading.options()));
    // The record of the source as it was when `link_dest` was taken, if it is that.
    let before = match (record, link_dest) {
        (Some(settings), Some(base)) => farm::identity(&task.local_dir, base)
            .and_then(|id| manifest::Manifest::load(&store.manifest(), base, id, settings)),
        _ => None,
    };
    let before = match before {
        Some(old) if old.age >= manifest::WALK_AFTER => {
            log.line(&format!(
                "the source is compared with {} itself tonight, as after every {} nights \
                 made from the record of the source",
                old.date,
                manifest::WALK_AFTER
            ));
            None
        }
        before => before,
    };
    let (night, read) = match (way, link_dest) {
        (Way::Btrfs, _) => {
            side.branch(log, branch_from)?;
            tonight.on_btrfs(branch_from, before.as_ref(), log)?
        }
        (Way::Rsync, None) => (Night::LinkDest(None), tonight.read_source(None, log)?),
        (Way::Rsync, Some(base)) => tonight.farm_or_link_dest(base, before.as_ref(), log)?,
    };
    // The night is decided: the old record's memory goes before the transfer's.
    let before_age = before.map(|old| old.age);
    log.line(&match (&night, commit) {
        (Night::Branch(Some(base)), _) => format!(
            "snapshot {today}: a read-only subvolume, from a writable snapshot of {base} \
             that rsync --inplace brings up to date"
        ),
        (Night::Branch(None), _) => format!(
            "snapshot {today}: a read-only subvolume, a full copy (no earlier subvolume)"
        ),
        (Night::Patch(changes), _) => format!(
            "snapshot {today}: a read-only subvolume, from a writable snapshot of {} into \
             which rsync --inplace writes the {} entries that are new or changed, {} \
             removed first",
            changes.base,
            changes.list.len(),
            changes.breaks.len()
        ),
        (Night::Farm(changes, _), _) => format!(
            "snapshot {today}: a hard-link copy of {} (a link farm); {} entries that went or \
             changed are removed from it, so that none shares an inode with an older snapshot, \
             and rsync writes the {} that are new or changed",
            changes.base,
            changes.breaks.len(),
            changes.list.len()
        ),
        (_, Commit::Replace) => format!(
            "snapshot {today}: replaces the one taken earlier today, unchanged files hard-linked to it"
        ),
        (Night::LinkDest(Some(previous)), Commit::New) => {
            format!("snapshot {today}: unchanged files hard-linked to {previous}")
        }
        (Night::LinkDest(None), Commit::New) => {
            format!("snapshot {today}: a full copy (no earlier snapshot)")
        }
    });

    let made = match night {
        Night::Branch(_) | Night::Patch(_) => Made::Branch,
        _ => Made::Rsync,
    };
    let mut lists = 0;
    let (kept_warnings, stats) = match &night {
        Night::Farm(changes, _) | Night::Patch(changes) => {
            lists = store.write(changes)?;
            let (base, writing) = match matches!(night, Night::Patch(_)) {
                true => (String::new(), reading.clone().with("--inplace")),
                false => (snapshot::name(changes.base), reading.clone()),
            };
            let writing = writing.with("--stats").progress();
            let mut command = Command::new(&engine.scripts.replay);
            command
                .arg("")
                .arg(&task.local_dir)
                .arg(task.source.for_rsync())
                .arg(base)
                .arg(store.breaks())
                .arg(store.list())
                .args(writing.options())
                .stdin(Stdio::null());
            let (warnings, sent) =
                Scan::new(Transfer::Backup, side.to_string()).run(&mut command, log, |_| false)?;
            (warnings, changes.stats.with_sent(&sent))
        }
        Night::Branch(_) | Night::LinkDest(_) => {
            let link_dest = match night {
                Night::LinkDest(base) => base,
                _ => None,
            };
            let rsync = reading
                .clone()
                .mirror()
                .when(made == Made::Branch, "--inplace")
                .progress();
            let mut command = Command::new(&engine.scripts.backup);
            command
                .arg(&task.local_dir)
                .arg(task.source.for_rsync())
                .arg(&exclude_file)
                .arg(link_dest.map(snapshot::name).unwrap_or_default())
                .args(rsync.options())
                .stdin(Stdio::null());
            Scan::new(Transfer::Backup, side.to_string()).run(&mut command, log, |_| false)?
        }
    };
    // A transfer that warned (a file vanished, one could not be read) left the
    // snapshot other than the list says: the sync sends it by rsync, not the list.
    let replayable = kept_warnings.is_empty();
    warnings.extend(kept_warnings);

    let (after, committed) = side.commit(log, today, commit, made)?;
    warnings.extend(committed);
    if let (Some(read), Some(settings), true) = (read, record, replayable) {
        // What the next night's change list is read against.
        let id = farm::identity(&task.local_dir, today).unwrap_or_default();
        let from_record = matches!(night, Night::Patch(_) | Night::Farm(..));
        let age = match (before_age, from_record) {
            (Some(age), true) => age + 1,
            _ => 0,
        };
        if let Some(source) = task.source.local_path() {
            read.manifest(source, today, id, settings, age)
                .save(&store.manifest())?;
        }
    }
    if let (Night::Farm(changes, base_id), true) = (&night, replayable) {
        // What the sync replays on a target that holds this same base.
        store.remember(&farm::Night {
            date: today,
            id: farm::identity(&task.local_dir, today).unwrap_or_default(),
            base: changes.base,
            base_id: *base_id,
            files_total: stats.files_total,
            total_size: stats.total_size,
            lists,
        })?;
    }
    Ok(Done {
        warnings,
        stats: Some(stats),
        local: Some(after.space()),
        target: None,
    })
}

/// What deciding how tonight's snapshot is made reads.
struct Tonight<'a> {
    task: &'a TaskPlan,
    side: &'a Side<'a>,
    found: &'a Listing,
    reading: &'a Rsync,
    exclude_file: &'a Path,
    store: &'a farm::Store,
}

impl Tonight<'_> {
    /// Reads a local source alone (`manifest::read`): tonight's record and, against
    /// `before`, what changed. `None` for a source over SSH, or one the listing could
    /// not read whole (the step log says why; the next night then walks both trees).
    fn read_source(
        &self,
        before: Option<&manifest::Manifest>,
        log: &mut StepLog,
    ) -> Result<Option<manifest::Reading>, StepError> {
        let Some(source) = self.task.source.local_path() else {
            return Ok(None);
        };
        let empty = match manifest::empty_dir(self.store.dir()) {
            Ok(empty) => empty,
            Err(why) => {
                log.line(&format!("the source is not read alone tonight: {why}"));
                return Ok(None);
            }
        };
        let mut listing = Rsync::listing(self.task.one_file_system)
            .with(super::itemize::ITEM)
            .command();
        self.between(&mut listing, with_slash(source.as_os_str()), &empty);
        Ok(match manifest::read(&mut listing, source, before, log)? {
            Ok(read) => Some(read),
            Err(why) => {
                log.line(&format!("the source is not read alone tonight: {why}"));
                None
            }
        })
    }

    /// A btrfs night, `.in-progress` already a writable snapshot of `branched`: the
    /// change list from the record when the record describes `branched`, else rsync's
    /// walk of both trees, every hard link in `.in-progress` first given an inode of
    /// its own (rsync writes in place through every link of an inode).
    fn on_btrfs(
        &self,
        branched: Option<Date>,
        before: Option<&manifest::Manifest>,
        log: &mut StepLog,
    ) -> Result<(Night, Option<manifest::Reading>), StepError> {
        let before = before.filter(|b| Some(b.date) == branched);
        let read = self.read_source(before, log)?;
        if let (Some(base), Some(_), Some(r)) = (branched, before, read.as_ref()) {
            let base_dir = self.task.local_dir.join(snapshot::name(base));
            log.line(&r.words(base));
            match r.changes(&base_dir, base, false) {
                Ok(changes) => return Ok((Night::Patch(changes), read)),
                Err(why) => log.line(&format!("not a change list tonight: {why}")),
            }
        }
        if branched.is_some() {
            self.side.unshare(log)?;
        }
        Ok((Night::Branch(branched), read))
    }

    /// Makes the link farm of `base` and reads tonight's change list against it (from
    /// the record `before` when it describes `base`, else from a dry run of both
    /// trees); when either cannot be had, the farm is removed again and the night is
    /// `--link-dest`'s. The farm comes first and the list is read after it: what is
    /// read as unchanged then stays so for as short a time as can be before rsync
    /// writes.
    fn farm_or_link_dest(
        &self,
        base: Date,
        before: Option<&manifest::Manifest>,
        log: &mut StepLog,
    ) -> Result<(Night, Option<manifest::Reading>), StepError> {
        let task = self.task;
        let base_id = farm::identity(&task.local_dir, base).unwrap_or_default();
        let base_dir = task.local_dir.join(snapshot::name(base));
        if let Err(e) = self.side.farm(log, base) {
            let why = format!("the hard-link copy of {base} could not be made ({e})");
            return self.link_dest(base, &why, None, log);
        }
        let read = self.read_source(before, log)?;
        let listed = match (&read, before) {
            (Some(read), Some(_)) => {
                log.line(&read.words(base));
                read.changes(&base_dir, base, true)
            }
            _ => self.dry_run(base, log)?,
        };
        match listed {
            Ok(changes) => Ok((Night::Farm(changes, base_id), read)),
            Err(why) => self.link_dest(base, &why, read, log),
        }
    }

    /// The itemized dry run of the source against the farm: the change list, or why
    /// there is none.
    fn dry_run(
        &self,
        base: Date,
        log: &mut StepLog,
    ) -> Result<Result<farm::Changes, String>, StepError> {
        let mut dry_run = self
            .reading
            .clone()
            .with("--dry-run")
            .with("--delete")
            .with("--delete-excluded")
            .with("--stats")
            .with(super::itemize::ITEM)
            .command();
        let source = with_slash(self.task.source.for_rsync().as_ref());
        self.between(
            &mut dry_run,
            source,
            &self.task.local_dir.join(".in-progress"),
        );
        farm::survey(&mut dry_run, base, &self.side.to_string(), log)
    }

    /// `rsync` (a dry run) from `source/` to `to/`, with the task's excludes.
    fn between(&self, rsync: &mut Command, source: std::ffi::OsString, to: &Path) {
        rsync
            .arg("--from0")
            .arg(format!("--exclude-from={}", self.exclude_file.display()))
            .arg("--")
            .arg(source)
            .arg(with_slash(to.as_os_str()));
    }

    fn link_dest(
        &self,
        base: Date,
        why: &str,
        read: Option<manifest::Reading>,
        log: &mut StepLog,
    ) -> Result<(Night, Option<manifest::Reading>), StepError> {
        log.line(&format!("not a link farm tonight: {why}"));
        self.side.prepare(log, self.found, Way::Rsync)?;
        Ok((Night::LinkDest(Some(base)), read))
    }
}

/// `dir/`, its bytes as they are (a path that is not UTF-8 stays itself).
fn with_slash(dir: &std::ffi::OsStr) -> std::ffi::OsString {
    let mut arg = dir.to_owned();
    arg.push("/");
    arg
}

/// How tonight's snapshot is made.
enum Night {
    /// A writable btrfs snapshot of this subvolume (or an empty one), rsync --inplace.
    Branch(Option<Date>),
    /// A writable btrfs snapshot of the change list's base, rsync --inplace of the
    /// list alone.
    Patch(farm::Changes),
    /// A link farm of the change list's base, whose directory's identity is kept.
    Farm(farm::Changes, u64),
    /// rsync --link-dest to this snapshot (or a full copy).
    LinkDest(Option<Date>),
}

/// An entry named like a snapshot that is not one, in the way of `date`.
pub(super) fn blocked(side: &Side, date: Date, what: &str) -> StepError {
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
