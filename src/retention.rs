//! The retention policy: which snapshots to keep, as a pure function.
//!
//! The same function prunes the local snapshots and, applied to the target's own
//! list, the remote ones. It never sees the file system, so it can be proven
//! (see the property tests below) rather than hoped for.
//!
//! The rules, in the words of the README:
//! - `daily: D`: the newest D snapshots are kept;
//! - `weekly: W`: of the newest W ISO weeks that hold a snapshot, the oldest snapshot
//!   of each week is kept (with daily runs: each Monday's);
//! - `monthly: M`, `yearly: Y`: likewise per calendar month and year (the 1st of the
//!   month, the 1st of January);
//! - the newest snapshot is always kept, and so is any dated after today (a clock that
//!   went backwards is no reason to delete anything).
//!
//! Windows count periods that hold snapshots, not calendar periods, so a server that
//! was switched off for three weeks comes back with its history intact. Keeping the
//! *oldest* snapshot of a period means a representative stays the representative
//! until its period leaves the window: newer snapshots never displace it.

use std::collections::BTreeSet;

use jiff::civil::Date;
use serde::Serialize;

/// How many snapshots of each kind to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
    pub yearly: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            daily: 7,
            weekly: 4,
            monthly: 12,
            yearly: 5,
        }
    }
}

/// The snapshots to keep out of `snapshots`; everything else may be deleted.
pub fn keep(snapshots: &BTreeSet<Date>, today: Date, policy: &Policy) -> BTreeSet<Date> {
    let mut kept: BTreeSet<Date> = snapshots.iter().filter(|d| **d > today).copied().collect();
    let past: Vec<Date> = snapshots.range(..=today).copied().collect();
    if let Some(newest) = past.last() {
        kept.insert(*newest);
    }
    kept.extend(past.iter().rev().take(policy.daily as usize));
    kept.extend(oldest_per_period(&past, policy.weekly, week));
    kept.extend(oldest_per_period(&past, policy.monthly, month));
    kept.extend(oldest_per_period(&past, policy.yearly, year));
    kept
}

/// The snapshots of `snapshots` not in `keep(...)`, oldest first.
pub fn to_delete(snapshots: &BTreeSet<Date>, today: Date, policy: &Policy) -> Vec<Date> {
    let kept = keep(snapshots, today, policy);
    snapshots.difference(&kept).copied().collect()
}

/// The oldest date of each of the newest `count` periods in `sorted` (ascending dates).
fn oldest_per_period(sorted: &[Date], count: u32, period: Period) -> Vec<Date> {
    let mut firsts: Vec<Date> = Vec::new();
    let mut last_period = None;
    for &date in sorted {
        let p = period(date);
        if last_period != Some(p) {
            firsts.push(date);
            last_period = Some(p);
        }
    }
    let skip = firsts.len().saturating_sub(count as usize);
    firsts.split_off(skip)
}

/// A period key: dates with equal keys fall in the same week, month or year.
type Period = fn(Date) -> (i32, i32);

fn week(date: Date) -> (i32, i32) {
    let w = date.iso_week_date();
    (i32::from(w.year()), i32::from(w.week()))
}

fn month(date: Date) -> (i32, i32) {
    (i32::from(date.year()), i32::from(date.month()))
}

fn year(date: Date) -> (i32, i32) {
    (i32::from(date.year()), 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::ToSpan;
    use proptest::prelude::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn daily_run(from: &str, days: i64) -> BTreeSet<Date> {
        (0..days)
            .map(|i| d(from).checked_add(i.days()).unwrap())
            .collect()
    }

    #[test]
    fn a_year_of_daily_runs_keeps_what_the_readme_says() {
        // 2026-01-01 .. 2026-12-31, pruned once at the end (same as pruning daily,
        // see the idempotence property).
        let all = daily_run("2026-01-01", 365);
        let kept = keep(&all, d("2026-12-31"), &Policy::default());
        let expected: BTreeSet<Date> = [
            // yearly and monthly representatives: the 1st of each month
            "2026-01-01",
            "2026-02-01",
            "2026-03-01",
            "2026-04-01",
            "2026-05-01",
            "2026-06-01",
            "2026-07-01",
            "2026-08-01",
            "2026-09-01",
            "2026-10-01",
            "2026-11-01",
            "2026-12-01",
            // weekly: Mondays of the newest 4 ISO weeks (2026-12-31 is a Thursday)
            "2026-12-07",
            "2026-12-14",
            "2026-12-21",
            "2026-12-28",
            // daily: the newest 7
            "2026-12-25",
            "2026-12-26",
            "2026-12-27",
            "2026-12-29",
            "2026-12-30",
            "2026-12-31",
        ]
        .into_iter()
        .map(d)
        .collect();
        assert_eq!(kept, expected);
    }

    #[test]
    fn a_long_outage_keeps_the_last_dailies() {
        let mut all = daily_run("2026-03-01", 20);
        all.insert(d("2026-06-01"));
        let kept = keep(
            &all,
            d("2026-06-01"),
            &Policy {
                daily: 3,
                weekly: 0,
                monthly: 0,
                yearly: 0,
            },
        );
        assert_eq!(
            kept,
            ["2026-03-19", "2026-03-20", "2026-06-01"]
                .into_iter()
                .map(d)
                .collect()
        );
    }

    #[test]
    fn a_snapshot_from_the_future_is_kept() {
        let all: BTreeSet<Date> = ["2026-01-01", "2026-01-02", "2030-01-01"]
            .into_iter()
            .map(d)
            .collect();
        let zero = Policy {
            daily: 0,
            weekly: 0,
            monthly: 0,
            yearly: 0,
        };
        assert_eq!(
            to_delete(&all, d("2026-01-02"), &zero),
            vec![d("2026-01-01")]
        );
    }

    fn dates() -> impl Strategy<Value = BTreeSet<Date>> {
        // Up to 120 snapshots spread over about three years.
        proptest::collection::btree_set(0i64..1100, 0..120).prop_map(|offsets| {
            offsets
                .into_iter()
                .map(|o| d("2024-01-01").checked_add(o.days()).unwrap())
                .collect()
        })
    }

    fn policies() -> impl Strategy<Value = Policy> {
        (0u32..10, 0u32..6, 0u32..14, 0u32..4).prop_map(|(daily, weekly, monthly, yearly)| Policy {
            daily,
            weekly,
            monthly,
            yearly,
        })
    }

    proptest! {
        #[test]
        fn never_deletes_the_newest(all in dates(), policy in policies(), after in 0i64..30) {
            let today = all.last().copied().unwrap_or(d("2024-01-01")).checked_add(after.days()).unwrap();
            let kept = keep(&all, today, &policy);
            prop_assert_eq!(kept.last(), all.last());
            prop_assert!(kept.is_subset(&all));
        }

        #[test]
        fn deletes_nothing_more_when_applied_twice(all in dates(), policy in policies()) {
            let today = d("2027-01-10");
            let once = keep(&all, today, &policy);
            prop_assert_eq!(keep(&once, today, &policy), once);
        }

        /// Simulated day after day: whenever a snapshot is deleted, it was not the
        /// representative (oldest snapshot) of a week, month or year still inside the
        /// policy's window. So a representative stays kept until its window passes.
        #[test]
        fn representatives_stay_until_their_window_passes(policy in policies(), days in 30i64..500) {
            let windows: [(Period, u32); 3] = [(week, policy.weekly), (month, policy.monthly), (year, policy.yearly)];
            let mut held: BTreeSet<Date> = BTreeSet::new();
            for i in 0..days {
                let today = d("2025-12-20").checked_add(i.days()).unwrap();
                held.insert(today);
                let before = std::mem::take(&mut held);
                held = keep(&before, today, &policy);
                for gone in before.difference(&held) {
                    for (period, count) in windows {
                        let representative = before.iter().find(|x| period(**x) == period(*gone)) == Some(gone);
                        let newer_periods = before.iter().map(|x| period(*x)).filter(|p| *p > period(*gone)).collect::<BTreeSet<_>>().len();
                        prop_assert!(!(representative && newer_periods < count as usize),
                            "{gone} was deleted on {today} while a representative inside its window");
                    }
                }
            }
        }

        #[test]
        fn never_touches_what_is_not_in_the_list(all in dates(), policy in policies()) {
            let today = d("2027-01-10");
            for gone in to_delete(&all, today, &policy) {
                prop_assert!(all.contains(&gone));
            }
        }
    }
}
