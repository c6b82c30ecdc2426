//! What a report says about each task, computed from the run and the log DB: the
//! seed's `enrich_task_status()`, a pure function.
//!
//! The email and (later) the site render these values and nothing else, so every
//! judgement — failed, stale, never succeeded, not run — is made here, once.

use std::collections::BTreeMap;
use std::path::PathBuf;

use jiff::tz::TimeZone;
use serde::Serialize;

use crate::status::{Step, TaskStatus, elapsed, local_time};

/// The state of one step as a reader sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Succeeded,
    Warning,
    Failed,
    /// An earlier step failed, so this one never ran.
    NotRun,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub step: Step,
    pub state: StepState,
    pub time_elapsed: String,
    pub dir_from: String,
    pub dir_to: String,
    /// The error or warning, in one line.
    pub message: Option<String>,
    pub file_log: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskReport {
    pub name: String,
    pub success: bool,
    pub warnings: bool,
    /// Local time, `YYYY-MM-DD HH:MM:SS TZ`.
    pub start: String,
    pub end: String,
    pub time_task_elapsed: String,
    /// Local time of the last successful run, if there ever was one.
    pub last_success: Option<String>,
    /// Whole days since the last successful run; `None` when it never succeeded.
    pub days_since_last_success: Option<i64>,
    /// No success for longer than `stale_after_days` (a task that never succeeded is
    /// not stale: it says so instead).
    pub stale: bool,
    /// Always all three steps, in order.
    pub steps: Vec<StepReport>,
}

/// Enriches one run's statuses. `last_success` is the log DB's end time of each task's
/// last successful run (this run included), `now` Unix seconds.
pub fn enrich(
    statuses: &[TaskStatus],
    last_success: &BTreeMap<String, f64>,
    now: f64,
    stale_after_days: u32,
    tz: &TimeZone,
) -> Vec<TaskReport> {
    statuses
        .iter()
        .map(|task| {
            let last = last_success.get(&task.name).copied();
            let days = last.map(|t| ((now - t) / 86_400.0).floor().max(0.0) as i64);
            TaskReport {
                name: task.name.clone(),
                success: task.success,
                warnings: task.steps.iter().any(|s| s.warning.is_some()),
                start: local_time(task.dt_task_start, tz),
                end: local_time(task.dt_task_end, tz),
                time_task_elapsed: elapsed(task.dt_task_end - task.dt_task_start),
                last_success: last.map(|t| local_time(t, tz)),
                days_since_last_success: days,
                stale: days.is_some_and(|d| d > i64::from(stale_after_days)),
                steps: Step::ALL
                    .iter()
                    .map(|step| match task.steps.iter().find(|s| s.step == *step) {
                        Some(s) => StepReport {
                            step: *step,
                            state: match (s.success, &s.warning) {
                                (false, _) => StepState::Failed,
                                (true, Some(_)) => StepState::Warning,
                                (true, None) => StepState::Succeeded,
                            },
                            time_elapsed: s.time_elapsed.clone(),
                            dir_from: s.dir_from.clone(),
                            dir_to: s.dir_to.clone(),
                            message: s.error.clone().or_else(|| s.warning.clone()),
                            file_log: Some(s.file_log.clone()),
                        },
                        None => StepReport {
                            step: *step,
                            state: StepState::NotRun,
                            time_elapsed: String::new(),
                            dir_from: String::new(),
                            dir_to: String::new(),
                            message: None,
                            file_log: None,
                        },
                    })
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::StepStatus;

    fn step(step: Step, success: bool, warning: Option<&str>) -> StepStatus {
        StepStatus {
            step,
            success,
            dt_start: 0.0,
            dt_end: 61.0,
            time_elapsed: "00:01:01".into(),
            dir_from: "/data".into(),
            dir_to: "/backup/data/2026-11-26".into(),
            file_log: format!("/state/logs/data_{step}.log").into(),
            error: (!success).then(|| "rsync exited with status 12".to_string()),
            warning: warning.map(str::to_string),
        }
    }

    fn task(name: &str, steps: Vec<StepStatus>) -> TaskStatus {
        TaskStatus {
            name: name.into(),
            success: steps.len() == 3 && steps.iter().all(|s| s.success),
            dt_task_start: 1_795_000_000.0,
            dt_task_end: 1_795_000_125.0,
            steps,
        }
    }

    #[test]
    fn a_failed_task_lists_all_steps_and_counts_days_since_its_last_success() {
        let now = 1_795_000_125.0;
        let statuses = [
            task(
                "ok",
                vec![
                    step(Step::Backup, true, None),
                    step(Step::Retention, true, None),
                    step(Step::Sync, true, Some("2 warnings")),
                ],
            ),
            task("broken", vec![step(Step::Backup, false, None)]),
            task("new", vec![step(Step::Backup, false, None)]),
        ];
        let last = BTreeMap::from([
            ("ok".to_string(), now),
            ("broken".to_string(), now - 3.5 * 86_400.0),
        ]);
        let reports = enrich(&statuses, &last, now, 2, &TimeZone::UTC);

        assert!(reports[0].success && reports[0].warnings);
        assert_eq!(reports[0].days_since_last_success, Some(0));
        assert_eq!(reports[0].steps[2].state, StepState::Warning);
        assert_eq!(reports[0].time_task_elapsed, "00:02:05");
        assert_eq!(reports[0].start, "2026-11-18 11:06:40 UTC");

        let broken = &reports[1];
        assert_eq!(broken.days_since_last_success, Some(3));
        assert!(broken.stale, "3 days > stale_after_days 2");
        let states: Vec<StepState> = broken.steps.iter().map(|s| s.state).collect();
        assert_eq!(
            states,
            [StepState::Failed, StepState::NotRun, StepState::NotRun]
        );
        assert_eq!(
            broken.steps[0].message.as_deref(),
            Some("rsync exited with status 12")
        );

        let new = &reports[2];
        assert_eq!(
            new.days_since_last_success, None,
            "never succeeded is not 0 days"
        );
        assert_eq!(new.last_success, None);
        assert!(!new.stale);
    }
}
