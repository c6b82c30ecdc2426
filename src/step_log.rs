//! Running the programs a step starts (the step scripts, and ssh for the target's
//! side of a task), their output streamed into the step's log file.
//!
//! Programs get an argv, never a shell string. Their output passes through here a
//! line at a time, into the log and through the step's scan, so an rsync printing
//! gigabytes costs no memory. They die with the run (`PR_SET_PDEATHSIG`) and
//! inherit the run lock, so one outliving a killed run still blocks the next.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, Write};
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Which of a program's outputs a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// The open log file of one step.
pub struct StepLog {
    file: File,
    path: PathBuf,
}

impl StepLog {
    /// Creates the log at `path`, a new file in place of last night's: a program
    /// a hook left running may still hold that one open, and writes on into it, not
    /// into this one.
    pub fn create(path: PathBuf) -> io::Result<StepLog> {
        match fs_err::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let file = fs_err::File::create(&path)?.into_file();
        Ok(StepLog { file, path })
    }

    /// A log that keeps nothing: for the commands that only read (`list`, `restore`),
    /// which leave the state directory as it is.
    pub fn discard() -> io::Result<StepLog> {
        let path = PathBuf::from("/dev/null");
        let file = fs_err::OpenOptions::new()
            .write(true)
            .open(&path)?
            .into_file();
        Ok(StepLog { file, path })
    }

    /// Writes one line of our own to the log.
    pub fn line(&mut self, text: &str) {
        // A log that cannot be written must not fail the backup it describes.
        let _ = writeln!(self.file, "{text}");
    }

    /// Runs `command` (its stdin set by the caller); each line of its stdout and
    /// stderr goes into the log and to `on_line`. Returns its exit code (`None`:
    /// killed by a signal).
    pub fn run(
        &mut self,
        command: &mut Command,
        mut on_line: impl FnMut(Stream, &str),
    ) -> io::Result<Option<i32>> {
        let ran = self.spawn(command, false, true, &mut on_line)?;
        Ok(ran.code)
    }

    /// As `run`, but only stderr goes into the log: the stdout of a listing of a whole
    /// tree is read, and the log says how many lines it had.
    pub fn run_listing(
        &mut self,
        command: &mut Command,
        mut on_line: impl FnMut(Stream, &str),
    ) -> io::Result<Option<i32>> {
        let ran = self.spawn(command, false, false, &mut on_line)?;
        self.line(&format!(
            "({} lines of listing read, not kept here)",
            ran.lines
        ));
        Ok(ran.code)
    }

    /// Runs a command of the administrator's (a hook) with its output straight into
    /// this log, in a process group of its own that is stopped (SIGTERM, then SIGKILL)
    /// if it takes longer than `limit`. Its output is not read through pipes: a
    /// process it leaves running in the background (a daemon it starts) must not keep
    /// the step waiting. `closed`: a descriptor it must not inherit (the run lock).
    /// `started` is told its process group as soon as it runs. Returns its exit
    /// code, whether it was stopped, and the last line it wrote.
    pub fn run_limited(
        &mut self,
        command: &mut Command,
        limit: Duration,
        closed: Option<RawFd>,
        started: impl FnOnce(u32),
    ) -> io::Result<(Option<i32>, bool, Option<String>)> {
        self.line(&format!("$ {}", shown(command)));
        let start = self.file.stream_position()?;
        command
            .stdout(Stdio::from(self.file.try_clone()?))
            .stderr(Stdio::from(self.file.try_clone()?))
            .process_group(0);
        // SAFETY: prctl and close are async-signal-safe; they touch no memory.
        unsafe {
            command.pre_exec(move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                if let Some(fd) = closed {
                    libc::close(fd);
                }
                Ok(())
            });
        }
        let program = command.get_program().to_string_lossy().into_owned();
        let mut child = command
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot start {program}: {e}")))?;
        started(child.id());
        let watchdog = Watchdog::start(child.id(), limit);
        let status = child.wait()?;
        let timed_out = watchdog.stop();
        let end = self.file.seek(io::SeekFrom::End(0))?;
        let last = self.last_line(start, end)?;
        // Our next line starts on a line of its own.
        if end > start && last_byte(&self.path, end)? != Some(b'\n') {
            self.line("");
        }
        Ok((status.code(), timed_out, last))
    }

    /// The last non-blank line of what was written from `start` to `end` (at most its
    /// last 64 KiB are read; bytes that are not UTF-8 are shown as such).
    fn last_line(&self, start: u64, end: u64) -> io::Result<Option<String>> {
        const TAIL: u64 = 64 * 1024;
        let from = start.max(end.saturating_sub(TAIL));
        let mut tail = Vec::new();
        let mut log = fs_err::File::open(&self.path)?;
        log.seek(io::SeekFrom::Start(from))?;
        log.take(end - from).read_to_end(&mut tail)?;
        let text = String::from_utf8_lossy(&tail);
        // Read from the middle of a line: that line is not whole.
        let whole = if from > start {
            text.split_once('\n').map_or("", |(_, rest)| rest)
        } else {
            &text
        };
        Ok(whole
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| l.chars().take(300).collect()))
    }

    /// Runs `command` and returns its stdout unlogged (a listing); stderr lines go
    /// into the log and to `on_stderr`.
    pub fn capture(
        &mut self,
        command: &mut Command,
        mut on_stderr: impl FnMut(&str),
    ) -> io::Result<(Option<i32>, Vec<u8>)> {
        let ran = self.spawn(command, true, true, &mut |_, line| on_stderr(line))?;
        Ok((ran.code, ran.stdout))
    }

    fn spawn(
        &mut self,
        command: &mut Command,
        capture: bool,
        log_stdout: bool,
        on_line: &mut dyn FnMut(Stream, &str),
    ) -> io::Result<Ran> {
        self.line(&format!("$ {}", shown(command)));
        command
            .env("LC_ALL", "C") // rsync's and ssh's messages in the words the scans know
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to stop the
        // child if this process dies.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let program = command.get_program().to_string_lossy().into_owned();
        let mut child = command
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot start {program}: {e}")))?;

        // Bounded: a program that prints faster than its lines are read (a listing of
        // a whole tree) waits for them instead of filling this process's memory.
        let (sender, lines) = mpsc::sync_channel::<(Stream, String)>(1024);
        let stderr = child.stderr.take().expect("piped");
        let stderr_sender = sender.clone();
        let stderr_thread =
            std::thread::spawn(move || forward(stderr, Stream::Stderr, &stderr_sender));
        let stdout = child.stdout.take().expect("piped");
        let stdout_thread = std::thread::spawn(move || {
            if capture {
                let mut bytes = Vec::new();
                BufReader::new(stdout)
                    .read_to_end(&mut bytes)
                    .map(|_| bytes)
            } else {
                forward(stdout, Stream::Stdout, &sender).map(|()| Vec::new())
            }
        });
        let mut stdout_lines = 0;
        for (stream, line) in lines {
            // rsync's --info=progress2 lines (asked for only when a terminal shows
            // them) update the progress line; the log and the scans never see them.
            if stream == Stream::Stdout && crate::journal::progress::rsync_line(&line) {
                continue;
            }
            if stream == Stream::Stdout {
                stdout_lines += 1;
            }
            if log_stdout || stream == Stream::Stderr {
                self.line(&line);
            }
            on_line(stream, &line);
        }
        let status = child.wait()?;
        stderr_thread.join().expect("stderr reader panicked")?;
        let stdout = stdout_thread.join().expect("stdout reader panicked")?;
        Ok(Ran {
            code: status.code(),
            stdout,
            lines: stdout_lines,
        })
    }
}

/// How a program ended.
struct Ran {
    code: Option<i32>,
    /// Its stdout, when captured.
    stdout: Vec<u8>,
    /// How many lines of stdout it wrote, when they were read as lines.
    lines: u64,
}

/// The byte before `end` in the file at `path`.
fn last_byte(path: &Path, end: u64) -> io::Result<Option<u8>> {
    let Some(at) = end.checked_sub(1) else {
        return Ok(None);
    };
    let mut file = fs_err::File::open(path)?;
    file.seek(io::SeekFrom::Start(at))?;
    let mut byte = [0u8];
    Ok((file.read(&mut byte)? == 1).then_some(byte[0]))
}

/// How long a hook's process group has between SIGTERM and SIGKILL.
pub const GRACE: Duration = Duration::from_secs(10);

/// Stops a process group that runs past its time: SIGTERM to the whole group, then
/// SIGKILL to whatever of it is left `GRACE` later. The group is watched, not its
/// leader: a `sh` that dies on SIGTERM leaves behind the children that ignore it,
/// and they are what writes on into the source.
struct Watchdog {
    done: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<bool>,
}

impl Watchdog {
    fn start(group: u32, limit: Duration) -> Watchdog {
        let (done, finished) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            if finished.recv_timeout(limit) != Err(mpsc::RecvTimeoutError::Timeout) {
                return false;
            }
            stop_group(group, GRACE);
            true
        });
        Watchdog { done, thread }
    }

    /// Called once the program's leader has ended; whether the watchdog had to stop
    /// it. When it did, this returns only once the whole group is gone.
    fn stop(self) -> bool {
        let _ = self.done.send(());
        self.thread.join().unwrap_or(false)
    }
}

/// Whether any process of group `group` is alive.
pub fn group_alive(group: u32) -> bool {
    // SAFETY: signal 0 only asks whether the group exists; nothing is sent.
    unsafe { libc::kill(-(group as i32), 0) == 0 }
}

/// SIGTERM to process group `group`, then SIGKILL to what is left of it after
/// `grace` (sooner returned if the group is gone by then). A process that SIGKILL
/// does not end (stuck in the kernel on a hung disk) is waited for `STUCK` at most:
/// the caller tells that the group is still there.
pub fn stop_group(group: u32, grace: Duration) {
    let target = -(group as i32);
    // SAFETY: kill() only sends a signal to the process group we started.
    unsafe { libc::kill(target, libc::SIGTERM) };
    let deadline = std::time::Instant::now() + grace;
    while std::time::Instant::now() < deadline {
        if !group_alive(group) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: as above.
    unsafe { libc::kill(target, libc::SIGKILL) };
    let deadline = std::time::Instant::now() + STUCK;
    while group_alive(group) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How long a process group is waited for after SIGKILL.
const STUCK: Duration = Duration::from_secs(30);

/// Sends each line read from `from` (lossily decoded) down `to`.
/// Sends each line of `from`: ended by `\n`, or by a lone `\r` (rsync's progress
/// updates rewrite one line with `\r`; they must arrive as they are printed).
fn forward(
    from: impl Read,
    stream: Stream,
    to: &mpsc::SyncSender<(Stream, String)>,
) -> io::Result<()> {
    let mut reader = BufReader::new(from);
    let mut line = Vec::new();
    // The line before ended with `\r`: a `\n` right after it ends nothing more.
    let mut after_cr = false;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            // The last line, if it has no end of its own.
            if !line.is_empty() {
                let _ = to.send((stream, lossy(&line)));
            }
            return Ok(());
        }
        let (taken, ended) = match chunk.iter().position(|&b| b == b'\n' || b == b'\r') {
            Some(at) => {
                line.extend_from_slice(&chunk[..at]);
                (at + 1, Some(chunk[at]))
            }
            None => {
                line.extend_from_slice(chunk);
                (chunk.len(), None)
            }
        };
        reader.consume(taken);
        let Some(end) = ended else { continue };
        let echo = end == b'\n' && after_cr && line.is_empty();
        after_cr = end == b'\r';
        if !echo && to.send((stream, lossy(&line))).is_err() {
            return Ok(());
        }
        line.clear();
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A command as a person would type it, for the log.
fn shown(command: &Command) -> String {
    let program = Path::new(command.get_program())
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    std::iter::once(program)
        .chain(
            command
                .get_args()
                .map(|a| crate::shell::for_log(&a.to_string_lossy())),
        )
        .collect::<Vec<_>>()
        .join(" ")
}
