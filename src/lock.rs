//! One run at a time: an advisory lock on `<state>/lock`.
//!
//! `flock` is released by the kernel when its holder dies, however it dies, so a
//! crashed run never blocks the next one. The descriptor is inherited by the steps'
//! children, so an rsync that outlives a killed run still holds the lock until it
//! exits: no second run ever works on the same snapshot beside it. The file names
//! the holder and when it started, for the message the second run prints.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Held for as long as it lives.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

#[derive(Debug)]
pub enum LockError {
    /// Another process holds it; `holder` is what it wrote ("pid 123 since ...").
    Busy {
        path: PathBuf,
        holder: String,
    },
    Io {
        path: PathBuf,
        error: io::Error,
    },
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockError::Busy { path, holder } => write!(
                f,
                "another backup-server run holds {} ({holder}); not starting a second one",
                path.display()
            ),
            LockError::Io { path, error } => write!(f, "cannot lock {}: {error}", path.display()),
        }
    }
}

impl RunLock {
    /// The lock file's descriptor (inherited by the steps' programs).
    pub fn fd(&self) -> std::os::fd::RawFd {
        self._file.as_raw_fd()
    }
}

/// What holds the lock: a run, or a verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    Run,
    Verify,
}

impl Work {
    fn word(self) -> &'static str {
        match self {
            Work::Run => "run",
            Work::Verify => "verify",
        }
    }
}

impl RunLock {
    /// Takes the lock for `work`, or says who holds it.
    pub fn acquire(path: &Path, work: Work) -> Result<RunLock, LockError> {
        Self::take(path, work, None)
    }

    /// Takes the lock for `work`; when `patient_with` holds it, waits for it to end
    /// (telling `waiting` who that is) instead of giving up.
    pub fn acquire_after(
        path: &Path,
        work: Work,
        patient_with: Work,
        waiting: impl FnOnce(&str),
    ) -> Result<RunLock, LockError> {
        Self::take(path, work, Some((patient_with, Box::new(waiting))))
    }

    #[allow(clippy::type_complexity)]
    fn take(
        path: &Path,
        work: Work,
        patient: Option<(Work, Box<dyn FnOnce(&str) + '_>)>,
    ) -> Result<RunLock, LockError> {
        let io_err = |error| LockError::Io {
            path: path.to_path_buf(),
            error,
        };
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io_err)?;
        // SAFETY: flock on a file descriptor we own; no memory is involved.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::WouldBlock {
                return Err(io_err(error));
            }
            // A holder that has just taken the lock writes who it is right after: give it
            // a moment to.
            let mut holder = String::new();
            for _ in 0..20 {
                file.rewind().map_err(io_err)?;
                holder.clear();
                file.read_to_string(&mut holder).map_err(io_err)?;
                if !holder.trim().is_empty() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            let holder = describe_holder(holder.trim());
            match patient {
                Some((other, waiting)) if holder.starts_with(&format!("{}: ", other.word())) => {
                    waiting(&holder);
                    // SAFETY: as above; this one blocks until the holder lets go.
                    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
                        return Err(io_err(io::Error::last_os_error()));
                    }
                }
                _ => {
                    return Err(LockError::Busy {
                        path: path.to_path_buf(),
                        holder,
                    });
                }
            }
        }
        // SAFETY: clears FD_CLOEXEC on a descriptor we own.
        if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETFD, 0) } != 0 {
            return Err(io_err(io::Error::last_os_error()));
        }
        let since = jiff::ZonedDateTime::now().strftime("%Y-%m-%d %H:%M:%S %Z");
        file.set_len(0).map_err(io_err)?;
        file.rewind().map_err(io_err)?;
        writeln!(
            file,
            "{}: pid {} since {since}",
            work.word(),
            std::process::id()
        )
        .map_err(io_err)?;
        Ok(RunLock { _file: file })
    }
}

/// Whether a run holds the lock at `path` now (for readers such as `render-site`,
/// which never take it).
pub fn is_held(path: &Path) -> bool {
    let Ok(file) = File::open(path) else {
        return false;
    };
    // SAFETY: flock on a file descriptor we own; the shared lock, if we get it, goes
    // with the descriptor when `file` is dropped.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) != 0 }
}

/// What the lock file says, plus whether that process is still alive: a killed run's
/// rsync may hold the lock a little longer than the run itself.
fn describe_holder(text: &str) -> String {
    if text.is_empty() {
        return "a process that is still starting".into();
    }
    let pid = text
        .split_once("pid ")
        .and_then(|(_, rest)| rest.split(' ').next());
    match pid {
        Some(pid) if !Path::new("/proc").join(pid).exists() => {
            format!("{text}; that process has exited, a step it started is still finishing")
        }
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let first = RunLock::acquire(&path, Work::Run).unwrap();
        match RunLock::acquire(&path, Work::Verify) {
            Err(LockError::Busy { holder, .. }) => assert!(
                holder.starts_with(&format!("run: pid {} since ", std::process::id())),
                "{holder}"
            ),
            other => panic!("expected Busy, got {other:?}"),
        }
        assert!(is_held(&path));
        drop(first);
        assert!(!is_held(&path));
        RunLock::acquire(&path, Work::Run).expect("free again once the holder is gone");
    }

    #[test]
    fn a_run_waits_for_a_verify_to_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let verify = RunLock::acquire(&path, Work::Verify).unwrap();
        let (told, heard) = std::sync::mpsc::channel();
        let waiter = {
            let path = path.clone();
            std::thread::spawn(move || {
                RunLock::acquire_after(&path, Work::Run, Work::Verify, |holder| {
                    told.send(holder.to_string()).unwrap()
                })
                .map(drop)
            })
        };
        let holder = heard.recv().unwrap();
        assert!(holder.starts_with("verify: pid "), "{holder}");
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(
            !waiter.is_finished(),
            "it waits while the verify holds the lock"
        );
        drop(verify);
        waiter.join().unwrap().expect("then it runs");
        assert!(RunLock::acquire(&path, Work::Verify).is_ok());
    }
}
