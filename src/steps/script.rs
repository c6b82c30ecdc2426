//! Running one step script, its output streamed into the step's log file.
//!
//! Scripts get an argv, never a shell string. Their stdout goes straight to the log
//! file; their stderr passes through here a line at a time, into the same log and
//! through the warning/failure scan, so an rsync printing gigabytes costs no memory.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::outcome::{Outcome, StderrScan};

/// The open log file of one step.
pub struct StepLog {
    file: File,
}

impl StepLog {
    /// Creates (or truncates) the log at `path`.
    pub fn create(path: PathBuf) -> io::Result<StepLog> {
        let file = fs_err::File::create(&path)?.into_file();
        Ok(StepLog { file })
    }

    /// Writes one line of our own to the log.
    pub fn line(&mut self, text: &str) {
        // A log that cannot be written must not fail the backup it describes.
        let _ = writeln!(self.file, "{text}");
    }

    /// Runs `script` with `args`, output into this log. With `capture`, stdout is
    /// returned (and logged) instead: only for short listings.
    pub fn run(
        &mut self,
        script: &Path,
        args: &[OsString],
        capture: bool,
    ) -> io::Result<(Outcome, String)> {
        let name = script
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let shown: Vec<String> = args
            .iter()
            .map(|a| shell_word(&a.to_string_lossy()))
            .collect();
        self.line(&format!("$ {name} {}", shown.join(" ")));

        let mut command = Command::new(script);
        command
            .args(args)
            .env("LC_ALL", "C") // rsync's messages in the words the scan knows
            .stdin(Stdio::null())
            .stdout(if capture {
                Stdio::piped()
            } else {
                Stdio::from(self.file.try_clone()?)
            })
            .stderr(Stdio::piped());
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to stop the
        // script (rsync, where the script execs it) if this process dies.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let mut child = command.spawn().map_err(|e| {
            io::Error::new(e.kind(), format!("cannot start {}: {e}", script.display()))
        })?;

        let stdout = child.stdout.take();
        let capture_thread = stdout.map(|out| {
            std::thread::spawn(move || {
                let mut text = String::new();
                io::Read::read_to_string(&mut BufReader::new(out), &mut text).map(|_| text)
            })
        });

        let mut scan = StderrScan::default();
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr is piped"));
        let mut line = Vec::new();
        while stderr.read_until(b'\n', &mut line)? > 0 {
            let _ = self.file.write_all(&line);
            scan.observe(&String::from_utf8_lossy(&line));
            line.clear();
        }
        let status = child.wait()?;
        let captured = match capture_thread {
            Some(thread) => {
                let text = thread.join().expect("capture thread panicked")?;
                let _ = self.file.write_all(text.as_bytes());
                text
            }
            None => String::new(),
        };
        let outcome = scan.outcome(&name, status.code());
        if let Outcome::Failure(reason) = &outcome {
            self.line(&format!("FAILED: {reason}"));
        }
        Ok((outcome, captured))
    }
}

/// `word`, quoted for a human reading the log only when it needs it.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-=:@+,".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}
