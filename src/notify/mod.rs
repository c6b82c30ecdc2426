//! Pings: telling a monitoring service that a run started and how it ended.
//!
//! The email at the end of a run cannot report a run that never happened (the timer
//! did not fire, the machine was off, the job hung); a service that expects a ping
//! every night can, by raising the alarm when none comes. So a run pings each channel
//! of the config's `notify` part when it starts and when it ends, as borgmatic's
//! monitoring hooks do: one module per channel (`healthchecks`, `ntfy`, `webhook`),
//! each with the same entry point, `request(state)`, driven by the run's state
//! ([`RunState`]: started, or finished with its tasks and their health), and saying
//! which request, if any, that state calls for. This module reads the channels'
//! secrets, judges the run (failure, recovery, success) once for all channels, and
//! sends what they ask through `http` (bounded, retried, never quoting a URL).
//!
//! A ping that cannot be delivered never stops or fails a backup: it is returned as a
//! [`Ping`] that was not delivered, to be recorded, shown in the report and on the pages,
//! and to make the run exit 3 when nothing worse happened.

pub mod healthchecks;
pub mod http;
pub mod ntfy;
pub mod recorder;
pub mod webhook;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::config::{Event, Notify, UrlSource, url_problem};
pub use crate::health::Verdict;
use crate::health::{self, Health, State};
use crate::journal;
use crate::outcome::TaskResult;
pub use crate::outcome::{Channel, Ping};
use crate::record::TaskHistory;
use http::{Http, HttpError, Request};

/// A secret read from a file: a ping URL or a token. Its `Debug` is redacted, so no log
/// line can print it by accident.
#[derive(Clone, PartialEq)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Reads `path` (named `key` in messages); the error says which file and why,
    /// never what it holds.
    pub fn read(path: &Path, key: &str) -> Result<Secret, SecretError> {
        let text = fs_err::read_to_string(path).map_err(|error| SecretError::Unreadable {
            key: key.to_string(),
            error: Arc::new(error),
        })?;
        // A file written by echo or an editor ends in a newline that is not part of it.
        let value = text.trim_end_matches(['\n', '\r']).trim();
        if value.is_empty() {
            return Err(SecretError::Empty {
                key: key.to_string(),
                path: path.to_path_buf(),
            });
        }
        Ok(Secret(value.to_string()))
    }

    /// A URL: given in the config, or read from its file and checked.
    pub fn url(source: &UrlSource, key_prefix: &str) -> Result<Secret, SecretError> {
        match source {
            UrlSource::Given(url) => Ok(Secret(url.clone())),
            UrlSource::File(path) => {
                let key = format!("{key_prefix}url_file");
                let url = Secret::read(path, &key)?;
                match url_problem(url.expose()) {
                    Some(problem) => Err(SecretError::NotAUrl {
                        key,
                        path: path.clone(),
                        problem,
                    }),
                    None => Ok(url),
                }
            }
        }
    }
}

/// Why a channel's secret (a URL, a token, its headers) could not be had: which key,
/// which file and why, never what the file holds. It is kept with the channel and
/// given to each of its pings (hence `Clone`), and `Display` is what the ping records.
#[derive(Debug, Clone)]
pub enum SecretError {
    Unreadable {
        key: String,
        error: Arc<std::io::Error>,
    },
    Empty {
        key: String,
        path: PathBuf,
    },
    /// The file holds something that is not a URL we would send to; `problem` is
    /// `config::url_problem`'s words.
    NotAUrl {
        key: String,
        path: PathBuf,
        problem: &'static str,
    },
    /// A line of `notify.webhook.headers_file` (counted from 1) that is not `Name: value`.
    BadHeaderLine {
        path: PathBuf,
        line: usize,
    },
}

impl std::fmt::Display for SecretError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretError::Unreadable { key, error } => write!(f, "cannot read {key} ({error})"),
            SecretError::Empty { key, path } => write!(f, "{key} {} is empty", path.display()),
            SecretError::NotAUrl { key, path, problem } => {
                write!(f, "{key} {}: what it holds {problem}", path.display())
            }
            SecretError::BadHeaderLine { path, line } => write!(
                f,
                "notify.webhook.headers_file {} line {line}: not a header line 'Name: value'",
                path.display()
            ),
        }
    }
}

impl std::error::Error for SecretError {}

/// The run as the channels see it: the entry point's argument.
pub enum RunState<'a> {
    Started(&'a Started<'a>),
    Finished(&'a Finished<'a>),
}

/// A run that just started.
pub struct Started<'a> {
    pub host: &'a str,
    /// The run's id in the log database, if it could be recorded.
    pub run: Option<i64>,
    pub tasks: &'a [String],
}

/// A run that ended, its tasks judged.
pub struct Finished<'a> {
    pub host: &'a str,
    pub run: Option<i64>,
    pub started: f64,
    pub ended: f64,
    pub results: &'a [TaskResult],
    /// Each task of `results`, in order: its health before the run and now.
    pub verdicts: Vec<Verdict>,
    /// Why the run is not in the log database, if it is not.
    pub unrecorded: Option<&'a str>,
    pub clock: &'a Clock,
}

impl Finished<'_> {
    /// A task failed, or the run could not be recorded.
    pub fn failed(&self) -> bool {
        self.results.iter().any(|r| !r.succeeded()) || self.unrecorded.is_some()
    }

    /// The tasks that recovered in this run.
    pub fn recovered(&self) -> Vec<&str> {
        self.results
            .iter()
            .zip(&self.verdicts)
            .filter(|(result, verdict)| verdict.recovered(result))
            .map(|(result, _)| result.name.as_str())
            .collect()
    }

    /// The run's end as a healthchecks-style event: failure or success.
    pub fn outcome(&self) -> Event {
        if self.failed() {
            Event::Failure
        } else {
            Event::Success
        }
    }

    /// The run's outcome in a word: ok, warned or failed.
    pub fn word(&self) -> &'static str {
        match self.unrecorded {
            Some(_) => "failed",
            None => crate::outcome::run_word(self.results),
        }
    }

    /// One line per task: "home: FAILED: backup: the source /home does not exist".
    pub fn task_lines(&self) -> Vec<String> {
        self.results
            .iter()
            .zip(&self.verdicts)
            .map(|(result, verdict)| {
                let mut line = format!("{}: ", result.name);
                if let Some((step, error)) = result.failure() {
                    line.push_str(&format!("FAILED: {}: {error}", step.id));
                } else if !result.succeeded() {
                    line.push_str(&format!(
                        "FAILED: {} did not run",
                        result.skipped.join(" and ")
                    ));
                } else if result.warned() {
                    let warnings: Vec<String> = result
                        .steps
                        .iter()
                        .flat_map(|s| {
                            s.outcome
                                .warnings()
                                .iter()
                                .map(move |w| format!("{}: {w}", s.id))
                        })
                        .collect();
                    line.push_str(&format!("succeeded with warnings: {}", warnings.join("; ")));
                } else {
                    line.push_str("succeeded");
                }
                if verdict.recovered(result) {
                    line.push_str(&format!(" (recovered: it was {})", words(verdict.before)));
                } else if verdict.after.state.needs_attention() && !result.warned() {
                    // Its state and since when; the reason is said already.
                    let health = Health {
                        reason: None,
                        ..verdict.after.clone()
                    };
                    line.push_str(&format!("; {}", health.describe(self.clock)));
                }
                line
            })
            .collect()
    }
}

fn words(state: State) -> &'static str {
    match state {
        State::Failing => "failing",
        State::Stale => "stale",
        State::NeverSucceeded => "never successful",
        State::Warning => "warning",
        State::Ok => "fine",
        State::NeverRan => "new",
    }
}

/// What `doctor` learns of one channel without sending a ping: what answered, or the
/// problem and how to fix it.
pub type Probe = Result<String, (String, String)>;

/// A channel as loaded for a run, its secrets read (or why not): the one interface
/// the run and `doctor` use, implemented by each channel's module.
pub trait Pinger {
    /// Its name in the config, the record and messages.
    fn word(&self) -> &'static str;

    /// The request `state` calls for, if any, or why it cannot be made (a secret that
    /// could not be read).
    fn request(&self, state: &RunState) -> Option<(Event, Result<Request, SecretError>)>;

    /// Whether its service answers, sending nothing that counts as a ping.
    fn probe(&self, http: &Http) -> Probe;
}

/// A channel the config names: its words for `check-config` (no secret read), and
/// how to load it for a run.
pub struct Configured<'a> {
    words: String,
    load: Box<dyn Fn() -> Box<dyn Pinger> + 'a>,
}

impl<'a> Configured<'a> {
    pub fn new(words: String, load: impl Fn() -> Box<dyn Pinger> + 'a) -> Configured<'a> {
        Configured {
            words,
            load: Box::new(load),
        }
    }
}

/// Every channel the config names, in the order they are pinged: the one list of
/// channels, that a new channel joins with one line.
fn configured(notify: &Notify) -> Vec<Configured<'_>> {
    let mut channels = Vec::new();
    if let Some(c) = &notify.healthchecks {
        channels.push(healthchecks::configured(c));
    }
    if let Some(c) = &notify.ntfy {
        channels.push(ntfy::configured(c));
    }
    if let Some(c) = &notify.webhook {
        channels.push(webhook::configured(c));
    }
    channels
}

/// Where a channel's URL comes from, in words that never show a secret.
fn url_words(url: &UrlSource) -> String {
    match url {
        UrlSource::Given(url) => crate::config::redact(url),
        UrlSource::File(path) => format!("the URL in {}", path.display()),
    }
}

/// What `doctor` suggests when a channel's service cannot be reached.
fn unreachable_fix(key: &str) -> String {
    format!(
        "check the URL in {key}, that this machine may connect out to it, and for a self-hosted service with its own CA, notify.ca_file"
    )
}

/// Each channel of `notify` loaded and probed, for `doctor`.
pub fn probes(notify: &Notify, http: &Http) -> Vec<(&'static str, Probe)> {
    configured(notify)
        .iter()
        .map(|c| {
            let channel = (c.load)();
            (channel.word(), channel.probe(http))
        })
        .collect()
}

/// The pings of one run.
pub struct Notifier {
    channels: Vec<Box<dyn Pinger>>,
    http: Result<Http, HttpError>,
    /// Each task's health state before the run, by name.
    before: Vec<(String, State)>,
    stale_after_days: u32,
    sent: Vec<Ping>,
}

impl Notifier {
    /// Loads the channels of `notify`, reading their secrets. A secret that cannot be
    /// read stops nothing: each ping of that channel is recorded as not delivered.
    pub fn load(notify: &Notify, stale_after_days: u32) -> Notifier {
        let channels: Vec<Box<dyn Pinger>> =
            configured(notify).iter().map(|c| (c.load)()).collect();
        // No client is set up when there is nothing to ping.
        let http = if channels.is_empty() {
            Err(HttpError::NotNeeded)
        } else {
            Http::new(
                Duration::from_secs(notify.timeout_secs),
                notify.ca_file.as_deref(),
            )
        };
        Notifier {
            channels,
            http,
            before: Vec::new(),
            stale_after_days,
            sent: Vec::new(),
        }
    }

    /// Pings that the run started. `history` reads a task's recorded runs: their health
    /// now is "before" for the recovery the end may announce.
    pub fn start(
        &mut self,
        started: &Started,
        history: &dyn Fn(&str) -> Option<TaskHistory>,
        clock: &Clock,
    ) -> Vec<Ping> {
        self.before = started
            .tasks
            .iter()
            .map(|name| {
                let state = history(name)
                    .map(|h| health::judge(&h, clock.now(), self.stale_after_days).state)
                    .unwrap_or(State::NeverRan);
                (name.clone(), state)
            })
            .collect();
        self.send(&RunState::Started(started), clock)
    }

    /// Judges the run's tasks (health before it, and now from `histories`, one
    /// for each result, which hold the run) for [`Notifier::finish`] and the report.
    pub fn verdicts(
        &self,
        results: &[TaskResult],
        histories: &[Option<TaskHistory>],
        clock: &Clock,
    ) -> Vec<Verdict> {
        results
            .iter()
            .zip(histories)
            .map(|(result, history)| {
                let before = self
                    .before
                    .iter()
                    .find(|(name, _)| *name == result.name)
                    .map_or(State::NeverRan, |(_, s)| *s);
                Verdict::of(
                    result,
                    before,
                    history.as_ref(),
                    clock.now(),
                    self.stale_after_days,
                )
            })
            .collect()
    }

    /// Pings that the run ended.
    pub fn finish(&mut self, finished: &Finished) -> Vec<Ping> {
        self.send(&RunState::Finished(finished), finished.clock)
    }

    /// Every ping of this run that was not delivered.
    pub fn undelivered(&self) -> Vec<&Ping> {
        self.sent.iter().filter(|p| !p.delivered).collect()
    }

    fn send(&mut self, state: &RunState, clock: &Clock) -> Vec<Ping> {
        let mut pings = Vec::new();
        for channel in &self.channels {
            let Some((event, request)) = channel.request(state) else {
                continue;
            };
            let label = format!("{} {} ping", channel.word(), event.word());
            let request = match (request, &self.http) {
                (Ok(request), Ok(http)) => Ok((http, request)),
                (Err(why), _) => Err(why.to_string()),
                (Ok(_), Err(why)) => Err(why.to_string()),
            };
            let ping = match request {
                Ok((http, request)) => {
                    let sent = http.send(&request, &label);
                    Ping {
                        channel: Channel::named(channel.word()),
                        event,
                        at: clock.now(),
                        delivered: sent.delivered,
                        message: sent.message,
                        attempts: sent.attempts,
                    }
                }
                Err(why) => Ping {
                    channel: Channel::named(channel.word()),
                    event,
                    at: clock.now(),
                    delivered: false,
                    message: why,
                    attempts: 0,
                },
            };
            if ping.delivered {
                journal::info(&ping.describe());
            } else {
                journal::error(&ping.describe());
            }
            pings.push(ping);
        }
        self.sent.extend(pings.iter().cloned());
        pings
    }
}

/// The notification channels of `notify` in words, for `check-config`.
pub fn summary(notify: &Notify) -> Option<String> {
    if notify.is_empty() {
        return None;
    }
    let parts: Vec<String> = configured(notify).into_iter().map(|c| c.words).collect();
    Some(format!("Pings: {}.\n", parts.join("; ")))
}
