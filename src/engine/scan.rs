//! Reading what rsync said: its exit status, its stderr and its `--stats`, classified
//! into a step's outcome.
//!
//! The seed's `_stderr_has_error()` tolerated "Permission denied (13)" anywhere. That
//! is right for the backup's *sender* (a source file the service cannot read: the
//! snapshot is complete but for it), and wrong for the *receiver* (the backup disk
//! or the target refused a write: the copy is incomplete). Here a warning is
//! tolerated only from the side it belongs to, and metadata a file system cannot
//! hold (ACLs, xattrs, device files) is a warning named once, not a failure and not
//! silence. Everything else, with a non-zero exit, fails the transfer, and then
//! nothing is committed.

use std::collections::BTreeMap;

use std::process::Command;

use crate::outcome::{ErrorKind, StepError, TransferStats};
use crate::step_log::{StepLog, Stream};

/// What a transfer is, which decides what it may tolerate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transfer {
    /// Source → backup disk: unreadable or vanished source files are warnings.
    Backup,
    /// Local snapshot → target: the copy must be whole.
    Sync,
}

/// Metadata that a destination could not keep, named once per kind in the warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum NotKept {
    Acls,
    Xattrs,
    Devices,
}

#[derive(Debug, Default)]
struct Tally {
    count: usize,
    first: Option<String>,
}

impl Tally {
    fn add(&mut self, line: &str) {
        self.count += 1;
        self.first
            .get_or_insert_with(|| line.chars().take(500).collect());
    }
}

/// Fed one line at a time, so a transfer printing gigabytes costs no memory.
#[derive(Debug)]
pub struct Scan {
    transfer: Transfer,
    /// Where the copy goes, to name in warnings.
    destination: String,
    unreadable: Tally,
    vanished: Tally,
    not_kept: BTreeMap<NotKept, Tally>,
    ssh: Option<String>,
    errors: Tally,
    stats: TransferStats,
}

/// Summary lines that only repeat what the lines before them said.
const SUMMARIES: &[&str] = &[
    "rsync error: some files/attrs were not transferred",
    "rsync warning: some files vanished before they could be transferred",
    "IO error encountered -- skipping file deletion",
    "rsync error: unexplained error",
    "rsync error: error in rsync protocol data stream",
    "rsync: connection unexpectedly closed",
    "Warning: Permanently added",
];

impl Scan {
    pub fn new(transfer: Transfer, destination: impl Into<String>) -> Scan {
        Scan {
            transfer,
            destination: destination.into(),
            unreadable: Tally::default(),
            vanished: Tally::default(),
            not_kept: BTreeMap::new(),
            ssh: None,
            errors: Tally::default(),
            stats: TransferStats::default(),
        }
    }

    pub fn stderr(&mut self, line: &str) {
        let line = line.trim_end();
        if line.is_empty() || SUMMARIES.iter().any(|s| line.starts_with(s)) {
            return;
        }
        if let Some(reason) = crate::ssh::failure(line) {
            self.ssh.get_or_insert(reason);
            return;
        }
        if is_ssh_banner(line) {
            return;
        }
        let sender = line.starts_with("rsync: [sender]");
        if line.contains("file has vanished: ") && self.transfer == Transfer::Backup {
            self.vanished.add(line);
        } else if sender
            && line.contains("Permission denied (13)")
            && self.transfer == Transfer::Backup
        {
            self.unreadable.add(line);
        } else if let Some(kind) = not_kept(line) {
            self.not_kept.entry(kind).or_default().add(line);
        } else {
            self.errors.add(line);
        }
    }

    /// stdout: the `--stats` figures, and the files a non-root rsync skips.
    pub fn stdout(&mut self, line: &str) {
        if line.starts_with("skipping non-regular file") {
            self.not_kept.entry(NotKept::Devices).or_default().add(line);
            return;
        }
        let Some((key, value)) = line.split_once(": ") else {
            return;
        };
        let number = || -> u64 {
            value
                .split_whitespace()
                .next()
                .unwrap_or("")
                .replace([',', '.'], "")
                .parse()
                .unwrap_or(0)
        };
        match key {
            "Number of files" => self.stats.files_total = number(),
            "Number of regular files transferred" => self.stats.files_transferred = number(),
            "Total transferred file size" => self.stats.bytes_transferred = number(),
            "Total file size" => self.stats.total_size = number(),
            _ => {}
        }
    }

    /// Runs `command` (an rsync), its output through the log and this scan: the one
    /// loop every transfer is read by. `take` sees each stdout line first and keeps
    /// the ones it wants (`--out-format` items); the rest are rsync's to classify.
    pub fn run(
        self,
        command: &mut Command,
        log: &mut StepLog,
        take: impl FnMut(&str) -> bool,
    ) -> Result<(Vec<String>, TransferStats), StepError> {
        self.run_logged(command, log, true, take)
    }

    /// As `run`, for a listing of a whole tree: its stdout is not kept in the log.
    pub fn run_listing(
        self,
        command: &mut Command,
        log: &mut StepLog,
        take: impl FnMut(&str) -> bool,
    ) -> Result<(Vec<String>, TransferStats), StepError> {
        self.run_logged(command, log, false, take)
    }

    fn run_logged(
        mut self,
        command: &mut Command,
        log: &mut StepLog,
        log_stdout: bool,
        mut take: impl FnMut(&str) -> bool,
    ) -> Result<(Vec<String>, TransferStats), StepError> {
        let on_line = |stream: Stream, line: &str| match stream {
            Stream::Stdout if take(line) => {}
            Stream::Stdout => self.stdout(line),
            Stream::Stderr => self.stderr(line),
        };
        let code = match log_stdout {
            true => log.run(command, on_line),
            false => log.run_listing(command, on_line),
        }
        .map_err(|e| StepError::new(ErrorKind::Io, e.to_string()))?;
        self.finish("rsync", code)
    }

    /// The outcome of a transfer that exited with `code` (`None`: killed by a signal):
    /// its warnings and figures, or why it failed.
    pub fn finish(
        self,
        command: &str,
        code: Option<i32>,
    ) -> Result<(Vec<String>, TransferStats), StepError> {
        let tolerable = self.errors.count == 0 && self.ssh.is_none();
        match code {
            Some(0) => Ok((self.warnings(), self.stats)),
            Some(23 | 24) if tolerable => Ok((self.warnings(), self.stats)),
            Some(code) => Err(match (self.ssh, self.errors.first) {
                (Some(reason), _) => StepError::new(ErrorKind::Unreachable, reason),
                (None, Some(line)) => StepError::new(
                    ErrorKind::Transfer,
                    format!("{command} exited with status {code}: {line}"),
                ),
                (None, None) => StepError::new(
                    ErrorKind::Transfer,
                    format!("{command} exited with status {code}"),
                ),
            }),
            None => Err(StepError::new(
                ErrorKind::Transfer,
                format!("{command} was killed by a signal"),
            )),
        }
    }

    fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        let files = |n: usize| format!("{n} file{}", if n == 1 { "" } else { "s" });
        if let Some(first) = &self.unreadable.first {
            let files = match self.unreadable.count {
                1 => "1 unreadable file is".to_string(),
                n => format!("{n} unreadable files are"),
            };
            warnings.push(format!("{files} not in the snapshot, first: {first}"));
        }
        if let Some(first) = &self.vanished.first {
            warnings.push(format!(
                "{} vanished while the backup ran, first: {first}",
                files(self.vanished.count)
            ));
        }
        for (kind, tally) in &self.not_kept {
            let first = tally.first.as_deref().unwrap_or_default();
            let why = if first.contains("Operation not supported") {
                format!("the file system at {} does not hold them", self.destination)
            } else if first.contains("skipping non-regular file") {
                "only root can create them".to_string()
            } else {
                "not permitted here".to_string()
            };
            let what = match kind {
                NotKept::Acls => "ACLs",
                NotKept::Xattrs => "extended attributes",
                NotKept::Devices => "device and special files",
            };
            warnings.push(format!(
                "{what} of {} were not kept: {why}; first: {first}",
                files(tally.count)
            ));
        }
        warnings
    }
}

/// An rsync line saying a destination could not keep some metadata.
fn not_kept(line: &str) -> Option<NotKept> {
    let refused = line.contains("Operation not supported (95)")
        || line.contains("Operation not permitted (1)");
    if !refused {
        return None;
    }
    if line.contains("set_acl:") {
        Some(NotKept::Acls)
    } else if line.contains("rsync_xal_set:") {
        Some(NotKept::Xattrs)
    } else if line.contains(" mknod \"") && line.contains("Operation not permitted (1)") {
        Some(NotKept::Devices)
    } else {
        None
    }
}

/// The lines of ssh's "REMOTE HOST IDENTIFICATION HAS CHANGED" banner: noise next to
/// the line that says what happened.
fn is_ssh_banner(line: &str) -> bool {
    line.chars().all(|c| c == '@')
        || line.starts_with("@ ")
        || line.starts_with("IT IS POSSIBLE THAT SOMEONE")
        || line.starts_with("Someone could be eavesdropping")
        || line.starts_with("It is also possible that a host key")
        || line.starts_with("The fingerprint for the")
        || line.starts_with("SHA256:")
        || line.starts_with("Please contact your system administrator")
        || line.starts_with("Add correct host key in")
        || line.starts_with("Offending ")
        || line.starts_with("  remove with:")
        || line.starts_with("  ssh-keygen -f")
        || line.contains("host key for") && line.contains("has changed")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(transfer: Transfer, lines: &[&str]) -> Scan {
        let mut scan = Scan::new(transfer, "/mnt/backup/data");
        lines.iter().for_each(|l| scan.stderr(l));
        scan
    }

    #[test]
    fn unreadable_source_files_are_a_warning_of_the_backup() {
        let s = scan(
            Transfer::Backup,
            &[
                "rsync: [sender] send_files failed to open \"/data/secret\": Permission denied (13)",
                "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1338) [sender=3.2.7]",
            ],
        );
        let (warnings, _) = s.finish("backup.sh", Some(23)).unwrap();
        assert_eq!(
            warnings,
            [
                "1 unreadable file is not in the snapshot, first: rsync: [sender] send_files failed to open \"/data/secret\": Permission denied (13)"
            ]
        );
    }

    #[test]
    fn a_receiver_that_cannot_write_fails_the_transfer() {
        let line =
            "rsync: [receiver] mkstemp \"/r/.in-progress/.f.x\" failed: Permission denied (13)";
        for transfer in [Transfer::Backup, Transfer::Sync] {
            let err = scan(transfer, &[line])
                .finish("rsync", Some(23))
                .unwrap_err();
            assert_eq!(err.kind, ErrorKind::Transfer);
            assert_eq!(err.message, format!("rsync exited with status 23: {line}"));
        }
        let sender = "rsync: [sender] send_files failed to open \"/b/x\": Permission denied (13)";
        assert!(
            scan(Transfer::Sync, &[sender])
                .finish("rsync", Some(23))
                .is_err(),
            "a sync must copy the whole snapshot"
        );
    }

    #[test]
    fn metadata_a_file_system_cannot_hold_is_one_warning_per_kind() {
        let s = scan(
            Transfer::Backup,
            &[
                "rsync: [receiver] rsync_xal_set: fsetxattr(\"/b/.f.1\",\"user.k\") failed: Operation not supported (95)",
                "rsync: [receiver] rsync_xal_set: fsetxattr(\"/b/.g.1\",\"user.k\") failed: Operation not supported (95)",
                "rsync: [receiver] set_acl: xacl_set(.f.1, ACL_TYPE_ACCESS): Operation not supported (95)",
                "rsync: [generator] mknod \"/b/dev\" failed: Operation not permitted (1)",
                "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394) [sender=3.5.0]",
            ],
        );
        let (warnings, _) = s.finish("backup.sh", Some(23)).unwrap();
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings[0].starts_with("ACLs of 1 file were not kept: the file system at /mnt/backup/data does not hold them; first: "));
        assert!(warnings[1].starts_with("extended attributes of 2 files were not kept: the file system at /mnt/backup/data does not hold them"));
        assert!(
            warnings[2].starts_with(
                "device and special files of 1 file were not kept: not permitted here"
            )
        );
    }

    #[test]
    fn a_refused_host_key_is_said_in_words() {
        let s = scan(
            Transfer::Sync,
            &[
                "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
                "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @",
                "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
                "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!",
                "Host key for [127.0.0.1]:2222 has changed and you have requested strict checking.",
                "Host key verification failed.",
                "rsync: connection unexpectedly closed (0 bytes received so far) [sender]",
                "rsync error: unexplained error (code 255) at io.c(232) [sender=3.2.7]",
            ],
        );
        let err = s.finish("rsync", Some(255)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unreachable);
        assert!(
            err.message.starts_with("host key verification failed"),
            "{}",
            err.message
        );
    }

    #[test]
    fn stats_are_read_from_stdout() {
        let mut s = Scan::new(Transfer::Backup, "/b");
        for line in [
            "Number of files: 50,003 (reg: 50,000, dir: 3)",
            "Number of created files: 500",
            "Number of regular files transferred: 500",
            "Total file size: 51,200,000 bytes",
            "Total transferred file size: 512,000 bytes",
            "Literal data: 512,000 bytes",
        ] {
            s.stdout(line);
        }
        let (_, stats) = s.finish("backup.sh", Some(0)).unwrap();
        assert_eq!(
            stats,
            TransferStats {
                files_total: 50_003,
                files_transferred: 500,
                bytes_transferred: 512_000,
                total_size: 51_200_000,
            }
        );
    }

    #[test]
    fn anything_else_fails_and_names_the_first_error() {
        let s = scan(
            Transfer::Backup,
            &["rsync: [sender] change_dir \"/nope\" failed: No such file or directory (2)"],
        );
        assert_eq!(
            s.finish("backup.sh", Some(23)).unwrap_err().message,
            "backup.sh exited with status 23: rsync: [sender] change_dir \"/nope\" failed: No such file or directory (2)"
        );
        assert!(scan(Transfer::Backup, &[]).finish("x", Some(12)).is_err());
        assert!(scan(Transfer::Backup, &[]).finish("x", None).is_err());
        assert!(
            scan(Transfer::Backup, &["noise"])
                .finish("x", Some(0))
                .is_ok()
        );
    }
}
