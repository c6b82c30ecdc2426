//! The `notify` part of `backup_config.yml`: where pings go when a run starts and ends.
//!
//! An email sent at the end of a run cannot report a run that never happened; a ping
//! service that expects a ping every night can. This part says which services to ping
//! (a healthchecks.io-compatible check, an ntfy topic, a generic webhook) and how. A URL
//! or token that holds a secret is only ever named by the file it is read from (a
//! systemd credential under the module): the config, the plan, argv and logs never hold
//! it. The files are read when a run starts (`notify::Notifier`), not here: checking a
//! config reads nothing but the config.

use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Map, Value};

use super::{Scope, Validator, kind};

/// The `notify` part, checked. Every channel is optional; none is the default.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notify {
    /// Seconds an attempt may take, connecting included (three attempts at most).
    pub timeout_secs: u64,
    /// An extra trusted root for a self-hosted service; certificates are always verified.
    pub ca_file: Option<PathBuf>,
    pub healthchecks: Option<Healthchecks>,
    pub ntfy: Option<Ntfy>,
    pub webhook: Option<Webhook>,
}

impl Default for Notify {
    fn default() -> Self {
        Notify {
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            ca_file: None,
            healthchecks: None,
            ntfy: None,
            webhook: None,
        }
    }
}

impl Notify {
    pub fn is_empty(&self) -> bool {
        self.healthchecks.is_none() && self.ntfy.is_none() && self.webhook.is_none()
    }
}

pub const DEFAULT_TIMEOUT_SECS: u64 = 10;

/// Where a channel's URL comes from: written in the config (a URL that is no secret,
/// such as a public ntfy topic one is happy to share), or read from a file.
#[derive(Debug, Clone, PartialEq)]
pub enum UrlSource {
    Given(String),
    File(PathBuf),
}

impl Serialize for UrlSource {
    /// Never the URL itself: even a "public" topic URL is a capability.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            UrlSource::Given(url) => s.collect_str(&format_args!("{} (given)", redact(url))),
            UrlSource::File(path) => s.collect_str(&format_args!("from {}", path.display())),
        }
    }
}

/// A healthchecks.io check (or a self-hosted Healthchecks, or anything that speaks its
/// ping API): `<url>/start`, `<url>`, `<url>/fail`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Healthchecks {
    /// Always a file: the ping URL is the check's secret.
    pub url: UrlSource,
}

/// An ntfy topic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ntfy {
    pub url: UrlSource,
    /// An access token (`tk_...`) for a protected topic.
    pub token_file: Option<PathBuf>,
    /// Which events send a message.
    pub on: Vec<Event>,
    /// The priority of a failure's message; the others go out at `default`
    /// (a recovery) or `low` (a start or a success).
    pub priority: Priority,
    /// ntfy tags added to every message (emoji short codes show as emoji).
    pub tags: Vec<String>,
}

/// A URL that receives the whole run as JSON when it ends.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Webhook {
    pub url: UrlSource,
    /// `Name: value` lines sent as headers (an `Authorization` one, say).
    pub headers_file: Option<PathBuf>,
}

/// What happened that a channel may ping about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// A run started.
    Start,
    /// A run ended and no task failed.
    Success,
    /// A run ended with a failed task (or could not be recorded).
    Failure,
    /// A run ended, and a task that was failing, stale or had never succeeded before it
    /// succeeded.
    Recovery,
}

impl Event {
    pub const ALL: [Event; 4] = [
        Event::Start,
        Event::Success,
        Event::Failure,
        Event::Recovery,
    ];

    pub fn word(self) -> &'static str {
        match self {
            Event::Start => "start",
            Event::Success => "success",
            Event::Failure => "failure",
            Event::Recovery => "recovery",
        }
    }

    pub fn parse(word: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|e| e.word() == word)
    }
}

/// ntfy's five priorities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Min = 1,
    Low = 2,
    Default = 3,
    High = 4,
    Max = 5,
}

impl Priority {
    const WORDS: [(&'static str, Priority); 6] = [
        ("min", Priority::Min),
        ("low", Priority::Low),
        ("default", Priority::Default),
        ("high", Priority::High),
        ("max", Priority::Max),
        ("urgent", Priority::Max),
    ];

    /// A word ntfy knows, or its number 1 to 5.
    pub fn parse(value: &Value) -> Option<Priority> {
        match value {
            Value::String(s) => Priority::WORDS
                .iter()
                .find(|(w, _)| *w == s.as_str())
                .map(|(_, p)| *p),
            Value::Number(n) => {
                let n = n.as_u64()?;
                Priority::WORDS
                    .iter()
                    .map(|(_, p)| *p)
                    .find(|p| *p as u64 == n)
            }
            _ => None,
        }
    }

    /// The value of ntfy's `Priority` header.
    pub fn number(self) -> u8 {
        self as u8
    }
}

/// A URL as it may be named in messages: its scheme and host (and port), never the
/// path or query, which may hold a check's secret or a topic.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(not a URL)".to_string();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // user:password@host: the credentials are a secret too.
    let host = authority.rsplit('@').next().unwrap_or_default();
    format!("{}://{host}", scheme.to_ascii_lowercase())
}

/// Why `url` cannot be a ping URL, if it cannot: an http(s) URL with a host, in one
/// line of visible characters. The reason never quotes the URL.
pub fn url_problem(url: &str) -> Option<&'static str> {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let Some(rest) = rest else {
        return Some("must be an http:// or https:// URL");
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("must be a URL without spaces or control characters");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Some("must name a host, as in https://hc-ping.com/...");
    }
    None
}

const NOTIFY_KEYS: &[&str] = &["timeout_secs", "ca_file", "healthchecks", "ntfy", "webhook"];
const HEALTHCHECKS_KEYS: &[&str] = &["url", "url_file"];
const NTFY_KEYS: &[&str] = &["url", "url_file", "token_file", "on", "priority", "tags"];
const WEBHOOK_KEYS: &[&str] = &["url", "url_file", "headers_file"];
/// The keys of `notify`, as dotted paths (config::schema).
pub(in crate::config) fn schema() -> Vec<String> {
    let mut paths: Vec<String> = NOTIFY_KEYS.iter().map(|k| format!("notify.{k}")).collect();
    for (channel, keys) in [
        ("healthchecks", HEALTHCHECKS_KEYS),
        ("ntfy", NTFY_KEYS),
        ("webhook", WEBHOOK_KEYS),
    ] {
        paths.extend(keys.iter().map(|k| format!("notify.{channel}.{k}")));
    }
    paths
}
/// The messages ntfy sends when `on` is not given.
pub const NTFY_DEFAULT_ON: [Event; 2] = [Event::Failure, Event::Recovery];

impl Validator {
    /// The `notify` mapping; `None` when it has a problem (recorded).
    pub(super) fn notify(&mut self, value: Option<&Value>) -> Option<Notify> {
        let map = match value {
            None | Some(Value::Null) => return Some(Notify::default()),
            Some(Value::Object(map)) => map,
            Some(v) => {
                self.problem(
                    Scope::Top,
                    "notify",
                    format!(
                        "must be a mapping like {{healthchecks: {{url_file: /path}}}}, not {}",
                        kind(v)
                    ),
                );
                return None;
            }
        };
        self.unknown_keys(Scope::Top, "notify.", map, NOTIFY_KEYS);
        let timeout_secs = match map.get("timeout_secs") {
            None | Some(Value::Null) => Some(DEFAULT_TIMEOUT_SECS),
            Some(v) => self
                .count(Scope::Top, "notify.timeout_secs", v, 1, 300)
                .map(u64::from),
        };
        let ca_file = self.optional_path(Scope::Top, map, "notify.", "ca_file");
        let ca_ok = map.get("ca_file").is_none_or(|v| v.is_null()) || ca_file.is_some();
        let healthchecks = self.channel(map, "healthchecks", HEALTHCHECKS_KEYS, |c, m| {
            if m.get("url").is_some() {
                c.problem(
                    Scope::Top,
                    "notify.healthchecks.url",
                    "is not taken: the ping URL is the check's secret; write it into a file \
                     readable only by root and give that file as url_file",
                );
                return None;
            }
            let url = c.required_path(m, "notify.healthchecks.", "url_file")?;
            Some(Healthchecks {
                url: UrlSource::File(url),
            })
        });
        let ntfy = self.channel(map, "ntfy", NTFY_KEYS, |c, m| c.ntfy(m));
        let webhook = self.channel(map, "webhook", WEBHOOK_KEYS, |c, m| {
            let url = c.url_source(m, "notify.webhook.");
            let headers_file = c.optional_path(Scope::Top, m, "notify.webhook.", "headers_file");
            let headers_ok =
                m.get("headers_file").is_none_or(|v| v.is_null()) || headers_file.is_some();
            headers_ok.then_some(())?;
            Some(Webhook {
                url: url?,
                headers_file,
            })
        });
        ca_ok.then_some(())?;
        Some(Notify {
            timeout_secs: timeout_secs?,
            ca_file,
            healthchecks: healthchecks?,
            ntfy: ntfy?,
            webhook: webhook?,
        })
    }

    /// `notify.<name>`: absent (`Some(None)`), or a mapping read by `read`.
    fn channel<T>(
        &mut self,
        map: &Map<String, Value>,
        name: &str,
        keys: &[&str],
        read: impl FnOnce(&mut Validator, &Map<String, Value>) -> Option<T>,
    ) -> Option<Option<T>> {
        match map.get(name) {
            None | Some(Value::Null) => Some(None),
            Some(Value::Object(channel)) => {
                self.unknown_keys(Scope::Top, &format!("notify.{name}."), channel, keys);
                read(self, channel).map(Some)
            }
            Some(v) => {
                self.problem(
                    Scope::Top,
                    &format!("notify.{name}"),
                    format!("must be a mapping, not {}", kind(v)),
                );
                None
            }
        }
    }

    fn ntfy(&mut self, map: &Map<String, Value>) -> Option<Ntfy> {
        let prefix = "notify.ntfy.";
        let url = self.url_source(map, prefix);
        let token_file = self.optional_path(Scope::Top, map, prefix, "token_file");
        let token_ok = map.get("token_file").is_none_or(|v| v.is_null()) || token_file.is_some();
        let on = match map.get("on") {
            None | Some(Value::Null) => Some(NTFY_DEFAULT_ON.to_vec()),
            Some(Value::Array(items)) => {
                let mut events = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item.as_str().and_then(Event::parse) {
                        Some(event) if !events.contains(&event) => events.push(event),
                        Some(_) => {}
                        None => self.problem(
                            Scope::Top,
                            &format!("{prefix}on[{i}]"),
                            format!(
                                "must be one of start, success, failure, recovery, not {}",
                                kind(item)
                            ),
                        ),
                    }
                }
                if items.is_empty() {
                    self.problem(
                        Scope::Top,
                        &format!("{prefix}on"),
                        "must name at least one of start, success, failure, recovery (leave ntfy out to send nothing)",
                    );
                    None
                } else {
                    (items
                        .iter()
                        .all(|i| i.as_str().and_then(Event::parse).is_some()))
                    .then_some(events)
                }
            }
            Some(v) => {
                self.problem(
                    Scope::Top,
                    &format!("{prefix}on"),
                    format!(
                        "must be a list such as [failure, recovery], not {}",
                        kind(v)
                    ),
                );
                None
            }
        };
        let priority = match map.get("priority") {
            None | Some(Value::Null) => Some(Priority::High),
            Some(v) => {
                let priority = Priority::parse(v);
                if priority.is_none() {
                    self.problem(
                        Scope::Top,
                        &format!("{prefix}priority"),
                        format!(
                            "must be min, low, default, high, max (or urgent) or 1 to 5, not {}",
                            kind(v)
                        ),
                    );
                }
                priority
            }
        };
        let tags = match map.get("tags") {
            None | Some(Value::Null) => Some(Vec::new()),
            Some(Value::Array(items)) => {
                let mut tags = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    // ntfy's Tags header is a comma-separated list of words.
                    match item.as_str() {
                        Some(t)
                            if !t.is_empty()
                                && t.len() <= 64
                                && t.chars().all(|c| {
                                    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+')
                                }) =>
                        {
                            tags.push(t.to_string())
                        }
                        _ => self.problem(
                            Scope::Top,
                            &format!("{prefix}tags[{i}]"),
                            format!(
                                "must be a word of letters, digits, '_', '-' or '+' (an emoji short code such as floppy_disk), not {}",
                                kind(item)
                            ),
                        ),
                    }
                }
                (tags.len() == items.len()).then_some(tags)
            }
            Some(v) => {
                self.problem(
                    Scope::Top,
                    &format!("{prefix}tags"),
                    format!("must be a list of words, not {}", kind(v)),
                );
                None
            }
        };
        token_ok.then_some(())?;
        Some(Ntfy {
            url: url?,
            token_file,
            on: on?,
            priority: priority?,
            tags: tags?,
        })
    }

    /// `url` or `url_file` (exactly one) of a channel's mapping.
    fn url_source(&mut self, map: &Map<String, Value>, prefix: &str) -> Option<UrlSource> {
        let given = map.get("url").filter(|v| !v.is_null());
        let file = map.get("url_file").filter(|v| !v.is_null());
        match (given, file) {
            (Some(_), Some(_)) => {
                self.problem(
                    Scope::Top,
                    &format!("{prefix}url"),
                    "give url or url_file, not both (url_file keeps a secret URL out of the config)",
                );
                None
            }
            (None, None) => {
                self.problem(
                    Scope::Top,
                    &format!("{prefix}url"),
                    "is required: the URL (url) or a file holding it (url_file)",
                );
                None
            }
            (Some(v), None) => {
                let url = self.string(Scope::Top, &format!("{prefix}url"), v)?;
                // The problem names the key, never the value: it may be a secret.
                if let Some(problem) = url_problem(&url) {
                    self.problem(Scope::Top, &format!("{prefix}url"), problem);
                    return None;
                }
                Some(UrlSource::Given(url))
            }
            (None, Some(_)) => self
                .optional_path(Scope::Top, map, prefix, "url_file")
                .map(UrlSource::File),
        }
    }

    fn required_path(
        &mut self,
        map: &Map<String, Value>,
        prefix: &str,
        key: &str,
    ) -> Option<PathBuf> {
        if map.get(key).is_none_or(|v| v.is_null()) {
            self.problem(Scope::Top, &format!("{prefix}{key}"), "is required");
            return None;
        }
        self.optional_path(Scope::Top, map, prefix, key)
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::config::{Config, ConfigError};

    const BASE: &str = "dir_backup_local: /b\ndir_backup_remote: /r\nemail_sender: a@b.cd\n\
                        email_report: a@b.cd\ntasks: [{name: t, dir_source: /s}]\n";

    fn parse(notify: &str) -> Result<Config, ConfigError> {
        crate::config::config_tests::parse(&format!("{BASE}{notify}"))
    }

    fn problems(notify: &str) -> Vec<String> {
        crate::config::config_tests::problems(&format!("{BASE}{notify}"))
    }

    #[test]
    fn no_notify_means_no_pings() {
        let config = parse("").unwrap();
        assert!(config.notify.is_empty());
        assert_eq!(config.notify.timeout_secs, 10);
    }

    #[test]
    fn every_channel_is_read_with_its_defaults() {
        let config = parse(
            "notify:\n  healthchecks: {url_file: /run/keys/hc}\n  ntfy: {url: https://ntfy.sh/backups}\n  \
             webhook: {url_file: /run/keys/hook, headers_file: /run/keys/headers}\n",
        )
        .unwrap();
        let notify = config.notify;
        assert_eq!(
            notify.healthchecks.unwrap().url,
            UrlSource::File("/run/keys/hc".into())
        );
        let ntfy = notify.ntfy.unwrap();
        assert_eq!(ntfy.url, UrlSource::Given("https://ntfy.sh/backups".into()));
        assert_eq!(ntfy.on, [Event::Failure, Event::Recovery]);
        assert_eq!(ntfy.priority, Priority::High);
        assert_eq!(ntfy.token_file, None);
        let webhook = notify.webhook.unwrap();
        assert_eq!(webhook.url, UrlSource::File("/run/keys/hook".into()));
        assert_eq!(webhook.headers_file, Some("/run/keys/headers".into()));
    }

    #[test]
    fn ntfy_takes_events_priorities_and_tags() {
        let config = parse(
            "notify:\n  ntfy: {url_file: /k/ntfy, token_file: /k/token, on: [start, success, failure], \
             priority: 5, tags: [floppy_disk, nas-1]}\n",
        )
        .unwrap();
        let ntfy = config.notify.ntfy.unwrap();
        assert_eq!(ntfy.on, [Event::Start, Event::Success, Event::Failure]);
        assert_eq!(ntfy.priority, Priority::Max);
        assert_eq!(ntfy.tags, ["floppy_disk", "nas-1"]);
        assert_eq!(ntfy.token_file, Some("/k/token".into()));
        let urgent =
            parse("notify: {ntfy: {url: 'http://ntfy.lan/x', priority: urgent}}\n").unwrap();
        assert_eq!(urgent.notify.ntfy.unwrap().priority, Priority::Max);
    }

    #[test]
    fn every_problem_names_its_key_and_never_quotes_a_url() {
        let found = problems(
            "notify:\n  timeout_secs: 0\n  healthchecks: {url: 'https://hc-ping.com/k7q2-uuid'}\n  \
             ntfy: {url: 'ftp://x/k7q2-topic', on: [failure, sometimes], priority: loud, tags: ['a b']}\n  \
             webhook: {url: 'https://h/x', url_file: /k}\n  slack: {}\n",
        );
        assert_eq!(
            found,
            [
                "notify.slack: is not a known key",
                "notify.timeout_secs: must be a whole number from 1 to 300, not the number 0",
                "notify.healthchecks.url: is not taken: the ping URL is the check's secret; write it into a file readable only by root and give that file as url_file",
                "notify.ntfy.url: must be an http:// or https:// URL",
                "notify.ntfy.on[1]: must be one of start, success, failure, recovery, not the string \"sometimes\"",
                "notify.ntfy.priority: must be min, low, default, high, max (or urgent) or 1 to 5, not the string \"loud\"",
                "notify.ntfy.tags[0]: must be a word of letters, digits, '_', '-' or '+' (an emoji short code such as floppy_disk), not the string \"a b\"",
                "notify.webhook.url: give url or url_file, not both (url_file keeps a secret URL out of the config)",
            ]
        );
        assert!(!found.iter().any(|p| p.contains("k7q2")), "{found:?}");
    }

    #[test]
    fn a_channel_needs_its_url_and_a_mapping() {
        assert_eq!(
            problems("notify: {ntfy: {on: [failure]}, webhook: https://x/y}\n"),
            [
                "notify.ntfy.url: is required: the URL (url) or a file holding it (url_file)",
                "notify.webhook: must be a mapping, not the string \"https://x/y\"",
            ]
        );
        assert_eq!(
            problems("notify: {ntfy: {url: 'https:///topic', on: []}}\n"),
            [
                "notify.ntfy.url: must name a host, as in https://hc-ping.com/...",
                "notify.ntfy.on: must name at least one of start, success, failure, recovery (leave ntfy out to send nothing)",
            ]
        );
        assert_eq!(
            problems("notify: [healthchecks]\n"),
            ["notify: must be a mapping like {healthchecks: {url_file: /path}}, not a list"]
        );
        assert_eq!(
            problems("notify: {healthchecks: {url_file: relative/file}}\n"),
            ["notify.healthchecks.url_file: \"relative/file\" must be an absolute path"]
        );
    }

    #[test]
    fn the_readmes_example_is_valid() {
        let page = include_str!("../../docs/monitoring.md");
        let section = page
            .split("\n## Pings: knowing at once when backups stop\n")
            .nth(1)
            .expect("docs/monitoring.md has the Pings section");
        let example = section
            .split("```yaml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("the section has a YAML example");
        let config = parse(example).unwrap();
        let notify = config.notify;
        assert!(notify.healthchecks.is_some() && notify.webhook.is_some());
        assert_eq!(notify.ntfy.unwrap().tags, ["floppy_disk"]);
        assert_eq!(notify.ca_file, Some("/etc/ssl/home-ca.pem".into()));
    }

    #[test]
    fn a_url_is_named_by_its_scheme_and_host_only() {
        assert_eq!(
            redact("https://hc-ping.com/0f6c-uuid/start?rid=1"),
            "https://hc-ping.com"
        );
        assert_eq!(
            redact("HTTP://user:pw@ntfy.lan:8080/topic"),
            "http://ntfy.lan:8080"
        );
        assert_eq!(redact("no url"), "(not a URL)");
        assert_eq!(url_problem("https://hc-ping.com/x"), None);
        assert!(url_problem("https://hc-ping.com/x y").is_some());
    }
}
