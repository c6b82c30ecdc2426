//! `backup_config.yml`: reading it, and refusing it with every reason at once.
//!
//! The file is parsed into a generic tree first and then checked key by key, so that
//! one run of `check-config` lists every problem (each naming the file, the key and
//! the task) instead of stopping at the first, and so that an unknown key (a typo
//! that would silently disable an exclude) is an error, not a shrug.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::retention::Policy;
pub use location::Location;

#[cfg(test)]
mod config_tests;
pub mod location;
mod validate;

use validate::Validator;
pub use validate::channels::{
    Event, Healthchecks, NTFY_DEFAULT_ON, Notify, Ntfy, Priority, UrlSource, Webhook, redact,
    url_problem,
};
pub use validate::schema;

/// A validated configuration. Every field holds a checked value.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// The file this was read from (for messages).
    #[serde(skip)]
    pub file: PathBuf,
    pub dir_backup_local: PathBuf,
    pub require_mountpoint: bool,
    /// Where snapshots are mirrored: the seed's `dir_backup_remote` first (named
    /// `remote`), then the `targets`. At least one.
    pub targets: Vec<Target>,
    pub email_sender: String,
    pub email_report: String,
    /// CC on failure; "" when absent or equal to `email_report` (as the seed does).
    pub email_admin: String,
    pub tasks: Vec<Task>,
    pub retention: Policy,
    pub ssh_key: PathBuf,
    pub ssh_known_hosts: Option<PathBuf>,
    pub ssh_config: Option<PathBuf>,
    pub smtp: Smtp,
    pub stale_after_days: u32,
    /// When the report is mailed.
    pub email_when: EmailWhen,
    /// With `email_when: attention`, the day of the week a short summary goes out
    /// even when all is well, so that silence still proves something.
    #[serde(skip)]
    pub summary_weekday: jiff::civil::Weekday,
    /// Where the history pages are served, for a link in the report.
    pub site_url: Option<String>,
    /// When the timer starts a run (a systemd OnCalendar expression, as the NixOS
    /// module renders it), for "next run expected"; `None`: not said.
    pub schedule: Option<String>,
    /// When a disk needs attention.
    pub disk: Thresholds,
    /// Pings when a run starts and ends (healthchecks, ntfy, a webhook).
    pub notify: Notify,
}

/// When a run mails its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailWhen {
    /// After every run.
    Always,
    /// When something needs attention (a failure, a warning, a stale task, a disk
    /// filling up, a recovery), and once a week as a summary.
    Attention,
    /// Never (no email settings needed).
    Never,
}

#[derive(Debug, Clone, Serialize)]
pub struct Task {
    pub name: String,
    #[serde(serialize_with = "display")]
    pub dir_source: Location,
    pub excludes: Vec<String>,
    pub retention: Policy,
    /// A shell command run first (a database dump into the source, say); if it fails,
    /// no snapshot is taken.
    pub before: Option<String>,
    /// A shell command run last, whatever happened, with the outcome in its environment.
    pub after: Option<String>,
    pub hook_timeout_secs: u32,
    /// rsync --one-file-system: mount points inside the source are not crossed.
    pub one_file_system: bool,
    /// The names of the targets this task is mirrored to; all of them when not set.
    pub targets: Option<Vec<String>>,
}

/// One place snapshots are mirrored to.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// `remote` for the seed's `dir_backup_remote`.
    pub name: String,
    #[serde(serialize_with = "display")]
    pub location: Location,
    /// Per-key changes to each task's policy on this target (it may keep longer).
    pub retention: RetentionOverride,
    /// rsync --bwlimit, in KiB/s.
    pub bwlimit_kib: Option<u32>,
    /// Compress what goes over SSH (default: true over SSH, false for a local path).
    pub compress: bool,
    /// Sync only when `location` (a local path) is a mount point: its disk is there.
    pub require_mountpoint: bool,
    /// Whether this is the seed's `dir_backup_remote`: its step is the seed's `sync`.
    pub seed: bool,
}

/// Retention keys set for one place, each replacing the policy's value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RetentionOverride {
    pub daily: Option<u32>,
    pub weekly: Option<u32>,
    pub monthly: Option<u32>,
    pub yearly: Option<u32>,
}

impl RetentionOverride {
    pub fn apply(&self, base: Policy) -> Policy {
        Policy {
            daily: self.daily.unwrap_or(base.daily),
            weekly: self.weekly.unwrap_or(base.weekly),
            monthly: self.monthly.unwrap_or(base.monthly),
            yearly: self.yearly.unwrap_or(base.yearly),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub ca_file: Option<PathBuf>,
    pub timeout_secs: u64,
}

impl Default for Smtp {
    fn default() -> Self {
        Smtp {
            host: "smtp.gmail.com".into(),
            port: 465,
            ca_file: None,
            timeout_secs: 30,
        }
    }
}

pub const DEFAULT_SSH_KEY: &str = "/root/.ssh/id_ed25519_backup";
const DEFAULT_STALE_AFTER_DAYS: u32 = 2;
const DEFAULT_HOOK_TIMEOUT_SECS: u32 = 3600;
const DEFAULT_SUMMARY_WEEKDAY: jiff::civil::Weekday = jiff::civil::Weekday::Monday;
/// The name of the target `dir_backup_remote` describes.
pub const SEED_TARGET: &str = "remote";

fn display<S: serde::Serializer>(value: &Location, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

/// Why a configuration was refused.
#[derive(Debug)]
pub enum ConfigError {
    Missing(PathBuf),
    Unreadable(PathBuf, std::io::Error),
    Syntax(PathBuf, String),
    Invalid(PathBuf, Vec<Problem>),
}

/// One problem with one key.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Where: `email_sender`, `tasks[2] "Photos": dir_source`.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Missing(p) => write!(f, "config file {} does not exist", p.display()),
            ConfigError::Unreadable(p, e) => {
                write!(f, "cannot read config file {}: {e}", p.display())
            }
            ConfigError::Syntax(p, e) => write!(f, "{}: not valid YAML: {e}", p.display()),
            ConfigError::Invalid(p, problems) => {
                let n = problems.len();
                write!(
                    f,
                    "{}: {n} problem{}:",
                    p.display(),
                    if n == 1 { "" } else { "s" }
                )?;
                for problem in problems {
                    write!(f, "\n  {}: {}", problem.key, problem.message)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// A YAML error as the person at the terminal needs it: `line L column C: what`, then
/// the lines around it (ConfigError's Display puts the file's name first). A tab is reported where it is: the
/// scanner names the start of the scalar it was reading, which may be lines before.
fn syntax(text: &str, e: &serde_saphyr::Error) -> String {
    let plain = e
        .without_snippet()
        .render_with_options(serde_saphyr::render_options! {
            snippets: serde_saphyr::SnippetMode::Off,
        });
    // "error: line 1 column 19: while scanning …" → "while scanning …"
    let what = plain.trim_start_matches("error: ");
    let what = match what.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") => rest,
        _ => what,
    };
    let what = what.split(" at line ").next().unwrap_or(what).trim();
    let (mut line, mut column) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((0, 0));
    if what.contains("found a tab") {
        // The first tab at or after the reported position.
        let start: usize = text
            .split_inclusive('\n')
            .take(line.saturating_sub(1) as usize)
            .map(str::len)
            .sum();
        if let Some(offset) = text.get(start..).and_then(|rest| rest.find('\t')) {
            let before = &text[..start + offset];
            line = before.matches('\n').count() as u64 + 1;
            column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u64 + 1;
        }
    }
    let mut out = if line > 0 {
        format!("line {line} column {column}: {what}")
    } else {
        what.to_string()
    };
    // The lines around it, numbered as in the file.
    if line > 0 {
        let first = line.saturating_sub(2).max(1);
        for (n, text) in text.lines().enumerate().map(|(i, l)| (i as u64 + 1, l)) {
            if n < first || n > line + 1 {
                continue;
            }
            out.push_str(&format!("\n  {n:>4} | {}", text.replace('\t', "→")));
            if n == line {
                out.push_str(&format!(
                    "\n       | {}^",
                    " ".repeat(column.saturating_sub(1) as usize)
                ));
            }
        }
    }
    out
}

impl Config {
    /// Reads and validates `file`. Looks at nothing on disk but the file itself.
    pub fn load(file: &Path) -> Result<Config, ConfigError> {
        let text = match fs_err::read_to_string(file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ConfigError::Missing(file.to_path_buf()));
            }
            Err(e) => return Err(ConfigError::Unreadable(file.to_path_buf(), e)),
        };
        Config::parse(file, &text)
    }

    /// Validates `text` as the contents of `file`.
    pub fn parse(file: &Path, text: &str) -> Result<Config, ConfigError> {
        let options = serde_saphyr::options! {
            strict_booleans: true,
            duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        };
        let tree: Value = serde_saphyr::from_str_with_options(text, options)
            .map_err(|e| ConfigError::Syntax(file.to_path_buf(), syntax(text, &e)))?;
        let mut checker = Validator::default();
        let config = checker.config(file, &tree);
        match config {
            Some(config) if checker.problems.is_empty() => Ok(config),
            _ => Err(ConfigError::Invalid(file.to_path_buf(), checker.problems)),
        }
    }

    /// The targets `task` is mirrored to, in order.
    pub fn targets_of<'a>(&'a self, task: &'a Task) -> impl Iterator<Item = &'a Target> + 'a {
        self.targets.iter().filter(move |t| {
            task.targets
                .as_ref()
                .is_none_or(|names| names.contains(&t.name))
        })
    }
}

/// When a disk needs attention (the config's `disk`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Thresholds {
    pub min_free_percent: u32,
    pub full_within_days: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_free_percent: 10,
            full_within_days: 30,
        }
    }
}
