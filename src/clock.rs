//! What time it is, and how times are written for people.
//!
//! The clock is a value passed to whatever needs the time, never a global: a real
//! run reads the system clock, while the tests and the demo fix "today" with
//! `--today` and get a clock shifted by whole days, so that runs are recorded, judged
//! and reported as if they happened then.

use jiff::civil::Date;
use jiff::tz::TimeZone;

/// Seconds in a day, for the few places that count days.
pub const DAY: f64 = 86_400.0;

#[derive(Debug, Clone)]
pub struct Clock {
    /// Milliseconds added to the system clock: whole days, non-zero only under `--today`.
    shift_ms: i64,
    tz: TimeZone,
}

impl Clock {
    /// The system clock in the local time zone.
    pub fn system() -> Clock {
        Clock {
            shift_ms: 0,
            tz: TimeZone::system(),
        }
    }

    /// The system clock moved by whole days so that it is `today` now.
    pub fn on(today: Date) -> Clock {
        let clock = Clock::system();
        let days = (today - clock.today()).get_days();
        Clock {
            shift_ms: i64::from(days) * 86_400_000,
            ..clock
        }
    }

    /// Now, as Unix seconds with millisecond precision (the seed's REAL columns).
    pub fn now(&self) -> f64 {
        (jiff::Timestamp::now().as_millisecond() + self.shift_ms) as f64 / 1000.0
    }

    /// Today's date in the local time zone: the name of today's snapshot.
    pub fn today(&self) -> Date {
        self.date_of(self.now())
    }

    /// The local date of Unix seconds `seconds`.
    pub fn date_of(&self, seconds: f64) -> Date {
        timestamp(seconds)
            .map(|t| t.to_zoned_datetime(self.tz.clone()).date())
            .unwrap_or_default()
    }

    /// Unix seconds as local time, `2026-11-26 02:00:03 CET`.
    pub fn local_time(&self, seconds: f64) -> String {
        match timestamp(seconds) {
            Some(ts) => ts
                .to_zoned_datetime(self.tz.clone())
                .strftime("%Y-%m-%d %H:%M:%S %Z")
                .to_string(),
            None => format!("{seconds} (not a valid time)"),
        }
    }
}

impl Clock {
    /// Unix seconds as RFC 3339 in the local time zone, `2026-11-26T02:00:03+01:00`:
    /// for `status.json`, read by programs.
    pub fn rfc3339(&self, seconds: f64) -> String {
        match timestamp(seconds) {
            Some(ts) => ts
                .to_zoned_datetime(self.tz.clone())
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string(),
            None => "1970-01-01T00:00:00Z".into(),
        }
    }
}

fn timestamp(seconds: f64) -> Option<jiff::Timestamp> {
    jiff::Timestamp::from_millisecond((seconds * 1000.0) as i64).ok()
}

/// Whole days from `then` to `now` (never negative): "3 days ago".
pub fn days_between(then: f64, now: f64) -> i64 {
    ((now - then) / DAY).floor().max(0.0) as i64
}

/// Seconds as `HH:MM:SS` (hours may exceed 24), as the seed's `time_elapsed`.
pub fn elapsed(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// A duration for people, on the pages and in the mail: `0.4 s` under a second (which
/// [`elapsed`] would round to `00:00:00`), else as [`elapsed`]. The seed's `task_run`
/// column keeps [`elapsed`].
pub fn took(seconds: f64) -> String {
    let seconds = seconds.max(0.0);
    if seconds >= 0.95 {
        elapsed(seconds)
    } else if seconds >= 0.05 {
        format!("{seconds:.1} s")
    } else {
        "under 0.1 s".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_is_hours_minutes_seconds() {
        assert_eq!(elapsed(0.0), "00:00:00");
        assert_eq!(elapsed(60.4), "00:01:00");
        assert_eq!(elapsed(3661.0), "01:01:01");
        assert_eq!(elapsed(90000.0), "25:00:00");
        assert_eq!(took(0.4), "0.4 s");
        assert_eq!(took(0.01), "under 0.1 s");
        assert_eq!(took(0.97), "00:00:01");
        assert_eq!(took(61.0), "00:01:01");
    }

    #[test]
    fn a_clock_on_a_date_says_that_date_and_counts_whole_days() {
        let day: Date = "2026-03-05".parse().unwrap();
        let clock = Clock::on(day);
        assert_eq!(clock.today(), day);
        assert_eq!(days_between(clock.now() - 2.9 * DAY, clock.now()), 2);
        assert_eq!(days_between(clock.now() + 10.0, clock.now()), 0);
    }
}
