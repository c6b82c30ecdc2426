//! The source as it was when the newest snapshot was taken: one fingerprint per entry
//! (its inode number, change time and the rest of what `lstat` gives), kept between
//! nights. With it, tonight's change list comes from reading the source alone: rsync
//! lists the source against an empty directory (its own excludes, its own walk, nothing
//! read on the backup disk), each entry is `lstat`ed, and only what differs from the
//! record is looked up in the previous snapshot. Without it, the list needs a dry run
//! that walks the source and the previous snapshot side by side (`farm::survey`), and a
//! btrfs night an rsync that does the same.
//!
//! A change time moves with every change to an inode (contents, mode, owner, ACL,
//! xattr, a hard link made or removed) and cannot be set back, so an entry whose
//! fingerprint is the recorded one is the entry the previous snapshot holds. Entries
//! that changed while the record was being made are recorded as unknown (git's "racily
//! clean" rule), and the record is taken before the transfer that makes the snapshot:
//! whatever changed after it differs from it the next night.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jiff::civil::Date;

use super::farm::{self, Changes};
use super::itemize::Item;
use super::scan::{Scan, Transfer};
use crate::outcome::{StepError, TransferStats};
use crate::step_log::StepLog;

/// The record of the source a snapshot was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The snapshot, by date and identity (`farm::identity`).
    pub date: Date,
    pub id: u64,
    /// What the source and its excludes were (`settings`): another source, another
    /// exclude or another option makes another tree.
    pub settings: u64,
    /// How many nights in a row before this one's snapshot were made from a record
    /// (`WALK_AFTER`).
    pub age: u32,
    /// (hash of the path, fingerprint), sorted by path hash.
    entries: Vec<(u64, u64)>,
}

/// The fingerprint of an entry that changed while it was read: it never matches.
const UNKNOWN: u64 = 0;

/// How recent a change makes an entry's fingerprint `UNKNOWN`.
pub const RACY: Duration = Duration::from_secs(2);

const MAGIC: &str = "backup-server manifest 2";

/// After this many nights made from a record in a row, the next one walks the source
/// and the newest snapshot side by side again: once a week, whatever a record cannot
/// see (a snapshot changed by hand, a change time set back by a clock) is made right.
pub const WALK_AFTER: u32 = 6;

impl Manifest {
    fn fingerprint_of(&self, path_hash: u64) -> Option<u64> {
        self.entries
            .binary_search_by_key(&path_hash, |e| e.0)
            .ok()
            .map(|at| self.entries[at].1)
    }

    /// Written whole or not at all, beside the change lists (through a buffer: the
    /// record is 16 bytes an entry, and is not copied whole in memory).
    pub fn save(&self, path: &Path) -> Result<(), StepError> {
        farm::write_whole_with(path, |file| {
            writeln!(
                file,
                "{MAGIC} {} {} {} {} {}",
                self.date,
                self.id,
                self.settings,
                self.age,
                self.entries.len()
            )?;
            for (hash, print) in &self.entries {
                file.write_all(&hash.to_le_bytes())?;
                file.write_all(&print.to_le_bytes())?;
            }
            Ok(())
        })
    }

    /// The record at `path` if it is whole and describes the snapshot `date` whose
    /// identity is `id`, read with these `settings`.
    pub fn load(path: &Path, date: Date, id: u64, settings: u64) -> Option<Manifest> {
        let mut file = BufReader::new(std::fs::File::open(path).ok()?);
        let mut header = String::new();
        file.read_line(&mut header).ok()?;
        let words: Vec<&str> = header.strip_prefix(MAGIC)?.split_whitespace().collect();
        let [d, i, s, a, n] = words[..] else {
            return None;
        };
        let (d, i, s, age, n): (Date, u64, u64, u32, usize) = (
            d.parse().ok()?,
            i.parse().ok()?,
            s.parse().ok()?,
            a.parse().ok()?,
            n.parse().ok()?,
        );
        if (d, i, s) != (date, id, settings) {
            return None;
        }
        let mut entries = Vec::with_capacity(n);
        let mut entry = [0u8; 16];
        for _ in 0..n {
            file.read_exact(&mut entry).ok()?;
            let (hash, print) = entry.split_at(8);
            entries.push((
                u64::from_le_bytes(hash.try_into().ok()?),
                u64::from_le_bytes(print.try_into().ok()?),
            ));
        }
        // Nothing after the last entry, and in order: otherwise it is not one we wrote.
        let whole = file.read(&mut entry).ok()? == 0;
        (whole && entries.is_sorted()).then_some(Manifest {
            date,
            id,
            settings,
            age,
            entries,
        })
    }
}

/// The settings a record is valid for: the source, the exclude rules as written
/// for rsync, and the options of the transfer.
pub fn settings(source: &Path, excludes_file: &Path, options: &[String]) -> u64 {
    let mut text = source.as_os_str().as_bytes().to_vec();
    text.push(0);
    text.extend(std::fs::read(excludes_file).unwrap_or_default());
    for option in options {
        text.push(0);
        text.extend_from_slice(option.as_bytes());
    }
    farm::fnv(&text)
}

/// An entry that is new or whose fingerprint changed, in the listing's order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Touched {
    name: PathBuf,
    dir: bool,
}

/// One reading of the source: the record it makes, and against an earlier record,
/// what differs.
#[derive(Debug)]
pub struct Reading {
    /// (path hash, fingerprint, parent's path hash), in the listing's order: a
    /// directory before what it holds.
    order: Vec<(u64, u64, u64)>,
    /// Every path hash, sorted.
    hashes: Vec<u64>,
    /// The directories, by name and fingerprint: read again after the transfer.
    dirs: Vec<(PathBuf, u64, u64)>,
    /// The same directories' path hashes.
    dir_hashes: HashSet<u64>,
    /// The directories holding an entry the record knew unchanged.
    known_children: HashSet<u64>,
    touched: Vec<Touched>,
    stats: TransferStats,
    since: SystemTime,
}

impl Reading {
    /// The record of this reading, for the snapshot `date` (identity `id`) of `source`,
    /// made from a record `age` nights in a row; taken once the snapshot is made. A
    /// directory that changed since it was listed (renamed away and back while rsync
    /// wrote, say) may hold in the snapshot what its entries' own fingerprints do not
    /// say: all it holds is recorded as unknown, and is read again the next night.
    pub fn manifest(self, source: &Path, date: Date, id: u64, settings: u64, age: u32) -> Manifest {
        let mut moved: HashSet<u64> = (self.dirs.iter())
            .filter(|(name, _, print)| fingerprint(&source.join(name), self.since) != *print)
            .map(|(_, hash, _)| *hash)
            .collect();
        let mut entries: Vec<(u64, u64)> = Vec::with_capacity(self.order.len());
        for (hash, print, parent) in self.order {
            let inside = hash != parent && moved.contains(&parent);
            if inside && self.dir_hashes.contains(&hash) {
                moved.insert(hash);
            }
            entries.push((hash, if inside { UNKNOWN } else { print }));
        }
        entries.sort_unstable();
        Manifest {
            date,
            id,
            settings,
            age,
            entries,
        }
    }

    /// How it compares with the record it was read against, for the step log.
    pub fn words(&self, base: Date) -> String {
        format!(
            "read the source alone against its record of {base}: {} of its {} entries are \
             new or changed",
            self.touched.len(),
            self.order.len()
        )
    }

    fn has(&self, path: &Path) -> bool {
        self.hashes.binary_search(&path_hash(path)).is_ok()
    }

    /// The change list against `base_dir`, the snapshot `base` the record described.
    /// In a link farm (`farm`) every changed entry that is not a directory is removed
    /// first, since it shares its inode with `base`; on btrfs only what copy-on-write
    /// cannot keep apart is: an entry that changes kind, and one with more than one
    /// link inside the snapshot (rsync writes in place through every link).
    pub fn changes(&self, base_dir: &Path, base: Date, farm: bool) -> Result<Changes, String> {
        let mut changes = Changes {
            base,
            breaks: Vec::new(),
            list: Vec::new(),
            stats: self.stats,
        };
        let mut real = RealDirs::new(base_dir);
        // Directories made anew tonight: all they hold is transferred.
        let mut fresh: HashSet<PathBuf> = HashSet::new();
        let mut read: Vec<&Path> = Vec::new();
        for touched in &self.touched {
            let name = touched.name.as_path();
            let top = name == Path::new(".");
            let in_fresh = name.parent().is_some_and(|p| fresh.contains(p));
            let before = match in_fresh || !real.holds_parent_of(name) {
                true => None,
                false => std::fs::symlink_metadata(base_dir.join(name)).ok(),
            };
            match (&before, touched.dir) {
                (Some(was), true) if was.is_dir() => read.push(name),
                (was, true) => {
                    // What it holds is in the snapshot only if listed: an entry the record
                    // knew unchanged in a directory the snapshot lacks was recorded from
                    // elsewhere (a directory renamed away and back).
                    if self.known_children.contains(&path_hash(name)) {
                        let what = if was.is_some() {
                            "not a directory"
                        } else {
                            "not"
                        };
                        return Err(format!(
                            "{} is {what} in {base}, yet holds entries the record knew",
                            name.display()
                        ));
                    }
                    if was.is_some() {
                        changes.breaks.push(name.to_path_buf());
                    }
                    fresh.insert(name.to_path_buf());
                }
                (Some(was), false) => {
                    let in_place = was.is_file() && was.nlink() == 1;
                    if farm || !in_place {
                        changes.breaks.push(name.to_path_buf());
                    }
                }
                (None, false) => {}
            }
            if !top {
                changes.list.push(name.to_path_buf());
            }
        }
        // What is gone from a directory that changed: it holds an entry tonight's
        // listing does not name (an unchanged directory gained or lost nothing).
        for dir in read {
            let entries = std::fs::read_dir(base_dir.join(dir)).map_err(|e| {
                format!("cannot read {} in the snapshot {base}: {e}", dir.display())
            })?;
            for entry in entries {
                let entry = entry.map_err(|e| format!("cannot read the snapshot {base}: {e}"))?;
                let name = match dir == Path::new(".") {
                    true => PathBuf::from(entry.file_name()),
                    false => dir.join(entry.file_name()),
                };
                if !self.has(&name) {
                    changes.breaks.push(name);
                }
            }
        }
        changes.list_parents_of_breaks();
        changes.not_most_of_the_tree()?;
        Ok(changes)
    }
}

/// Which directories of a snapshot are real ones all the way down from its top, so
/// that nothing is looked up, listed or removed through a symlink.
struct RealDirs<'a> {
    base: &'a Path,
    known: HashSet<PathBuf>,
}

impl RealDirs<'_> {
    fn new(base: &Path) -> RealDirs<'_> {
        RealDirs {
            base,
            known: HashSet::new(),
        }
    }

    fn holds_parent_of(&mut self, name: &Path) -> bool {
        match name.parent() {
            None => true,
            Some(p) if p.as_os_str().is_empty() => true,
            Some(p) => self.is_real(p),
        }
    }

    fn is_real(&mut self, dir: &Path) -> bool {
        if self.known.contains(dir) {
            return true;
        }
        let real = self.holds_parent_of(dir)
            && std::fs::symlink_metadata(self.base.join(dir)).is_ok_and(|m| m.is_dir());
        if real {
            self.known.insert(dir.to_path_buf());
        }
        real
    }
}

fn path_hash(path: &Path) -> u64 {
    farm::fnv(path.as_os_str().as_bytes())
}

/// The fingerprint of what `lstat` says of an entry; `UNKNOWN` when it changed at or
/// after `since` (it may change again within the same tick of the clock and keep its
/// times) or could not be read.
fn fingerprint(path: &Path, since: SystemTime) -> u64 {
    std::fs::symlink_metadata(path).map_or(UNKNOWN, |m| fingerprint_of(&m, since))
}

/// As `fingerprint`, of what `lstat` already said.
fn fingerprint_of(m: &std::fs::Metadata, since: SystemTime) -> u64 {
    let changed = UNIX_EPOCH + Duration::new(m.ctime().max(0) as u64, m.ctime_nsec() as u32);
    if changed >= since {
        return UNKNOWN;
    }
    let fields = [
        m.ino(),
        m.nlink(),
        u64::from(m.mode()),
        u64::from(m.uid()),
        u64::from(m.gid()),
        m.size(),
        m.rdev(),
        m.mtime() as u64,
        m.mtime_nsec() as u64,
        m.ctime() as u64,
        m.ctime_nsec() as u64,
    ];
    let bytes: Vec<u8> = fields.iter().flat_map(|f| f.to_le_bytes()).collect();
    farm::fnv(&bytes).max(UNKNOWN + 1)
}

/// Reads the local `source` through `listing` (an rsync of it against an empty
/// directory, with `ITEM` and `--dry-run`): tonight's record, and against `before`
/// what differs. Only a failure to run it fails the step; a listing that could not
/// read everything is the reason the night is read otherwise.
pub fn read(
    listing: &mut Command,
    source: &Path,
    before: Option<&Manifest>,
    log: &mut StepLog,
) -> Result<Result<Reading, String>, StepError> {
    // Two seconds of margin: the coarsest change times kept (FAT's; ext3's are whole
    // seconds) and the clock's tick the kernel stamps them with.
    let since = SystemTime::now() - RACY;
    let mut reading = Reading {
        order: Vec::new(),
        hashes: Vec::new(),
        dirs: Vec::new(),
        dir_hashes: HashSet::new(),
        known_children: HashSet::new(),
        touched: Vec::new(),
        stats: TransferStats::default(),
        since,
    };
    let mut problem: Option<String> = None;
    let add = |name: PathBuf, parent: u64, reading: &mut Reading| {
        let meta = std::fs::symlink_metadata(source.join(&name)).ok();
        let print = meta.as_ref().map_or(UNKNOWN, |m| fingerprint_of(m, since));
        let dir = meta.as_ref().is_some_and(|m| m.is_dir());
        let hash = path_hash(&name);
        if dir {
            reading.dir_hashes.insert(hash);
            reading.dirs.push((name.clone(), hash, print));
        }
        reading.stats.files_total += 1;
        if let Some(m) = meta.filter(|m| m.is_file() || m.is_symlink()) {
            reading.stats.total_size += m.len();
        }
        // Without an earlier record there is nothing to compare with: the reading is
        // only the next night's record.
        let differs = |b: &Manifest| b.fingerprint_of(hash) != Some(print) || print == UNKNOWN;
        if before.is_some_and(differs) {
            reading.touched.push(Touched { name, dir });
        } else if before.is_some() {
            reading.known_children.insert(parent);
        }
        reading.order.push((hash, print, parent));
        reading.hashes.push(hash);
    };
    let top = path_hash(Path::new("."));
    add(PathBuf::from("."), top, &mut reading);
    let (warnings, _) = Scan::new(Transfer::Backup, source.display().to_string()).run_listing(
        listing,
        log,
        |line| {
            if !line.starts_with("item ") {
                return false;
            }
            let item = Item::parse(line).filter(|i| farm::plain(&i.name));
            match item {
                Some(item) if item.name == Path::new(".") => {}
                Some(item) => {
                    let parent = item.name.parent().filter(|p| !p.as_os_str().is_empty());
                    let parent_hash = path_hash(parent.unwrap_or(Path::new(".")));
                    if reading.dir_hashes.contains(&parent_hash) {
                        add(item.name, parent_hash, &mut reading);
                    } else {
                        problem.get_or_insert_with(|| {
                            format!(
                                "the listing named {} before its directory",
                                item.name.display()
                            )
                        });
                    }
                }
                None => {
                    problem.get_or_insert_with(|| {
                        format!("a line of the listing could not be read: {line}")
                    });
                }
            }
            true
        },
    )?;
    if let Some(problem) = problem {
        return Ok(Err(problem));
    }
    if let Some(first) = warnings.first() {
        return Ok(Err(format!(
            "the listing could not read everything ({first})"
        )));
    }
    reading.hashes.sort_unstable();
    if reading.hashes.windows(2).any(|w| w[0] == w[1]) {
        return Ok(Err("two entries' names share a fingerprint".to_string()));
    }
    Ok(Ok(reading))
}

/// An empty directory for the listing to compare against, made if it is missing.
pub fn empty_dir(dir: &Path) -> Result<PathBuf, String> {
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).map_err(|e| format!("cannot make {}: {e}", empty.display()))?;
    match std::fs::read_dir(&empty).map(|mut d| d.next().is_none()) {
        Ok(true) => Ok(empty),
        _ => Err(format!("{} is not an empty directory", empty.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_read_back_only_for_the_snapshot_and_settings_it_was_made_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest");
        let date: Date = "2026-03-01".parse().unwrap();
        let manifest = Manifest {
            date,
            id: 7,
            settings: 9,
            age: 3,
            entries: vec![(1, 10), (5, UNKNOWN), (u64::MAX, 3)],
        };
        manifest.save(&path).unwrap();
        assert_eq!(Manifest::load(&path, date, 7, 9), Some(manifest.clone()));
        assert_eq!(manifest.fingerprint_of(5), Some(UNKNOWN));
        assert_eq!(manifest.fingerprint_of(4), None);
        let other: Date = "2026-03-02".parse().unwrap();
        assert_eq!(Manifest::load(&path, other, 7, 9), None, "another snapshot");
        assert_eq!(Manifest::load(&path, date, 8, 9), None, "one made again");
        assert_eq!(Manifest::load(&path, date, 7, 1), None, "other excludes");
        let whole = std::fs::read(&path).unwrap();
        std::fs::write(&path, &whole[..whole.len() - 1]).unwrap();
        assert_eq!(Manifest::load(&path, date, 7, 9), None, "a torn record");
    }

    /// The source `dir` read by rsync's listing, against `before`.
    fn reading(dir: &Path, before: Option<&Manifest>) -> Reading {
        let empty = tempfile::tempdir().unwrap();
        let mut listing = crate::engine::rsync::Rsync::listing(false)
            .with(crate::engine::itemize::ITEM)
            .command();
        listing
            .arg("--")
            .arg(format!("{}/", dir.display()))
            .arg(format!("{}/", empty.path().display()));
        let mut log = StepLog::discard().unwrap();
        read(&mut listing, dir, before, &mut log).unwrap().unwrap()
    }

    fn settled(dir: &Path) {
        for entry in ["d/x", "d/sub/y", "z"] {
            let path = dir.join(entry);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, entry).unwrap();
        }
        std::thread::sleep(RACY + Duration::from_millis(100));
    }

    #[test]
    fn what_a_directory_moved_away_and_back_during_the_night_holds_is_read_again() {
        let source = tempfile::tempdir().unwrap();
        let dir = source.path();
        settled(dir);
        let date: Date = "2026-03-01".parse().unwrap();
        let night = reading(dir, None);
        // While rsync writes the snapshot, d/sub is elsewhere; it is back in the morning.
        std::fs::rename(dir.join("d/sub"), dir.join("d/sub.away")).unwrap();
        std::fs::rename(dir.join("d/sub.away"), dir.join("d/sub")).unwrap();
        let record = night.manifest(dir, date, 1, 2, 0);
        let unknown =
            |name: &str| record.fingerprint_of(path_hash(Path::new(name))) == Some(UNKNOWN);
        assert!(
            unknown("d/x") && unknown("d/sub") && unknown("d/sub/y"),
            "all d holds"
        );
        assert!(
            !unknown("d") && !unknown("z") && !unknown("."),
            "what holds it stays as listed"
        );
        let next = reading(dir, Some(&record));
        let touched: Vec<&Path> = next.touched.iter().map(|t| t.name.as_path()).collect();
        assert_eq!(
            touched,
            [
                Path::new("d"),
                Path::new("d/x"),
                Path::new("d/sub"),
                Path::new("d/sub/y")
            ]
        );
    }

    #[test]
    fn a_directory_the_snapshot_lacks_that_holds_known_entries_is_no_change_list() {
        let source = tempfile::tempdir().unwrap();
        let dir = source.path();
        settled(dir);
        let date: Date = "2026-03-01".parse().unwrap();
        let record = reading(dir, None).manifest(dir, date, 1, 2, 0);
        // d moves away and back after the record (its own change time moves, not its
        // entries'), and the snapshot the record describes has no d.
        std::fs::rename(dir.join("d"), dir.join("d.away")).unwrap();
        std::fs::rename(dir.join("d.away"), dir.join("d")).unwrap();
        let base = tempfile::tempdir().unwrap();
        std::fs::write(base.path().join("z"), "z").unwrap();
        let why = reading(dir, Some(&record))
            .changes(base.path(), date, true)
            .unwrap_err();
        assert_eq!(
            why,
            "d is not in 2026-03-01, yet holds entries the record knew"
        );
    }

    #[test]
    fn an_entry_changed_in_the_last_two_seconds_is_never_taken_as_known() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "x").unwrap();
        assert_eq!(fingerprint(&file, SystemTime::now() - RACY), UNKNOWN);
        let later = SystemTime::now() + Duration::from_secs(1);
        assert_ne!(fingerprint(&file, later), UNKNOWN);
        assert_eq!(fingerprint(&file, later), fingerprint(&file, later));
        assert_eq!(fingerprint(&dir.path().join("gone"), later), UNKNOWN);
    }
}
