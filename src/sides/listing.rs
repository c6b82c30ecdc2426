//! What a side's task directory holds, as `snapshots.sh` reports it: its snapshots,
//! what a killed run left, entries named like a snapshot that are not one, its free
//! space and the user its files are written as. The listing is NUL-separated and
//! typed, so no file name can be misread, and only real directories named
//! `YYYY-MM-DD` are taken for snapshots.

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

    /// What a leftover `.in-progress` may become before the next transfer.
    pub fn leftover(&self) -> Leftover {
        if self.snapshots.is_empty() && self.replaced.is_empty() {
            Leftover::Resume
        } else {
            Leftover::Remove
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
        assert_eq!(listing.leftover(), Leftover::Remove);
        assert_eq!(parse(b"s - -\0").leftover(), Leftover::Resume);
        assert_eq!(parse(b"s - - - -\0").free_bytes, None);
    }
}
