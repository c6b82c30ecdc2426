//! The exit statuses of DESIGN.md, so scripts and systemd can rely on them.

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every task succeeded (and the report and the pings went out).
    Success = 0,
    /// At least one task failed, or the run could not be recorded or its site published.
    TaskFailed = 1,
    /// Bad command line or bad config; nothing was touched.
    Usage = 2,
    /// The backups are fine but the report or a ping could not be delivered.
    Undelivered = 3,
    /// `verify` found a copy that differs from the snapshot it should equal.
    Differs = 4,
    /// Another run holds the lock (EX_TEMPFAIL).
    Locked = 75,
}

impl Exit {
    /// The status of a run that went through. Trouble with its tasks, its record or
    /// its site outranks an undelivered report or ping.
    pub fn of_run(trouble: bool, undelivered: bool) -> Exit {
        match (trouble, undelivered) {
            (true, _) => Exit::TaskFailed,
            (false, true) => Exit::Undelivered,
            (false, false) => Exit::Success,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}
