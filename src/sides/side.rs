//! One side of a task: its directory of snapshots on the backup disk or on a target,
//! on this machine or over SSH. The one type the engine, `list`, `restore`, `verify`
//! and `doctor` act on a side through; how a side is reached is matched here alone,
//! so a new kind of side is one new variant of `At` and what it does in this file.
//!
//! Every side is changed by the same POSIX sh script (`scripts/snapshots.sh`): run
//! here with an argv, or on an SSH target as `ssh HOST sh -s -- OP DIR ...` with the
//! script on stdin, its words quoted for any POSIX shell (dash, busybox ash, bash),
//! whatever the target user's login shell is.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use jiff::civil::Date;

use super::listing::{self, Commit, Leftover, Listing, Made, Way};
use crate::config::Location;
use crate::outcome::{ErrorKind, StepError};
use crate::plan::{Plan, TargetPlan, TaskPlan};
use crate::scripts::Scripts;
use crate::snapshot;
use crate::step_log::StepLog;

/// The name of the backup disk among the sides (a target may not take it).
pub const LOCAL: &str = "local";

/// Where a side's directory is.
#[derive(Debug, Clone, Copy)]
enum At<'a> {
    Here,
    Ssh { host: &'a str, config: &'a Path },
}

/// A task directory that holds snapshots, and the way to act on it.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    /// `local`, or the target's name.
    pub name: &'a str,
    dir: &'a Path,
    at: At<'a>,
    /// The target, when the side is one.
    pub target: Option<&'a TargetPlan>,
    script: &'a Path,
}

impl<'a> Side<'a> {
    /// The task's directory on the backup disk.
    pub fn backup_disk(task: &'a TaskPlan, scripts: &'a Scripts) -> Side<'a> {
        Side {
            name: LOCAL,
            dir: &task.local_dir,
            at: At::Here,
            target: None,
            script: &scripts.snapshots,
        }
    }

    /// The target's task directory; `ssh_config` is needed when it is over SSH.
    pub fn target(
        target: &'a TargetPlan,
        scripts: &'a Scripts,
        ssh_config: Option<&'a Path>,
    ) -> Result<Side<'a>, StepError> {
        let (dir, at) = match &target.dir {
            Location::Local(dir) => (dir.as_path(), At::Here),
            Location::Remote { host, path } => {
                let config = ssh_config.ok_or_else(|| {
                    StepError::new(ErrorKind::Io, "no ssh_config was written for this run")
                })?;
                (path.as_path(), At::Ssh { host, config })
            }
        };
        Ok(Side {
            name: &target.name,
            dir,
            at,
            target: Some(target),
            script: &scripts.snapshots,
        })
    }

    /// Whether the side is reached over SSH.
    pub fn is_remote(&self) -> bool {
        matches!(self.at, At::Ssh { .. })
    }

    /// The ssh_config that reaches it, when it is over SSH.
    pub fn ssh_config(&self) -> Option<&'a Path> {
        match self.at {
            At::Here => None,
            At::Ssh { config, .. } => Some(config),
        }
    }

    /// `the backup disk` or `target remote`.
    pub fn words(&self) -> String {
        match self.target {
            None => "the backup disk".to_string(),
            Some(target) => format!("target {}", target.name),
        }
    }

    /// `the backup disk (/srv/backup/data)`, `target remote (nas:/backup/data)`.
    pub fn described(&self) -> String {
        format!("{} ({self})", self.words())
    }

    /// `path` (relative, `/`-separated; empty: the snapshot itself) inside the
    /// snapshot `date`, as a person reads it: `/dir/DATE/path` or `host:/dir/DATE/path`.
    pub fn spec(&self, date: Date, path: &str) -> String {
        let at = self.inside(date, path);
        match self.at {
            At::Here => at.display().to_string(),
            At::Ssh { host, .. } => format!("{host}:{}", at.display()),
        }
    }

    /// `spec`, as an argument to rsync: on a remote side its wildcard characters
    /// escaped (`Location::for_rsync`), so `a b*` brings `a b*` alone, not `a bX`.
    pub fn rsync_spec(&self, date: Date, path: &str) -> String {
        let at = self.inside(date, path);
        match self.at {
            At::Here => at.display().to_string(),
            At::Ssh { host, .. } => Location::Remote {
                host: host.to_string(),
                path: at,
            }
            .for_rsync(),
        }
    }

    fn inside(&self, date: Date, path: &str) -> PathBuf {
        let mut at = self.dir.join(snapshot::name(date));
        if !path.is_empty() {
            at.push(path);
        }
        at
    }

    /// Its snapshots and free space, with no step log to write to (`list`, `verify`).
    pub fn list_quietly(&self) -> Result<Listing, StepError> {
        let mut log = StepLog::discard()
            .map_err(|e| StepError::new(ErrorKind::Io, format!("cannot open /dev/null: {e}")))?;
        self.list(&mut log)
    }

    /// The task directory, when it is on this machine.
    pub fn local_dir(&self) -> Option<&'a Path> {
        match self.at {
            At::Here => Some(self.dir),
            At::Ssh { .. } => None,
        }
    }

    /// The host, as the config names it, when the side is over SSH.
    pub fn host(&self) -> Option<&'a str> {
        match self.at {
            At::Here => None,
            At::Ssh { host, .. } => Some(host),
        }
    }

    /// The script's call `op dir args...`, here or over ssh.
    fn command(&self, op: &str, args: &[String]) -> Result<Command, StepError> {
        let dir = self.dir.to_string_lossy();
        let words: Vec<&str> = [op, &dir]
            .into_iter()
            .chain(args.iter().map(String::as_str))
            .collect();
        match self.at {
            At::Here => {
                let mut command = Command::new(self.script);
                command.args(&words).stdin(Stdio::null());
                Ok(command)
            }
            At::Ssh { host, config } => {
                let script = fs_err::File::open(self.script).map_err(|e| {
                    StepError::new(ErrorKind::Io, format!("cannot read the step script: {e}"))
                })?;
                let remote = std::iter::once("sh -s --".to_string())
                    .chain(words.iter().map(|w| crate::shell::quote(w)))
                    .collect::<Vec<_>>()
                    .join(" ");
                let mut command = Command::new("ssh");
                command
                    .arg("-F")
                    .arg(config)
                    .args(["--", host, &remote])
                    .stdin(script.into_file());
                Ok(command)
            }
        }
    }

    /// Runs `snapshots.sh op dir args...`; returns the listing it ends with and its
    /// warnings.
    fn call(
        &self,
        log: &mut StepLog,
        op: &str,
        args: &[String],
    ) -> Result<(Listing, Vec<String>), StepError> {
        let (stdout, warnings) = self.output(log, op, args)?;
        let listing = listing::parse(&stdout);
        log.line(&format!(
            "{self} holds {} snapshot{}{}",
            listing.snapshots.len(),
            if listing.snapshots.len() == 1 {
                ""
            } else {
                "s"
            },
            listing
                .newest()
                .map(|d| format!(", the newest {d}"))
                .unwrap_or_default()
        ));
        Ok((listing, warnings))
    }

    /// Runs `snapshots.sh op dir args...`; returns what it printed on stdout and its
    /// warnings, or why it failed.
    fn output(
        &self,
        log: &mut StepLog,
        op: &str,
        args: &[String],
    ) -> Result<(Vec<u8>, Vec<String>), StepError> {
        let mut command = self.command(op, args)?;
        let mut warnings = Vec::new();
        let mut refusal = None;
        let mut ssh = None;
        let mut first = None;
        let (code, stdout) = log
            .capture(&mut command, |line| {
                if let Some(warning) = line.strip_prefix("warning: ") {
                    warnings.push(warning.to_string());
                } else if line.starts_with("note: ") {
                    // What it did: in the log already.
                } else if let Some(reason) = line.strip_prefix("snapshots.sh: ") {
                    refusal.get_or_insert_with(|| reason.to_string());
                } else if let Some(reason) = crate::ssh::failure(line) {
                    ssh.get_or_insert(reason);
                } else if !line.trim().is_empty() {
                    first.get_or_insert_with(|| line.to_string());
                }
            })
            .map_err(|e| StepError::new(ErrorKind::Io, e.to_string()))?;
        match (code, refusal, ssh) {
            (Some(0), ..) => Ok((stdout, warnings)),
            (Some(2), Some(reason), _) => Err(StepError::new(ErrorKind::Refused, reason)),
            (Some(3), Some(reason), _) => Err(StepError::new(ErrorKind::Unavailable, reason)),
            (_, _, Some(reason)) => Err(StepError::new(ErrorKind::Unreachable, reason)),
            (Some(255), ..) if self.host().is_some() => Err(StepError::new(
                ErrorKind::Unreachable,
                format!(
                    "cannot reach {} over SSH: {}",
                    self.host().unwrap_or_default(),
                    first.unwrap_or_else(|| "ssh exited with status 255".into())
                ),
            )),
            (code, ..) => Err(StepError::new(
                ErrorKind::Transfer,
                format!(
                    "snapshots.sh {op} {} {}{}",
                    self,
                    code.map_or("was killed by a signal".to_string(), |c| format!(
                        "exited with status {c}"
                    )),
                    first.map(|l| format!(": {l}")).unwrap_or_default()
                ),
            )),
        }
    }

    /// Where the task directory really is: the real path of its nearest existing
    /// directory, and the names below it still to be made.
    pub fn identify(&self, log: &mut StepLog) -> Result<PathBuf, StepError> {
        use std::os::unix::ffi::OsStringExt;
        let (stdout, _) = self.output(log, "identify", &[])?;
        let path = stdout
            .split(|b| *b == 0)
            .next()
            .unwrap_or_default()
            .to_vec();
        Ok(PathBuf::from(std::ffi::OsString::from_vec(path)))
    }

    /// The task directory's snapshots and free space (none yet when it does not exist).
    pub fn list(&self, log: &mut StepLog) -> Result<Listing, StepError> {
        Ok(self.call(log, "list", &[])?.0)
    }

    /// Creates the task directory if need be and finishes or undoes what a killed run
    /// left in it, as `found` (its listing) shows (see `snapshots.sh prepare`). The
    /// listing it returns has no free space.
    pub fn prepare(
        &self,
        log: &mut StepLog,
        found: &Listing,
        way: Way,
    ) -> Result<(Listing, Vec<String>), StepError> {
        let mode = match found.leftover(way) {
            Leftover::Remove => "fresh",
            Leftover::Resume => "resume",
        };
        let mut args = vec![mode.to_string()];
        args.extend(found.replaced.iter().map(|d| snapshot::name(*d)));
        self.call(log, "prepare", &args)
    }

    /// Makes what was `made` (`.in-progress`, or a received `.sync-DATE`) the
    /// snapshot `date`.
    pub fn commit(
        &self,
        log: &mut StepLog,
        date: Date,
        how: Commit,
        made: Made,
    ) -> Result<(Listing, Vec<String>), StepError> {
        let how = match how {
            Commit::New => "new",
            Commit::Replace => "replace",
        };
        let made = match made {
            Made::Rsync => "move",
            Made::Branch => "btrfs",
            Made::Received => "received",
        };
        self.call(
            log,
            "commit",
            &[snapshot::name(date), how.to_string(), made.to_string()],
        )
    }

    /// Makes `.in-progress` a writable btrfs snapshot of `base` (copy-on-write), or
    /// an empty subvolume without one; one an earlier run left is resumed.
    pub fn branch(
        &self,
        log: &mut StepLog,
        base: Option<Date>,
    ) -> Result<(Listing, Vec<String>), StepError> {
        let args: Vec<String> = base.map(snapshot::name).into_iter().collect();
        self.call(log, "branch", &args)
    }

    /// Gives every entry of the writable snapshot `.in-progress` that has more than
    /// one link an inode of its own (a copy-on-write copy), before an rsync that
    /// writes in place.
    pub fn unshare(&self, log: &mut StepLog) -> Result<(Listing, Vec<String>), StepError> {
        self.call(log, "unshare", &[])
    }

    /// Makes `.in-progress` a hard-link copy of the snapshot `base` (a link farm, to
    /// be brought up to date from a change list by `replay.sh`).
    pub fn farm(&self, log: &mut StepLog, base: Date) -> Result<(Listing, Vec<String>), StepError> {
        self.call(log, "farm", &[snapshot::name(base)])
    }

    /// Makes `.sync-DATE`, the read-only snapshot of `date` that is sent.
    pub fn freeze(
        &self,
        log: &mut StepLog,
        date: Date,
    ) -> Result<(Listing, Vec<String>), StepError> {
        self.call(log, "freeze", &[snapshot::name(date)])
    }

    /// Removes `.sync-DATE` for each of `dates` (none: nothing is done).
    pub fn release(
        &self,
        log: &mut StepLog,
        dates: &[Date],
        listing: Listing,
    ) -> Result<(Listing, Vec<String>), StepError> {
        if dates.is_empty() {
            return Ok((listing, Vec::new()));
        }
        let names: Vec<String> = dates.iter().map(|d| snapshot::name(*d)).collect();
        self.call(log, "release", &names)
    }

    /// The task directory as a path on its own host (for `btrfs send` and `receive`).
    pub fn dir(&self) -> &'a Path {
        self.dir
    }

    /// A command run on the side's host with the argv `words`: here as it is, over
    /// SSH as one line of words quoted for any POSIX shell, its stdin the caller's.
    pub fn program(&self, words: &[&str]) -> Command {
        match self.at {
            At::Here => {
                let mut command = Command::new(words[0]);
                command.args(&words[1..]);
                command
            }
            At::Ssh { host, config } => {
                let remote = words
                    .iter()
                    .map(|w| crate::shell::quote(w))
                    .collect::<Vec<_>>()
                    .join(" ");
                let mut command = Command::new("ssh");
                command.arg("-F").arg(config).args(["--", host, &remote]);
                command
            }
        }
    }

    /// Removes the snapshots `dates` (none: nothing to do, `listing` stays as it is),
    /// each by one rename first.
    pub fn prune(
        &self,
        log: &mut StepLog,
        dates: &[Date],
        listing: Listing,
    ) -> Result<(Listing, Vec<String>), StepError> {
        if dates.is_empty() {
            return Ok((listing, Vec::new()));
        }
        let names: Vec<String> = dates.iter().map(|d| snapshot::name(*d)).collect();
        self.call(log, "prune", &names)
    }
}

impl Side<'_> {
    /// What each step of the path `parts` inside the snapshot `date` is, never
    /// following a symlink: one kind per part, up to the first that is not a
    /// directory (see `snapshots.sh lookup`). Reads only.
    pub fn lookup(
        &self,
        log: &mut StepLog,
        date: Date,
        parts: &[String],
    ) -> Result<Vec<Kind>, StepError> {
        let mut args = vec![snapshot::name(date)];
        args.extend(parts.iter().cloned());
        let (stdout, _) = self.output(log, "lookup", &args)?;
        Ok(stdout
            .split(|b| *b == 0)
            .filter(|k| !k.is_empty())
            .map(|k| match k {
                b"d" => Kind::Directory,
                b"f" => Kind::File,
                b"l" => Kind::Symlink,
                b"-" => Kind::Missing,
                _ => Kind::Other,
            })
            .collect())
    }
}

/// What an entry inside a snapshot is, as `Side::lookup` finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Directory,
    File,
    Symlink,
    /// A device, a FIFO or a socket.
    Other,
    Missing,
}

impl fmt::Display for Side<'_> {
    /// `user@host:/path` or `/path`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            At::Here => write!(f, "{}", self.dir.display()),
            At::Ssh { host, .. } => write!(f, "{host}:{}", self.dir.display()),
        }
    }
}

/// The backup disk is mounted, if `require_mountpoint` asks for it.
pub fn backup_disk_mounted(plan: &Plan) -> Result<(), StepError> {
    if !plan.require_mountpoint {
        return Ok(());
    }
    require_mounted(&plan.backup_root, "require_mountpoint", "the backup disk")
}

/// A target on a local path is on a mounted disk, if its `require_mountpoint` asks.
pub fn target_disk_mounted(target: &TargetPlan) -> Result<(), StepError> {
    match (&target.dir, target.require_mountpoint) {
        (Location::Local(dir), true) => match dir.parent() {
            Some(disk) => require_mounted(disk, "its require_mountpoint", "the target's disk"),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Fails the step unless `dir` is a mount point (`setting` asks for it): an unmounted
/// disk must not be filled through its empty mount directory on the root file system.
fn require_mounted(dir: &Path, setting: &str, what: &str) -> Result<(), StepError> {
    let mounted = crate::mountpoint::is_mountpoint(dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => StepError::new(
            ErrorKind::Unavailable,
            format!("{} does not exist: is {what} mounted?", dir.display()),
        ),
        _ => StepError::new(
            ErrorKind::Io,
            format!(
                "cannot tell whether {} is a mount point: {e}",
                dir.display()
            ),
        ),
    })?;
    if mounted {
        return Ok(());
    }
    Err(StepError::new(
        ErrorKind::Unavailable,
        format!(
            "{} is not a mount point and {setting} is set: is {what} mounted?",
            dir.display()
        ),
    ))
}
