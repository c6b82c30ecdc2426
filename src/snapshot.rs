//! Snapshot names.
//!
//! A real directory named exactly `YYYY-MM-DD` is a complete snapshot (DESIGN.md,
//! principle 2); everything else in a task directory (`.in-progress`, a stray file,
//! a symlink) is not, and is never offered to retention or sync as one (see
//! `engine::side` for how a listing is read).

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
}
