//! A healthchecks.io check (or a self-hosted Healthchecks, or anything that speaks its
//! ping API): the dead man's switch.
//!
//! `<url>/start` when a run starts, `<url>` when it ends well, `<url>/fail` when a task
//! failed. The check expects a ping each period; when none comes within its grace time
//! (the timer did not fire, the machine was off, the run hung), the service alerts on
//! its own: that is what no email can do. The start ping lets it measure the run and
//! notice one that started and never ended. Each ping carries a body the service keeps
//! and shows: a summary of the run, and on failure the failed steps' log tails, within
//! the service's size limit.

use std::io::{Read, Seek, SeekFrom};

use super::http::Http;
use super::http::{Method, Request};
use super::{Configured, Finished, Pinger, Probe, RunState, Secret, SecretError, Started};
use crate::config::{Event, Healthchecks};

/// healthchecks.io keeps the first 100 kB of a ping's body (its `PING_BODY_LIMIT`);
/// ours stays within it, so the log tails it shows are whole.
pub const BODY_LIMIT: usize = 100_000;

/// The channel as the config names it: pinged at the start and the end of a run.
pub fn configured(config: &Healthchecks) -> Configured<'_> {
    Configured::new(
        format!(
            "healthchecks at start and end ({})",
            super::url_words(&config.url)
        ),
        move || Box::new(Monitor::load(config)),
    )
}

impl Pinger for Monitor {
    fn word(&self) -> &'static str {
        "healthchecks"
    }

    fn request(&self, state: &RunState) -> Option<(Event, Result<Request, SecretError>)> {
        Monitor::request(self, state)
    }

    fn probe(&self, http: &Http) -> Probe {
        let url = self.url.as_ref().map_err(|e| {
            let fix = "write the check's ping URL (https://hc-ping.com/<uuid>) into that file";
            (e.to_string(), fix.to_string())
        })?;
        match http.reach(url.expose()) {
            Ok(what) => Ok(format!(
                "{what} (no request sent: any request to a ping URL counts as a ping)"
            )),
            Err(e) => Err((
                e.to_string(),
                super::unreachable_fix("notify.healthchecks.url_file"),
            )),
        }
    }
}

/// A monitor (a "check" on healthchecks.io), its ping URL read.
pub struct Monitor {
    url: Result<Secret, SecretError>,
}

impl Monitor {
    pub fn load(config: &Healthchecks) -> Monitor {
        Monitor {
            url: Secret::url(&config.url, "notify.healthchecks."),
        }
    }

    /// The entry point: a ping for every state of a run.
    pub fn request(&self, state: &RunState) -> Option<(Event, Result<Request, SecretError>)> {
        let (event, suffix, body) = match state {
            RunState::Started(started) => (Event::Start, "/start", start_body(started)),
            RunState::Finished(finished) if finished.failed() => {
                (Event::Failure, "/fail", failure_body(finished))
            }
            RunState::Finished(finished) => (Event::Success, "", summary(finished)),
        };
        let request = self.url.clone().map(|url| Request {
            method: Method::Post,
            url: with_suffix(url.expose(), suffix),
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: body.into_bytes(),
        });
        Some((event, request))
    }
}

/// `url` with `suffix` added to its path, before any query string.
pub fn with_suffix(url: &str, suffix: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = format!("{}{suffix}", base.trim_end_matches('/'));
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

fn start_body(started: &Started) -> String {
    let run = started.run.map(|r| format!(" {r}")).unwrap_or_default();
    format!(
        "backup-server run{run} started on {}: {}\n",
        started.host,
        started.tasks.join(", ")
    )
}

/// The run in a few lines: what the service shows for a good night.
fn summary(finished: &Finished) -> String {
    let failed = finished.results.iter().filter(|r| !r.succeeded()).count();
    let total = finished.results.len();
    let run = finished.run.map(|r| format!(" {r}")).unwrap_or_default();
    let verdict = if failed > 0 {
        format!("{failed} of {total} tasks failed")
    } else {
        format!("{total} of {total} tasks succeeded")
    };
    let mut text = format!(
        "backup-server run{run} on {}: {verdict}, {} to {}\n",
        finished.host,
        finished.clock.local_time(finished.started),
        finished.clock.local_time(finished.ended)
    );
    if let Some(why) = finished.unrecorded {
        text.push_str(&format!(
            "This run was not recorded in the log database: {why}\n"
        ));
    }
    for line in finished.task_lines() {
        text.push_str(&line);
        text.push('\n');
    }
    text
}

/// The summary, then the tail of each failed step's log, all within `BODY_LIMIT`.
fn failure_body(finished: &Finished) -> String {
    let mut body = summary(finished);
    let failed: Vec<(&str, &crate::outcome::StepResult)> = finished
        .results
        .iter()
        .flat_map(|r| {
            r.steps
                .iter()
                .filter(|s| s.outcome.failed())
                .map(move |s| (r.name.as_str(), s))
        })
        .collect();
    if failed.is_empty() {
        return cut(body);
    }
    // Each log gets an equal share of the room; what a short log leaves, the longer ones
    // share (the shortest are served first).
    let head_room = |task: &str, step: &crate::outcome::StepResult| {
        200 + step.log.as_os_str().len() + task.len() + step.id.len()
    };
    let sizes: Vec<usize> = failed
        .iter()
        .map(|(task, step)| {
            let size = fs_err::metadata(&step.log).map_or(0, |m| m.len() as usize);
            size + head_room(task, step)
        })
        .collect();
    let mut order: Vec<usize> = (0..failed.len()).collect();
    order.sort_by_key(|i| sizes[*i]);
    let mut room = BODY_LIMIT.saturating_sub(body.len());
    let mut shares = vec![0; failed.len()];
    for (served, i) in order.iter().enumerate() {
        let share = (room / (failed.len() - served)).min(sizes[*i]);
        shares[*i] = share;
        room -= share;
    }
    for ((task, step), share) in failed.into_iter().zip(shares) {
        let size = fs_err::metadata(&step.log).map_or(0, |m| m.len());
        let budget = share.saturating_sub(head_room(task, step));
        match tail(&step.log, budget) {
            Ok(text) => {
                let what = if (text.len() as u64) < size {
                    format!("the last {} of its {size} bytes", text.len())
                } else {
                    "all of it".to_string()
                };
                body.push_str(&format!(
                    "\n--- {task}: the {} step's log ({what}; {}) ---\n{text}",
                    step.id,
                    step.log.display()
                ));
                if !text.ends_with('\n') {
                    body.push('\n');
                }
            }
            Err(e) => body.push_str(&format!(
                "\n--- {task}: the {} step's log cannot be read: {e} ---\n",
                step.id
            )),
        }
    }
    cut(body)
}

/// The last `budget` bytes of `log`, from a line start, as text.
fn tail(log: &std::path::Path, budget: usize) -> std::io::Result<String> {
    let mut file = fs_err::File::open(log)?;
    let size = file.metadata()?.len();
    let mut bytes = Vec::new();
    if size > budget as u64 {
        file.seek(SeekFrom::Start(size - budget as u64))?;
        file.take(budget as u64).read_to_end(&mut bytes)?;
        let start = bytes.iter().position(|b| *b == b'\n').map_or(0, |i| i + 1);
        bytes.drain(..start);
    } else {
        file.read_to_end(&mut bytes)?;
    }
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    // A replacement character is longer than the byte it replaces.
    while text.len() > budget {
        let cut_at = text
            .char_indices()
            .map(|(i, _)| i)
            .find(|i| text.len() - i <= budget)
            .unwrap_or(text.len());
        text.drain(..cut_at);
    }
    Ok(text)
}

/// `body` within `BODY_LIMIT`, cut at a character boundary.
fn cut(mut body: String) -> String {
    if body.len() > BODY_LIMIT {
        let mut end = BODY_LIMIT;
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        body.truncate(end);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::config::UrlSource;
    use crate::health::{Health, State};
    use crate::notify::Verdict;
    use crate::outcome::TaskResult;

    fn verdict(name: &str, state: State) -> Verdict {
        Verdict {
            name: name.into(),
            before: State::Ok,
            after: Health {
                state,
                since: None,
                last_success: None,
                days_since_success: None,
                reason: None,
            },
        }
    }

    #[test]
    fn the_suffix_goes_before_the_query() {
        assert_eq!(
            with_suffix("https://hc-ping.com/abc", "/start"),
            "https://hc-ping.com/abc/start"
        );
        assert_eq!(
            with_suffix("https://hc-ping.com/abc/", "/fail"),
            "https://hc-ping.com/abc/fail"
        );
        assert_eq!(
            with_suffix("https://hc-ping.com/key/slug?create=1", "/fail"),
            "https://hc-ping.com/key/slug/fail?create=1"
        );
        assert_eq!(
            with_suffix("https://hc-ping.com/abc", ""),
            "https://hc-ping.com/abc"
        );
    }

    #[test]
    fn a_failure_carries_the_log_tails_within_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("photos_backup.log");
        let mut text = String::from("FIRST LINE\n");
        while text.len() < 300_000 {
            text.push_str(
                "rsync: [sender] send_files failed to open \"/data/x\": Permission denied (13)\n",
            );
        }
        text.push_str("rsync error: some files could not be transferred (code 23)\nLAST LINE\n");
        std::fs::write(&big, &text).unwrap();
        let small = dir.path().join("home_backup.log");
        std::fs::write(
            &small,
            "backup of task \"home\"\nthe source /home does not exist\n",
        )
        .unwrap();

        let results = [
            TaskResult::sample_backup("home", &small, true),
            TaskResult::sample_backup("photos", &big, true),
            TaskResult::sample_backup("ok", &small, false),
        ];
        let clock = Clock::on("2026-11-18".parse().unwrap());
        let finished = Finished {
            host: "nas",
            run: Some(7),
            started: 1_795_000_000.0,
            ended: 1_795_000_100.0,
            results: &results,
            verdicts: vec![
                verdict("home", State::NeverSucceeded),
                verdict("photos", State::NeverSucceeded),
                verdict("ok", State::Ok),
            ],
            unrecorded: None,
            clock: &clock,
        };
        let check = Monitor {
            url: Ok(Secret("https://hc-ping.com/abc".into())),
        };
        let (event, request) = check.request(&RunState::Finished(&finished)).unwrap();
        let request = request.unwrap();
        assert_eq!(event, Event::Failure);
        assert_eq!(request.url, "https://hc-ping.com/abc/fail");
        let body = String::from_utf8(request.body).unwrap();
        assert!(body.len() <= BODY_LIMIT, "{} bytes", body.len());
        assert!(
            body.len() > BODY_LIMIT - 2_000,
            "the room is used: {} bytes",
            body.len()
        );
        assert!(
            body.starts_with("backup-server run 7 on nas: 2 of 3 tasks failed"),
            "{body}"
        );
        assert!(
            body.contains("\nhome: FAILED: backup: rsync exited with status 12"),
            "{body}"
        );
        assert!(
            body.contains("the source /home does not exist\n"),
            "the small log whole"
        );
        assert!(body.contains("(all of it;"), "{body}");
        assert!(body.ends_with("LAST LINE\n"), "the big log's end is kept");
        assert!(!body.contains("FIRST LINE"), "the big log's start is cut");
        assert!(body.contains("--- photos: the backup step's log (the last "));
    }

    #[test]
    fn a_check_whose_url_file_is_missing_says_so_for_every_ping() {
        let check = Monitor::load(&Healthchecks {
            url: UrlSource::File("/nonexistent/hc-url".into()),
        });
        let started = Started {
            host: "nas",
            run: None,
            tasks: &["home".to_string()],
        };
        let (event, request) = check.request(&RunState::Started(&started)).unwrap();
        assert_eq!(event, Event::Start);
        let why = request.unwrap_err().to_string();
        assert!(
            why.starts_with("cannot read notify.healthchecks.url_file (failed to open file `/nonexistent/hc-url`"),
            "{why}"
        );
    }
}
