//! Finding the step scripts at run time.
//!
//! Packagers install them where they like and say so (`--scripts-dir` or
//! `BACKUP_SERVER_SCRIPTS_DIR`); otherwise they are looked for beside the binary
//! (`../libexec/backup-server`, as the Nix package lays them out) and in the source
//! tree the binary was built from (for `cargo run` and the tests).

use std::path::{Path, PathBuf};

pub const ENV: &str = "BACKUP_SERVER_SCRIPTS_DIR";

/// The step scripts, by absolute path.
#[derive(Debug)]
pub struct Scripts {
    /// rsync of a source into a task directory's `.in-progress`.
    pub backup: PathBuf,
    /// rsync of a local snapshot into the target's `.in-progress`.
    pub sync: PathBuf,
    /// rsync of a change list into a link farm's `.in-progress`, on either side.
    pub replay: PathBuf,
    /// Every change to the set of snapshots, on either side (POSIX sh).
    pub snapshots: PathBuf,
}

impl Scripts {
    /// Finds the scripts; the error lists where it looked.
    pub fn locate(explicit: Option<&Path>) -> Result<Scripts, ScriptsError> {
        let candidates: Vec<PathBuf> = match explicit
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os(ENV).map(PathBuf::from))
        {
            Some(dir) => vec![dir],
            None => {
                let mut dirs = Vec::new();
                if let Some(bin_dir) = std::env::current_exe()
                    .ok()
                    .and_then(|e| e.parent().map(Path::to_path_buf))
                {
                    dirs.push(bin_dir.join("../libexec/backup-server"));
                }
                dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts"));
                dirs
            }
        };
        for dir in &candidates {
            if dir.join("backup.sh").is_file() {
                let dir = fs_err::canonicalize(dir).map_err(ScriptsError::Unresolvable)?;
                return Ok(Scripts {
                    backup: dir.join("backup.sh"),
                    sync: dir.join("sync_backup_to_remote.sh"),
                    replay: dir.join("replay.sh"),
                    snapshots: dir.join("snapshots.sh"),
                });
            }
        }
        Err(ScriptsError::NotFound { looked: candidates })
    }
}

/// Why the step scripts cannot be used; a usage error, since the fix is an option
/// or an installation, not a retry.
#[derive(Debug)]
pub enum ScriptsError {
    /// No candidate directory holds `backup.sh`; `looked` lists them, in order.
    NotFound { looked: Vec<PathBuf> },
    /// The directory holding them could not be made absolute.
    Unresolvable(std::io::Error),
}

impl std::fmt::Display for ScriptsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScriptsError::NotFound { looked } => {
                let looked: Vec<String> = looked.iter().map(|d| d.display().to_string()).collect();
                write!(
                    f,
                    "cannot find the step scripts (backup.sh): looked in {}; point --scripts-dir or {ENV} at them",
                    looked.join(", ")
                )
            }
            ScriptsError::Unresolvable(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ScriptsError {}
