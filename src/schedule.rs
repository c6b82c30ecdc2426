//! When the timer next starts a run: the config's `schedule` (the OnCalendar expression
//! the NixOS module gives its timer) read by systemd itself, so the pages' "next run
//! expected" means what the timer means.
//!
//! Asked at render time of `systemd-analyze calendar`; where systemd is not there, or
//! does not understand the expression, there is no next run to show, and nothing fails.

use std::process::{Command, Stdio};

/// The first time after `after` (Unix seconds) that `expression` elapses, by
/// `systemd-analyze calendar`; `None` when it cannot say.
pub fn next_run(expression: &str, after: f64) -> Option<f64> {
    let out = Command::new("systemd-analyze")
        .args(["calendar", "--iterations=1"])
        .arg(format!("--base-time=@{}", after.floor() as i64))
        .arg(expression)
        // Its times in UTC, whatever the server's zone, so they parse alike everywhere.
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    parse(&String::from_utf8_lossy(&out.stdout))
}

/// The `Next elapse: Fri 2026-12-04 03:00:00 UTC` line of `systemd-analyze calendar`.
fn parse(output: &str) -> Option<f64> {
    let line = output
        .lines()
        .find_map(|l| l.trim().strip_prefix("Next elapse:"))?;
    // "Fri 2026-12-04 03:00:00 UTC": the weekday, the date, the time, the zone.
    let mut words = line.split_whitespace().skip(1);
    let (date, time) = (words.next()?, words.next()?);
    if words.next()? != "UTC" {
        return None;
    }
    let civil: jiff::civil::DateTime = format!("{date}T{time}").parse().ok()?;
    let utc = civil.to_zoned_datetime(jiff::tz::TimeZone::UTC).ok()?;
    Some(utc.timestamp().as_millisecond() as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_elapse_line_is_read_in_utc() {
        let output = "  Original form: daily\nNormalized form: *-*-* 00:00:00\n    Next elapse: Fri 2026-12-04 00:00:00 UTC\n       From now: 11h left\n";
        assert_eq!(parse(output), Some(1_796_342_400.0));
        assert_eq!(parse("Next elapse: never\n"), None);
    }
}
