//! What happened in a run: typed outcomes of steps and tasks.
//!
//! The engine yields these values; the record writes them, the report tells them and
//! the health rule judges from what the record read back. A step ends ok, warned
//! (with its warnings), or failed (with a typed error); never with a bare string.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::config::Event;
use crate::plan::StepKind;

/// Why a step failed, as a kind a program can match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Something the step needs is not there: the backup disk, the source, the key.
    Unavailable,
    /// A safety rule said no: an entry backup-server did not make is in the way, the
    /// clock went back, a symlink where a directory belongs.
    Refused,
    /// The other host could not be reached or would not let us in over SSH.
    Unreachable,
    /// rsync (or a step script) failed.
    Transfer,
    /// The local file system failed us (a step log, an exclude list, a listing).
    Io,
    /// The task's `before` or `after` command failed or ran out of time.
    Hook,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Refused => "refused",
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::Transfer => "transfer",
            ErrorKind::Io => "io",
            ErrorKind::Hook => "hook",
        }
    }
}

/// A failed step: what kind of failure, and the reason in one line for the person
/// reading the report (the step's log holds the rest).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepError {
    pub kind: ErrorKind,
    pub message: String,
}

impl StepError {
    /// The message is text from outside (a hook's last line, rsync's words, a file
    /// name): it is made `visible` here, where it enters the record.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> StepError {
        StepError {
            kind,
            message: visible(&message.into()),
        }
    }
}

/// `text` with its control characters shown as visible escapes (`\e` for ESC, `\a`,
/// `\b`, `\f`, `\v`, `\r`, else `\xNN` or `\u{NNNN}`); newlines and tabs kept.
///
/// What a hook or rsync prints may hold terminal colour codes or any other control
/// character. Raw, they make the Atom feed ill-formed XML (XML 1.0 allows none of
/// them), and the mail and the terminal would act on them. Text from outside
/// passes through here once, where it enters the record (a step's error and
/// warnings), so every consumer after gets text that is safe to render, and the
/// escapes still tell the admin what the program printed.
pub fn visible(text: &str) -> String {
    if !text.chars().any(needs_escape) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            _ if !needs_escape(c) => out.push(c),
            '\u{1b}' => out.push_str("\\e"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\u{0b}' => out.push_str("\\v"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || matches!(c, '\u{fffe}' | '\u{ffff}')
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// How one step ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum StepOutcome {
    Ok,
    /// Done, but with something the administrator should know (files rsync could not
    /// read, metadata a file system could not hold, an empty source).
    Warned {
        warnings: Vec<String>,
    },
    Failed {
        error: StepError,
    },
}

impl StepOutcome {
    pub fn word(&self) -> &'static str {
        match self {
            StepOutcome::Ok => "ok",
            StepOutcome::Warned { .. } => "warned",
            StepOutcome::Failed { .. } => "failed",
        }
    }

    pub fn failed(&self) -> bool {
        matches!(self, StepOutcome::Failed { .. })
    }

    pub fn warnings(&self) -> &[String] {
        match self {
            StepOutcome::Warned { warnings } => warnings,
            _ => &[],
        }
    }

    pub fn error(&self) -> Option<&StepError> {
        match self {
            StepOutcome::Failed { error } => Some(error),
            _ => None,
        }
    }
}

/// What rsync's `--stats` said about a transfer (summed over several transfers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TransferStats {
    /// "Number of files": every file and directory rsync considered.
    pub files_total: u64,
    /// "Number of regular files transferred": files copied rather than hard-linked.
    pub files_transferred: u64,
    /// "Total transferred file size": the data those files hold, what the snapshot added.
    pub bytes_transferred: u64,
    /// "Total file size": the size of the whole tree.
    pub total_size: u64,
}

impl TransferStats {
    pub fn add(&mut self, other: &TransferStats) {
        self.files_total += other.files_total;
        self.files_transferred += other.files_transferred;
        self.bytes_transferred += other.bytes_transferred;
        self.total_size += other.total_size;
    }

    /// A change list's transfer: the whole tree's figures from the dry run that made
    /// the list (these), what was written from the transfer (`sent`).
    pub fn with_sent(&self, sent: &TransferStats) -> TransferStats {
        TransferStats {
            files_transferred: sent.files_transferred,
            bytes_transferred: sent.bytes_transferred,
            ..*self
        }
    }
}

/// One side's snapshots and room after a step: the local disk or the target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Space {
    pub snapshots: u64,
    pub free_bytes: Option<u64>,
    pub free_inodes: Option<u64>,
    /// The file system's size, for how full it is.
    pub total_bytes: Option<u64>,
    pub total_inodes: Option<u64>,
}

/// One step of one task run.
#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    pub kind: StepKind,
    /// The step's name (`backup`, `sync-offsite`, ...), as the plan gives it.
    pub id: String,
    /// Unix seconds.
    pub started: f64,
    pub ended: f64,
    /// What it read and wrote, as the plan says (the seed's `dir_from`, `dir_to`).
    pub from: String,
    pub to: String,
    pub log: PathBuf,
    pub outcome: StepOutcome,
    pub stats: Option<TransferStats>,
    pub local: Option<Space>,
    pub target: Option<Space>,
}

/// One task of one run.
#[derive(Debug, Clone, Serialize)]
pub struct TaskResult {
    pub name: String,
    pub started: f64,
    pub ended: f64,
    /// The steps that ran, in order; a failed step is the last.
    pub steps: Vec<StepResult>,
    /// The planned steps (their names) that did not run because one they need failed.
    pub skipped: Vec<String>,
    /// Every planned step's name, in the plan's order.
    pub planned: Vec<String>,
}

impl TaskResult {
    /// Every planned step ran and none failed.
    pub fn succeeded(&self) -> bool {
        self.skipped.is_empty() && !self.steps.iter().any(|s| s.outcome.failed())
    }

    pub fn warned(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s.outcome, StepOutcome::Warned { .. }))
    }

    pub fn failure(&self) -> Option<(&StepResult, &StepError)> {
        self.steps
            .iter()
            .find_map(|s| s.outcome.error().map(|e| (s, e)))
    }

    /// The task's outcome in a word: ok, warned or failed.
    pub fn word(&self) -> &'static str {
        word(!self.succeeded(), self.warned())
    }
}

/// A task's or a run's outcome in a word, as the record, the hooks and the pings
/// write it: failed over warned over ok.
pub fn word(failed: bool, warned: bool) -> &'static str {
    match (failed, warned) {
        (true, _) => "failed",
        (false, true) => "warned",
        (false, false) => "ok",
    }
}

/// A run's outcome in a word, from its tasks'.
pub fn run_word(results: &[TaskResult]) -> &'static str {
    word(
        results.iter().any(|r| !r.succeeded()),
        results.iter().any(TaskResult::warned),
    )
}

/// The service a ping goes to, by its name in the config, the record and messages
/// (`healthchecks`, `ntfy`, `webhook`). A name, not a list: the channels are listed
/// once, in `notify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel(String);

impl Channel {
    pub fn named(word: &str) -> Channel {
        Channel(word.to_string())
    }

    pub fn word(&self) -> &str {
        &self.0
    }
}

/// One ping and how it went: what the record keeps (the `pings` table).
#[derive(Debug, Clone, PartialEq)]
pub struct Ping {
    pub channel: Channel,
    pub event: Event,
    /// Unix seconds, when it was sent (or given up).
    pub at: f64,
    pub delivered: bool,
    /// The service's answer (`HTTP 200`), or why it was not delivered. Names the
    /// service by scheme and host only.
    pub message: String,
    /// How many times it was tried (0: it could not be sent at all).
    pub attempts: u32,
}

impl Ping {
    /// The ping in one line for people: "ntfy failure ping not delivered: https://ntfy.sh
    /// answered HTTP 500 (3 attempts)".
    pub fn describe(&self) -> String {
        let attempts = match self.attempts {
            0 => String::new(),
            1 => " (1 attempt)".to_string(),
            n => format!(" ({n} attempts)"),
        };
        let how = if self.delivered {
            "delivered"
        } else {
            "not delivered"
        };
        format!(
            "{} {} ping {how}: {}{attempts}",
            self.channel.word(),
            self.event.word(),
            self.message
        )
    }
}

#[cfg(test)]
impl TaskResult {
    /// A task whose backup of `/data` succeeded, or failed with rsync's status 12 and
    /// its sync skipped: what the channels' tests ping about.
    pub fn sample_backup(name: &str, log: &std::path::Path, failed: bool) -> TaskResult {
        let outcome = if failed {
            StepOutcome::Failed {
                error: StepError::new(ErrorKind::Transfer, "rsync exited with status 12"),
            }
        } else {
            StepOutcome::Ok
        };
        TaskResult {
            name: name.into(),
            started: 1_795_000_000.0,
            ended: 1_795_000_100.0,
            steps: vec![StepResult {
                kind: crate::plan::StepKind::Backup,
                id: "backup".into(),
                started: 1_795_000_000.0,
                ended: 1_795_000_100.0,
                from: "/data".into(),
                to: "/b/data".into(),
                log: log.to_path_buf(),
                outcome,
                stats: None,
                local: None,
                target: None,
            }],
            skipped: if failed { vec!["sync".into()] } else { vec![] },
            planned: vec!["backup".into(), "sync".into()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible_escapes() {
        assert_eq!(
            visible("\u{1b}[31mlocked\u{7}\u{8}\u{c}\r\u{0}\u{7f}\u{85}\u{1b}[0m\nnext\tline"),
            "\\e[31mlocked\\a\\b\\f\\r\\x00\\x7f\\u{0085}\\e[0m\nnext\tline"
        );
        assert_eq!(visible("café, plain"), "café, plain");
        let error = StepError::new(ErrorKind::Hook, "the before command failed: \u{1b}[1mx");
        assert_eq!(error.message, "the before command failed: \\e[1mx");
    }
}
