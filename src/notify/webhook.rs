//! A generic webhook: the whole run, as JSON, POSTed when it ends.
//!
//! For whatever the other channels do not cover (a chat bot, Uptime Kuma's push
//! monitor behind a proxy, a home-automation flow), the run's facts as a program reads
//! them: the host, the run's id, its start, end and outcome, and each task with its
//! steps (outcome, message, warnings, figures) and its health as the health rule
//! judges it now. Extra headers (an `Authorization` one, say) come from a file, since
//! they are usually secrets.

use serde::Serialize;

use super::http::Http;
use super::http::{Method, Request};
use super::{Configured, Finished, Pinger, Probe, RunState, Secret, SecretError};
use crate::config::{Event, Webhook};
use crate::outcome::{Space, TransferStats};

/// The version of the JSON below: raised when a field changes meaning or goes.
pub const VERSION: u32 = 1;

/// The channel as the config names it: the run as JSON when it ends.
pub fn configured(config: &Webhook) -> Configured<'_> {
    Configured::new(
        format!("a webhook at the end ({})", super::url_words(&config.url)),
        move || Box::new(Hook::load(config)),
    )
}

impl Pinger for Hook {
    fn word(&self) -> &'static str {
        "webhook"
    }

    fn request(&self, state: &RunState) -> Option<(Event, Result<Request, SecretError>)> {
        Hook::request(self, state)
    }

    fn probe(&self, http: &Http) -> Probe {
        let url = self.url.as_ref().map_err(|e| {
            (
                e.to_string(),
                "write the webhook's URL into that file".to_string(),
            )
        })?;
        match http.reach(url.expose()) {
            Ok(what) => Ok(format!("{what} (nothing sent)")),
            Err(e) => Err((e.to_string(), super::unreachable_fix("notify.webhook.url"))),
        }
    }
}

/// A webhook, its URL and headers read.
pub struct Hook {
    url: Result<Secret, SecretError>,
    headers: Result<Vec<(String, Secret)>, SecretError>,
}

impl Hook {
    pub fn load(config: &Webhook) -> Hook {
        Hook {
            url: Secret::url(&config.url, "notify.webhook."),
            headers: match &config.headers_file {
                None => Ok(Vec::new()),
                Some(path) => Secret::read(path, "notify.webhook.headers_file")
                    .and_then(|text| parse_headers(text.expose(), path)),
            },
        }
    }

    /// The entry point: the run as JSON when it ends; nothing when it starts.
    pub fn request(&self, state: &RunState) -> Option<(Event, Result<Request, SecretError>)> {
        let RunState::Finished(finished) = state else {
            return None;
        };
        let event = finished.outcome();
        let request = self.url.clone().and_then(|url| {
            let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
            for (name, value) in self.headers.clone()? {
                headers.push((name, value.expose().to_string()));
            }
            Ok(Request {
                method: Method::Post,
                url: url.expose().to_string(),
                headers,
                body: body(finished, event),
            })
        });
        Some((event, request))
    }
}

/// `Name: value` lines; blank lines and `#` comments are skipped. An error names the
/// file and the line, never what it holds.
fn parse_headers(text: &str, path: &std::path::Path) -> Result<Vec<(String, Secret)>, SecretError> {
    let mut headers = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || SecretError::BadHeaderLine {
            path: path.to_path_buf(),
            line: i + 1,
        };
        let (name, value) = line.split_once(':').ok_or_else(bad)?;
        let name = name.trim();
        let value = value.trim();
        let name_ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c));
        if !name_ok || value.chars().any(|c| c.is_control()) {
            return Err(bad());
        }
        headers.push((name.to_string(), Secret(value.to_string())));
    }
    Ok(headers)
}

#[derive(Serialize)]
struct Run<'a> {
    version: u32,
    /// success or failure (a task failed, or the run could not be recorded).
    event: &'static str,
    host: &'a str,
    run_id: Option<i64>,
    /// ok, warned or failed.
    outcome: &'static str,
    started: String,
    started_unix: f64,
    ended: String,
    ended_unix: f64,
    /// Why the run is not in the log database, if it is not.
    unrecorded: Option<&'a str>,
    tasks: Vec<Task<'a>>,
}

#[derive(Serialize)]
struct Task<'a> {
    name: &'a str,
    /// ok, warned or failed.
    outcome: &'static str,
    started: String,
    started_unix: f64,
    ended: String,
    ended_unix: f64,
    /// It was failing, stale or had never succeeded before this run, and succeeded.
    recovered: bool,
    steps: Vec<Step<'a>>,
    /// Planned steps that did not run because one they need failed.
    skipped: &'a [String],
    health: TaskHealth<'a>,
}

#[derive(Serialize)]
struct Step<'a> {
    id: &'a str,
    /// ok, warned or failed.
    outcome: &'static str,
    /// Why it failed, in one line.
    message: Option<&'a str>,
    /// unavailable, refused, unreachable, transfer, io or hook.
    error_kind: Option<&'static str>,
    warnings: &'a [String],
    started_unix: f64,
    ended_unix: f64,
    from: &'a str,
    to: &'a str,
    /// What rsync moved (transfers only).
    stats: Option<TransferStats>,
    /// Snapshots and free room on the backup disk after the step.
    local: Option<Space>,
    /// And on the target (syncs only).
    target: Option<Space>,
}

#[derive(Serialize)]
struct TaskHealth<'a> {
    /// ok, warning, failing, stale, never_succeeded or never_ran.
    state: &'static str,
    /// The state before this run.
    before: &'static str,
    since: Option<String>,
    since_unix: Option<f64>,
    reason: Option<&'a str>,
    last_success_unix: Option<f64>,
    days_since_success: Option<i64>,
    /// The health in words, as the report and the pages say it.
    words: String,
}

fn body(finished: &Finished, event: Event) -> Vec<u8> {
    let clock = finished.clock;
    let tasks = finished
        .results
        .iter()
        .zip(&finished.verdicts)
        .map(|(result, verdict)| Task {
            name: &result.name,
            outcome: result.word(),
            started: clock.local_time(result.started),
            started_unix: result.started,
            ended: clock.local_time(result.ended),
            ended_unix: result.ended,
            recovered: verdict.recovered(result),
            steps: result
                .steps
                .iter()
                .map(|s| Step {
                    id: &s.id,
                    outcome: s.outcome.word(),
                    message: s.outcome.error().map(|e| e.message.as_str()),
                    error_kind: s.outcome.error().map(|e| e.kind.as_str()),
                    warnings: s.outcome.warnings(),
                    started_unix: s.started,
                    ended_unix: s.ended,
                    from: &s.from,
                    to: &s.to,
                    stats: s.stats,
                    local: s.local,
                    target: s.target,
                })
                .collect(),
            skipped: &result.skipped,
            health: TaskHealth {
                state: verdict.after.state.word(),
                before: verdict.before.word(),
                since: verdict.after.since.map(|t| clock.local_time(t)),
                since_unix: verdict.after.since,
                reason: verdict.after.reason.as_deref(),
                last_success_unix: verdict.after.last_success,
                days_since_success: verdict.after.days_since_success,
                words: verdict.after.describe(clock),
            },
        })
        .collect();
    let run = Run {
        version: VERSION,
        event: event.word(),
        host: finished.host,
        run_id: finished.run,
        outcome: finished.word(),
        started: clock.local_time(finished.started),
        started_unix: finished.started,
        ended: clock.local_time(finished.ended),
        ended_unix: finished.ended,
        unrecorded: finished.unrecorded,
        tasks,
    };
    serde_json::to_vec_pretty(&run).expect("the run serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn headers_come_from_lines_and_a_bad_line_is_named_not_quoted() {
        let headers = parse_headers(
            "# for the hook\nAuthorization: Bearer s3cr3t-hdr\n\nX-Tenant:  home \n",
            Path::new("/k/h"),
        )
        .unwrap();
        let shown: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.expose()))
            .collect();
        assert_eq!(
            shown,
            [("Authorization", "Bearer s3cr3t-hdr"), ("X-Tenant", "home")]
        );
        let bad =
            parse_headers("Authorization Bearer s3cr3t-hdr\n", Path::new("/k/h")).unwrap_err();
        assert_eq!(
            bad.to_string(),
            "notify.webhook.headers_file /k/h line 1: not a header line 'Name: value'"
        );
        assert!(parse_headers("Bad Name: x\n", Path::new("/k/h")).is_err());
    }
}
