//! Made-up task runs, for the tests that record or compose a history without running
//! a backup (the site, the report, the layout). One builder shapes them all as the
//! engine does: every step is planned, a failed step is the last that ran, and the
//! steps after it are skipped.

use std::path::PathBuf;

use backup_server::outcome::{ErrorKind, StepError, StepOutcome, StepResult, TaskResult};
use backup_server::plan::StepKind;

pub const DAY: f64 = 86_400.0;

/// The real now, in Unix seconds: histories are made relative to it.
pub fn now() -> f64 {
    jiff::Timestamp::now().as_millisecond() as f64 / 1000.0
}

/// How one made-up step ends.
#[derive(Clone, Debug)]
pub enum End {
    Ok,
    /// Failed with this message (a transfer error).
    Fails(String),
}

impl End {
    pub fn fails(why: impl Into<String>) -> End {
        End::Fails(why.into())
    }
}

/// A task run being made, step after step.
pub struct MadeRun {
    result: TaskResult,
    at: f64,
    from: String,
    to: String,
    log: PathBuf,
    ran: bool,
}

impl MadeRun {
    /// A run of `task` that starts at `started` (Unix seconds), no step yet.
    pub fn of(task: &str, started: f64) -> MadeRun {
        MadeRun {
            result: TaskResult {
                name: task.into(),
                started,
                ended: started,
                steps: Vec::new(),
                skipped: Vec::new(),
                planned: Vec::new(),
            },
            at: started,
            from: String::new(),
            to: String::new(),
            log: PathBuf::new(),
            ran: false,
        }
    }

    /// What the steps that follow read (the seed's `dir_from`).
    pub fn reading(mut self, from: impl Into<String>) -> MadeRun {
        self.from = from.into();
        self
    }

    /// What the steps that follow write (the seed's `dir_to`).
    pub fn writing(mut self, to: impl Into<String>) -> MadeRun {
        self.to = to.into();
        self
    }

    /// Where the steps that follow log.
    pub fn logging(mut self, log: impl Into<PathBuf>) -> MadeRun {
        self.log = log.into();
        self
    }

    /// The next planned step, `id` (`backup`, `retention`, anything else a sync),
    /// ending as `end` after `seconds`; skipped, taking no time, when a step before it
    /// failed.
    pub fn step(mut self, id: &str, end: End, seconds: f64) -> MadeRun {
        self.result.planned.push(id.to_string());
        self.ran = !self.result.steps.iter().any(|s| s.outcome.failed());
        if !self.ran {
            self.result.skipped.push(id.to_string());
            return self;
        }
        let kind = match id {
            "backup" => StepKind::Backup,
            "retention" => StepKind::Retention,
            _ => StepKind::Sync,
        };
        let outcome = match end {
            End::Ok => StepOutcome::Ok,
            End::Fails(why) => StepOutcome::Failed {
                error: StepError::new(ErrorKind::Transfer, why),
            },
        };
        self.result.steps.push(StepResult {
            kind,
            id: id.to_string(),
            started: self.at,
            ended: self.at + seconds,
            from: self.from.clone(),
            to: self.to.clone(),
            log: self.log.clone(),
            outcome,
            stats: None,
            local: None,
            target: None,
        });
        self.at += seconds;
        self
    }

    /// Changes the step just made, if it ran (what it moved, the room left).
    pub fn with(mut self, change: impl FnOnce(&mut StepResult)) -> MadeRun {
        if self.ran {
            change(self.result.steps.last_mut().expect("a step was made"));
        }
        self
    }

    /// `seconds` in which no step runs.
    pub fn pause(mut self, seconds: f64) -> MadeRun {
        self.at += seconds;
        self
    }

    /// No step runs until `at` (Unix seconds), if it is later than now in the run.
    pub fn idle_until(mut self, at: f64) -> MadeRun {
        self.at = self.at.max(at);
        self
    }

    /// The run, ended when its last step or pause did.
    pub fn build(mut self) -> TaskResult {
        self.result.ended = self.at;
        self.result
    }
}
