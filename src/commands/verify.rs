//! `backup-server verify [TASK] [--sample PERCENT]`: do the copies still hold what
//! they should?
//!
//! Nothing else ever reads a target's copy back: bit rot, a half-failed disk or a
//! tampered target would go unnoticed until the day of a restore. So, for each task:
//! - each target's newest snapshot is compared with the backup disk's copy of the
//!   same date by content (rsync `--checksum` in a dry run, with itemized changes),
//!   every difference named: missing, extra, different content, different
//!   metadata, different hard links;
//! - the newest local snapshot is compared with the source for the files the source
//!   has not changed since (same size and modification time): a different content
//!   there is a snapshot (or a source) that rotted.
//!
//! With `--sample PERCENT` the contents of a random share of the files are read;
//! every entry is still compared, against the targets and against the source
//! alike, by what reads no contents (type, size, time, metadata). Nothing is
//! ever written but the record: both rsyncs run with `--dry-run`. It holds the run
//! lock, so it never reads a snapshot a run is changing. Each check is recorded; the
//! report, the pages and `metrics.prom` show the last verification.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::hash::BuildHasher;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use jiff::civil::Date;

use crate::clock::Clock;
use crate::config::Config;
use crate::engine::itemize::{self, ITEM, Item};
use crate::engine::rsync::Rsync;
use crate::error::Error;
use crate::exit::Exit;
use crate::lock::{RunLock, Work};
use crate::outcome::StepError;
use crate::plan::{Plan, TaskPlan};
use crate::record::{Against, Comparison, ComparisonOutcome, Record};
use crate::scripts::Scripts;
use crate::sides::Side;
use crate::state::StateDir;
use crate::step_log::StepLog;
use crate::words::{count, plural};
use crate::{journal, snapshot};

/// What `verify` was asked.
#[derive(Debug, Clone)]
pub struct Request {
    pub task: Option<String>,
    /// The share of files whose contents are read, in percent; `None`: all.
    pub sample: Option<f64>,
    /// Where to publish the history site afterwards, if anywhere.
    pub site_dir: Option<PathBuf>,
    /// Print the checks as JSON (crate::json) instead of in words.
    pub json: bool,
}

pub fn verify(
    config: &Config,
    plan: &Plan,
    state: &StateDir,
    scripts: &Scripts,
    clock: &Clock,
    request: &Request,
) -> Result<Exit, Error> {
    let sample = match request.sample {
        Some(p) if !(p > 0.0 && p <= 100.0) => {
            return Err(Error::Usage(format!(
                "--sample {p}: give a share of the files from 0.01 to 100 (percent)"
            )));
        }
        Some(p) if p < 100.0 => Some(p),
        _ => None,
    };
    let tasks = super::select(plan, config, request.task.as_deref())?;
    state.prepare().map_err(|error| Error::State {
        path: state.root().to_path_buf(),
        error,
    })?;
    let _lock = RunLock::acquire(&state.lock(), Work::Verify)?;
    let remote = tasks
        .iter()
        .any(|t| t.source.is_remote() || t.targets.iter().any(|g| g.dir.is_remote()));
    let ssh_config = if remote {
        crate::ssh::prepare(plan, state)
    } else {
        Ok(None)
    };
    let mut record = match Record::open(&state.log_db()) {
        Ok(record) => Some(record),
        Err(e) => {
            journal::error(&format!("{e}; the verification is not recorded"));
            None
        }
    };
    let mut unrecorded = record.is_none();
    let mut outcomes = Vec::new();
    let mut verified = Vec::new();
    for task in tasks {
        journal::info(&format!("task {}: verifying", task.name));
        let shown = crate::journal::progress::begin(&format!("task {}: verifying", task.name));
        let checks = Verifier {
            plan,
            task,
            state,
            scripts,
            ssh_config: &ssh_config,
            sample,
            started: clock.now(),
            clock,
        }
        .run();
        drop(shown);
        if !request.json {
            crate::journal::print_out(&words(task, &checks));
        }
        for check in &checks {
            outcomes.push(check.outcome);
            if let Some(record) = &mut record
                && let Err(e) = record.record_check(&task.name, check)
            {
                journal::error(&e.to_string());
                unrecorded = true;
            }
        }
        verified.push((task.name.clone(), checks));
    }
    if request.json {
        crate::json::print(&as_json(&verified));
    }
    let mut trouble = unrecorded;
    if let (Some(site_dir), Some(record)) = (&request.site_dir, &record)
        && let Err(e) = render_site(config, record, clock, site_dir)
    {
        journal::error(&Error::Site(e).to_string());
        trouble = true;
    }
    Ok(if outcomes.contains(&ComparisonOutcome::Differs) {
        Exit::Differs
    } else if trouble || outcomes.contains(&ComparisonOutcome::Failed) {
        Exit::TaskFailed
    } else {
        Exit::Success
    })
}

/// The site rendered again with the new verification in it (the lock is ours, so
/// no run is going).
fn render_site(
    config: &Config,
    record: &Record,
    clock: &Clock,
    site_dir: &Path,
) -> Result<(), crate::site::SiteError> {
    super::render_site::render(config, Some(record), None, None, clock, site_dir)
}

/// The checks of one task, in words.
fn words(task: &TaskPlan, checks: &[Comparison]) -> String {
    let mut out = String::new();
    let snapshots: BTreeSet<Date> = checks.iter().filter_map(|c| c.snapshot).collect();
    let _ = writeln!(
        out,
        "{}: {}",
        task.name,
        match snapshots.len() {
            0 => "nothing to compare".to_string(),
            _ => format!(
                "the snapshot {} on the backup disk",
                snapshots
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        }
    );
    for check in checks {
        let at = check
            .location
            .as_deref()
            .map(|l| format!(" ({l})"))
            .unwrap_or_default();
        let files = check
            .files_checked
            .map(|n| count(n as usize, "entry", "entries"))
            .unwrap_or_default();
        let sample = check
            .sample_percent
            .map(|p| format!(", the contents of a {p}% sample read"))
            .unwrap_or_default();
        let verdict = match check.outcome {
            ComparisonOutcome::Ok => format!("the same, {files} compared{sample}"),
            ComparisonOutcome::Differs => format!(
                "{} in {files} compared{sample}",
                plural(check.differences as usize, "difference")
            ),
            ComparisonOutcome::Failed => format!(
                "could not be checked: {}",
                check.message.as_deref().unwrap_or("no reason given")
            ),
        };
        let _ = writeln!(out, "  against {}{at}: {verdict}", check.against.words());
        for difference in &check.listed {
            let _ = writeln!(out, "    {difference}");
        }
    }
    out
}

/// One task's verification.
struct Verifier<'a> {
    plan: &'a Plan,
    task: &'a TaskPlan,
    state: &'a StateDir,
    scripts: &'a Scripts,
    ssh_config: &'a Result<Option<PathBuf>, crate::ssh::SetupError>,
    sample: Option<f64>,
    started: f64,
    clock: &'a Clock,
}

/// Why one comparison could not be made; its `Display` is the message recorded
/// with the comparison (and shown by `verify`, the report and the site). Cloned
/// when one cause stops every comparison of a task, hence the `Arc`s.
#[derive(Debug, Clone)]
enum VerifyError {
    /// The task's step log could not be created.
    Log {
        path: PathBuf,
        error: Arc<std::io::Error>,
    },
    /// SSH could not be set up (`ssh::prepare`'s words).
    Ssh(crate::ssh::SetupError),
    NoSshConfig,
    /// A side could not be reached, or an rsync failed: its reason in one line.
    Step(StepError),
    /// The backup disk's snapshots could not be listed (the side's words).
    ListBackupDisk(StepError),
    /// The target's snapshots could not be listed (the side's words).
    ListTarget(StepError),
    NothingLocal {
        task: String,
        dir: PathBuf,
    },
    /// The target holds no snapshot the backup disk holds too; `newest` is its
    /// newest, if it holds any.
    NoCommonSnapshot {
        newest: Option<Date>,
    },
    /// The exclude list could not be written.
    Write {
        path: PathBuf,
        error: Arc<std::io::Error>,
    },
    /// The snapshot could not be walked for a sample.
    Read {
        path: PathBuf,
        error: Arc<std::io::Error>,
    },
    /// The sample list could not be written (fs-err's error names it).
    Sample(Arc<std::io::Error>),
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VerifyError::Log { path, error } => {
                write!(f, "cannot create the log {}: {error}", path.display())
            }
            VerifyError::Ssh(why) => why.fmt(f),
            VerifyError::NoSshConfig => f.write_str("no ssh_config for the source"),
            VerifyError::Step(e) => f.write_str(&e.message),
            VerifyError::ListBackupDisk(e) => write!(f, "cannot list the backup disk: {e}"),
            VerifyError::ListTarget(e) => write!(f, "cannot list it: {e}"),
            VerifyError::NothingLocal { task, dir } => write!(
                f,
                "the backup disk holds no snapshot of task {task} ({})",
                dir.display()
            ),
            VerifyError::NoCommonSnapshot { newest: None } => f.write_str("it holds no snapshot"),
            VerifyError::NoCommonSnapshot {
                newest: Some(newest),
            } => write!(
                f,
                "it holds no snapshot the backup disk holds too (its newest is {newest})"
            ),
            VerifyError::Write { path, error } => {
                write!(f, "cannot write {}: {error}", path.display())
            }
            VerifyError::Read { path, error } => {
                write!(f, "cannot read {}: {error}", path.display())
            }
            VerifyError::Sample(e) => e.fmt(f),
        }
    }
}

/// What a comparison found.
#[derive(Default)]
struct Found {
    differences: BTreeSet<String>,
    files: u64,
}

impl Verifier<'_> {
    fn run(&self) -> Vec<Comparison> {
        let path = self.state.step_log(&self.task.name, "verify");
        let mut log = match StepLog::create(path.clone()) {
            Ok(log) => log,
            Err(e) => {
                let why = VerifyError::Log {
                    path: path.clone(),
                    error: Arc::new(e),
                };
                let mut against: Vec<Against> = self
                    .task
                    .targets
                    .iter()
                    .map(|t| Against::Target(t.name.clone()))
                    .collect();
                against.push(Against::Source);
                return against
                    .into_iter()
                    .map(|a| self.checked(a, Err(why.clone())))
                    .collect();
            }
        };
        let log = &mut log;
        let local_side = Side::backup_disk(self.task, self.scripts);
        let local = local_side.list_quietly().map(|l| l.snapshots);
        let mut checks = Vec::new();
        for target in &self.task.targets {
            let against = Against::Target(target.name.clone());
            let check = match &local {
                Ok(snapshots) if !snapshots.is_empty() => {
                    self.target_check(log, &local_side, snapshots, target)
                }
                Ok(_) => Err(self.nothing_local()),
                Err(e) => Err(VerifyError::ListBackupDisk(e.clone())),
            };
            checks.push(self.checked(against, check));
        }
        let check = match &local {
            Ok(snapshots) => match snapshots.last() {
                Some(newest) => self.source_check(log, *newest),
                None => Err(self.nothing_local()),
            },
            Err(e) => Err(VerifyError::ListBackupDisk(e.clone())),
        };
        checks.push(self.checked(Against::Source, check));
        checks
    }

    fn nothing_local(&self) -> VerifyError {
        VerifyError::NothingLocal {
            task: self.task.name.clone(),
            dir: self.task.local_dir.clone(),
        }
    }

    /// A check's record from what it found, or why it could not be made.
    fn checked(
        &self,
        against: Against,
        check: Result<(Date, String, Found), VerifyError>,
    ) -> Comparison {
        let mut record = Comparison {
            started: self.started,
            ended: self.clock.now(),
            against,
            snapshot: None,
            location: None,
            sample_percent: self.sample,
            outcome: ComparisonOutcome::Failed,
            files_checked: None,
            differences: 0,
            listed: Vec::new(),
            message: None,
        };
        match check {
            Ok((date, location, found)) => {
                record.snapshot = Some(date);
                record.location = Some(location);
                record.files_checked = Some(found.files);
                record.differences = found.differences.len() as u64;
                record.outcome = if found.differences.is_empty() {
                    ComparisonOutcome::Ok
                } else {
                    ComparisonOutcome::Differs
                };
                record.listed = found.differences.into_iter().collect();
            }
            Err(why) => record.message = Some(why.to_string()),
        }
        record
    }

    /// The target's newest snapshot that the backup disk holds too, compared.
    fn target_check(
        &self,
        log: &mut StepLog,
        local_side: &Side,
        local: &BTreeSet<Date>,
        target: &crate::plan::TargetPlan,
    ) -> Result<(Date, String, Found), VerifyError> {
        let ssh_config = match (target.dir.is_remote(), self.ssh_config) {
            (true, Err(why)) => return Err(VerifyError::Ssh(why.clone())),
            (_, config) => config.as_ref().ok().and_then(|c| c.as_deref()),
        };
        let side = Side::target(target, self.scripts, ssh_config).map_err(VerifyError::Step)?;
        let listing = side.list_quietly().map_err(VerifyError::ListTarget)?;
        let theirs = &listing.snapshots;
        let Some(date) = theirs.iter().rev().find(|d| local.contains(d)).copied() else {
            return Err(VerifyError::NoCommonSnapshot {
                newest: theirs.last().copied(),
            });
        };
        let ours = local_side.rsync_spec(date, "");
        let theirs_arg = side.rsync_spec(date, "");
        let theirs = side.spec(date, "");
        let mut compare = |extra: &[&str], files_from: Option<&Path>| {
            let mut command = itemize::rsync_with(&side, &listing);
            command.args(["--dry-run", "--stats", ITEM]).args(extra);
            if let Some(list) = files_from {
                command
                    .arg(format!("--files-from={}", list.display()))
                    .args(["--from0", "--no-implied-dirs"]);
            }
            command
                .arg("--")
                .arg(format!("{ours}/"))
                .arg(format!("{theirs_arg}/"));
            self.items(log, &mut command, &theirs)
        };
        let mut found = Found::default();
        match self.sample {
            None => {
                let (items, files) = compare(&["--checksum", "--delete"], None)?;
                found.files = files;
                found.differences = copy_differences(&items).into_iter().collect();
            }
            Some(percent) => {
                // Every entry by type, size, time and metadata; then the contents of
                // the sample.
                let (items, files) = compare(&["--delete"], None)?;
                found.files = files;
                found.differences = copy_differences(&items).into_iter().collect();
                let list =
                    self.sample_list(&self.task.local_dir.join(snapshot::name(date)), percent)?;
                let (items, _) = compare(&["--checksum"], Some(&list))?;
                found.differences.extend(copy_differences(&items));
            }
        }
        Ok((date, theirs, found))
    }

    /// The files of the newest local snapshot that the source has not changed since
    /// (same size and time), compared by content with the source.
    fn source_check(
        &self,
        log: &mut StepLog,
        date: Date,
    ) -> Result<(Date, String, Found), VerifyError> {
        let task = self.task;
        let snapshot_dir = task.local_dir.join(snapshot::name(date));
        // As the backup read it: the same patterns, passed the same way (a source
        // it refuses has no snapshots).
        let mut excludes = task.excludes.clone();
        if let Some(source) = task.source.local_path() {
            excludes.extend(
                crate::engine::protected_inside(self.plan, self.state, source).unwrap_or_default(),
            );
        }
        let exclude_file = self.state.verify_excludes(&task.name);
        crate::engine::excludes::write(&exclude_file, &excludes).map_err(|e| {
            VerifyError::Write {
                path: exclude_file.clone(),
                error: Arc::new(e),
            }
        })?;
        let ssh_config = match (task.source.is_remote(), self.ssh_config) {
            (false, _) => None,
            (true, Ok(Some(config))) => Some(config.as_path()),
            (true, Ok(None)) => return Err(VerifyError::NoSshConfig),
            (true, Err(why)) => return Err(VerifyError::Ssh(why.clone())),
        };
        let destination = snapshot_dir.display().to_string();
        let mut compare = |checksum: bool, files_from: Option<&Path>| {
            let rsync = Rsync::snapshot()
                .with("--dry-run")
                .with("--stats")
                .with(ITEM)
                .when(checksum, "--checksum")
                .when(task.one_file_system, "--one-file-system")
                .when(ssh_config.is_some(), "--protect-args")
                .ssh(ssh_config);
            let mut command = rsync.command();
            command.args(crate::engine::excludes::options(&exclude_file));
            if let Some(list) = files_from {
                command
                    .arg(format!("--files-from={}", list.display()))
                    .args(["--no-implied-dirs"]);
            }
            command
                .arg("--")
                .arg(format!("{}/", task.source.for_rsync()))
                .arg(format!("{destination}/"));
            self.items(log, &mut command, &destination)
        };
        let (differences, files) = match self.sample {
            None => {
                let (items, files) = compare(true, None)?;
                (source_differences(&items), files)
            }
            Some(percent) => {
                // Every entry by what reads no contents (a size that changed under a
                // time that did not); then the contents of the sample.
                let (items, files) = compare(false, None)?;
                let mut differences = source_differences(&items);
                let list = self.sample_list(&snapshot_dir, percent)?;
                let (items, _) = compare(true, Some(&list))?;
                // One that the first pass found says the same again: a set keeps it once.
                differences.extend(source_differences(&items));
                (differences, files)
            }
        };
        Ok((date, task.source.to_string(), Found { differences, files }))
    }

    /// Runs a dry-run rsync; its items and the number of files it compared.
    fn items(
        &self,
        log: &mut StepLog,
        command: &mut Command,
        destination: &str,
    ) -> Result<(Vec<Item>, u64), VerifyError> {
        let (items, warnings, stats) =
            itemize::run(command, log, destination).map_err(VerifyError::Step)?;
        for warning in warnings {
            journal::warn(&format!("task {}: {warning}", self.task.name));
        }
        Ok((items, stats.files_total))
    }

    /// A random `percent` of the regular files of `snapshot` (at least one, if it
    /// holds any), written NUL-separated for `--files-from --from0`.
    fn sample_list(&self, snapshot: &Path, percent: f64) -> Result<PathBuf, VerifyError> {
        let mut files = Vec::new();
        walk(snapshot, Path::new(""), &mut files).map_err(|e| VerifyError::Read {
            path: snapshot.to_path_buf(),
            error: Arc::new(e),
        })?;
        // A fresh RandomState is keyed at random: a different sample each time.
        let keys = std::hash::RandomState::new();
        let threshold = (percent / 100.0 * u64::MAX as f64) as u64;
        let hash = |f: &PathBuf| keys.hash_one(f);
        let mut chosen: Vec<&PathBuf> = files.iter().filter(|f| hash(f) <= threshold).collect();
        if chosen.is_empty()
            && let Some(one) = files.iter().min_by_key(|f| hash(f))
        {
            chosen.push(one);
        }
        let path = self
            .state
            .work()
            .join(format!("{}.verify-sample", self.task.name));
        let sample = |e| VerifyError::Sample(Arc::new(e));
        let mut out = fs_err::File::create(&path).map_err(sample)?;
        for file in chosen {
            use std::os::unix::ffi::OsStrExt;
            out.write_all(file.as_os_str().as_bytes())
                .and_then(|()| out.write_all(b"\0"))
                .map_err(sample)?;
        }
        Ok(path)
    }
}

/// Every regular file under `root/relative`, never following a symlink.
fn walk(root: &Path, relative: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs_err::read_dir(root.join(relative))? {
        let entry = entry?;
        let path = relative.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(root, &path, out)?;
        } else if kind.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// What the items of the source → local snapshot dry run say rotted: a file the
/// source has not changed since (same time) whose size or contents differ.
fn source_differences(items: &[Item]) -> BTreeSet<String> {
    items
        .iter()
        .filter(|i| i.kind() == 'f' && !i.has('t') && !i.is_new())
        .filter_map(|i| {
            if i.has('s') {
                Some(format!(
                    "different size from the source, which has the same time: {}",
                    i.name.display()
                ))
            } else if i.has('c') {
                Some(format!(
                    "different content from the source, which has the same size and time: {}",
                    i.name.display()
                ))
            } else {
                None
            }
        })
        .collect()
}

/// What the items of the local snapshot → target dry run say is different.
fn copy_differences(items: &[Item]) -> Vec<String> {
    let changed: BTreeSet<&Path> = items.iter().map(|i| i.name.as_path()).collect();
    // rsync lists the other names of a file it would change as hard links to it: they
    // are the same file there too, named with it.
    let follows = |item: &Item| {
        item.flags.starts_with('h')
            && !item.is_new()
            && item
                .linked_to
                .as_deref()
                .is_some_and(|to| changed.contains(to))
    };
    let mut also: std::collections::BTreeMap<&Path, Vec<String>> = Default::default();
    for item in items.iter().filter(|i| follows(i)) {
        if let Some(to) = item.linked_to.as_deref() {
            also.entry(to)
                .or_default()
                .push(item.name.display().to_string());
        }
    }
    items
        .iter()
        .filter(|i| !follows(i))
        .filter_map(|item| {
            let difference = copy_difference(item)?;
            Some(match also.get(item.name.as_path()) {
                Some(names) => format!("{difference} (one file with {})", names.join(", ")),
                None => difference,
            })
        })
        .collect()
}

/// What one item of the local snapshot → target dry run says is different.
fn copy_difference(item: &Item) -> Option<String> {
    let name = if item.name.as_os_str().is_empty() || item.name == Path::new(".") {
        "(the snapshot's top directory)".to_string()
    } else {
        item.name.display().to_string()
    };
    if item.flags == "*deleting" {
        return Some(format!("extra on the target: {name}"));
    }
    if item.is_new() {
        return Some(format!("missing on the target: {name}"));
    }
    if item.flags.starts_with('h') {
        let with = item
            .linked_to
            .as_deref()
            .map_or("another entry".to_string(), |to| to.display().to_string());
        return Some(format!(
            "different hard links: {name} is not one file with {with}"
        ));
    }
    if item.has('c') || item.has('s') {
        return Some(format!("different content: {name}"));
    }
    let what: Vec<&str> = [
        ('t', "time"),
        ('p', "permissions"),
        ('o', "owner"),
        ('g', "group"),
        ('a', "ACL"),
        ('x', "extended attributes"),
    ]
    .into_iter()
    .filter(|(flag, _)| item.has(*flag))
    .map(|(_, word)| word)
    .collect();
    (!what.is_empty()).then(|| format!("different metadata ({}): {name}", what.join(", ")))
}

/// `verify --json`: each task's checks, as recorded.
fn as_json(tasks: &[(String, Vec<Comparison>)]) -> serde_json::Value {
    serde_json::json!({
        "version": crate::json::VERSION,
        "tasks": tasks.iter().map(|(name, checks)| serde_json::json!({
            "name": name,
            "checks": checks.iter().map(json_check).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn json_check(c: &Comparison) -> serde_json::Value {
    use crate::record::Against;
    let (against, target) = match &c.against {
        Against::Source => ("source", None),
        Against::Target(name) => ("target", Some(name)),
    };
    serde_json::json!({
        "against": against,
        "target": target,
        "snapshot": c.snapshot.map(|d| d.to_string()),
        "location": c.location,
        "outcome": c.outcome.word(),
        "sample_percent": c.sample_percent,
        "files_checked": c.files_checked,
        "differences": c.differences,
        "listed": c.listed,
        "message": c.message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_difference_is_named() {
        let said = |line: &str| copy_difference(&Item::parse(line).unwrap());
        assert_eq!(
            said("item >fc........ docs/report.txt//docs/report.txt").as_deref(),
            Some("different content: docs/report.txt")
        );
        assert_eq!(
            said("item >f+++++++++ docs/notes.md//docs/notes.md").as_deref(),
            Some("missing on the target: docs/notes.md")
        );
        assert_eq!(
            said("item *deleting   stray//stray").as_deref(),
            Some("extra on the target: stray")
        );
        assert_eq!(
            said("item .f...po.... photos/cat.jpg//photos/cat.jpg").as_deref(),
            Some("different metadata (permissions, owner): photos/cat.jpg")
        );
        assert_eq!(
            said("item hf          docs/link//docs/link => docs/file").as_deref(),
            Some("different hard links: docs/link is not one file with docs/file")
        );
        let items: Vec<Item> = [
            "item .f...p..... docs/file//docs/file",
            "item hf          docs/link//docs/link => docs/file",
        ]
        .into_iter()
        .map(|l| Item::parse(l).unwrap())
        .collect();
        assert_eq!(
            copy_differences(&items),
            ["different metadata (permissions): docs/file (one file with docs/link)"],
            "one file changed, named once with its other names"
        );
        assert_eq!(
            said("item .d..t...... .///./").as_deref(),
            Some("different metadata (time): (the snapshot's top directory)")
        );
        assert_eq!(said("item .f......... unchanged//unchanged"), None);
    }
}
