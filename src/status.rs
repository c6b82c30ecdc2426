//! What happened in a run: one status per task, one per step, as the seed's dictionary.
//!
//! These values flow from the steps to the log DB, the email report and the site;
//! they are plain data, serializable, and carry everything a reader needs.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};

use serde::Serialize;

/// The three steps of a task, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    Backup,
    Retention,
    Sync,
}

impl Step {
    pub const ALL: [Step; 3] = [Step::Backup, Step::Retention, Step::Sync];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Backup => "backup",
            Step::Retention => "retention",
            Step::Sync => "sync",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step of one task run.
#[derive(Debug, Clone, Serialize)]
pub struct StepStatus {
    pub step: Step,
    pub success: bool,
    /// Unix seconds, as the seed's REAL columns.
    pub dt_start: f64,
    pub dt_end: f64,
    /// `HH:MM:SS`.
    pub time_elapsed: String,
    pub dir_from: String,
    pub dir_to: String,
    pub file_log: PathBuf,
    /// Why the step failed, in one line (the log holds the rest).
    pub error: Option<String>,
    /// Non-fatal problems (files rsync could not read), in one line.
    pub warning: Option<String>,
}

/// One task of one run.
#[derive(Debug, Clone, Serialize)]
pub struct TaskStatus {
    pub name: String,
    pub success: bool,
    pub dt_task_start: f64,
    pub dt_task_end: f64,
    /// The steps that ran, in order; a failed step is the last.
    pub steps: Vec<StepStatus>,
}

/// Seconds as `HH:MM:SS` (hours may exceed 24).
pub fn elapsed(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Milliseconds added to the real clock: non-zero only under `--today`.
static SHIFT_MS: AtomicI64 = AtomicI64::new(0);

/// Shifts this process's clock by whole days so that it is `today` now: with
/// `--today` (the tests, the demo) runs are recorded at the simulated date.
pub fn simulate_today(today: jiff::civil::Date) {
    let real = jiff::ZonedDateTime::now().date();
    let days = (today - real).get_days();
    SHIFT_MS.store(i64::from(days) * 86_400_000, Ordering::Relaxed);
}

/// Now, as Unix seconds with millisecond precision.
pub fn now() -> f64 {
    (jiff::Timestamp::now().as_millisecond() + SHIFT_MS.load(Ordering::Relaxed)) as f64 / 1000.0
}

/// Unix seconds as local time, `2026-11-26 02:00:03 CET`.
pub fn local_time(seconds: f64, tz: &jiff::tz::TimeZone) -> String {
    match jiff::Timestamp::from_millisecond((seconds * 1000.0) as i64) {
        Ok(ts) => ts
            .to_zoned_datetime(tz.clone())
            .strftime("%Y-%m-%d %H:%M:%S %Z")
            .to_string(),
        Err(_) => format!("{seconds} (not a valid time)"),
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
    }
}
