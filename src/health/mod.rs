//! The health rule: how a task is doing, and since when. The one place that judges.
//!
//! The email, the pages, `status.json`, `metrics.prom` and the feed all show what
//! this says, in the words `describe` gives them; none of them judges on its own.
//!
//! The rule, in order:
//! - **never ran**: no run of the task is recorded;
//! - **never succeeded**: it ran, never successfully; since its first run;
//! - **stale**: no success for more than `stale_after_days` days, whatever the last
//!   run did; since its last success;
//! - **failing**: its last run failed or was interrupted; since the first of the
//!   failures in a row that ends with it, with the last failure's reason;
//! - **warning**: its last run succeeded with warnings; since the first of the
//!   warned runs in a row, with the warnings;
//! - **ok**: its last run succeeded cleanly; since the first clean run in a row.

use serde::Serialize;

pub mod disks;

use disks::Disk;

use crate::clock::{Clock, DAY, days_between};
use crate::outcome::TaskResult;
use crate::record::{RunState, TaskHistory, TaskRun};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Ok,
    Warning,
    Failing,
    Stale,
    NeverSucceeded,
    NeverRan,
}

impl State {
    /// Every state, in the order of the rule.
    pub const ALL: [State; 6] = [
        State::Ok,
        State::Warning,
        State::Failing,
        State::Stale,
        State::NeverSucceeded,
        State::NeverRan,
    ];

    /// The word in `status.json`, the metrics and the pages' CSS classes.
    pub fn word(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::Warning => "warning",
            State::Failing => "failing",
            State::Stale => "stale",
            State::NeverSucceeded => "never_succeeded",
            State::NeverRan => "never_ran",
        }
    }

    /// Whether someone should look (a warning is worth a look, not an alarm).
    pub fn needs_attention(self) -> bool {
        !matches!(self, State::Ok)
    }
}

/// Whether a task recovered in a run: before it, the task needed an alarm (it was
/// failing, stale or had never succeeded), and the run succeeded. The report and the
/// pings both ask this, of the state judged when the run started.
pub fn recovered(before: State, succeeded: bool) -> bool {
    matches!(
        before,
        State::Failing | State::Stale | State::NeverSucceeded
    ) && succeeded
}

/// A task's health when a run began and when it ended: what the pings and the
/// report say of it.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub name: String,
    pub before: State,
    pub after: Health,
}

impl Verdict {
    /// Judges `result` at `now` from the task's recorded history, which holds the
    /// run; from the run alone when that cannot be read.
    pub fn of(
        result: &TaskResult,
        before: State,
        history: Option<&TaskHistory>,
        now: f64,
        stale_after_days: u32,
    ) -> Verdict {
        let after = match history.filter(|h| !h.runs.is_empty()) {
            Some(history) => judge(history, now, stale_after_days),
            None => judge(&TaskHistory::of_result(result), now, stale_after_days),
        };
        Verdict {
            name: result.name.clone(),
            before,
            after,
        }
    }

    /// See [`recovered`].
    pub fn recovered(&self, result: &TaskResult) -> bool {
        recovered(self.before, result.succeeded())
    }
}

/// A task's health: its state, since when, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    pub state: State,
    /// Unix seconds; `None` only for never ran.
    pub since: Option<f64>,
    /// The end of its last successful run.
    pub last_success: Option<f64>,
    /// Whole days since then.
    pub days_since_success: Option<i64>,
    /// Why it is failing or warning (the last run's failure or warnings).
    pub reason: Option<String>,
}

/// Judges one task from its history (newest run first) at `now`.
pub fn judge(history: &TaskHistory, now: f64, stale_after_days: u32) -> Health {
    let runs: Vec<&TaskRun> = history
        .runs
        .iter()
        .filter(|r| r.state != RunState::Running)
        .collect();
    let last_success = history.last_success().map(|r| r.ended);
    let health = |state, since, reason| Health {
        state,
        since,
        last_success,
        days_since_success: last_success.map(|t| days_between(t, now)),
        reason,
    };
    let Some(last) = runs.first() else {
        return health(State::NeverRan, None, None);
    };
    // The oldest run of the unbroken streak at the top that `same` accepts.
    let streak_start = |same: &dyn Fn(&TaskRun) -> bool| {
        runs.iter()
            .take_while(|r| same(r))
            .last()
            .map(|r| r.started)
    };
    match last_success {
        None => health(
            State::NeverSucceeded,
            runs.last().map(|r| r.started),
            last.reason(),
        ),
        Some(success) if now - success > f64::from(stale_after_days) * DAY => {
            health(State::Stale, Some(success), last.reason())
        }
        Some(_) if !last.succeeded() => health(
            State::Failing,
            streak_start(&|r| !r.succeeded()),
            last.reason(),
        ),
        Some(_) if last.state == RunState::Warned => health(
            State::Warning,
            streak_start(&|r| r.state == RunState::Warned),
            last.reason(),
        ),
        Some(_) => health(State::Ok, streak_start(&|r| r.state == RunState::Ok), None),
    }
}

impl Health {
    /// The health in words for people: "failing since 2026-11-20 02:00:03 CET: backup: ...".
    pub fn describe(&self, clock: &Clock) -> String {
        let when = |t: Option<f64>| t.map(|t| clock.local_time(t)).unwrap_or_default();
        let days = match self.days_since_success {
            Some(0) => "today".to_string(),
            Some(1) => "1 day ago".to_string(),
            Some(n) => format!("{n} days ago"),
            None => String::new(),
        };
        let reason = self
            .reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        match self.state {
            State::Ok => format!("fine; last success {} ({days})", when(self.last_success)),
            State::Warning => format!("warnings since {}{reason}", when(self.since)),
            State::Failing => format!(
                "failing since {}; last success {} ({days}){reason}",
                when(self.since),
                when(self.last_success)
            ),
            State::Stale => format!(
                "stale: no success since {} ({days}){reason}",
                when(self.last_success)
            ),
            State::NeverSucceeded => {
                format!("never succeeded (first run {}){reason}", when(self.since))
            }
            State::NeverRan => "has never run".to_string(),
        }
    }
}

impl Health {
    /// When the task last succeeded, for the mail: "Last good backup: 2026-12-03, 4 days
    /// ago" (or "never").
    pub fn last_good(&self, clock: &Clock) -> String {
        match (self.last_success, self.days_since_success) {
            (Some(t), Some(days)) => format!(
                "Last good backup: {}, {}",
                clock.date_of(t),
                match days {
                    0 => "today".to_string(),
                    1 => "1 day ago".to_string(),
                    n => format!("{n} days ago"),
                }
            ),
            _ => "Last good backup: never".to_string(),
        }
    }
}

/// How things stand over every task and disk at once: the one rule behind the index's
/// banner and `<title>`, and `status.json`'s `all_fine`. A task needs attention unless
/// it is ok; a disk when the capacity rule gave it a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overall {
    pub tasks: usize,
    /// The positions of the tasks that need attention.
    pub attention: Vec<usize>,
    /// The positions of the disks that need attention.
    pub disks: Vec<usize>,
}

impl Overall {
    pub fn of(states: impl IntoIterator<Item = State>, disks: &[Disk]) -> Overall {
        let mut tasks = 0;
        let mut attention = Vec::new();
        for (i, state) in states.into_iter().enumerate() {
            tasks += 1;
            if state.needs_attention() {
                attention.push(i);
            }
        }
        Overall {
            tasks,
            attention,
            disks: (0..disks.len())
                .filter(|i| disks[*i].warning.is_some())
                .collect(),
        }
    }

    /// Every task ok and no disk filling up (and at least one task).
    pub fn all_fine(&self) -> bool {
        self.tasks > 0 && self.attention.is_empty() && self.disks.is_empty()
    }

    /// The state in a few words: "All backups are fine", "2 of 5 tasks need attention",
    /// "A disk needs attention", "No tasks yet".
    pub fn headline(&self) -> String {
        match (self.tasks, self.attention.len(), self.disks.len()) {
            (0, _, _) => "No tasks yet".into(),
            (_, 0, 0) => "All backups are fine".into(),
            (_, 0, 1) => "A disk needs attention".into(),
            (_, 0, _) => "Disks need attention".into(),
            (n, 1, _) => format!("1 of {n} task needs attention"),
            (n, k, _) => format!("{k} of {n} tasks need attention"),
        }
    }

    /// The state for a browser tab, where it is cut short: "✓ all fine", "✗ 2 of 5 need
    /// attention", "✗ a disk needs attention".
    pub fn mark(&self) -> String {
        match (self.tasks, self.attention.len(), self.disks.len()) {
            (0, _, _) => "no tasks yet".into(),
            (_, 0, 0) => "✓ all fine".into(),
            (_, 0, 1) => "✗ a disk needs attention".into(),
            (_, 0, _) => "✗ disks need attention".into(),
            (n, k, _) => format!("✗ {k} of {n} need attention"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{RunId, StepRow};
    use std::rc::Rc;

    fn run(id: i64, day: f64, state: RunState) -> TaskRun {
        let step = |outcome: &str, message: Option<&str>, warnings: Vec<String>| StepRow {
            step: Rc::from("backup"),
            started: day * DAY,
            ended: day * DAY + 60.0,
            outcome: Rc::from(outcome),
            message: message.map(str::to_string),
            warnings,
            dir_from: Rc::from("/data"),
            dir_to: Rc::from("/backup/data"),
            stats: None,
            local: None,
            target: None,
        };
        let steps = match state {
            RunState::Failed => vec![step(
                "failed",
                Some("the source /data does not exist"),
                vec![],
            )],
            RunState::Warned => vec![step("warned", None, vec!["2 files vanished".into()])],
            _ => vec![step("ok", None, vec![])],
        };
        TaskRun {
            run: RunId(id),
            started: day * DAY,
            ended: day * DAY + 60.0,
            state,
            steps,
        }
    }

    fn judged(runs: Vec<TaskRun>) -> Health {
        judge(
            &TaskHistory {
                name: "t".into(),
                runs,
                inventory: Default::default(),
            },
            100.0 * DAY,
            2,
        )
    }

    use RunState::{Failed, Interrupted, Ok, Running, Warned};

    #[test]
    fn each_state_says_since_when_and_why() {
        assert_eq!(judged(vec![]).state, State::NeverRan);
        let ok = judged(vec![
            run(3, 99.0, Ok),
            run(2, 98.0, Ok),
            run(1, 97.0, Failed),
        ]);
        assert_eq!((ok.state, ok.since), (State::Ok, Some(98.0 * DAY)));
        assert_eq!(ok.days_since_success, Some(0));

        let failing = judged(vec![
            run(4, 99.0, Interrupted),
            run(3, 98.5, Failed),
            run(2, 98.0, Ok),
            run(1, 97.0, Failed),
        ]);
        assert_eq!(failing.state, State::Failing);
        assert_eq!(failing.since, Some(98.5 * DAY));
        assert_eq!(
            failing.reason.as_deref(),
            Some("the run was stopped after its backup step before the task ended")
        );

        let warned = judged(vec![run(2, 99.0, Warned), run(1, 98.0, Warned)]);
        assert_eq!(
            (warned.state, warned.since),
            (State::Warning, Some(98.0 * DAY))
        );
        assert_eq!(warned.reason.as_deref(), Some("backup: 2 files vanished"));

        let never = judged(vec![run(2, 99.0, Failed), run(1, 98.0, Failed)]);
        assert_eq!(
            (never.state, never.since),
            (State::NeverSucceeded, Some(98.0 * DAY))
        );
        assert_eq!(
            never.days_since_success, None,
            "never succeeded is not 0 days"
        );
        assert_eq!(
            never.reason.as_deref(),
            Some("backup: the source /data does not exist")
        );
    }

    #[test]
    fn stale_means_no_success_for_too_long_whatever_the_last_run_did() {
        for last in [Ok, Failed, Warned] {
            let stale = judged(vec![run(2, 97.0, last), run(1, 96.0, Ok)]);
            let expected_success = if last == Failed { 96.0 } else { 97.0 };
            assert_eq!(stale.state, State::Stale, "last run {last:?}");
            assert_eq!(stale.since, Some(expected_success * DAY + 60.0));
        }
        let two_days = judged(vec![run(1, 98.0, Ok)]);
        assert_eq!(two_days.state, State::Ok, "2 days is not more than 2 days");
    }

    #[test]
    fn the_overall_state_counts_tasks_and_disks_needing_attention() {
        let full = Disk {
            name: "backup disk".into(),
            measured: 0.0,
            free_bytes: None,
            total_bytes: None,
            free_inodes: None,
            total_inodes: None,
            full_in_days: Some(3.0),
            warning: Some("full in 3 days".into()),
            series: Vec::new(),
        };
        let fine = Overall::of([State::Ok, State::Ok], &[]);
        assert!(fine.all_fine());
        assert_eq!(
            (fine.headline().as_str(), fine.mark().as_str()),
            ("All backups are fine", "✓ all fine")
        );
        let disk = Overall::of([State::Ok], std::slice::from_ref(&full));
        assert!(!disk.all_fine(), "a filling disk is not fine");
        assert_eq!(disk.mark(), "✗ a disk needs attention");
        let two = Overall::of(
            [
                State::Ok,
                State::Failing,
                State::Ok,
                State::Stale,
                State::Ok,
            ],
            &[full],
        );
        assert_eq!(two.attention, [1, 3]);
        assert_eq!(two.headline(), "2 of 5 tasks need attention");
        assert_eq!(two.mark(), "✗ 2 of 5 need attention");
        assert_eq!(Overall::of([], &[]).headline(), "No tasks yet");
    }

    #[test]
    fn a_running_run_is_not_judged_yet() {
        let health = judged(vec![
            run(2, 99.9, Running),
            run(1, 99.0, Failed),
            run(0, 98.5, Ok),
        ]);
        assert_eq!(health.state, State::Failing);
    }
}
