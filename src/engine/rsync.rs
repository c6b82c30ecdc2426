//! rsync's command line, built in one place: every rsync that writes a snapshot (the
//! backup, the sync to a target) or reads one (`restore`, `verify`) starts from
//! `Rsync::snapshot()` and adds what its transfer needs. The step scripts take these
//! options as arguments and add only the paths they guard (DESIGN.md principle 1:
//! Rust decides, scripts act); `restore` and `verify` run the command built here.

use std::path::Path;
use std::process::{Command, Stdio};

/// The options every transfer passes: metadata kept as faithfully as the file
/// systems allow (what they cannot hold is a warning, see `scan::Scan`), and
/// modification times compared to the nanosecond: by default rsync takes a file
/// rewritten within the same second at the same size for unchanged, and a snapshot
/// would hard-link the old content.
pub const FAITHFUL: [&str; 4] = ["--acls", "--xattrs", "--sparse", "--modify-window=-1"];

/// The options of one rsync, beside its paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rsync {
    options: Vec<String>,
}

impl Rsync {
    /// What every rsync of a snapshot is given: the tree as it is (`-a`), hard links
    /// kept, owners by number, and the faithful options.
    pub fn snapshot() -> Rsync {
        Rsync {
            options: ["-a", "--hard-links", "--numeric-ids"]
                .into_iter()
                .chain(FAITHFUL)
                .map(String::from)
                .collect(),
        }
    }

    /// A listing of a source, as rsync's walk sees it (its excludes, what `-a` keeps,
    /// one file system or not): a dry run, which against an empty directory prints
    /// every entry as new (with the caller's `--out-format`) and reads only the source.
    pub fn listing(one_file_system: bool) -> Rsync {
        Rsync {
            options: vec!["-a".into(), "--dry-run".into()],
        }
        .when(one_file_system, "--one-file-system")
    }

    /// `option`, added.
    pub fn with(mut self, option: impl Into<String>) -> Rsync {
        self.options.push(option.into());
        self
    }

    /// `option`, added when `yes`.
    pub fn when(self, yes: bool, option: &str) -> Rsync {
        if yes { self.with(option) } else { self }
    }

    /// A copy that ends equal to its source: what is gone there is deleted here, and
    /// rsync's figures are printed for the record.
    pub fn mirror(self) -> Rsync {
        self.with("--delete").with("--stats")
    }

    /// Compression and a bandwidth limit, as a target asks for them.
    pub fn paced(self, compress: bool, bwlimit_kib: Option<u32>) -> Rsync {
        let limited = self.when(compress, "--compress");
        match bwlimit_kib {
            Some(kib) => limited.with(format!("--bwlimit={kib}")),
            None => limited,
        }
    }

    /// The option that keeps, on a receiving side whose user (`uid`) is not root, what
    /// only root can set (owners, groups, device files, system xattrs such as file
    /// capabilities): rsync stores them in user xattrs there and gives them back when it
    /// sends the files again (a restore). It must reach the receiver only (a sender with
    /// it would read such xattrs of the source as real attributes): `--remote-option`
    /// reaches the receiver of a local copy or of a push over SSH; when the sender is the
    /// other host (a source over SSH), the receiver is this process.
    pub fn fake_super(self, uid: Option<u32>, pulled: bool) -> Rsync {
        match (uid.is_none_or(|uid| uid == 0), pulled) {
            (true, _) => self,
            (false, true) => self.with("--fake-super"),
            (false, false) => self.with("--remote-option=--fake-super"),
        }
    }

    /// For a side over SSH (`ssh_config` is the run's), ssh through it.
    pub fn ssh(self, ssh_config: Option<&Path>) -> Rsync {
        match ssh_config {
            Some(config) => self.with(rsh(config)),
            None => self,
        }
    }

    /// rsync's progress lines, when a progress line is shown (`journal::progress`).
    pub fn progress(self) -> Rsync {
        match crate::journal::progress::rsync_options() {
            Some(option) => self.with(option),
            None => self,
        }
    }

    /// Whether fake-super is among the options.
    pub fn fakes_super(&self) -> bool {
        self.options.iter().any(|o| o.ends_with("--fake-super"))
    }

    pub fn options(&self) -> &[String] {
        &self.options
    }

    /// rsync itself with these options, reading nothing from stdin; the caller adds
    /// `--` and the paths.
    pub fn command(&self) -> Command {
        let mut command = Command::new("rsync");
        command.args(&self.options).stdin(Stdio::null());
        command
    }
}

/// `--rsh` for ssh through the run's ssh_config, its path quoted as rsync splits it.
pub fn rsh(ssh_config: &Path) -> String {
    format!(
        "--rsh=ssh -F {}",
        crate::shell::quote(&ssh_config.to_string_lossy())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_snapshot_rsync_starts_faithful_and_adds_what_its_transfer_needs() {
        assert_eq!(
            Rsync::snapshot().options(),
            [
                "-a",
                "--hard-links",
                "--numeric-ids",
                "--acls",
                "--xattrs",
                "--sparse",
                "--modify-window=-1"
            ]
        );
        let sync = Rsync::snapshot()
            .mirror()
            .paced(true, Some(500))
            .fake_super(Some(1000), false)
            .ssh(Some(Path::new("/var/lib/backup-server/ssh_config")));
        assert_eq!(
            &sync.options()[7..],
            [
                "--delete",
                "--stats",
                "--compress",
                "--bwlimit=500",
                "--remote-option=--fake-super",
                "--rsh=ssh -F '/var/lib/backup-server/ssh_config'",
            ]
        );
        assert!(sync.fakes_super());
        assert_eq!(
            Rsync::snapshot().fake_super(Some(0), false),
            Rsync::snapshot()
        );
        assert_eq!(
            Rsync::snapshot()
                .fake_super(Some(7), true)
                .options()
                .last()
                .map(String::as_str),
            Some("--fake-super"),
            "a pull's receiver is this process"
        );
        assert_eq!(rsh(Path::new("/it's")), r"--rsh=ssh -F '/it'\''s'");
    }
}
