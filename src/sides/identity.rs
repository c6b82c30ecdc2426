//! A target is identified by what it is, not by how it is spelled.
//!
//! Two targets that are one directory (one reaches the other through a symlink, a
//! bind mount, or another spelling of the same host) each prune it by their own
//! policy: the shorter one deletes the other's snapshots, and every run says it
//! succeeded. The config check compares the paths as written, which is all it can
//! do without the disks; here, at run time and before a sync prunes anything, each
//! side is resolved to what it is: a local task directory to the device and inode
//! of its nearest existing directory (and the names below it still to be made),
//! an SSH one to its canonical host (`ssh -G`: user, host name, port) and the real
//! path `snapshots.sh identify` finds there. A side that cannot be resolved now (a
//! target that is down) is not compared: its own sync fails, and prunes nothing.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::Side;
use crate::outcome::{ErrorKind, StepError};
use crate::plan::{TargetPlan, TaskPlan};
use crate::scripts::Scripts;
use crate::step_log::StepLog;

/// Where a task directory really is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// On this machine: the nearest existing directory's device and inode, and the
    /// names below it that do not exist yet.
    Here { dev: u64, ino: u64, rest: PathBuf },
    /// Over SSH: `user@hostname:port`, as ssh resolves it, and the real path there.
    Ssh { host: String, path: PathBuf },
}

/// Refuses the sync to `to` when another target of `task` is the same place.
/// `ssh_config` is the run's, when one was written and its key is there.
pub fn apart_from_the_other_targets(
    task: &TaskPlan,
    to: &TargetPlan,
    scripts: &Scripts,
    ssh_config: Option<&Path>,
    log: &mut StepLog,
) -> Result<(), StepError> {
    if task.targets.len() < 2 {
        return Ok(());
    }
    let mut place_of = |target: &TargetPlan| {
        let side = Side::target(target, scripts, ssh_config).ok()?;
        place(&side, log)
    };
    let Some(ours) = place_of(to) else {
        return Ok(());
    };
    for other in task.targets.iter().filter(|t| t.name != to.name) {
        if place_of(other).as_ref() == Some(&ours) {
            return Err(StepError::new(
                ErrorKind::Refused,
                format!(
                    "refusing to sync: target {} ({}) is the same place as target {} ({}): \
                     each would prune the other's snapshots; make them two places, or remove one",
                    to.name, to.dir, other.name, other.dir
                ),
            ));
        }
    }
    Ok(())
}

/// Where `side` really is, or `None` when that cannot be told now.
fn place(side: &Side, log: &mut StepLog) -> Option<Place> {
    if let Some(path) = side.local_dir() {
        return here(path);
    }
    let host = canonical_host(side.ssh_config()?, side.host()?)?;
    match side.identify(log) {
        Ok(path) => Some(Place::Ssh { host, path }),
        Err(e) => {
            log.line(&format!("cannot tell where {side} really is: {e}"));
            None
        }
    }
}

/// The device and inode of the nearest existing directory of `path`, and the rest.
fn here(path: &Path) -> Option<Place> {
    let mut at = path;
    let mut rest = Vec::new();
    loop {
        if let Ok(meta) = std::fs::metadata(at)
            && meta.is_dir()
        {
            return Some(Place::Here {
                dev: meta.dev(),
                ino: meta.ino(),
                rest: rest.iter().rev().collect(),
            });
        }
        rest.push(at.file_name()?);
        at = at.parent()?;
    }
}

/// `user@hostname:port` as ssh resolves `host` through the run's ssh_config.
fn canonical_host(config: &Path, host: &str) -> Option<String> {
    let out = Command::new("ssh")
        .arg("-F")
        .arg(config)
        .args(["-G", "--", host])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
            .map(|v| v.to_ascii_lowercase())
    };
    Some(format!(
        "{}@{}:{}",
        value("user")?,
        value("hostname")?,
        value("port")?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_and_a_symlink_to_it_are_one_place_whether_or_not_the_task_dir_exists() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(here(&real.join("data")), here(&link.join("data")));
        std::fs::create_dir(real.join("data")).unwrap();
        assert_eq!(here(&real.join("data")), here(&link.join("data")));
        assert_ne!(here(&real.join("data")), here(&real.join("other")));
    }
}
