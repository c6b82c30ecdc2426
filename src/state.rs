//! The state directory's layout, in one place.
//!
//! `<state>` (`--state-dir`, `$STATE_DIRECTORY` under systemd, else
//! `/var/lib/backup-server`) holds everything a run keeps between runs. Every other
//! module asks this type for a path instead of spelling one out.

use std::path::{Path, PathBuf};

pub const DEFAULT: &str = "/var/lib/backup-server";

/// Why no stand-in for an unwritable state directory could be made.
#[derive(Debug)]
pub enum StateError {
    /// Every place `fallback` tried, with why it could not be written.
    NoStandIn {
        tried: Vec<(PathBuf, std::io::Error)>,
    },
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateError::NoStandIn { tried } => {
                let tried: Vec<String> = tried
                    .iter()
                    .map(|(path, e)| format!("{}: {e}", path.display()))
                    .collect();
                f.write_str(&tried.join("; "))
            }
        }
    }
}

impl std::error::Error for StateError {}

#[derive(Debug, Clone)]
pub struct StateDir {
    /// Where the run's files go: the state directory, or the stand-in a run uses
    /// when that cannot be written (`fallback`).
    root: PathBuf,
    /// The state directory itself, which holds the record (`log.db`).
    own: PathBuf,
}

/// Where a run keeps its working files when the state directory cannot hold them:
/// systemd's `RuntimeDirectory=` (`$RUNTIME_DIRECTORY`), else `/run/backup-server`,
/// else the system's temporary directory; one directory below it per state
/// directory, so two state directories never share a lock.
fn fallback_bases() -> Vec<PathBuf> {
    let mut bases: Vec<PathBuf> = std::env::var_os("RUNTIME_DIRECTORY")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    bases.push(PathBuf::from("/run/backup-server"));
    bases.push(std::env::temp_dir().join("backup-server"));
    bases
}

impl StateDir {
    pub fn new(root: PathBuf) -> StateDir {
        StateDir {
            own: root.clone(),
            root,
        }
    }

    /// Whether the state directory can hold a run's files: it is made if missing,
    /// and a probe file is written into it (a read-only or full file system fails
    /// here, before anything else, not halfway through a run).
    pub fn writable(&self) -> std::io::Result<()> {
        use std::io::Write;
        self.prepare()?;
        let probe = self.work().join(format!(".probe-{}", std::process::id()));
        let written = fs_err::File::create(&probe)
            .and_then(|mut f| f.write_all(&[0u8; 4096]).and_then(|()| f.sync_all()));
        let _ = fs_err::remove_file(&probe);
        written
    }

    /// A stand-in for a state directory that cannot be written: the same layout
    /// somewhere that can hold it (see `fallback_bases`), with the known host keys
    /// copied over so hosts met before are still checked strictly. The record
    /// stays where it is (`log_db`): a run there is not recorded, and says so.
    pub fn fallback(&self) -> Result<StateDir, StateError> {
        let absolute = std::path::absolute(&self.own).unwrap_or_else(|_| self.own.clone());
        let name: String = absolute
            .to_string_lossy()
            .trim_matches('/')
            .replace('/', "-");
        let name = if name.is_empty() { "root".into() } else { name };
        let mut tried = Vec::new();
        for base in fallback_bases() {
            let stand_in = StateDir {
                root: base.join(&name),
                own: self.own.clone(),
            };
            match stand_in.writable() {
                Ok(()) => {
                    if let Ok(known) = fs_err::read(self.own.join("known_hosts")) {
                        let _ = fs_err::write(stand_in.known_hosts(), known);
                    }
                    return Ok(stand_in);
                }
                Err(e) => tried.push((stand_in.root, e)),
            }
        }
        Err(StateError::NoStandIn { tried })
    }

    /// Whether this is a stand-in for the state directory.
    pub fn is_fallback(&self) -> bool {
        self.root != self.own
    }

    /// The state directory itself (also when the run's files are elsewhere).
    pub fn own(&self) -> &Path {
        &self.own
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
        self.own.join("log.db")
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

    /// A task's change lists, kept from its backup for its sync (engine/farm.rs).
    pub fn changes(&self, task: &str) -> PathBuf {
        self.root.join("changes").join(task)
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
