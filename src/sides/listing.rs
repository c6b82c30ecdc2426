//! What a side's task directory holds, as `snapshots.sh` reports it: its snapshots,
//! what a killed run left, entries named like a snapshot that are not one, its free
//! space and the user its files are written as. The listing is NUL-separated and
//! typed, so no file name can be misread, and only real directories named
//! `YYYY-MM-DD` are taken for snapshots. It also says what file system the side is
//! on, from which the way its snapshots are made (`Way`) is decided, side by side.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;

use crate::outcome::Space;
use crate::snapshot;

/// What a leftover `.in-progress` may become: kept for a full copy, else removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leftover {
    Remove,
    /// Only a full copy may reuse it: in an incremental one it could hold files
    /// hard-linked to older snapshots, whose attributes rsync would change in place.
    Resume,
}

/// How a snapshot is committed: under a new name, or in place of the same day's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    New,
    Replace,
}

/// How a side's snapshots are made and sent: decided per side from its file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// A tree of hard links to the previous snapshot, written by rsync.
    Rsync,
    /// A read-only btrfs subvolume: a writable snapshot of the previous one, rsync
    /// `--inplace` into it, then a read-only snapshot of that; sent to a btrfs target
    /// by `btrfs send | btrfs receive`.
    Btrfs,
}

/// What `snapshots.sh` says of btrfs at a side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Btrfs {
    /// Not a btrfs file system (or the script did not say).
    #[default]
    Absent,
    Usable,
    /// btrfs, but the `btrfs` command is not installed there.
    NoCommand,
    /// btrfs, but the user lacks CAP_SYS_ADMIN (send, receive, subvolume delete).
    NoCapability,
}

/// What is committed as the snapshot: `.in-progress` renamed (rsync wrote it), a
/// read-only btrfs snapshot of `.in-progress` (a branch rsync wrote into), or the
/// `.sync-DATE` a `btrfs receive` completed, renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made {
    Rsync,
    Branch,
    Received,
}

/// A task directory's entries, as backup-server sees them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listing {
    /// Real directories named exactly `YYYY-MM-DD`.
    pub snapshots: BTreeSet<Date>,
    /// `.replaced-YYYY-MM-DD`: an old snapshot parked by a same-day replacement.
    pub replaced: BTreeSet<Date>,
    /// Entries named like a snapshot that are not a real directory, and what they are.
    pub blocked: BTreeMap<Date, &'static str>,
    pub free_bytes: Option<u64>,
    pub free_inodes: Option<u64>,
    pub total_bytes: Option<u64>,
    pub total_inodes: Option<u64>,
    /// The user the side's files are written as.
    pub uid: Option<u32>,
    /// The type of the side's file system (`btrfs`, `ext2/ext3`, `tmpfs`), if told.
    pub fs_type: Option<String>,
    pub btrfs: Btrfs,
    /// The snapshots that are btrfs subvolumes.
    pub subvolumes: BTreeSet<Date>,
    /// Whether an `.in-progress` is there, and is a subvolume.
    pub in_progress: Option<bool>,
    /// `.sync-YYYY-MM-DD`: a read-only subvolume made to be sent (on the backup disk:
    /// the parent of the next incremental send), or one a target was receiving.
    pub sync: BTreeSet<Date>,
}

impl Listing {
    pub fn newest(&self) -> Option<Date> {
        self.snapshots.last().copied()
    }

    /// The free space of `other` where this listing has none (a `prepare` listing).
    pub fn with_free_from(mut self, other: &Listing) -> Listing {
        self.free_bytes = self.free_bytes.or(other.free_bytes);
        self.free_inodes = self.free_inodes.or(other.free_inodes);
        self.total_bytes = self.total_bytes.or(other.total_bytes);
        self.total_inodes = self.total_inodes.or(other.total_inodes);
        self
    }

    /// The figures recorded after a step.
    pub fn space(&self) -> Space {
        Space {
            snapshots: self.snapshots.len() as u64,
            free_bytes: self.free_bytes,
            free_inodes: self.free_inodes,
            total_bytes: self.total_bytes,
            total_inodes: self.total_inodes,
        }
    }

    /// What a leftover `.in-progress` may become before a transfer made `way`: on
    /// btrfs only a subvolume can become a snapshot.
    pub fn leftover(&self, way: Way) -> Leftover {
        let fits = way == Way::Rsync || self.in_progress != Some(false);
        if self.snapshots.is_empty() && self.replaced.is_empty() && fits {
            Leftover::Resume
        } else {
            Leftover::Remove
        }
    }

    /// The way this side's snapshots are made.
    pub fn way(&self) -> Way {
        match self.btrfs {
            Btrfs::Usable => Way::Btrfs,
            _ => Way::Rsync,
        }
    }

    /// Why the side works the way it does, for the step log, `list` and `doctor`.
    pub fn way_words(&self) -> String {
        let fs = self.fs_type.as_deref().unwrap_or("of an unknown type");
        match self.btrfs {
            Btrfs::Usable => {
                "on btrfs: each snapshot is a read-only subvolume (copy-on-write)".to_string()
            }
            Btrfs::NoCommand => "on btrfs, but the btrfs command is not installed there: \
                 rsync snapshots, unchanged files hard-linked (a link farm)"
                .to_string(),
            Btrfs::NoCapability => "on btrfs, but its user lacks CAP_SYS_ADMIN: \
                 rsync snapshots, unchanged files hard-linked (a link farm)"
                .to_string(),
            Btrfs::Absent => {
                format!(
                    "on a file system {fs}: rsync snapshots, unchanged files hard-linked (a link farm)"
                )
            }
        }
    }
}

/// Reads `snapshots.sh list`: records of "TYPE NAME", each ended by a NUL, and a last
/// one "s KIB INODES" with the free space.
pub fn parse(bytes: &[u8]) -> Listing {
    let mut listing = Listing::default();
    for record in bytes.split(|b| *b == 0) {
        let (Some(&kind), Some(name)) = (record.first(), record.get(2..)) else {
            continue;
        };
        let name = String::from_utf8_lossy(name);
        if kind == b'u' {
            listing.uid = name.parse().ok();
            continue;
        }
        if kind == b'F' {
            let mut words = name.split(' ');
            listing.fs_type = words.next().filter(|t| *t != "-").map(str::to_string);
            listing.btrfs = match words.next() {
                Some("usable") => Btrfs::Usable,
                Some("no-command") => Btrfs::NoCommand,
                Some("no-capability") => Btrfs::NoCapability,
                _ => Btrfs::Absent,
            };
            continue;
        }
        if kind == b'v' {
            if let Some(date) = snapshot::parse_name(&name) {
                listing.subvolumes.insert(date);
            } else if name == ".in-progress" {
                listing.in_progress = Some(true);
            }
            continue;
        }
        if kind == b'd' && name == ".in-progress" {
            listing.in_progress.get_or_insert(false);
            continue;
        }
        if let Some(date) = name
            .strip_prefix(".sync-")
            .and_then(snapshot::parse_name)
            .filter(|_| kind == b'd')
        {
            listing.sync.insert(date);
            continue;
        }
        if kind == b's' {
            let mut figures = name.split(' ').map(|f| f.parse::<u64>().ok());
            let mut next = || figures.next().flatten();
            listing.free_bytes = next().map(|kib| kib * 1024);
            listing.total_bytes = next().map(|kib| kib * 1024);
            listing.free_inodes = next();
            listing.total_inodes = next();
            continue;
        }
        if let Some(date) = snapshot::parse_name(&name) {
            match kind {
                b'd' => {
                    listing.snapshots.insert(date);
                }
                b'l' => {
                    listing.blocked.insert(date, "a symlink");
                }
                b'f' => {
                    listing.blocked.insert(date, "a file");
                }
                _ => {
                    listing.blocked.insert(date, "not a directory");
                }
            }
        } else if let Some(date) = name
            .strip_prefix(".replaced-")
            .and_then(snapshot::parse_name)
            .filter(|_| kind == b'd')
        {
            listing.replaced.insert(date);
        }
    }
    listing
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn only_real_directories_named_like_a_date_are_snapshots() {
        let listing = parse(
            b"d 2026-03-01\0l 2026-03-02\0f 2026-03-03\0d junk\n2026-03-04\0d .in-progress\0\
              d .replaced-2026-03-05\0d 2026-13-45\0d notes\0u 1000\0s 2048 4096 77 100\0",
        );
        assert_eq!(listing.snapshots, BTreeSet::from([d("2026-03-01")]));
        assert_eq!(
            listing.blocked,
            BTreeMap::from([(d("2026-03-02"), "a symlink"), (d("2026-03-03"), "a file")])
        );
        assert_eq!(listing.replaced, BTreeSet::from([d("2026-03-05")]));
        assert_eq!(listing.free_bytes, Some(2 * 1024 * 1024));
        assert_eq!(listing.free_inodes, Some(77));
        assert_eq!(listing.total_bytes, Some(4 * 1024 * 1024));
        assert_eq!(listing.total_inodes, Some(100));
        assert_eq!(listing.uid, Some(1000));
        assert_eq!(listing.leftover(Way::Rsync), Leftover::Remove);
        assert_eq!(parse(b"s - -\0").leftover(Way::Rsync), Leftover::Resume);
        assert_eq!(listing.way(), Way::Rsync);
        assert_eq!(listing.fs_type, None);
        assert_eq!(parse(b"s - - - -\0").free_bytes, None);
    }

    #[test]
    fn a_btrfs_side_says_which_entries_are_subvolumes() {
        let listing = parse(
            b"d 2026-03-01\0v 2026-03-01\0d 2026-03-02\0d .sync-2026-03-01\0v .sync-2026-03-01\0\
              d .in-progress\0u 0\0F btrfs usable\0",
        );
        assert_eq!(listing.way(), Way::Btrfs);
        assert_eq!(listing.fs_type.as_deref(), Some("btrfs"));
        assert_eq!(listing.subvolumes, BTreeSet::from([d("2026-03-01")]));
        assert_eq!(listing.sync, BTreeSet::from([d("2026-03-01")]));
        assert_eq!(listing.in_progress, Some(false));
        let fresh = parse(b"d .in-progress\0v .in-progress\0F btrfs usable\0");
        assert_eq!(fresh.in_progress, Some(true));
        assert_eq!(fresh.leftover(Way::Btrfs), Leftover::Resume);
        let plain = parse(b"d .in-progress\0F btrfs usable\0");
        assert_eq!(
            plain.leftover(Way::Btrfs),
            Leftover::Remove,
            "a plain directory cannot become a subvolume"
        );
        assert_eq!(plain.leftover(Way::Rsync), Leftover::Resume);
        assert_eq!(parse(b"F btrfs no-capability\0").way(), Way::Rsync);
        assert_eq!(parse(b"F tmpfs -\0").way(), Way::Rsync);
    }
}
