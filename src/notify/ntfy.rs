//! An ntfy topic: a push message on the phone when a run fails, and when it recovers.
//!
//! ntfy (ntfy.sh or a self-hosted server) delivers whatever is POSTed to a topic URL to
//! every phone and desktop subscribed to it. By default a message goes out on a failure
//! and on a recovery (a task that was failing, stale or had never succeeded succeeded
//! again), so that a quiet phone means nothing changed; `on` adds the start and every
//! success. Each message has a title, a body in words, a priority (a failure's is
//! `notify.ntfy.priority`, high by default) and tags (an emoji per event, then the
//! configured ones). A protected topic takes an access token, sent as a bearer token.

use super::http::Http;
use super::http::{Method, Request};
use super::{Configured, Finished, Pinger, Probe, RunState, Secret, SecretError, Started};
use crate::config::{Event, Ntfy, Priority};

/// The channel as the config names it: a message on the events it lists.
pub fn configured(config: &Ntfy) -> Configured<'_> {
    let on: Vec<&str> = config.on.iter().map(|e| e.word()).collect();
    Configured::new(
        format!(
            "ntfy on {} ({})",
            on.join(", "),
            super::url_words(&config.url)
        ),
        move || Box::new(Topic::load(config)),
    )
}

impl Pinger for Topic {
    fn word(&self) -> &'static str {
        "ntfy"
    }

    fn request(&self, state: &RunState) -> Option<(Event, Result<Request, SecretError>)> {
        Topic::request(self, state)
    }

    /// Reads the topic rather than publishing to it.
    fn probe(&self, http: &Http) -> Probe {
        let url = self.url.as_ref().map_err(|e| {
            let fix = "write the topic URL (https://ntfy.sh/<topic>) into that file";
            (e.to_string(), fix.to_string())
        })?;
        let token = self
            .token
            .as_ref()
            .map(|t| t.as_ref())
            .transpose()
            .map_err(|e| {
                let fix = "write the access token (tk_...) into notify.ntfy.token_file";
                (e.to_string(), fix.to_string())
            })?;
        poll(http, url, token)
    }
}

/// A topic, its URL and token read.
pub struct Topic {
    url: Result<Secret, SecretError>,
    token: Option<Result<Secret, SecretError>>,
    on: Vec<Event>,
    priority: Priority,
    tags: Vec<String>,
}

impl Topic {
    pub fn load(config: &Ntfy) -> Topic {
        Topic {
            url: Secret::url(&config.url, "notify.ntfy."),
            token: config
                .token_file
                .as_ref()
                .map(|path| Secret::read(path, "notify.ntfy.token_file")),
            on: config.on.clone(),
            priority: config.priority,
            tags: config.tags.clone(),
        }
    }

    /// The entry point: a message when the run's state is one of the topic's events.
    pub fn request(&self, state: &RunState) -> Option<(Event, Result<Request, SecretError>)> {
        let (event, title, body) = match state {
            RunState::Started(started) => {
                self.wants(Event::Start)?;
                (
                    Event::Start,
                    format!("Backup started on {}", started.host),
                    start_body(started),
                )
            }
            RunState::Finished(finished) => self.finish_message(finished)?,
        };
        let priority = match event {
            Event::Failure => self.priority,
            Event::Recovery => Priority::Default,
            Event::Start | Event::Success => Priority::Low,
        };
        let mut tags = vec![emoji(event).to_string()];
        tags.extend(self.tags.iter().cloned());
        let request = self.url.clone().and_then(|url| {
            let mut headers = vec![
                ("Title".to_string(), header_text(&title)),
                ("Priority".to_string(), priority.number().to_string()),
                ("Tags".to_string(), tags.join(",")),
                (
                    "Content-Type".to_string(),
                    "text/plain; charset=utf-8".to_string(),
                ),
            ];
            if let Some(token) = &self.token {
                let token = token.clone()?;
                headers.push((
                    "Authorization".to_string(),
                    format!("Bearer {}", token.expose()),
                ));
            }
            Ok(Request {
                method: Method::Post,
                url: url.expose().to_string(),
                headers,
                body: body.into_bytes(),
            })
        });
        Some((event, request))
    }

    fn wants(&self, event: Event) -> Option<()> {
        self.on.contains(&event).then_some(())
    }

    /// The one message a finished run sends, if any: a failure; else a recovery; else a
    /// success.
    fn finish_message(&self, finished: &Finished) -> Option<(Event, String, String)> {
        let host = finished.host;
        let total = finished.results.len();
        let failed = finished.results.iter().filter(|r| !r.succeeded()).count();
        let recovered = finished.recovered();
        let mut body = finished.task_lines().join("\n");
        if let Some(why) = finished.unrecorded {
            body.push_str(&format!(
                "\nThis run was not recorded in the log database: {why}"
            ));
        }
        body.push('\n');
        if finished.failed() && self.wants(Event::Failure).is_some() {
            let title = if failed > 0 {
                format!("Backup FAILED on {host}: {failed} of {total} tasks")
            } else {
                format!("Backup on {host} NOT RECORDED")
            };
            return Some((Event::Failure, title, body));
        }
        if !recovered.is_empty() && self.wants(Event::Recovery).is_some() {
            let title = format!("Backup recovered on {host}: {}", recovered.join(", "));
            return Some((Event::Recovery, title, body));
        }
        if !finished.failed() && self.wants(Event::Success).is_some() {
            let warned = finished.results.iter().filter(|r| r.warned()).count();
            let title = if warned > 0 {
                format!("Backup succeeded on {host}: {total} tasks, {warned} with warnings")
            } else {
                format!("Backup succeeded on {host}: {total} tasks")
            };
            return Some((Event::Success, title, body));
        }
        None
    }
}

fn start_body(started: &Started) -> String {
    let run = started.run.map(|r| format!(" {r}")).unwrap_or_default();
    format!("Run{run} started: {}\n", started.tasks.join(", "))
}

/// The emoji tag of each event (ntfy shows a tag that is an emoji short code as it).
fn emoji(event: Event) -> &'static str {
    match event {
        Event::Start => "hourglass_flowing_sand",
        Event::Success => "white_check_mark",
        Event::Failure => "rotating_light",
        Event::Recovery => "tada",
    }
}

/// A header value: ASCII without control characters (a host name is, but be sure).
fn header_text(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// Reads the topic's latest message (`/json?poll=1&since=latest`) with the token:
/// proves the server, the topic and the token without publishing anything.
fn poll(http: &Http, url: &Secret, token: Option<&Secret>) -> Probe {
    let base = url
        .expose()
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_end_matches('/');
    let poll = format!("{base}/json?poll=1&since=latest");
    let headers: Vec<(String, String)> = token
        .map(|t| {
            vec![(
                "Authorization".to_string(),
                format!("Bearer {}", t.expose()),
            )]
        })
        .unwrap_or_default();
    let service = crate::config::redact(url.expose());
    match http.get_status(&poll, &headers) {
        Ok(status @ 200..=299) => Ok(
            format!(
                "{service}: the topic can be read{} (HTTP {status}; nothing published)",
                if token.is_some() {
                    " with the token"
                } else {
                    ""
                }
            ),
        ),
        Ok(status @ (401 | 403)) => Err((
            format!("{service} refused to let the token read the topic (HTTP {status})"),
            "check notify.ntfy.token_file; this check reads the topic, so the token needs read access (a write-only token can publish, but cannot be checked without sending a message)".to_string(),
        )),
        Ok(status) => Err((
            format!("{service} answered HTTP {status} for the topic"),
            "check that notify.ntfy's URL is a topic URL (https://ntfy.sh/<topic>)".to_string(),
        )),
        Err(e) => Err((
            e.to_string(),
            "check the topic URL, that this machine may connect out to it, and for a self-hosted server with its own CA, notify.ca_file".to_string(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::health::{Health, State};
    use crate::notify::Verdict;
    use crate::outcome::TaskResult;

    fn ok_health() -> Health {
        Health {
            state: State::Ok,
            since: None,
            last_success: Some(1_795_000_100.0),
            days_since_success: Some(0),
            reason: None,
        }
    }

    fn topic(on: &[Event]) -> Topic {
        Topic {
            url: Ok(Secret("https://ntfy.sh/backups".into())),
            token: Some(Ok(Secret("tk_token".into()))),
            on: on.to_vec(),
            priority: Priority::High,
            tags: vec!["nas".into()],
        }
    }

    #[test]
    fn a_recovery_is_announced_once_and_a_quiet_night_is_quiet() {
        let clock = Clock::on("2026-11-18".parse().unwrap());
        let log = std::path::Path::new("/nonexistent.log");
        let results = [
            TaskResult::sample_backup("home", log, false),
            TaskResult::sample_backup("photos", log, false),
        ];
        let finished = |home_before| Finished {
            host: "nas",
            run: Some(3),
            started: 1_795_000_000.0,
            ended: 1_795_000_100.0,
            results: &results,
            verdicts: vec![
                Verdict {
                    name: "home".into(),
                    before: home_before,
                    after: ok_health(),
                },
                Verdict {
                    name: "photos".into(),
                    before: State::Ok,
                    after: ok_health(),
                },
            ],
            unrecorded: None,
            clock: &clock,
        };
        let default = topic(&crate::config::NTFY_DEFAULT_ON);
        let recovering = finished(State::Failing);
        let (event, request) = default.request(&RunState::Finished(&recovering)).unwrap();
        let request = request.unwrap();
        assert_eq!(event, Event::Recovery);
        let header = |name: &str| {
            request
                .headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(header("Title"), Some("Backup recovered on nas: home"));
        assert_eq!(header("Priority"), Some("3"));
        assert_eq!(header("Tags"), Some("tada,nas"));
        assert_eq!(header("Authorization"), Some("Bearer tk_token"));
        let body = String::from_utf8(request.body).unwrap();
        assert_eq!(
            body,
            "home: succeeded (recovered: it was failing)\nphotos: succeeded\n"
        );

        let quiet = finished(State::Ok);
        assert!(default.request(&RunState::Finished(&quiet)).is_none());
        let chatty = topic(&[Event::Success]);
        let (event, _) = chatty.request(&RunState::Finished(&quiet)).unwrap();
        assert_eq!(event, Event::Success);
        let started = Started {
            host: "nas",
            run: None,
            tasks: &[],
        };
        assert!(default.request(&RunState::Started(&started)).is_none());
    }

    #[test]
    fn a_token_that_cannot_be_read_fails_the_message_not_the_run() {
        let mut t = topic(&[Event::Start]);
        t.token = Some(Err(SecretError::Empty {
            key: "notify.ntfy.token_file".into(),
            path: "/k/token".into(),
        }));
        let started = Started {
            host: "nas",
            run: None,
            tasks: &[],
        };
        let (_, request) = t.request(&RunState::Started(&started)).unwrap();
        assert_eq!(
            request.unwrap_err().to_string(),
            "notify.ntfy.token_file /k/token is empty"
        );
    }
}
