//! One side of a task: its directory of snapshots on the backup disk or on the target.
//!
//! Both sides are changed by the same POSIX sh script (`scripts/snapshots.sh`): run
//! here with an argv, or on an SSH target as `ssh HOST sh -s -- OP DIR ...` with the
//! script on stdin, its words quoted for any POSIX shell (dash, busybox ash, bash),
//! whatever the target user's login shell is. Its listing is NUL-separated and typed,
//! so no file name can be misread, and only real directories named `YYYY-MM-DD` are
//! taken for snapshots.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use jiff::civil::Date;

use crate::location::Location;
use crate::outcome::{ErrorKind, Space, StepError};
use crate::snapshot;
use crate::step_log::StepLog;

/// Where a side's directory is.
#[derive(Debug, Clone, Copy)]
enum At<'a> {
    Here,
    Ssh { host: &'a str, config: &'a Path },
}

/// A task directory and the way to act on it.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    dir: &'a Path,
    at: At<'a>,
    script: &'a Path,
}

/// What a leftover `.in-progress` may become: kept for a full copy, else removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leftover {
    Remove,
    /// Only a full copy may reuse it: in an incremental one it could hold files
    /// hard-linked to older snapshots, whose attributes rsync would change in place.
    Resume,
}

/// How a snapshot is committed: under a new name, or in place of the same day's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    New,
    Replace,
}

/// A task directory's entries, as backup-server sees them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listing {
    /// Real directories named exactly `YYYY-MM-DD`.
    pub snapshots: BTreeSet<Date>,
    /// `.replaced-YYYY-MM-DD`: an old snapshot parked by a same-day replacement.
    pub replaced: BTreeSet<Date>,
    /// Entries named like a snapshot that are not a real directory, and what they are.
    pub blocked: BTreeMap<Date, &'static str>,
    pub free_bytes: Option<u64>,
    pub free_inodes: Option<u64>,
    pub total_bytes: Option<u64>,
    pub total_inodes: Option<u64>,
    /// The user the side's files are written as.
    pub uid: Option<u32>,
}

impl Listing {
    pub fn newest(&self) -> Option<Date> {
        self.snapshots.last().copied()
    }

    /// The free space of `other` where this listing has none (a `prepare` listing).
    pub fn with_free_from(mut self, other: &Listing) -> Listing {
        self.free_bytes = self.free_bytes.or(other.free_bytes);
        self.free_inodes = self.free_inodes.or(other.free_inodes);
        self.total_bytes = self.total_bytes.or(other.total_bytes);
        self.total_inodes = self.total_inodes.or(other.total_inodes);
        self
    }

    /// The figures recorded after a step.
    pub fn space(&self) -> Space {
        Space {
            snapshots: self.snapshots.len() as u64,
            free_bytes: self.free_bytes,
            free_inodes: self.free_inodes,
            total_bytes: self.total_bytes,
            total_inodes: self.total_inodes,
        }
    }

    /// What a leftover `.in-progress` may become before the next transfer.
    pub fn leftover(&self) -> Leftover {
        if self.snapshots.is_empty() && self.replaced.is_empty() {
            Leftover::Resume
        } else {
            Leftover::Remove
        }
    }
}

impl<'a> Side<'a> {
    /// A task directory on this machine (the backup disk, or a target on a local path).
    pub fn here(dir: &'a Path, script: &'a Path) -> Side<'a> {
        Side {
            dir,
            at: At::Here,
            script,
        }
    }

    /// The target's task directory; `ssh_config` is needed when it is over SSH.
    pub fn target(
        target: &'a Location,
        script: &'a Path,
        ssh_config: Option<&'a Path>,
    ) -> Result<Side<'a>, StepError> {
        match target {
            Location::Local(dir) => Ok(Side::here(dir, script)),
            Location::Remote { host, path } => {
                let config = ssh_config.ok_or_else(|| {
                    StepError::new(ErrorKind::Io, "no ssh_config was written for this run")
                })?;
                Ok(Side {
                    dir: path,
                    at: At::Ssh { host, config },
                    script,
                })
            }
        }
    }

    fn host(&self) -> Option<&str> {
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
        let listing = parse_listing(&stdout);
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
    ) -> Result<(Listing, Vec<String>), StepError> {
        let mode = match found.leftover() {
            Leftover::Remove => "fresh",
            Leftover::Resume => "resume",
        };
        let mut args = vec![mode.to_string()];
        args.extend(found.replaced.iter().map(|d| snapshot::name(*d)));
        self.call(log, "prepare", &args)
    }

    /// Makes `.in-progress` the snapshot `date`.
    pub fn commit(
        &self,
        log: &mut StepLog,
        date: Date,
        how: Commit,
    ) -> Result<(Listing, Vec<String>), StepError> {
        let how = match how {
            Commit::New => "new",
            Commit::Replace => "replace",
        };
        self.call(log, "commit", &[snapshot::name(date), how.to_string()])
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

/// Reads `snapshots.sh list`: records of "TYPE NAME", each ended by a NUL, and a last
/// one "s KIB INODES" with the free space.
fn parse_listing(bytes: &[u8]) -> Listing {
    let mut listing = Listing::default();
    for record in bytes.split(|b| *b == 0) {
        let (Some(&kind), Some(name)) = (record.first(), record.get(2..)) else {
            continue;
        };
        let name = String::from_utf8_lossy(name);
        if kind == b'u' {
            listing.uid = name.parse().ok();
            continue;
        }
        if kind == b's' {
            let mut figures = name.split(' ').map(|f| f.parse::<u64>().ok());
            let mut next = || figures.next().flatten();
            listing.free_bytes = next().map(|kib| kib * 1024);
            listing.total_bytes = next().map(|kib| kib * 1024);
            listing.free_inodes = next();
            listing.total_inodes = next();
            continue;
        }
        if let Some(date) = snapshot::parse_name(&name) {
            match kind {
                b'd' => {
                    listing.snapshots.insert(date);
                }
                b'l' => {
                    listing.blocked.insert(date, "a symlink");
                }
                b'f' => {
                    listing.blocked.insert(date, "a file");
                }
                _ => {
                    listing.blocked.insert(date, "not a directory");
                }
            }
        } else if let Some(date) = name
            .strip_prefix(".replaced-")
            .and_then(snapshot::parse_name)
            .filter(|_| kind == b'd')
        {
            listing.replaced.insert(date);
        }
    }
    listing
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn only_real_directories_named_like_a_date_are_snapshots() {
        let listing = parse_listing(
            b"d 2026-03-01\0l 2026-03-02\0f 2026-03-03\0d junk\n2026-03-04\0d .in-progress\0\
              d .replaced-2026-03-05\0d 2026-13-45\0d notes\0u 1000\0s 2048 4096 77 100\0",
        );
        assert_eq!(listing.snapshots, BTreeSet::from([d("2026-03-01")]));
        assert_eq!(
            listing.blocked,
            BTreeMap::from([(d("2026-03-02"), "a symlink"), (d("2026-03-03"), "a file")])
        );
        assert_eq!(listing.replaced, BTreeSet::from([d("2026-03-05")]));
        assert_eq!(listing.free_bytes, Some(2 * 1024 * 1024));
        assert_eq!(listing.free_inodes, Some(77));
        assert_eq!(listing.total_bytes, Some(4 * 1024 * 1024));
        assert_eq!(listing.total_inodes, Some(100));
        assert_eq!(listing.uid, Some(1000));
        assert_eq!(listing.leftover(), Leftover::Remove);
        assert_eq!(parse_listing(b"s - -\0").leftover(), Leftover::Resume);
        assert_eq!(parse_listing(b"s - - - -\0").free_bytes, None);
    }
}
