//! How sizes, counts, verdicts and verifications are worded, for every consumer: the
//! terminal, the email, the pages and the feed say `1.5 GB`, `1,234 files` and
//! `verified … the same` in the same words because they all take them from here.

use std::collections::BTreeMap;

use jiff::civil::Date;

use crate::clock::Clock;
use crate::outcome::TransferStats;
use crate::record::{Comparison, ComparisonOutcome};
use crate::retention::Kept;

/// A count for people, its thousands separated: `1,234,567`.
pub fn number(n: u64) -> String {
    let digits = n.to_string();
    let mut words = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            words.push(',');
        }
        words.push(c);
    }
    words
}

/// Bytes for people: `1.5 GB` (powers of 1000, as disks are sold).
pub fn bytes(n: u64) -> String {
    let units = ["bytes", "kB", "MB", "GB", "TB", "PB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} bytes")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

/// `1 file`, `3 files`.
pub fn plural(n: usize, what: &str) -> String {
    count(n, what, &format!("{what}s"))
}

/// `1 entry`, `3 entries`, `1,200 entries`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", number(n as u64), if n == 1 { one } else { many })
}

/// `1.2 kB in 3 files`, `nothing`, or `—` when the record does not say.
pub fn added(added: &BTreeMap<Date, TransferStats>, date: Date) -> String {
    match added.get(&date) {
        None => "—".to_string(),
        Some(stats) if stats.files_transferred == 0 => "nothing".to_string(),
        Some(stats) => format!(
            "{} in {}",
            bytes(stats.bytes_transferred),
            plural(stats.files_transferred as usize, "file")
        ),
    }
}

/// `newest, daily until 2026-11-24`, or that the next run deletes it.
pub fn verdict(kept: &Option<Kept>) -> String {
    match kept {
        Some(kept) => kept.to_string(),
        None => "to be deleted by the next run".to_string(),
    }
}

/// The last verification in one line, for the report and the pages:
/// `verified 2026-11-15 04:00:12 CET: target remote 3 differences; the source the same`.
pub fn verification(checks: &[Comparison], clock: &Clock) -> Option<String> {
    let first = checks.first()?;
    let parts: Vec<String> = checks
        .iter()
        .map(|c| {
            let verdict = match c.outcome {
                ComparisonOutcome::Ok => "the same".to_string(),
                ComparisonOutcome::Differs => plural(c.differences as usize, "difference"),
                ComparisonOutcome::Failed => format!(
                    "could not be checked ({})",
                    c.message.as_deref().unwrap_or("no reason given")
                ),
            };
            format!("{} {verdict}", c.against.words())
        })
        .collect();
    Some(format!(
        "verified {}: {}",
        clock.local_time(first.ended),
        parts.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_their_thousands_separated() {
        assert_eq!(number(0), "0");
        assert_eq!(number(999), "999");
        assert_eq!(number(1000), "1,000");
        assert_eq!(number(122_000_000), "122,000,000");
    }

    #[test]
    fn bytes_read_like_a_disk_label() {
        assert_eq!(bytes(999), "999 bytes");
        assert_eq!(bytes(1_500_000_000), "1.5 GB");
        assert_eq!(bytes(2_000_000_000_000), "2.0 TB");
    }

    #[test]
    fn counts_say_one_or_many() {
        assert_eq!(plural(1, "file"), "1 file");
        assert_eq!(plural(1200, "file"), "1,200 files");
        assert_eq!(count(3, "entry", "entries"), "3 entries");
    }
}
