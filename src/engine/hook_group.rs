//! A hook never outlives its run: the record a hook's process group leaves in the
//! state directory while it runs, and what the next run does with it.
//!
//! A hook runs in a process group of its own. Its `sh` dies with the run
//! (`PR_SET_PDEATHSIG`), but the rest of a pipeline (`pg_dumpall | gzip > dump`)
//! does not: after a `kill -9` of the run it writes on into the source, and the next
//! night's dump into the same file would interleave with it, a corrupted dump in a
//! snapshot that says it succeeded. So while a hook runs, `<state>/run/TASK.HOOK.group`
//! names its group and a token set in its processes' environment; a hook that ends
//! removes it. A record found by the next run is a killed run's: the processes of
//! that group that carry the token (never another program that happens to have
//! the same group id since) are stopped, SIGTERM then SIGKILL, before any task
//! starts; and if they cannot be, the task's hook is refused.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::state::StateDir;

/// The environment variable that marks a hook's processes as this hook's.
pub const TOKEN_VAR: &str = "BACKUP_SERVER_HOOK_TOKEN";

/// A hook running now, as its record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    pub task: String,
    pub hook: String,
    pub group: u32,
    pub token: String,
}

/// Where the record of `task`'s `hook` (`before`, `after`) is kept while it runs.
pub fn record_path(state: &StateDir, task: &str, hook: &str) -> PathBuf {
    state.work().join(format!("{task}.{hook}.group"))
}

/// A token no other process carries: random, from the kernel.
pub fn new_token() -> String {
    let mut bytes = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| io::Read::read_exact(&mut f, &mut bytes));
    if read.is_err() {
        // Unique enough on one machine: the pid and the time.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        return format!("{}-{}", std::process::id(), now.as_nanos());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Running {
    /// Writes the record (in one rename, so a kill never leaves half of one).
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let staging = path.with_extension("group.new");
        fs_err::write(
            &staging,
            format!(
                "task {}\nhook {}\ngroup {}\ntoken {}\n",
                self.task, self.hook, self.group, self.token
            ),
        )?;
        fs_err::rename(&staging, path)
    }

    fn read(path: &Path) -> Option<Running> {
        let text = fs_err::read_to_string(path).ok()?;
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
                .map(str::to_string)
        };
        Some(Running {
            task: field("task")?,
            hook: field("hook")?,
            group: field("group")?.parse().ok().filter(|g| *g > 1)?,
            token: field("token")?,
        })
    }

    /// The processes of the group that carry the token.
    fn processes(&self) -> Vec<u32> {
        let Ok(entries) = fs_err::read_dir("/proc") else {
            return Vec::new();
        };
        let marker = format!("{TOKEN_VAR}={}", self.token);
        entries
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| group_of(*pid) == Some(self.group))
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/environ"))
                    .is_ok_and(|env| env.split(|b| *b == 0).any(|var| var == marker.as_bytes()))
            })
            .collect()
    }
}

/// The process group of `pid`, from `/proc/PID/stat` (none for a zombie: it writes
/// nothing any more).
fn group_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    fields.nth(1)?.parse().ok()
}

/// What `end_leftovers` did about one record.
#[derive(Debug)]
pub enum Leftover {
    /// Its processes were running, and were stopped.
    Stopped(Running),
    /// Its processes were running, and are still there after SIGKILL.
    Unstoppable(Running),
}

/// Ends what the hooks of a killed run left running: every record in the state
/// directory's work files, its processes stopped (SIGTERM, SIGKILL `grace` later).
/// A record whose processes are all gone is simply removed. A record left for a
/// group that could not be stopped makes that task's hook refuse to start.
pub fn end_leftovers(state: &StateDir, grace: Duration) -> Vec<Leftover> {
    let Ok(entries) = fs_err::read_dir(state.work()) else {
        return Vec::new();
    };
    let mut said = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "group") {
            continue;
        }
        let Some(running) = Running::read(&path) else {
            let _ = fs_err::remove_file(&path);
            continue;
        };
        if running.processes().is_empty() {
            let _ = fs_err::remove_file(&path);
            continue;
        }
        if stop(&running, grace) {
            let _ = fs_err::remove_file(&path);
            said.push(Leftover::Stopped(running));
        } else {
            said.push(Leftover::Unstoppable(running));
        }
    }
    said
}

/// SIGTERM to the token's processes in the group, SIGKILL to those left after
/// `grace`; whether they are all gone.
fn stop(running: &Running, grace: Duration) -> bool {
    let signal_all = |signal| {
        for pid in running.processes() {
            // SAFETY: kill() sends a signal to a process that carries our token.
            unsafe { libc::kill(pid as i32, signal) };
        }
    };
    signal_all(libc::SIGTERM);
    if wait_gone(running, grace) {
        return true;
    }
    signal_all(libc::SIGKILL);
    wait_gone(running, Duration::from_secs(5))
}

fn wait_gone(running: &Running, within: Duration) -> bool {
    let deadline = std::time::Instant::now() + within;
    loop {
        if running.processes().is_empty() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_read_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.before.group");
        let running = Running {
            task: "data".into(),
            hook: "before".into(),
            group: 4242,
            token: new_token(),
        };
        running.write(&path).unwrap();
        assert_eq!(Running::read(&path), Some(running));
    }

    #[test]
    fn a_process_without_the_token_is_never_counted_as_the_hooks() {
        // This test process's own group, with a token nobody carries.
        let running = Running {
            task: "t".into(),
            hook: "before".into(),
            // SAFETY: getpgrp has no preconditions.
            group: unsafe { libc::getpgrp() } as u32,
            token: new_token(),
        };
        assert!(running.processes().is_empty());
    }
}
