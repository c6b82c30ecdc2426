//! The state directory's layout, in one place.
//!
//! `<state>` (`--state-dir`, `$STATE_DIRECTORY` under systemd, else
//! `/var/lib/backup-server`) holds everything a run keeps between runs. Every other
//! module asks this type for a path instead of spelling one out.

use std::path::{Path, PathBuf};

pub const DEFAULT: &str = "/var/lib/backup-server";

#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    pub fn new(root: PathBuf) -> StateDir {
        StateDir { root }
    }

    /// `--state-dir`, else `$STATE_DIRECTORY` (systemd's StateDirectory=), else the default.
    pub fn locate(option: Option<PathBuf>) -> StateDir {
        StateDir::new(
            option
                .or_else(|| std::env::var_os("STATE_DIRECTORY").map(PathBuf::from))
                .unwrap_or_else(|| PathBuf::from(DEFAULT)),
        )
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The record of every run: the seed's `task_run` and our tables.
    pub fn log_db(&self) -> PathBuf {
        self.root.join("log.db")
    }

    /// One run at a time (see `lock`).
    pub fn lock(&self) -> PathBuf {
        self.root.join("lock")
    }

    /// One log file per step of the last run of each task, until a report carries them.
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    pub fn step_log(&self, task: &str, step: &str) -> PathBuf {
        self.logs().join(format!("{task}_{step}.log"))
    }

    /// Files a run hands to its steps (exclude lists).
    pub fn work(&self) -> PathBuf {
        self.root.join("run")
    }

    pub fn excludes(&self, task: &str) -> PathBuf {
        self.work().join(format!("{task}.excludes"))
    }

    /// The same excludes, for `verify` (which must not touch a run's files).
    pub fn verify_excludes(&self, task: &str) -> PathBuf {
        self.work().join(format!("{task}.verify-excludes"))
    }

    /// Reports that could not be sent, sent first by the next run.
    pub fn outbox(&self) -> PathBuf {
        self.root.join("outbox")
    }

    /// The ssh_config every ssh and rsync of a run reads.
    pub fn ssh_config(&self) -> PathBuf {
        self.root.join("ssh_config")
    }

    /// Host keys trusted on first use, when `ssh_known_hosts` is not set.
    pub fn known_hosts(&self) -> PathBuf {
        self.root.join("known_hosts")
    }

    /// Creates the directories a run writes into.
    pub fn prepare(&self) -> std::io::Result<()> {
        for dir in [self.root.clone(), self.logs(), self.work()] {
            fs_err::create_dir_all(dir)?;
        }
        Ok(())
    }
}
