//! `backup-server restore TASK PATH`: a file or a directory tree copied out of a
//! snapshot, as it was: contents, owners, modes, times, hard links, symlinks, ACLs
//! and xattrs.
//!
//! A backup is only as good as its restore, and a restore done by hand with `cp -a`
//! from a directory found by hand loses hard links and ACLs, and can overwrite the
//! very files one meant to save. So this one is careful: it says what it will do
//! before it does it (and `--dry-run` stops there); it writes into a new directory
//! unless told where (`--to`); it never writes into a snapshot or anywhere in a
//! backup directory; it replaces nothing that exists unless `--overwrite` says so,
//! and then names what it replaces; it never follows a symlink inside the snapshot
//! out of it; and from a target it reads with the sync's own settings.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use jiff::civil::Date;

use crate::config::Config;
use crate::engine::itemize::{self, ITEM};
use crate::error::{Error, RestoreError};
use crate::exit::Exit;
use crate::plan::{Plan, TaskPlan};
use crate::scripts::Scripts;
use crate::sides::LOCAL;
use crate::sides::{Kind, Side};
use crate::state::StateDir;
use crate::step_log::StepLog;
use crate::words::{count, plural};

/// What `restore` was asked.
#[derive(Debug, Clone)]
pub struct Request {
    pub task: String,
    /// Inside the snapshot (relative), or as it was in the source (absolute).
    pub path: String,
    /// `latest` (the default) or `YYYY-MM-DD`.
    pub date: Option<String>,
    /// `local` (the default), a target's name, or `target` for a task's only target.
    pub from: Option<String>,
    /// Where to put it; default `./restored-TASK-DATE`.
    pub to: Option<PathBuf>,
    pub dry_run: bool,
    pub overwrite: bool,
}

/// How many of the entries it would replace a refusal names.
const NAMED: usize = 20;

pub fn restore(
    config: &Config,
    plan: &Plan,
    state: &StateDir,
    scripts: &Scripts,
    request: &Request,
) -> Result<Exit, Error> {
    let task = super::select(plan, config, Some(&request.task))?[0];
    let target = from(task, request.from.as_deref())?;
    let ssh_config = match target {
        Some(t) if t.dir.is_remote() => {
            crate::ssh::prepare(plan, state).map_err(RestoreError::Ssh)?
        }
        _ => None,
    };
    let side = match target {
        Some(target) => {
            Side::target(target, scripts, ssh_config.as_deref()).map_err(RestoreError::Side)?
        }
        None => Side::backup_disk(task, scripts),
    };
    let listing = side.list_quietly().map_err(|error| RestoreError::List {
        side: side.described(),
        error,
    })?;
    let date = pick_date(task, &side, &listing.snapshots, request.date.as_deref())?;
    let parts = parts_of(task, &request.path)?;
    check_path(&side, date, &parts)?;

    let relative = parts.join("/");
    let into = destination(plan, task, date, request.to.as_deref())?;
    let lands = match parts.last() {
        Some(name) => into.join(name),
        None => into.clone(),
    };
    // The whole snapshot is its contents (`DATE/`), placed into DIR itself.
    let source = match relative.is_empty() {
        true => format!("{}/", side.spec(date, "")),
        false => side.spec(date, &relative),
    };
    let source_arg = match relative.is_empty() {
        true => format!("{}/", side.rsync_spec(date, "")),
        false => side.rsync_spec(date, &relative),
    };
    let shown = if relative.is_empty() {
        "the whole snapshot".to_string()
    } else {
        relative.clone()
    };
    let mut said = format!(
        "Restoring {shown} from the snapshot {date} of task {} on {}:\n  {source}\n\
         into {}, with owners, modes, times, hard links, ACLs and xattrs.\n",
        task.name,
        side.words(),
        lands.display()
    );

    // The dry run: what rsync would write, and which of it is already there.
    let mut log = StepLog::discard().map_err(RestoreError::Log)?;
    let destination = format!("{}/", into.display());
    let mut dry = itemize::rsync_with(&side, &listing);
    dry.args(["--dry-run", "--stats", ITEM, "--"])
        .arg(&source_arg)
        .arg(&destination);
    let (items, _, stats) =
        itemize::run(&mut dry, &mut log, &destination).map_err(RestoreError::DryRun)?;
    // What is there already: files, links and the like are replaced only when asked;
    // directories are merged into, taking the snapshot's owner, mode and times.
    let (mut existing, mut merged) = (Vec::new(), Vec::new());
    for item in &items {
        let path = into.join(&item.name);
        match path.symlink_metadata() {
            Ok(meta) if meta.is_dir() && item.kind() == 'd' => merged.push(path),
            Ok(_) => existing.push(path),
            Err(_) => {}
        }
    }
    let _ = writeln!(
        said,
        "It holds {}, {} in all.",
        count(stats.files_total as usize, "entry", "entries"),
        crate::words::bytes(stats.total_size)
    );
    if items.is_empty() {
        said.push_str("All of it is there already, as in the snapshot: nothing to do.\n");
        crate::journal::print_out(&said);
        return Ok(Exit::Success);
    }
    if !merged.is_empty() {
        let _ = writeln!(
            said,
            "It merges into {} already there, giving {} the snapshot's owner, mode and times.",
            count(merged.len(), "directory", "directories"),
            if merged.len() == 1 { "it" } else { "them" }
        );
    }
    if !existing.is_empty() && !request.overwrite {
        crate::journal::print_out(&said);
        return Err(Error::Usage(format!(
            "refusing to overwrite: {} already in {} would be replaced or changed \
             (nothing was written; add --overwrite to replace them, or choose another --to):{}",
            count(existing.len(), "entry", "entries"),
            into.display(),
            named(&existing)
        )));
    }
    if !existing.is_empty() {
        let _ = writeln!(
            said,
            "It replaces or changes {} already there (--overwrite):{}",
            count(existing.len(), "entry", "entries"),
            named(&existing)
        );
    }
    if request.dry_run {
        said.push_str("Dry run: nothing was written.\n");
        crate::journal::print_out(&said);
        return Ok(Exit::Success);
    }
    crate::journal::print_out(&said);

    let mut real = itemize::rsync_with(&side, &listing);
    real.args(["--stats", ITEM])
        .args(crate::journal::progress::rsync_options())
        .arg("--")
        .arg(&source_arg)
        .arg(&destination);
    let shown = crate::journal::progress::begin(&format!("restoring {}", lands.display()));
    let copied = itemize::run(&mut real, &mut log, &destination);
    drop(shown);
    let (_, warnings, stats) = copied.map_err(|error| RestoreError::Copy {
        lands: lands.clone(),
        error,
    })?;
    for warning in &warnings {
        crate::journal::warn(warning);
    }
    crate::journal::print_out(&format!(
        "Restored {} ({}) into {}.\n",
        plural(stats.files_transferred as usize, "file"),
        crate::words::bytes(stats.bytes_transferred),
        lands.display()
    ));
    Ok(Exit::Success)
}

/// The target `--from` names (`None`: the backup disk).
fn from<'a>(
    task: &'a TaskPlan,
    from: Option<&str>,
) -> Result<Option<&'a crate::plan::TargetPlan>, Error> {
    let names = || {
        std::iter::once(LOCAL)
            .chain(task.targets.iter().map(|t| t.name.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match from {
        None | Some(LOCAL) => Ok(None),
        Some(name) => {
            if let Some(target) = task.targets.iter().find(|t| t.name == name) {
                return Ok(Some(target));
            }
            match (name, task.targets.as_slice()) {
                ("target", [only]) => Ok(Some(only)),
                _ => Err(Error::Usage(format!(
                    "--from {name}: task {} has no such copy; it has {}",
                    task.name,
                    names()
                ))),
            }
        }
    }
}

/// The snapshot `--date` names, if `side` holds it.
fn pick_date(
    task: &TaskPlan,
    side: &Side,
    snapshots: &std::collections::BTreeSet<Date>,
    date: Option<&str>,
) -> Result<Date, Error> {
    let held = || match (snapshots.first(), snapshots.last()) {
        (Some(first), Some(last)) => format!(
            "it holds {} from {first} to {last}",
            plural(snapshots.len(), "snapshot")
        ),
        _ => "it holds none".to_string(),
    };
    let wanted = match date {
        None | Some("latest") => {
            return snapshots.last().copied().ok_or_else(|| {
                Error::Usage(format!(
                    "task {} has no snapshot on {}",
                    task.name,
                    side.described()
                ))
            });
        }
        Some(text) => crate::snapshot::parse_name(text).ok_or_else(|| {
            Error::Usage(format!(
                "--date {text:?} is not a date: give YYYY-MM-DD or latest"
            ))
        })?,
    };
    if snapshots.contains(&wanted) {
        return Ok(wanted);
    }
    Err(Error::Usage(format!(
        "there is no snapshot {wanted} of task {} on {}: {} (see backup-server list {})",
        task.name,
        side.described(),
        held(),
        task.name
    )))
}

/// `path` as the names of its steps inside the snapshot: relative as given, or
/// absolute under the task's source.
fn parts_of(task: &TaskPlan, path: &str) -> Result<Vec<String>, Error> {
    let source = task.source.path();
    let relative = if path.trim_start_matches('/').is_empty() && !path.is_empty() {
        // `/`: the whole snapshot, as the README says.
        String::new()
    } else if path.starts_with('/') {
        match Path::new(path).strip_prefix(source) {
            Ok(rest) => rest.to_string_lossy().into_owned(),
            Err(_) => {
                return Err(Error::Usage(format!(
                    "{path} is not inside the source of task {} ({}): give a path inside the \
                     snapshot, or one under {}",
                    task.name,
                    task.source,
                    source.display()
                )));
            }
        }
    } else {
        path.to_string()
    };
    let mut parts = Vec::new();
    for part in relative.split('/') {
        match part {
            "" | "." => continue,
            ".." => {
                return Err(Error::Usage(format!(
                    "{path}: '..' may not step out of the snapshot"
                )));
            }
            part => parts.push(part.to_string()),
        }
    }
    Ok(parts)
}

/// That `parts` leads to an entry of the snapshot through real directories only.
fn check_path(side: &Side, date: Date, parts: &[String]) -> Result<(), Error> {
    let mut log = StepLog::discard().map_err(RestoreError::Log)?;
    let kinds = side
        .lookup(&mut log, date, parts)
        .map_err(|error| RestoreError::LookInside {
            snapshot: side.spec(date, ""),
            error,
        })?;
    for (i, kind) in kinds.iter().enumerate() {
        let so_far = parts[..=i].join("/");
        let last = i + 1 == parts.len();
        match kind {
            Kind::Missing => {
                return Err(Error::Usage(format!(
                    "there is no {so_far} in the snapshot {date} on {} (see its contents at {})",
                    side.words(),
                    side.spec(date, "")
                )));
            }
            Kind::Directory => {}
            _ if last => {}
            Kind::Symlink => {
                return Err(Error::Usage(format!(
                    "{so_far} is a symlink in the snapshot {date}: a restore never follows one \
                     out of the snapshot; restore {so_far} itself, or the path it points to"
                )));
            }
            _ => {
                return Err(Error::Usage(format!(
                    "{so_far} is not a directory in the snapshot {date}"
                )));
            }
        }
    }
    if kinds.len() < parts.len() {
        return Err(RestoreError::Unlookable {
            date,
            side: side.words(),
        }
        .into());
    }
    Ok(())
}

/// Where the restored entry goes: `--to`, or `./restored-TASK-DATE`; never inside
/// a backup directory.
fn destination(
    plan: &Plan,
    task: &TaskPlan,
    date: Date,
    to: Option<&Path>,
) -> Result<PathBuf, Error> {
    let cwd = std::env::current_dir().map_err(RestoreError::CurrentDir)?;
    let to = match to {
        Some(to) => cwd.join(to),
        None => cwd.join(format!("restored-{}-{date}", task.name)),
    };
    let real = resolved(&to).map_err(|e| {
        Error::Usage(format!(
            "--to {}: {e}; create the directory above it first",
            to.display()
        ))
    })?;
    for backups in &plan.protected {
        let backups_real = resolved(backups).unwrap_or_else(|_| backups.clone());
        if real.starts_with(&backups_real) {
            return Err(Error::Usage(format!(
                "refusing to restore into {}: it is inside the backup directory {}, and a \
                 restore never writes into a snapshot or beside one",
                to.display(),
                backups.display()
            )));
        }
    }
    if real.symlink_metadata().is_ok_and(|m| !m.is_dir()) {
        return Err(Error::Usage(format!(
            "--to {}: it exists and is not a directory",
            to.display()
        )));
    }
    Ok(real)
}

/// `path` with symlinks resolved: the nearest existing ancestor's real path, and
/// what does not exist yet after it; the directory above a new one must exist.
fn resolved(path: &Path) -> Result<PathBuf, Unresolved> {
    if let Ok(real) = std::fs::canonicalize(path) {
        return Ok(real);
    }
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(Unresolved::NotADirectoryPath);
    };
    match std::fs::canonicalize(parent) {
        Ok(parent) if parent.is_dir() => Ok(parent.join(name)),
        Ok(parent) => Err(Unresolved::ParentNotADirectory(parent)),
        Err(error) => Err(Unresolved::Parent {
            parent: parent.to_path_buf(),
            error,
        }),
    }
}

/// Why `--to` cannot be resolved to a place: the words that follow "--to PATH: " in
/// the usage error.
#[derive(Debug)]
enum Unresolved {
    NotADirectoryPath,
    ParentNotADirectory(PathBuf),
    Parent {
        parent: PathBuf,
        error: std::io::Error,
    },
}

impl std::fmt::Display for Unresolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unresolved::NotADirectoryPath => f.write_str("not a directory path"),
            Unresolved::ParentNotADirectory(parent) => {
                write!(f, "{} is not a directory", parent.display())
            }
            Unresolved::Parent { parent, error } => write!(f, "{}: {error}", parent.display()),
        }
    }
}

/// The first `NAMED` of `paths`, one a line, and how many more.
fn named(paths: &[PathBuf]) -> String {
    let mut out = String::new();
    for path in paths.iter().take(NAMED) {
        let _ = write!(out, "\n  {}", path.display());
    }
    if paths.len() > NAMED {
        let _ = write!(out, "\n  and {} more", paths.len() - NAMED);
    }
    out
}
