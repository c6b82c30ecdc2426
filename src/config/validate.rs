//! Walking the parsed YAML tree key by key, collecting every problem with the key and
//! the task it belongs to, and building the typed values.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{
    Config, DEFAULT_HOOK_TIMEOUT_SECS, DEFAULT_SSH_KEY, DEFAULT_STALE_AFTER_DAYS,
    DEFAULT_SUMMARY_WEEKDAY, EmailWhen, Problem, RetentionOverride, SEED_TARGET, Smtp, Target,
    Task,
};
use crate::config::Thresholds;
use crate::config::location::{Location, checked_path};
use crate::retention::Policy;

/// The `notify` part (pings), checked by the same walker.
#[path = "channels.rs"]
pub(super) mod channels;

/// Walks the tree, collecting problems; returns `None` when a value could not be built.
#[derive(Default)]
pub(super) struct Validator {
    pub(super) problems: Vec<Problem>,
}

/// Where a key lives, for messages: the top level or one task.
#[derive(Clone, Copy)]
enum Scope<'a> {
    Top,
    Task(usize, Option<&'a str>),
    Target(usize, Option<&'a str>),
}

impl Scope<'_> {
    fn key(&self, key: &str) -> String {
        match self {
            Scope::Top => key.to_string(),
            Scope::Task(i, Some(name)) => format!("tasks[{i}] {name:?}: {key}"),
            Scope::Task(i, None) => format!("tasks[{i}]: {key}"),
            Scope::Target(i, Some(name)) => format!("targets[{i}] {name:?}: {key}"),
            Scope::Target(i, None) => format!("targets[{i}]: {key}"),
        }
    }
}

const TOP_KEYS: &[&str] = &[
    "dir_backup_local",
    "require_mountpoint",
    "dir_backup_remote",
    "email_sender",
    "email_report",
    "email_admin",
    "tasks",
    "retention",
    "ssh_key",
    "ssh_known_hosts",
    "ssh_config",
    "smtp",
    "stale_after_days",
    "targets",
    "sync",
    "email_when",
    "summary_weekday",
    "site_url",
    "schedule",
    "disk",
    "notify",
];
const TASK_KEYS: &[&str] = &[
    "name",
    "dir_source",
    "excludes",
    "retention",
    "before",
    "after",
    "hook_timeout_secs",
    "one_file_system",
    "targets",
];
const TARGET_KEYS: &[&str] = &[
    "name",
    "location",
    "retention",
    "bwlimit_kib",
    "compress",
    "require_mountpoint",
];
const SYNC_KEYS: &[&str] = &["bwlimit_kib", "compress"];
const DISK_KEYS: &[&str] = &["min_free_percent", "full_within_days"];
const RETENTION_KEYS: &[&str] = &["daily", "weekly", "monthly", "yearly"];
const SMTP_KEYS: &[&str] = &["host", "port", "ca_file", "timeout_secs"];

/// Every key the checker accepts, as dotted paths (`tasks[].retention.daily`), made
/// from the lists it checks against: what the NixOS module's rendering is compared
/// with (tests/nix/run), so a key cannot exist here and be missing there unnoticed.
pub fn schema() -> Vec<String> {
    let under = |prefix: &str, keys: &[&str]| -> Vec<String> {
        keys.iter().map(|k| format!("{prefix}{k}")).collect()
    };
    let mut paths = Vec::new();
    for key in TOP_KEYS {
        let nested: Vec<String> = match *key {
            "tasks" => {
                let mut task = under("tasks[].", TASK_KEYS);
                task.extend(under("tasks[].retention.", RETENTION_KEYS));
                task
            }
            "targets" => {
                let mut target = under("targets[].", TARGET_KEYS);
                target.extend(under("targets[].retention.", RETENTION_KEYS));
                target
            }
            "retention" => under("retention.", RETENTION_KEYS),
            "smtp" => under("smtp.", SMTP_KEYS),
            "sync" => under("sync.", SYNC_KEYS),
            "disk" => under("disk.", DISK_KEYS),
            "notify" => channels::schema(),
            _ => Vec::new(),
        };
        paths.push(key.to_string());
        paths.extend(nested);
    }
    paths.sort();
    paths
}

impl Validator {
    fn problem(&mut self, scope: Scope, key: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            key: scope.key(key),
            message: message.into(),
        });
    }

    pub(super) fn config(&mut self, file: &Path, tree: &Value) -> Option<Config> {
        let Some(top) = tree.as_object() else {
            self.problem(
                Scope::Top,
                "(top level)",
                "must be a mapping of keys to values",
            );
            return None;
        };
        self.unknown_keys(Scope::Top, "", top, TOP_KEYS);

        let dir_backup_local = self
            .required(Scope::Top, top, "dir_backup_local")
            .and_then(|v| {
                self.string(Scope::Top, "dir_backup_local", v)
                    .and_then(|s| self.path(Scope::Top, "dir_backup_local", &s))
            });
        let require_mountpoint = self.optional_bool(Scope::Top, top, "require_mountpoint", false);
        let targets = self.targets(top);
        let email_when = self.email_when(top);
        let mailing = email_when != Some(EmailWhen::Never);
        let email_sender = self.email(top, "email_sender", mailing);
        let email_report = self.email(top, "email_report", mailing);
        let (email_sender, email_report) = if mailing {
            (email_sender, email_report)
        } else {
            (
                Some(email_sender.unwrap_or_default()),
                Some(email_report.unwrap_or_default()),
            )
        };
        let summary_weekday = self.weekday(top, "summary_weekday");
        let site_url = self.site_url(top);
        let schedule = self.schedule(top);
        let disk = self.disk(top);
        let email_admin = self.email(top, "email_admin", false).unwrap_or_default();
        let email_admin = if Some(&email_admin) == email_report.as_ref() {
            String::new()
        } else {
            email_admin
        };
        let retention = self.retention(Scope::Top, top.get("retention"), Policy::default());
        let ssh_key = self
            .optional_path(Scope::Top, top, "", "ssh_key")
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SSH_KEY));
        let ssh_known_hosts = self.optional_path(Scope::Top, top, "", "ssh_known_hosts");
        let ssh_config = self.optional_path(Scope::Top, top, "", "ssh_config");
        for (key, path) in [
            ("ssh_key", Some(&ssh_key)),
            ("ssh_known_hosts", ssh_known_hosts.as_ref()),
            ("ssh_config", ssh_config.as_ref()),
        ] {
            // These paths are written into an ssh_config file and an rsync -e argument.
            if path.is_some_and(|p| p.to_string_lossy().contains(['\'', '"', ' '])) {
                self.problem(Scope::Top, key, "must not contain quotes or spaces");
            }
        }
        let smtp = self.smtp(top.get("smtp"));
        let notify = self.notify(top.get("notify"));
        let stale_after_days = match top.get("stale_after_days") {
            None | Some(Value::Null) => Some(DEFAULT_STALE_AFTER_DAYS),
            Some(v) => self.count(Scope::Top, "stale_after_days", v, 1, 3650),
        };
        // Named as written, so a task's reference to a target that has a problem of its
        // own is not reported twice.
        let mut target_names: Vec<String> = Vec::new();
        if top.get("dir_backup_remote").is_some_and(|v| !v.is_null()) {
            target_names.push(SEED_TARGET.to_string());
        }
        if let Some(Value::Array(list)) = top.get("targets") {
            target_names.extend(
                list.iter()
                    .filter_map(|t| t.get("name")?.as_str())
                    .filter(|n| *n != SEED_TARGET)
                    .map(str::to_string),
            );
        }
        let tasks = self.tasks(
            top.get("tasks"),
            retention.unwrap_or_default(),
            &target_names,
        );

        let config = Config {
            file: file.to_path_buf(),
            dir_backup_local: dir_backup_local?,
            require_mountpoint: require_mountpoint?,
            targets: targets?,
            email_sender: email_sender?,
            email_report: email_report?,
            email_when: email_when?,
            summary_weekday: summary_weekday?,
            site_url: site_url?,
            schedule: schedule?,
            disk: disk?,
            email_admin,
            tasks: tasks?,
            retention: retention?,
            ssh_key,
            ssh_known_hosts,
            ssh_config,
            smtp: smtp?,
            stale_after_days: stale_after_days?,
            notify: notify?,
        };
        self.no_backups_of_backups(&config);
        self.targets_apart(&config);
        Some(config)
    }

    /// A source inside a backup directory would back up the backups (each night's
    /// snapshot holding all earlier ones). The other way round, a backup directory
    /// inside a source, is fine: the backup step excludes it.
    fn no_backups_of_backups(&mut self, config: &Config) {
        let mut targets = vec![(
            "dir_backup_local".to_string(),
            config.dir_backup_local.as_path(),
        )];
        for target in &config.targets {
            if let Some(path) = target.location.local_path() {
                let key = if target.seed {
                    "dir_backup_remote".to_string()
                } else {
                    format!("target {:?}", target.name)
                };
                targets.push((key, path));
            }
        }
        for (i, task) in config.tasks.iter().enumerate() {
            let Some(source) = task.dir_source.local_path() else {
                continue;
            };
            for (key, target) in &targets {
                if source.starts_with(target) {
                    self.problem(
                        Scope::Task(i, Some(&task.name)),
                        "dir_source",
                        format!(
                            "{} lies inside {key} {}: it would back up the backups",
                            source.display(),
                            target.display()
                        ),
                    );
                }
            }
        }
    }

    /// Each target is a place of its own: not the backup disk, not inside it, not
    /// another target. A target that is the backup disk would be pruned by its own
    /// policy, deleting snapshots of the backup disk; two targets at one place prune
    /// each other's.
    fn targets_apart(&mut self, config: &Config) {
        let key = |t: &Target| {
            if t.seed {
                "dir_backup_remote"
            } else {
                "location"
            }
        };
        let nested = |a: &Path, b: &Path| a.starts_with(b) || b.starts_with(a);
        for (i, target) in config.targets.iter().enumerate() {
            let scope = if target.seed {
                Scope::Top
            } else {
                // Targets from the list come after the seed's, when there is one.
                let offset = usize::from(config.targets.first().is_some_and(|t| t.seed));
                Scope::Target(i - offset, Some(&target.name))
            };
            if let Some(path) = target.location.local_path()
                && nested(path, &config.dir_backup_local)
            {
                self.problem(
                    scope,
                    key(target),
                    format!(
                        "{} is (or holds, or lies inside) dir_backup_local {}: a target must be another place",
                        path.display(),
                        config.dir_backup_local.display()
                    ),
                );
            }
            for earlier in &config.targets[..i] {
                // One path on one host is one place, whoever logs in, and host names
                // are not case-sensitive. What else makes two spellings one place (a
                // symlink, an ssh_config alias) needs the disks and the network: the
                // run checks that, before a sync prunes (engine::places).
                let machine = |l: &Location| {
                    let host = l.host();
                    host.rsplit_once('@')
                        .map_or(host, |(_, h)| h)
                        .to_ascii_lowercase()
                };
                let same_host = machine(&target.location) == machine(&earlier.location);
                if same_host && nested(target.location.path(), earlier.location.path()) {
                    self.problem(
                        scope,
                        key(target),
                        format!(
                            "{} is (or holds, or lies inside) target {:?} at {}: each target must be a place of its own",
                            target.location, earlier.name, earlier.location
                        ),
                    );
                }
            }
        }
    }

    /// The seed's `dir_backup_remote` (target `remote`), then `targets`, with the
    /// `sync` defaults applied.
    fn targets(&mut self, top: &Map<String, Value>) -> Option<Vec<Target>> {
        let none = Map::new();
        let sync = self
            .section(
                Scope::Top,
                "sync",
                top.get("sync"),
                "{bwlimit_kib: 1000, compress: true}",
                SYNC_KEYS,
            )
            .flatten()
            .unwrap_or(&none);
        let bwlimit_default = self.bwlimit(Scope::Top, sync, "sync.");
        let compress_default = match sync.get("compress") {
            None | Some(Value::Null) => None,
            Some(_) => self.optional_bool(Scope::Top, sync, "compress", false),
        };

        let mut targets = Vec::new();
        let mut complete = true;
        if let Some(v) = top.get("dir_backup_remote").filter(|v| !v.is_null()) {
            match self
                .string(Scope::Top, "dir_backup_remote", v)
                .and_then(|s| self.location(Scope::Top, "dir_backup_remote", &s))
            {
                Some(location) => targets.push(Target {
                    name: SEED_TARGET.to_string(),
                    compress: compress_default.unwrap_or(location.is_remote()),
                    location,
                    retention: RetentionOverride::default(),
                    bwlimit_kib: bwlimit_default.flatten(),
                    require_mountpoint: false,
                    seed: true,
                }),
                None => complete = false,
            }
        }
        match top.get("targets") {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                // As for tasks: a duplicate name is reported whatever else is wrong.
                let seed = top.get("dir_backup_remote").is_some_and(|v| !v.is_null());
                let mut names: Vec<&str> = Vec::new();
                for (i, item) in list.iter().enumerate() {
                    let target = self.target(i, item, bwlimit_default.flatten(), compress_default);
                    if let Some(name) = item.get("name").and_then(Value::as_str) {
                        let why = if seed && name == SEED_TARGET {
                            Some("is the name of dir_backup_remote's target; choose another")
                        } else if names.contains(&name) {
                            Some("is used by an earlier target; target names must be unique")
                        } else {
                            None
                        };
                        if let Some(why) = why {
                            self.problem(Scope::Target(i, Some(name)), "name", why);
                            complete = false;
                        }
                        names.push(name);
                    }
                    match target {
                        Some(target) => targets.push(target),
                        None => complete = false,
                    }
                }
            }
            Some(_) => {
                self.problem(Scope::Top, "targets", "must be a list of {name, location}");
                complete = false;
            }
        }
        if targets.is_empty() && complete {
            self.problem(
                Scope::Top,
                "dir_backup_remote",
                "is required (user@host:/path or /path), unless targets lists where to mirror",
            );
            return None;
        }
        complete.then_some(targets)
    }

    fn target(
        &mut self,
        i: usize,
        value: &Value,
        bwlimit_default: Option<u32>,
        compress_default: Option<bool>,
    ) -> Option<Target> {
        let Some(map) = value.as_object() else {
            self.problem(
                Scope::Target(i, None),
                "(target)",
                "must be a mapping with name and location",
            );
            return None;
        };
        let name = map.get("name").and_then(Value::as_str);
        let scope = Scope::Target(i, name);
        self.unknown_keys(scope, "", map, TARGET_KEYS);
        let name = self.required(scope, map, "name").and_then(|v| {
            let name = self.string(scope, "name", v)?;
            let ok = name.len() <= 32
                && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !ok {
                self.problem(
                    scope,
                    "name",
                    format!("{name:?} is not a target name: use up to 32 lowercase letters, digits and '-'"),
                );
            }
            // `restore --from local` and `list` name the backup disk so.
            let reserved = name == "local";
            if reserved {
                self.problem(scope, "name", "\"local\" names the backup disk; choose another");
            }
            (ok && !reserved).then_some(name)
        });
        let location = self.required(scope, map, "location").and_then(|v| {
            self.string(scope, "location", v)
                .and_then(|s| self.location(scope, "location", &s))
        });
        let retention = self.retention_override(scope, map.get("retention"));
        let bwlimit = self.bwlimit(scope, map, "");
        let compress = match map.get("compress") {
            None | Some(Value::Null) => Some(None),
            Some(_) => self.optional_bool(scope, map, "compress", false).map(Some),
        };
        let require_mountpoint = self.optional_bool(scope, map, "require_mountpoint", false);
        let location = location?;
        if require_mountpoint == Some(true) && location.is_remote() {
            self.problem(
                scope,
                "require_mountpoint",
                "is for a target on a local path (a disk of this machine), not one over SSH",
            );
        }
        Some(Target {
            name: name?,
            require_mountpoint: require_mountpoint?,
            compress: compress?
                .or(compress_default)
                .unwrap_or(location.is_remote()),
            location,
            retention: retention?,
            bwlimit_kib: bwlimit?.or(bwlimit_default),
            seed: false,
        })
    }

    /// `bwlimit_kib` of `map`: `Some(None)` when not set, `None` when wrong.
    fn bwlimit(
        &mut self,
        scope: Scope,
        map: &Map<String, Value>,
        prefix: &str,
    ) -> Option<Option<u32>> {
        match map.get("bwlimit_kib") {
            None | Some(Value::Null) => Some(None),
            Some(v) => self
                .count(scope, &format!("{prefix}bwlimit_kib"), v, 1, 100_000_000)
                .map(Some),
        }
    }

    fn tasks(
        &mut self,
        value: Option<&Value>,
        default_retention: Policy,
        target_names: &[String],
    ) -> Option<Vec<Task>> {
        let Some(value) = value else {
            self.problem(
                Scope::Top,
                "tasks",
                "is required (a list of {name, dir_source})",
            );
            return None;
        };
        let Some(list) = value.as_array() else {
            self.problem(Scope::Top, "tasks", "must be a list of {name, dir_source}");
            return None;
        };
        if list.is_empty() {
            self.problem(Scope::Top, "tasks", "must hold at least one task");
            return None;
        }
        let mut tasks = Vec::new();
        let mut complete = true;
        // Names as written, whether or not their task is valid: a duplicate is reported
        // even when the earlier task of that name has problems of its own.
        let mut names: Vec<&str> = Vec::new();
        for (i, item) in list.iter().enumerate() {
            let task = self.task(i, item, default_retention, target_names);
            if let Some(name) = item.get("name").and_then(Value::as_str) {
                if names.contains(&name) {
                    self.problem(
                        Scope::Task(i, Some(name)),
                        "name",
                        "is used by an earlier task; task names must be unique",
                    );
                    complete = false;
                }
                names.push(name);
            }
            match task {
                Some(task) => tasks.push(task),
                None => complete = false,
            }
        }
        complete.then_some(tasks)
    }

    fn task(
        &mut self,
        i: usize,
        value: &Value,
        default_retention: Policy,
        target_names: &[String],
    ) -> Option<Task> {
        let Some(map) = value.as_object() else {
            self.problem(
                Scope::Task(i, None),
                "(task)",
                "must be a mapping with name and dir_source",
            );
            return None;
        };
        let name = map.get("name").and_then(Value::as_str);
        let scope = Scope::Task(i, name);
        self.unknown_keys(scope, "", map, TASK_KEYS);
        let name = match map.get("name") {
            None => {
                self.problem(scope, "name", "is required");
                None
            }
            Some(v) => self
                .string(scope, "name", v)
                .and_then(|n| self.task_name(scope, n)),
        };
        let dir_source = match self.required(scope, map, "dir_source") {
            Some(v) => self
                .string(scope, "dir_source", v)
                .and_then(|s| self.location(scope, "dir_source", &s)),
            None => None,
        };
        let excludes = match map.get("excludes") {
            None | Some(Value::Null) => Some(Vec::new()),
            Some(Value::Array(items)) => {
                let mut patterns = Vec::new();
                for (j, item) in items.iter().enumerate() {
                    let key = format!("excludes[{j}]");
                    match item.as_str() {
                        Some(p) if !p.is_empty() && !p.contains(['\n', '\r']) => {
                            patterns.push(p.to_string())
                        }
                        _ => {
                            self.problem(scope, &key, "must be a non-empty one-line rsync pattern")
                        }
                    }
                }
                (patterns.len() == items.len()).then_some(patterns)
            }
            Some(_) => {
                self.problem(
                    scope,
                    "excludes",
                    "must be a list of rsync exclude patterns",
                );
                None
            }
        };
        let retention = self.retention(scope, map.get("retention"), default_retention);
        let before = self.hook(scope, map, "before");
        let after = self.hook(scope, map, "after");
        let hook_timeout_secs = match map.get("hook_timeout_secs") {
            None | Some(Value::Null) => Some(DEFAULT_HOOK_TIMEOUT_SECS),
            Some(v) => self.count(scope, "hook_timeout_secs", v, 1, 7 * 86_400),
        };
        let one_file_system = self.optional_bool(scope, map, "one_file_system", false);
        let targets = match map.get("targets") {
            None | Some(Value::Null) => Some(None),
            Some(Value::Array(items)) => {
                let mut names = Vec::new();
                for (j, item) in items.iter().enumerate() {
                    let key = format!("targets[{j}]");
                    match item.as_str() {
                        Some(n) if target_names.iter().any(|t| t == n) => names.push(n.to_string()),
                        _ => self.problem(
                            scope,
                            &key,
                            format!("must be the name of a target: {}", target_names.join(", ")),
                        ),
                    }
                }
                (names.len() == items.len()).then_some(Some(names))
            }
            Some(_) => {
                self.problem(scope, "targets", "must be a list of target names");
                None
            }
        };
        Some(Task {
            name: name?,
            dir_source: dir_source?,
            excludes: excludes?,
            retention: retention?,
            before: before?,
            after: after?,
            hook_timeout_secs: hook_timeout_secs?,
            one_file_system: one_file_system?,
            targets: targets?,
        })
    }

    /// A task name becomes a directory name and a file name: keep it boring.
    fn task_name(&mut self, scope: Scope, name: String) -> Option<String> {
        let mut chars = name.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
        let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if first_ok && rest_ok && name.len() <= 100 {
            Some(name)
        } else {
            self.problem(
                scope,
                "name",
                format!("{name:?} is not a safe task name: use letters, digits, '.', '_' and '-', starting with a letter or digit"),
            );
            None
        }
    }

    fn email_when(&mut self, top: &Map<String, Value>) -> Option<EmailWhen> {
        match top.get("email_when") {
            None | Some(Value::Null) => Some(EmailWhen::Always),
            Some(Value::String(s)) if s == "always" => Some(EmailWhen::Always),
            Some(Value::String(s)) if s == "attention" => Some(EmailWhen::Attention),
            Some(Value::String(s)) if s == "never" => Some(EmailWhen::Never),
            Some(v) => {
                self.problem(
                    Scope::Top,
                    "email_when",
                    format!("must be always, attention or never, not {}", kind(v)),
                );
                None
            }
        }
    }

    fn weekday(&mut self, top: &Map<String, Value>, key: &str) -> Option<jiff::civil::Weekday> {
        use jiff::civil::Weekday::*;
        let days = [
            ("monday", Monday),
            ("tuesday", Tuesday),
            ("wednesday", Wednesday),
            ("thursday", Thursday),
            ("friday", Friday),
            ("saturday", Saturday),
            ("sunday", Sunday),
        ];
        match top.get(key) {
            None | Some(Value::Null) => Some(DEFAULT_SUMMARY_WEEKDAY),
            Some(v) => {
                let found = v
                    .as_str()
                    .and_then(|s| days.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)));
                if found.is_none() {
                    self.problem(
                        Scope::Top,
                        key,
                        format!(
                            "must be a day of the week (monday ... sunday), not {}",
                            kind(v)
                        ),
                    );
                }
                found.map(|(_, d)| *d)
            }
        }
    }

    fn site_url(&mut self, top: &Map<String, Value>) -> Option<Option<String>> {
        let Some(v) = top.get("site_url").filter(|v| !v.is_null()) else {
            return Some(None);
        };
        let url = self.string(Scope::Top, "site_url", v)?;
        let ok = (url.starts_with("https://") || url.starts_with("http://"))
            && !url.contains(|c: char| c.is_whitespace() || c.is_control() || "<>\"".contains(c));
        if !ok {
            self.problem(
                Scope::Top,
                "site_url",
                format!("{url:?} is not an http:// or https:// address"),
            );
        }
        ok.then_some(Some(url))
    }

    /// The timer's OnCalendar expression, for "next run expected"; systemd judges it
    /// when the pages are rendered, so here it need only be one line of text.
    fn schedule(&mut self, top: &Map<String, Value>) -> Option<Option<String>> {
        let Some(v) = top.get("schedule").filter(|v| !v.is_null()) else {
            return Some(None);
        };
        let schedule = self.string(Scope::Top, "schedule", v)?;
        let ok = !schedule.trim().is_empty()
            && schedule.len() <= 200
            && !schedule.contains(|c: char| c.is_control());
        if !ok {
            self.problem(
                Scope::Top,
                "schedule",
                format!("{schedule:?} is not a systemd OnCalendar expression on one line"),
            );
        }
        ok.then_some(Some(schedule))
    }

    fn disk(&mut self, top: &Map<String, Value>) -> Option<Thresholds> {
        let Some(map) = self.section(
            Scope::Top,
            "disk",
            top.get("disk"),
            "{min_free_percent: 10, full_within_days: 30}",
            DISK_KEYS,
        )?
        else {
            return Some(Thresholds::default());
        };
        let default = Thresholds::default();
        let min_free_percent = match map.get("min_free_percent") {
            None => Some(default.min_free_percent),
            Some(v) => self.count(Scope::Top, "disk.min_free_percent", v, 0, 99),
        };
        let full_within_days = match map.get("full_within_days") {
            None => Some(default.full_within_days),
            Some(v) => self.count(Scope::Top, "disk.full_within_days", v, 0, 3650),
        };
        Some(Thresholds {
            min_free_percent: min_free_percent?,
            full_within_days: full_within_days?,
        })
    }

    /// A hook command: a non-empty shell command line, or nothing.
    fn hook(
        &mut self,
        scope: Scope,
        map: &Map<String, Value>,
        key: &str,
    ) -> Option<Option<String>> {
        match map.get(key) {
            None | Some(Value::Null) => Some(None),
            Some(v) => {
                let command = self.string(scope, key, v)?;
                if command.trim().is_empty() || command.contains('\0') {
                    self.problem(scope, key, "must be a shell command");
                    return None;
                }
                Some(Some(command))
            }
        }
    }

    fn retention(&mut self, scope: Scope, value: Option<&Value>, base: Policy) -> Option<Policy> {
        self.retention_override(scope, value)
            .map(|changes| changes.apply(base))
    }

    fn retention_override(
        &mut self,
        scope: Scope,
        value: Option<&Value>,
    ) -> Option<RetentionOverride> {
        let Some(map) = self.section(
            scope,
            "retention",
            value,
            "{daily: 7, weekly: 4, monthly: 12, yearly: 5}",
            RETENTION_KEYS,
        )?
        else {
            return Some(RetentionOverride::default());
        };
        let mut changes = RetentionOverride::default();
        let mut ok = true;
        for (key, slot) in [
            ("daily", &mut changes.daily),
            ("weekly", &mut changes.weekly),
            ("monthly", &mut changes.monthly),
            ("yearly", &mut changes.yearly),
        ] {
            if let Some(v) = map.get(key) {
                match self.count(scope, &format!("retention.{key}"), v, 0, 100_000) {
                    Some(n) => *slot = Some(n),
                    None => ok = false,
                }
            }
        }
        ok.then_some(changes)
    }

    fn smtp(&mut self, value: Option<&Value>) -> Option<Smtp> {
        let Some(map) = self.section(
            Scope::Top,
            "smtp",
            value,
            "{host: smtp.gmail.com, port: 465}",
            SMTP_KEYS,
        )?
        else {
            return Some(Smtp::default());
        };
        let default = Smtp::default();
        let host = match map.get("host") {
            None => Some(default.host),
            Some(v) => self.string(Scope::Top, "smtp.host", v).and_then(|host| {
                let ok = !host.is_empty()
                    && host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
                if !ok {
                    self.problem(
                        Scope::Top,
                        "smtp.host",
                        format!("{host:?} is not a host name"),
                    );
                }
                ok.then_some(host)
            }),
        };
        let port = match map.get("port") {
            None => Some(default.port),
            Some(v) => self
                .count(Scope::Top, "smtp.port", v, 1, 65535)
                .map(|p| p as u16),
        };
        // An invalid value is recorded as a problem, which refuses the whole config.
        let ca_file = self.optional_path(Scope::Top, map, "smtp.", "ca_file");
        let timeout_secs = match map.get("timeout_secs") {
            None => Some(default.timeout_secs),
            Some(v) => self
                .count(Scope::Top, "smtp.timeout_secs", v, 1, 3600)
                .map(u64::from),
        };
        Some(Smtp {
            host: host?,
            port: port?,
            ca_file,
            timeout_secs: timeout_secs?,
        })
    }

    /// The mapping at `key` (`value`), its keys checked against `known`: `Some(None)`
    /// when it is not there, `None` (a problem recorded) when it is not a mapping.
    fn section<'v>(
        &mut self,
        scope: Scope,
        key: &str,
        value: Option<&'v Value>,
        like: &str,
        known: &[&str],
    ) -> Option<Option<&'v Map<String, Value>>> {
        match value {
            None | Some(Value::Null) => Some(None),
            Some(Value::Object(map)) => {
                self.unknown_keys(scope, &format!("{key}."), map, known);
                Some(Some(map))
            }
            Some(_) => {
                self.problem(scope, key, format!("must be a mapping like {like}"));
                None
            }
        }
    }

    fn unknown_keys(
        &mut self,
        scope: Scope,
        prefix: &str,
        map: &Map<String, Value>,
        known: &[&str],
    ) {
        for key in map.keys().filter(|k| !known.contains(&k.as_str())) {
            let hint = known
                .iter()
                .find(|k| close(k, key))
                .map(|k| format!(" (did you mean {k:?}?)"))
                .unwrap_or_default();
            self.problem(
                scope,
                &format!("{prefix}{key}"),
                format!("is not a known key{hint}"),
            );
        }
    }

    fn required<'v>(
        &mut self,
        scope: Scope,
        map: &'v Map<String, Value>,
        key: &str,
    ) -> Option<&'v Value> {
        let value = map.get(key).filter(|v| !v.is_null());
        if value.is_none() {
            self.problem(scope, key, "is required");
        }
        value
    }

    fn string(&mut self, scope: Scope, key: &str, value: &Value) -> Option<String> {
        match value {
            Value::String(s) => Some(s.clone()),
            _ => {
                self.problem(scope, key, format!("must be a string, not {}", kind(value)));
                None
            }
        }
    }

    fn path(&mut self, scope: Scope, key: &str, text: &str) -> Option<PathBuf> {
        checked_path(text)
            .map_err(|e| self.problem(scope, key, e.to_string()))
            .ok()
    }

    /// The path at `key` of `map`, if any; problems are named `<prefix><key>`.
    fn optional_path(
        &mut self,
        scope: Scope,
        map: &Map<String, Value>,
        prefix: &str,
        key: &str,
    ) -> Option<PathBuf> {
        let value = map.get(key).filter(|v| !v.is_null())?;
        let shown = format!("{prefix}{key}");
        self.string(scope, &shown, value)
            .and_then(|s| self.path(scope, &shown, &s))
    }

    fn location(&mut self, scope: Scope, key: &str, text: &str) -> Option<Location> {
        Location::parse(text)
            .map_err(|e| self.problem(scope, key, e.to_string()))
            .ok()
    }

    fn optional_bool(
        &mut self,
        scope: Scope,
        map: &Map<String, Value>,
        key: &str,
        default: bool,
    ) -> Option<bool> {
        match map.get(key) {
            None | Some(Value::Null) => Some(default),
            Some(Value::Bool(b)) => Some(*b),
            Some(v) => {
                self.problem(
                    scope,
                    key,
                    format!("must be true or false, not {}", kind(v)),
                );
                None
            }
        }
    }

    fn count(&mut self, scope: Scope, key: &str, value: &Value, min: u32, max: u32) -> Option<u32> {
        let n = value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| (min..=max).contains(n));
        if n.is_none() {
            self.problem(
                scope,
                key,
                format!(
                    "must be a whole number from {min} to {max}, not {}",
                    kind(value)
                ),
            );
        }
        n
    }

    fn email(&mut self, map: &Map<String, Value>, key: &str, required: bool) -> Option<String> {
        let value = if required {
            self.required(Scope::Top, map, key)?
        } else {
            map.get(key).filter(|v| !v.is_null())?
        };
        let address = self.string(Scope::Top, key, value)?;
        let plausible = address.split_once('@').is_some_and(|(user, domain)| {
            !user.is_empty()
                && domain.contains('.')
                && !address.contains(|c: char| c.is_whitespace() || "<>,;\"".contains(c))
        });
        if !plausible && (required || !address.is_empty()) {
            self.problem(
                Scope::Top,
                key,
                format!("{address:?} is not an email address"),
            );
            return None;
        }
        Some(address)
    }
}

/// A short description of a YAML value for messages.
fn kind(value: &Value) -> String {
    match value {
        Value::Null => "nothing".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

/// Two keys at most two edits apart: a likely typo of each other.
pub(super) fn close(a: &str, b: &str) -> bool {
    let b: Vec<char> = b.chars().collect();
    // Levenshtein distance, one row at a time.
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    (1..=2).contains(&row[b.len()])
}
