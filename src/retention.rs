//! The retention policy: which snapshots to keep, why, and until when, as a pure
//! function.
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
//!
//! Every kept snapshot carries its reasons (as restic's `KeepReason` does) and the
//! last day it will be kept if a snapshot is taken every night from tomorrow on, so
//! `list`, the retention step's log and the pages can say why a snapshot is there
//! and when it will go. That date is worked out, not simulated: each reason holds
//! from today up to a day of its own (the window of `D` newest moves by one a night;
//! a period leaves its window when enough newer periods have begun), and the
//! property tests check it against nights simulated one by one.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Bound::{Excluded, Unbounded};

use jiff::ToSpan;
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

/// Why a snapshot is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The newest snapshot dated today or before: never deleted.
    Newest,
    /// One of the newest `daily`.
    Daily,
    /// The oldest of its ISO week, one of the newest `weekly` weeks holding a snapshot.
    Weekly,
    /// Likewise for its month.
    Monthly,
    /// Likewise for its year.
    Yearly,
    /// Dated after today: a clock that went back is no reason to delete anything.
    AfterToday,
}

impl Reason {
    pub const ALL: [Reason; 6] = [
        Reason::Newest,
        Reason::Daily,
        Reason::Weekly,
        Reason::Monthly,
        Reason::Yearly,
        Reason::AfterToday,
    ];

    /// The reason as the README, `list` and the pages write it.
    pub fn word(self) -> &'static str {
        match self {
            Reason::Newest => "newest",
            Reason::Daily => "daily",
            Reason::Weekly => "weekly",
            Reason::Monthly => "monthly",
            Reason::Yearly => "yearly",
            Reason::AfterToday => "dated after today",
        }
    }

    /// The name in JSON and in the log DB (`after_today` for `AfterToday`).
    pub fn key(self) -> &'static str {
        match self {
            Reason::AfterToday => "after_today",
            other => other.word(),
        }
    }

    pub fn from_key(key: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.key() == key)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// Why one snapshot is kept, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// Every reason that holds today (at least one), in the order of `Reason`.
    pub reasons: Vec<Reason>,
    /// The last day it is kept if a snapshot is taken every night from tomorrow on:
    /// the run of the day after deletes it.
    pub until: Date,
}

impl fmt::Display for Kept {
    /// `newest, daily until 2026-11-24`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reasons: Vec<&str> = self.reasons.iter().map(|r| r.word()).collect();
        write!(f, "{} until {}", reasons.join(", "), self.until)
    }
}

/// The snapshots of `snapshots` that the policy keeps on `today`, each with why and
/// until when; everything else may be deleted.
pub fn explain(snapshots: &BTreeSet<Date>, today: Date, policy: &Policy) -> BTreeMap<Date, Kept> {
    let past: Vec<Date> = snapshots.range(..=today).copied().collect();
    // Per period, the periods that hold a snapshot dated today or before, oldest first.
    let held = Period::ALL.map(|(period, _)| {
        let mut keys: Vec<(i32, i32)> = past.iter().map(|d| period.key(*d)).collect();
        keys.dedup();
        keys
    });
    let mut explained: BTreeMap<Date, Kept> = past
        .iter()
        .enumerate()
        .filter_map(|(i, &date)| {
            let oldest = |period: Period| i == 0 || period.key(past[i - 1]) != period.key(date);
            let kept = past_one(date, past.len() - 1 - i, &held, oldest, today, policy)?;
            Some((date, kept))
        })
        .collect();
    for &date in snapshots.range((Excluded(today), Unbounded)) {
        explained.insert(date, after_today(snapshots, today, policy, date));
    }
    explained
}

/// The snapshots to keep out of `snapshots`; everything else may be deleted.
pub fn keep(snapshots: &BTreeSet<Date>, today: Date, policy: &Policy) -> BTreeSet<Date> {
    explain(snapshots, today, policy).into_keys().collect()
}

/// The calendar periods the weekly, monthly and yearly rules count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Period {
    Week,
    Month,
    Year,
}

impl Period {
    const ALL: [(Period, Reason); 3] = [
        (Period::Week, Reason::Weekly),
        (Period::Month, Reason::Monthly),
        (Period::Year, Reason::Yearly),
    ];

    fn count(self, policy: &Policy) -> u32 {
        match self {
            Period::Week => policy.weekly,
            Period::Month => policy.monthly,
            Period::Year => policy.yearly,
        }
    }

    /// Dates with equal keys fall in the same period; later periods have greater keys.
    fn key(self, date: Date) -> (i32, i32) {
        match self {
            Period::Week => {
                let w = date.iso_week_date();
                (i32::from(w.year()), i32::from(w.week()))
            }
            Period::Month => (i32::from(date.year()), i32::from(date.month())),
            Period::Year => (i32::from(date.year()), 0),
        }
    }

    /// The first day of the period after `date`'s.
    fn next_start(self, date: Date) -> Date {
        match self {
            Period::Week => {
                let days = 7 - i64::from(date.weekday().to_monday_zero_offset());
                date.saturating_add(days.days())
            }
            Period::Month => date.first_of_month().saturating_add(1.month()),
            Period::Year => date.first_of_year().saturating_add(1.year()),
        }
    }

    /// The first day of `date`'s period.
    fn start(self, date: Date) -> Date {
        match self {
            Period::Week => {
                let days = i64::from(date.weekday().to_monday_zero_offset());
                date.saturating_sub(days.days())
            }
            Period::Month => date.first_of_month(),
            Period::Year => date.first_of_year(),
        }
    }

    /// Whether `date` is the oldest of its period in `snapshots`.
    fn is_oldest(self, snapshots: &BTreeSet<Date>, date: Date) -> bool {
        snapshots
            .range(..date)
            .next_back()
            .is_none_or(|before| self.key(*before) != self.key(date))
    }

    /// The last day a representative of the period `of` stays in a window of `count`
    /// periods, when nightly snapshots begin after `from`: the day before the
    /// period that makes the window full begins. `newer` are the later periods that
    /// already hold a snapshot (fewer than `count`), in order.
    fn window_end(self, of: (i32, i32), newer: &[(i32, i32)], from: Date, count: u32) -> Date {
        let mut missing = count as usize - newer.len();
        let mut night = from.saturating_add(1.day());
        loop {
            let key = self.key(night);
            if key > of && newer.binary_search(&key).is_err() {
                missing -= 1;
                if missing == 0 {
                    return night.saturating_sub(1.day());
                }
            }
            night = self.next_start(night);
        }
    }
}

/// Why `date`, dated today or before, is kept on `today`, if it is. `rank` is the
/// number of snapshots after it up to today, `held` the periods that hold those
/// (per `Period::ALL`), and `oldest` whether it is the oldest of its period.
fn past_one(
    date: Date,
    rank: usize,
    held: &[Vec<(i32, i32)>; 3],
    oldest: impl Fn(Period) -> bool,
    today: Date,
    policy: &Policy,
) -> Option<Kept> {
    let mut reasons = Vec::new();
    // Kept today, by every reason that holds.
    let mut until = today;
    if rank == 0 {
        // Tomorrow's snapshot will be newer.
        reasons.push(Reason::Newest);
    }
    if rank < policy.daily as usize {
        reasons.push(Reason::Daily);
        // One place further down the newest `daily` each night.
        let nights = i64::from(policy.daily) - 1 - rank as i64;
        until = until.max(today.saturating_add(nights.days()));
    }
    for ((period, reason), keys) in Period::ALL.into_iter().zip(held) {
        let count = period.count(policy);
        if count == 0 || !oldest(period) {
            continue;
        }
        let of = period.key(date);
        let later = &keys[keys.partition_point(|k| *k <= of)..];
        if later.len() < count as usize {
            reasons.push(reason);
            until = until.max(period.window_end(of, later, today, count));
        }
    }
    (!reasons.is_empty()).then_some(Kept { reasons, until })
}

/// A snapshot dated after today: kept for that alone until its own day comes, and
/// from then on for what a snapshot taken that night is kept for.
fn after_today(snapshots: &BTreeSet<Date>, today: Date, policy: &Policy, date: Date) -> Kept {
    // On its night it is the newest.
    let mut until = date;
    if policy.daily > 0 {
        until = until.max(date.saturating_add((i64::from(policy.daily) - 1).days()));
    }
    for (period, _) in Period::ALL {
        let count = period.count(policy);
        // The oldest of its period on its night: nothing older in the period was
        // taken by then (every night after today takes one; so did earlier runs).
        let oldest = period.start(date) == date
            || (Some(date) == today.tomorrow().ok() && period.is_oldest(snapshots, date));
        if count > 0 && oldest {
            until = until.max(period.window_end(period.key(date), &[], date, count));
        }
    }
    Kept {
        reasons: vec![Reason::AfterToday],
        until,
    }
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
    fn a_year_of_daily_runs_says_why_each_is_kept_and_until_when() {
        let all = daily_run("2026-01-01", 365);
        // 2026-12-31 is a Thursday, in ISO week 53 (2026-12-28 to 2027-01-03).
        let explained: Vec<String> = explain(&all, d("2026-12-31"), &Policy::default())
            .into_iter()
            .map(|(date, kept)| format!("{date}: {kept}"))
            .collect();
        assert_eq!(
            explained,
            [
                // The oldest of 2026, and of January: January leaves the 12 newest
                // months when 2027 brings its first; the year stays for 4 more.
                "2026-01-01: monthly, yearly until 2030-12-31",
                "2026-02-01: monthly until 2027-01-31",
                "2026-03-01: monthly until 2027-02-28",
                "2026-04-01: monthly until 2027-03-31",
                "2026-05-01: monthly until 2027-04-30",
                "2026-06-01: monthly until 2027-05-31",
                "2026-07-01: monthly until 2027-06-30",
                "2026-08-01: monthly until 2027-07-31",
                "2026-09-01: monthly until 2027-08-31",
                "2026-10-01: monthly until 2027-09-30",
                "2026-11-01: monthly until 2027-10-31",
                "2026-12-01: monthly until 2027-11-30",
                // Mondays: a week leaves the newest 4 when a new week begins.
                "2026-12-07: weekly until 2027-01-03",
                "2026-12-14: weekly until 2027-01-10",
                "2026-12-21: weekly until 2027-01-17",
                // The newest 7 move down one place a night.
                "2026-12-25: daily until 2026-12-31",
                "2026-12-26: daily until 2027-01-01",
                "2026-12-27: daily until 2027-01-02",
                "2026-12-28: daily, weekly until 2027-01-24",
                "2026-12-29: daily until 2027-01-04",
                "2026-12-30: daily until 2027-01-05",
                "2026-12-31: newest, daily until 2027-01-06",
            ]
        );
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
            keep(&all, d("2026-01-02"), &zero),
            BTreeSet::from([d("2026-01-02"), d("2030-01-01")]),
            "only the day before today goes"
        );
        assert_eq!(
            explain(&all, d("2026-01-02"), &zero)[&d("2030-01-01")].to_string(),
            "dated after today until 2030-01-01",
            "on its own night it is the newest, and the day after it goes"
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

    /// The rules applied one by one, as the policy was first written (the reasons
    /// of each rule on its own), for `explain` to agree with.
    fn by_the_rules(
        all: &BTreeSet<Date>,
        today: Date,
        policy: &Policy,
    ) -> BTreeMap<Date, BTreeSet<Reason>> {
        let mut reasons: BTreeMap<Date, BTreeSet<Reason>> = BTreeMap::new();
        let mut give = |date: Date, reason| {
            reasons.entry(date).or_default().insert(reason);
        };
        all.iter()
            .filter(|d| **d > today)
            .for_each(|d| give(*d, Reason::AfterToday));
        let past: Vec<Date> = all.range(..=today).copied().collect();
        if let Some(newest) = past.last() {
            give(*newest, Reason::Newest);
        }
        for date in past.iter().rev().take(policy.daily as usize) {
            give(*date, Reason::Daily);
        }
        for (period, reason) in Period::ALL {
            // The oldest date of each period, then the newest `count` of those.
            let mut firsts: Vec<Date> = Vec::new();
            for date in &past {
                if firsts
                    .last()
                    .is_none_or(|f| period.key(*f) != period.key(*date))
                {
                    firsts.push(*date);
                }
            }
            let skip = firsts.len().saturating_sub(period.count(policy) as usize);
            for date in &firsts[skip..] {
                give(*date, reason);
            }
        }
        reasons
    }

    /// The last night each snapshot kept on `today` is still there, when every night
    /// after it a snapshot is taken and the rules are applied, for `nights` nights.
    fn simulate(
        all: &BTreeSet<Date>,
        today: Date,
        policy: &Policy,
        nights: i64,
    ) -> BTreeMap<Date, Date> {
        let mut held: BTreeSet<Date> = by_the_rules(all, today, policy).into_keys().collect();
        let mut seen: BTreeMap<Date, Date> = held.iter().map(|d| (*d, today)).collect();
        for n in 1..=nights {
            let night = today.checked_add(n.days()).unwrap();
            held.insert(night);
            held = by_the_rules(&held, night, policy).into_keys().collect();
            for date in &held {
                if let Some(last) = seen.get_mut(date) {
                    *last = night;
                }
            }
        }
        let end = today.checked_add(nights.days()).unwrap();
        assert!(
            seen.values().all(|last| *last < end),
            "a snapshot outlived the {nights} nights simulated"
        );
        seen
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
            let mut held: BTreeSet<Date> = BTreeSet::new();
            for i in 0..days {
                let today = d("2025-12-20").checked_add(i.days()).unwrap();
                held.insert(today);
                let before = std::mem::take(&mut held);
                held = keep(&before, today, &policy);
                for gone in before.difference(&held) {
                    for (period, _) in Period::ALL {
                        let count = period.count(&policy);
                        let key = |x: &Date| period.key(*x);
                        let representative = before.iter().find(|x| key(x) == key(gone)) == Some(gone);
                        let newer_periods = before.iter().map(key).filter(|p| *p > key(gone)).collect::<BTreeSet<_>>().len();
                        prop_assert!(!(representative && newer_periods < count as usize),
                            "{gone} was deleted on {today} while a representative inside its window");
                    }
                }
            }
        }

        /// Each reason holds exactly when its rule, applied on its own, says so; every
        /// kept snapshot has at least one, and nothing else is kept.
        #[test]
        fn the_reasons_are_those_of_the_rules(all in dates(), policy in policies(), today in 0i64..1150) {
            let today = d("2024-01-01").checked_add(today.days()).unwrap();
            let explained: BTreeMap<Date, BTreeSet<Reason>> = explain(&all, today, &policy)
                .into_iter()
                .map(|(date, kept)| {
                    let reasons: BTreeSet<Reason> = kept.reasons.iter().copied().collect();
                    assert_eq!(reasons.len(), kept.reasons.len(), "a reason is given twice");
                    (date, reasons)
                })
                .collect();
            prop_assert_eq!(&explained, &by_the_rules(&all, today, &policy));
            prop_assert!(explained.values().all(|reasons| !reasons.is_empty()));
        }

        /// The day each kept snapshot is kept until is the last night it survives when
        /// a snapshot is taken and the policy applied night after night.
        #[test]
        fn kept_until_is_what_nightly_runs_do(all in dates(), policy in policies(), today in 0i64..1150) {
            let today = d("2024-01-01").checked_add(today.days()).unwrap();
            let explained = explain(&all, today, &policy);
            let last = explained.values().map(|k| k.until).max().unwrap_or(today);
            let nights = (last - today).get_days() as i64 + 2;
            let simulated = simulate(&all, today, &policy, nights);
            let until: BTreeMap<Date, Date> = explained.iter().map(|(d, k)| (*d, k.until)).collect();
            prop_assert_eq!(until, simulated);
        }
    }
}
