//! The link farm: how a night is made on a file system without copy-on-write. The new
//! snapshot starts as a hard-link copy of the previous one made on its own side
//! (`snapshots.sh farm`: `cp -al`, no per-file round trip), and rsync then writes into
//! it only what one itemized dry run of the source against the previous snapshot said
//! changed (`replay.sh`). A night of `--link-dest` instead walks both trees inside the
//! transfer and makes one hard link per unchanged file. The sync replays the same
//! change list on a target that holds the same previous snapshot, and walks nothing.
//!
//! Every entry that goes, or that changes and is not a directory, is removed from the
//! farm before rsync writes it: rsync applies a change of mode, owner, time, ACL or
//! xattr to the inode it finds, and in a farm that inode is also the previous
//! snapshot's, which must never change. A night the list cannot make faithfully or
//! cheaply (see docs/link-farm.md: the farm cannot be made, the dry run could not read
//! everything, a hard link joins an entry that did not change, most of the tree
//! changed) is made by `--link-dest` as before, and the step log says why.

use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use jiff::civil::Date;

use super::itemize::Item;
use super::scan::{Scan, Transfer};
use crate::outcome::{ErrorKind, StepError, TransferStats};
use crate::snapshot;
use crate::step_log::StepLog;

/// What changed between a snapshot and its source, as the dry run itemized it.
#[derive(Debug, Clone, PartialEq)]
pub struct Changes {
    /// The snapshot the list is relative to, which the farm copies.
    pub base: Date,
    /// Removed from the farm first: what went, and what changed and is not a
    /// directory (its new version gets an inode of its own).
    pub breaks: Vec<PathBuf>,
    /// What rsync transfers: every entry new or changed, never `.`.
    pub list: Vec<PathBuf>,
    /// The dry run's figures for the whole tree.
    pub stats: TransferStats,
}

impl Changes {
    /// The change list of the dry run's `items`, or why a farm would not be faithful.
    pub fn from_items(base: Date, items: &[Item], stats: TransferStats) -> Result<Changes, String> {
        let named: BTreeSet<&Path> = items.iter().map(|i| i.name.as_path()).collect();
        let mut changes = Changes {
            base,
            breaks: Vec::new(),
            list: Vec::new(),
            stats,
        };
        for item in items {
            if !plain(&item.name) {
                return Err(format!(
                    "rsync named an entry {} that is not a plain relative path",
                    item.name.display()
                ));
            }
            if let Some(to) = &item.linked_to {
                // rsync links a new member of a group only to entries it transfers;
                // the rest of the group, unchanged, would stay apart.
                if !named.contains(to.as_path()) {
                    return Err(format!(
                        "{} became a hard link to {}, which did not change",
                        item.name.display(),
                        to.display()
                    ));
                }
            }
            if item.flags == "*deleting" {
                changes.breaks.push(item.name.clone());
                continue;
            }
            if item.kind() != 'd' && !item.is_new() {
                changes.breaks.push(item.name.clone());
            }
            if item.name != Path::new(".") {
                changes.list.push(item.name.clone());
            }
        }
        changes.list_parents_of_breaks();
        changes.not_most_of_the_tree()?;
        Ok(changes)
    }

    /// A removal changes its directory's times in the farm, and a directory whose
    /// source did not change (an exclude added, a chmod inside) is not listed: each
    /// is listed, so rsync sets them back. One that is itself removed (an excluded
    /// directory, gone with what it held) is not: rsync applies no directory exclude
    /// to a listed entry, and would make it again.
    pub(super) fn list_parents_of_breaks(&mut self) {
        let removed: BTreeSet<&Path> = self.breaks.iter().map(PathBuf::as_path).collect();
        let mut listed: BTreeSet<PathBuf> = self.list.iter().cloned().collect();
        let mut parents = Vec::new();
        for gone in &self.breaks {
            let parent = gone
                .parent()
                .filter(|p| !p.as_os_str().is_empty() && !removed.contains(p));
            if let Some(parent) = parent.filter(|p| listed.insert(p.to_path_buf())) {
                parents.push(parent.to_path_buf());
            }
        }
        self.list.extend(parents);
    }

    /// A farm whose most entries are removed again costs a copy of the tree more
    /// than a fresh snapshot does.
    pub(super) fn not_most_of_the_tree(&self) -> Result<(), String> {
        let entries = self.stats.files_total;
        if entries > 0 && 2 * self.list.len() as u64 > entries {
            return Err(format!(
                "{} of its {entries} entries changed, and a fresh copy is cheaper",
                self.list.len()
            ));
        }
        Ok(())
    }
}

/// Relative, and no `.` or `..` inside (the top directory is `.` alone).
pub(super) fn plain(name: &Path) -> bool {
    name == Path::new(".")
        || (!name.as_os_str().is_empty()
            && name.components().all(|c| matches!(c, Component::Normal(_))))
}

/// Runs the itemized dry run `command` (an rsync with `ITEM`, `--dry-run` and
/// `--stats`) of the source against `base`: the change list, or why this night is made
/// by `--link-dest` instead. Only a failure to run it fails the step.
pub fn survey(
    command: &mut Command,
    base: Date,
    destination: &str,
    log: &mut StepLog,
) -> Result<Result<Changes, String>, StepError> {
    let mut items = Vec::new();
    let mut unread = None;
    let (warnings, stats) = Scan::new(Transfer::Backup, destination).run(command, log, |line| {
        if !line.starts_with("item ") {
            return false;
        }
        match Item::parse(line) {
            Some(item) => items.push(item),
            None => {
                unread.get_or_insert_with(|| line.to_string());
            }
        }
        true
    })?;
    if let Some(line) = unread {
        return Ok(Err(format!(
            "a line of the dry run could not be read: {line}"
        )));
    }
    if let Some(first) = warnings.first() {
        // An unreadable directory's entries are missing from the dry run, and rsync
        // lists no deletion at all after an I/O error.
        return Ok(Err(format!(
            "the dry run could not read everything ({first})"
        )));
    }
    Ok(Changes::from_items(base, &items, stats))
}

/// Where a task's change lists are kept between its backup and its sync:
/// `breaks` and `list` (NUL-terminated paths, as `replay.sh` reads them), `night`
/// (which snapshot they made, from which), and `target.NAME` (what each target was
/// last given).
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// The night a change list made: `date` from `base`, each named with the identity its
/// directory on the backup disk had (`identity`), so a list is never replayed onto
/// another version of the same date (a same-day re-run replaces a snapshot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Night {
    pub date: Date,
    pub id: u64,
    pub base: Date,
    pub base_id: u64,
    pub files_total: u64,
    pub total_size: u64,
    /// The fingerprint of the lists that made it.
    pub lists: u64,
}

impl Store {
    pub fn new(dir: PathBuf) -> Store {
        Store { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The record of the source the newest snapshot was made from (`manifest`).
    pub fn manifest(&self) -> PathBuf {
        self.dir.join("manifest")
    }

    pub fn breaks(&self) -> PathBuf {
        self.dir.join("breaks")
    }

    pub fn list(&self) -> PathBuf {
        self.dir.join("list")
    }

    fn night_file(&self) -> PathBuf {
        self.dir.join("night")
    }

    fn target_file(&self, target: &str) -> PathBuf {
        self.dir.join(format!("target.{target}"))
    }

    /// Forgets the last night's list (a backup is about to make another snapshot).
    pub fn forget(&self) -> Result<(), StepError> {
        match std::fs::remove_file(self.night_file()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&self.night_file(), e)),
            _ => Ok(()),
        }
    }

    /// Writes the lists the replay reads, and returns their fingerprint for `remember`
    /// (a `night` is never read with lists it did not make).
    pub fn write(&self, changes: &Changes) -> Result<u64, StepError> {
        fs_err::create_dir_all(&self.dir)
            .map_err(|e| StepError::new(ErrorKind::Io, e.to_string()))?;
        // rsync takes a --files-from name that starts with `#` or `;` for a comment,
        // --from0 or not: each is written `./NAME`, still relative.
        let lists = [
            (self.breaks(), &changes.breaks, &b""[..]),
            (self.list(), &changes.list, &b"./"[..]),
        ];
        let mut written = Vec::new();
        for (path, names, prefix) in lists {
            let mut bytes = Vec::new();
            for name in names {
                bytes.extend_from_slice(prefix);
                bytes.extend_from_slice(name.as_os_str().as_bytes());
                bytes.push(0);
            }
            fs_err::write(&path, &bytes)
                .map_err(|e| StepError::new(ErrorKind::Io, e.to_string()))?;
            written.push(bytes);
        }
        Ok(fingerprint(&written[0], &written[1]))
    }

    /// The fingerprint of the lists as they are on disk.
    fn lists(&self) -> Option<u64> {
        let breaks = std::fs::read(self.breaks()).ok()?;
        Some(fingerprint(&breaks, &std::fs::read(self.list()).ok()?))
    }

    /// Records that the lists made `night`; written whole or not at all.
    pub fn remember(&self, night: &Night) -> Result<(), StepError> {
        let text = format!(
            "{} {} {} {} {} {} {}\n",
            night.date,
            night.id,
            night.base,
            night.base_id,
            night.files_total,
            night.total_size,
            night.lists
        );
        write_whole(&self.night_file(), text.as_bytes())
    }

    /// The night the lists made, if they are whole and were the last.
    pub fn night(&self) -> Option<Night> {
        let text = std::fs::read_to_string(self.night_file()).ok()?;
        let words: Vec<&str> = text.split_whitespace().collect();
        let [date, id, base, base_id, files_total, total_size, lists] = words[..] else {
            return None;
        };
        let night = Night {
            date: date.parse().ok()?,
            id: id.parse().ok()?,
            base: base.parse().ok()?,
            base_id: base_id.parse().ok()?,
            files_total: files_total.parse().ok()?,
            total_size: total_size.parse().ok()?,
            lists: lists.parse().ok()?,
        };
        (self.lists() == Some(night.lists)).then_some(night)
    }

    /// Records that `target`, whose directory is `at`, was last given the snapshot
    /// `date` whose local identity is `id`.
    pub fn gave(&self, target: &str, at: &str, date: Date, id: u64) -> Result<(), StepError> {
        fs_err::create_dir_all(&self.dir)
            .map_err(|e| StepError::new(ErrorKind::Io, e.to_string()))?;
        write_whole(
            &self.target_file(target),
            format!("{date} {id}\n{at}").as_bytes(),
        )
    }

    /// What `target` was last given while its directory was `at`, by date and local
    /// identity.
    pub fn given(&self, target: &str, at: &str) -> Option<(Date, u64)> {
        let text = std::fs::read_to_string(self.target_file(target)).ok()?;
        let (given, was_at) = text.split_once('\n')?;
        let (date, id) = given.split_once(' ')?;
        (was_at == at).then_some(())?;
        Some((date.parse().ok()?, id.parse().ok()?))
    }

    /// The night whose list a sync of `date` to a target can replay: the lists made
    /// `date` from `base`, the target's newest snapshot, and the target was last given
    /// that same version of `base` (so the farm it copies there is what the list is
    /// relative to). `id` is the local snapshot's identity now.
    pub fn replayable(
        &self,
        date: Date,
        id: Option<u64>,
        base: Option<Date>,
        given: Option<(Date, u64)>,
    ) -> Option<Night> {
        let night = self.night()?;
        let fits = night.date == date
            && id == Some(night.id)
            && base == Some(night.base)
            && given == Some((night.base, night.base_id));
        fits.then_some(night)
    }
}

/// The identity of the snapshot `date` in `task_dir` on this machine: its directory's
/// device, inode and change time, the last set when the commit renamed it into place
/// and never after (a replaced snapshot is another directory, renamed at another
/// moment, even where its inode number is used again).
pub fn identity(task_dir: &Path, date: Date) -> Option<u64> {
    let m = std::fs::symlink_metadata(task_dir.join(snapshot::name(date))).ok()?;
    let text = format!("{} {} {} {}", m.dev(), m.ino(), m.ctime(), m.ctime_nsec());
    Some(fnv(text.as_bytes()))
}

/// The two lists' fingerprint, as `write` made them and `lists` reads them back.
fn fingerprint(breaks: &[u8], list: &[u8]) -> u64 {
    fnv(&[breaks, b"|", list].concat())
}

/// FNV-1a, 64 bits: a fingerprint that stays the same from one build to the next.
pub(super) fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

pub(super) fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), StepError> {
    write_whole_with(path, |file| file.write_all(bytes))
}

/// As `write_whole`, what `write` writes (through a buffer) instead of bytes at hand.
pub(super) fn write_whole_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), StepError> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    let partial = path.with_file_name(name);
    let file = fs_err::File::create(&partial).map_err(|e| io(&partial, e))?;
    let mut buffered = std::io::BufWriter::new(file);
    write(&mut buffered)
        .and_then(|()| buffered.into_inner().map_err(|e| e.into_error()))
        .and_then(|file| file.sync_all())
        .map_err(|e| io(&partial, e))?;
    fs_err::rename(&partial, path).map_err(|e| io(path, e))?;
    // The rename itself is durable only once the directory is.
    let dir = path.parent().unwrap_or(Path::new("."));
    fs_err::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io(dir, e))
}

fn io(path: &Path, e: std::io::Error) -> StepError {
    StepError::new(
        ErrorKind::Io,
        format!("cannot write the change list {}: {e}", path.display()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(lines: &[&str]) -> Vec<Item> {
        lines.iter().map(|l| Item::parse(l).unwrap()).collect()
    }

    fn date() -> Date {
        "2026-12-03".parse().unwrap()
    }

    #[test]
    fn what_changes_and_is_not_a_directory_is_given_an_inode_of_its_own() {
        let changes = Changes::from_items(
            date(),
            &items(&[
                "item *deleting   top2//top2",
                "item .d..t...... .///./",
                "item *deleting   t/in//t/in",
                "item .f........x hl//hl",
                "item .L..t...... sym//sym -> x",
                "item >f+++++++++ t//t",
                "item hf........x top1//top1",
                "item .f...p..... a/f1//a/f1",
                "item >f.st...... b/g2//b/g2",
                "item cd+++++++++ m///m/",
                "item >f+++++++++ m/z//m/z",
                "item .d..t...... b///b/",
            ]),
            TransferStats::default(),
        )
        .unwrap();
        let paths = |v: &[PathBuf]| {
            v.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            paths(&changes.breaks),
            ["top2", "t/in", "hl", "sym", "top1", "a/f1", "b/g2"],
            "what went and every changed non-directory; nothing new, no directory"
        );
        assert_eq!(
            paths(&changes.list),
            [
                "hl", "sym", "t", "top1", "a/f1", "b/g2", "m", "m/z", "b", "a"
            ],
            "everything new or changed but the top directory, and the directories \
             the removals change"
        );
    }

    #[test]
    fn a_directory_removed_with_what_it_held_is_not_listed_again() {
        let changes = Changes::from_items(
            date(),
            &items(&[
                "item *deleting   cache/x//cache/x",
                "item *deleting   cache///cache/",
                "item .f...p..... keep/a//keep/a",
            ]),
            TransferStats {
                files_total: 10,
                ..TransferStats::default()
            },
        )
        .unwrap();
        let list: Vec<_> = changes
            .list
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(list, ["keep/a", "keep"]);
    }

    #[test]
    fn a_hard_link_to_an_unchanged_entry_is_left_to_link_dest() {
        let why = Changes::from_items(
            date(),
            &items(&["item hf+++++++++ g3//g3 => g"]),
            TransferStats::default(),
        )
        .unwrap_err();
        assert_eq!(why, "g3 became a hard link to g, which did not change");
        assert!(
            Changes::from_items(
                date(),
                &items(&["item >f+++++++++ g//g", "item hf+++++++++ g3//g3 => g"]),
                TransferStats::default(),
            )
            .is_ok(),
            "a new group is transferred whole"
        );
    }

    #[test]
    fn a_night_that_changes_most_of_the_tree_is_left_to_link_dest() {
        let lines = ["item >f.st...... a//a", "item >f.st...... b//b"];
        let of = |files_total| TransferStats {
            files_total,
            ..TransferStats::default()
        };
        assert_eq!(
            Changes::from_items(date(), &items(&lines), of(3)).unwrap_err(),
            "2 of its 3 entries changed, and a fresh copy is cheaper"
        );
        assert!(Changes::from_items(date(), &items(&lines), of(4)).is_ok());
    }

    #[test]
    fn a_snapshot_made_again_under_its_date_is_another_one_whatever_its_inode() {
        let dir = tempfile::tempdir().unwrap();
        let snapshot = dir.path().join("2026-12-03");
        std::fs::create_dir(&snapshot).unwrap();
        let first = identity(dir.path(), date()).unwrap();
        assert_eq!(
            identity(dir.path(), date()),
            Some(first),
            "read twice, the same"
        );
        std::fs::remove_dir(&snapshot).unwrap();
        std::fs::create_dir(&snapshot).unwrap();
        assert_ne!(identity(dir.path(), date()), Some(first));
        assert_eq!(identity(dir.path(), "2026-12-04".parse().unwrap()), None);
    }

    #[test]
    fn a_night_is_read_back_as_it_was_written_and_a_torn_one_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("changes"));
        assert_eq!(store.night(), None);
        let lists = store
            .write(&Changes::from_items(date(), &[], TransferStats::default()).unwrap())
            .unwrap();
        let night = Night {
            date: date(),
            id: 7,
            base: "2026-12-02".parse().unwrap(),
            base_id: 5,
            files_total: 50_003,
            total_size: 198_600_000,
            lists,
        };
        store.remember(&night).unwrap();
        assert_eq!(store.night(), Some(night));
        std::fs::write(store.list(), "./other\0").unwrap();
        assert_eq!(store.night(), None, "lists it did not make");
        store
            .remember(&Night {
                lists: store.lists().unwrap(),
                ..night
            })
            .unwrap();
        std::fs::write(store.night_file(), "2026-12-03 7\n").unwrap();
        assert_eq!(store.night(), None);
        store.forget().unwrap();
        store.forget().unwrap();
        store.gave("nas", "nas:/backup/data", date(), 7).unwrap();
        assert_eq!(store.given("nas", "nas:/backup/data"), Some((date(), 7)));
        assert_eq!(store.given("nas", "nas:/elsewhere"), None, "a target moved");
        assert_eq!(store.given("other", "nas:/backup/data"), None);
    }
}
