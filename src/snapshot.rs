//! Snapshot names, and what a task directory holds.
//!
//! A directory named `YYYY-MM-DD` is a complete snapshot (DESIGN.md, principle 2);
//! everything else in a task directory (`.in-progress`, a stray file) is not, and is
//! never offered to retention or sync as one.

use std::collections::BTreeSet;
use std::io;
use std::path::Path;

use jiff::civil::Date;

/// The date a snapshot name stands for, if the name is exactly `YYYY-MM-DD`.
pub fn parse_name(name: &str) -> Option<Date> {
    let shaped = name.len() == 10
        && name.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shaped {
        return None;
    }
    name.parse().ok()
}

pub fn name(date: Date) -> String {
    date.strftime("%Y-%m-%d").to_string()
}

/// The complete snapshots among directory entry names (the target's `ls` output).
pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> BTreeSet<Date> {
    names.into_iter().filter_map(parse_name).collect()
}

/// The complete snapshots in a local task directory; empty when it does not exist.
pub fn list_local(task_dir: &Path) -> io::Result<BTreeSet<Date>> {
    let entries = match fs_err::read_dir(task_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => return Err(e),
    };
    let mut found = BTreeSet::new();
    for entry in entries {
        let entry = entry?;
        // A symlink named like a snapshot is not one: file_type() does not follow links.
        if !entry.file_type()?.is_dir() {
            continue;
        }
        if let Some(date) = entry.file_name().to_str().and_then(parse_name) {
            found.insert(date);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_dates_in_the_exact_shape_are_snapshots() {
        assert!(parse_name("2026-04-19").is_some());
        for bad in [
            "2026-4-19",
            "2026-02-30",
            "20260419",
            "2026-04-19.old",
            ".in-progress",
            "2026-04-1x",
            "+026-04-19",
        ] {
            assert_eq!(parse_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn listing_skips_files_links_and_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        for d in ["2026-01-01", "2026-01-02", ".in-progress", "notes"] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
        }
        std::fs::write(dir.path().join("2026-01-03"), "a file").unwrap();
        std::os::unix::fs::symlink(dir.path().join("2026-01-01"), dir.path().join("2026-01-04"))
            .unwrap();
        let names: Vec<String> = list_local(dir.path())
            .unwrap()
            .into_iter()
            .map(name)
            .collect();
        assert_eq!(names, ["2026-01-01", "2026-01-02"]);
        assert!(list_local(&dir.path().join("missing")).unwrap().is_empty());
    }
}
