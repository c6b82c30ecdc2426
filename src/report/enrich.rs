//! What a report says about each task: this run's outcomes, told step by step, and
//! the task's health as the health rule judges it. A pure function (the seed's
//! `enrich_task_status()`), so every sentence of the mail can be tested without one.

use std::path::PathBuf;

use serde::Serialize;

use crate::clock::{Clock, took};
use crate::health::{Health, Verdict};
use crate::outcome::{StepOutcome, TaskResult, TransferStats};
use crate::record::TaskHistory;

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
    pub step: String,
    pub state: StepState,
    pub time_elapsed: String,
    pub dir_from: String,
    pub dir_to: String,
    /// Why it failed, in one line.
    pub error: Option<String>,
    pub warnings: Vec<String>,
    pub file_log: Option<PathBuf>,
    /// What rsync moved, for the transfers.
    pub stats: Option<TransferStats>,
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
    pub health: Health,
    /// The health in words (`Health::describe`).
    pub health_words: String,
    /// "Last good backup: 2026-12-03, 4 days ago" (`Health::last_good`).
    pub last_good: String,
    /// It succeeded after a run that did not.
    pub recovered: bool,
    /// What its backup moved: "120 files, 35.2 MB of 1.2 TB".
    pub moved: Option<String>,
    /// Every planned step, in order, those that did not run included.
    pub steps: Vec<StepReport>,
    /// The last `backup-server verify`, in words, if it ever ran.
    pub verification: Option<String>,
}

/// The report's view of this run's `results`, each task as its verdict judged it
/// (the pings' verdicts: one for each result, in order). `histories` (one for each
/// result, where it could be read) give the tasks' last verifications.
pub fn enrich(
    results: &[TaskResult],
    verdicts: &[Verdict],
    histories: &[Option<TaskHistory>],
    clock: &Clock,
) -> Vec<TaskReport> {
    results
        .iter()
        .zip(verdicts)
        .enumerate()
        .map(|(i, (task, verdict))| {
            let history = histories.get(i).and_then(Option::as_ref);
            let health = verdict.after.clone();
            let recovered = verdict.recovered(task);
            let moved = task
                .steps
                .iter()
                .find(|s| s.kind == crate::plan::StepKind::Backup)
                .and_then(|s| s.stats)
                .map(|s| {
                    format!(
                        "{} file{}, {} of {}",
                        crate::words::number(s.files_transferred),
                        if s.files_transferred == 1 { "" } else { "s" },
                        crate::words::bytes(s.bytes_transferred),
                        crate::words::bytes(s.total_size)
                    )
                });
            let verification = history
                .as_ref()
                .and_then(|h| crate::words::verification(&h.inventory.verification, clock));
            let steps: Vec<StepReport> = task
                .planned
                .iter()
                .map(|id| match task.steps.iter().find(|s| &s.id == id) {
                    Some(step) => step_report(step),
                    None => StepReport {
                        step: id.clone(),
                        state: StepState::NotRun,
                        time_elapsed: String::new(),
                        dir_from: String::new(),
                        dir_to: String::new(),
                        error: None,
                        warnings: Vec::new(),
                        file_log: None,
                        stats: None,
                    },
                })
                .collect();
            TaskReport {
                name: task.name.clone(),
                success: task.succeeded(),
                warnings: task.warned(),
                start: clock.local_time(task.started),
                end: clock.local_time(task.ended),
                time_task_elapsed: took(task.ended - task.started),
                health_words: health.describe(clock),
                last_good: health.last_good(clock),
                health,
                recovered,
                moved,
                steps,
                verification,
            }
        })
        .collect()
}

fn step_report(s: &crate::outcome::StepResult) -> StepReport {
    StepReport {
        step: s.id.clone(),
        state: match &s.outcome {
            StepOutcome::Ok => StepState::Succeeded,
            StepOutcome::Warned { .. } => StepState::Warning,
            StepOutcome::Failed { .. } => StepState::Failed,
        },
        time_elapsed: took(s.ended - s.started),
        dir_from: s.from.clone(),
        dir_to: s.to.clone(),
        error: s.outcome.error().map(|e| e.message.clone()),
        warnings: s.outcome.warnings().to_vec(),
        file_log: Some(s.log.clone()),
        stats: s.stats,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health;
    use crate::outcome::{ErrorKind, StepError, StepResult};
    use crate::plan::StepKind;

    fn step(kind: StepKind, outcome: StepOutcome) -> StepResult {
        StepResult {
            kind,
            id: kind.as_str().to_string(),
            started: 1_795_000_000.0,
            ended: 1_795_000_061.0,
            from: "/data".into(),
            to: "/backup/data/2026-11-18".into(),
            log: format!("/state/logs/data_{kind}.log").into(),
            outcome,
            stats: None,
            local: None,
            target: None,
        }
    }

    fn task(name: &str, steps: Vec<StepResult>, skipped: Vec<StepKind>) -> TaskResult {
        let skipped: Vec<String> = skipped.iter().map(|k| k.to_string()).collect();
        let mut planned: Vec<String> = steps.iter().map(|s| s.id.clone()).collect();
        planned.extend(skipped.iter().cloned());
        TaskResult {
            name: name.into(),
            started: 1_795_000_000.0,
            ended: 1_795_000_125.0,
            steps,
            skipped,
            planned,
        }
    }

    #[test]
    fn a_failed_task_lists_every_step_and_is_judged_by_the_health_rule() {
        let clock = Clock::on("2026-11-18".parse().unwrap());
        let failed = StepOutcome::Failed {
            error: StepError::new(ErrorKind::Transfer, "rsync exited with status 12"),
        };
        let results = [
            task(
                "ok",
                vec![
                    step(StepKind::Backup, StepOutcome::Ok),
                    step(StepKind::Retention, StepOutcome::Ok),
                    step(
                        StepKind::Sync,
                        StepOutcome::Warned {
                            warnings: vec!["2 files vanished".into()],
                        },
                    ),
                ],
                vec![],
            ),
            task(
                "new",
                vec![step(StepKind::Backup, failed)],
                vec![StepKind::Retention, StepKind::Sync],
            ),
        ];
        // Nothing recorded: each task is judged from this run alone.
        let verdicts: Vec<Verdict> = results
            .iter()
            .map(|r| Verdict::of(r, health::State::NeverRan, None, clock.now(), 2))
            .collect();
        let reports = enrich(&results, &verdicts, &[], &clock);

        assert!(reports[0].success && reports[0].warnings);
        assert_eq!(reports[0].steps[2].state, StepState::Warning);
        assert_eq!(reports[0].time_task_elapsed, "00:02:05");
        assert_eq!(reports[0].health.state, health::State::Warning);

        let new = &reports[1];
        let states: Vec<StepState> = new.steps.iter().map(|s| s.state).collect();
        assert_eq!(
            states,
            [StepState::Failed, StepState::NotRun, StepState::NotRun]
        );
        assert_eq!(
            new.steps[0].error.as_deref(),
            Some("rsync exited with status 12")
        );
        assert_eq!(new.health.state, health::State::NeverSucceeded);
        assert_eq!(
            new.health.days_since_success, None,
            "never succeeded is not 0 days"
        );
        assert!(
            new.health_words
                .starts_with("never succeeded (first run 2026-11-18 "),
            "{}",
            new.health_words
        );
    }
}
