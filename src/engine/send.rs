//! `btrfs send | btrfs receive`: the transfer of a snapshot between two btrfs sides,
//! one transfer as rsync is one (DESIGN.md principle 1): both programs run under the
//! step, both exit statuses and both stderrs are read, and only a separate
//! `snapshots.sh commit` makes the received subvolume a snapshot.
//!
//! What is sent is `.sync-DATE`, a read-only snapshot of the snapshot made for it:
//! `btrfs receive` names what it receives after the sent subvolume, and a received
//! subvolume is read-only, so it cannot be moved to another directory (EROFS). The
//! target thus receives it under the in-progress name `.sync-DATE` in its own task
//! directory, and the commit renames it there. The stream passes through this
//! process, which counts its bytes for the record.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use jiff::civil::Date;

use crate::outcome::{ErrorKind, StepError, TransferStats};
use crate::sides::Side;
use crate::snapshot;
use crate::step_log::{StepLog, Stream};

/// How a send failed: `parent_missing` when the target has no subvolume received
/// from the parent (then a whole send may still succeed).
#[derive(Debug)]
pub struct Failed {
    pub error: StepError,
    pub parent_missing: bool,
}

/// Sends `local`'s `.sync-DATE` to `target`'s task directory, incrementally from
/// `.sync-PARENT` when there is one.
pub fn send(
    local: &Side,
    target: &Side,
    date: Date,
    parent: Option<Date>,
    log: &mut StepLog,
) -> Result<TransferStats, Failed> {
    let dir = local.dir();
    let sent = dir.join(format!(".sync-{}", snapshot::name(date)));
    let mut sender = Command::new("btrfs");
    sender.arg("send");
    if let Some(parent) = parent {
        sender
            .arg("-p")
            .arg(dir.join(format!(".sync-{}", snapshot::name(parent))));
    }
    sender
        .arg("--")
        .arg(&sent)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let target_dir = target.dir().to_string_lossy().into_owned();
    let mut receiver = target.program(&["btrfs", "receive", "--", &target_dir]);
    log.line(&format!(
        "$ {} |",
        std::iter::once("btrfs".to_string())
            .chain(
                sender
                    .get_args()
                    .map(|a| crate::shell::for_log(&a.to_string_lossy()))
            )
            .collect::<Vec<_>>()
            .join(" ")
    ));
    let io = |e: std::io::Error| Failed {
        error: StepError::new(ErrorKind::Io, format!("cannot run btrfs send: {e}")),
        parent_missing: false,
    };
    let (reader, mut writer) = std::io::pipe().map_err(io)?;
    // SAFETY: prctl is async-signal-safe; it only asks the kernel to stop the child
    // if this process dies.
    unsafe {
        sender.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let mut child = sender.spawn().map_err(io)?;
    let mut stream = child.stdout.take().expect("piped");
    let errors = child.stderr.take().expect("piped");
    let sender_errors = std::thread::spawn(move || {
        BufReader::new(errors)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
    // The relay: the stream from btrfs send into btrfs receive (or ssh), counted.
    let relay = std::thread::spawn(move || -> u64 {
        let mut buffer = vec![0u8; 1 << 20];
        let mut total = 0u64;
        loop {
            match stream.read(&mut buffer) {
                Ok(0) | Err(_) => return total,
                Ok(n) => {
                    if writer.write_all(&buffer[..n]).is_err() {
                        return total;
                    }
                    total += n as u64;
                }
            }
        }
    });
    receiver.stdin(Stdio::from(reader));
    let mut receive_error = None;
    let mut ssh = None;
    let mut parent_missing = false;
    let received = log.run(&mut receiver, |stream, line| {
        if stream != Stream::Stderr || line.trim().is_empty() || is_progress(line) {
            return;
        }
        if let Some(reason) = crate::ssh::failure(line) {
            ssh.get_or_insert(reason);
        } else {
            parent_missing |= line.contains("cannot find parent subvolume");
            receive_error.get_or_insert_with(|| line.to_string());
        }
    });
    // The receiver's end of the pipe is closed with it: a send whose receiver died
    // stops on a broken pipe instead of waiting.
    drop(receiver);
    let bytes = relay.join().unwrap_or(0);
    let sent_status = child.wait().map_err(io)?;
    let send_lines = sender_errors.join().unwrap_or_default();
    for line in &send_lines {
        log.line(&format!("btrfs send: {line}"));
    }
    let send_error = send_lines
        .iter()
        .find(|l| !l.trim().is_empty() && !is_progress(l))
        .cloned();
    let received = received.map_err(io)?;
    let how = match parent {
        Some(parent) => format!("incrementally from .sync-{parent}"),
        None => "whole".to_string(),
    };
    log.line(&format!(
        "btrfs stream of {date}: {bytes} bytes, sent {how}"
    ));
    let failed = |kind, message: String| Failed {
        error: StepError::new(kind, message),
        parent_missing,
    };
    if let Some(reason) = ssh {
        return Err(failed(ErrorKind::Unreachable, reason));
    }
    let status = |code: Option<i32>| {
        code.map_or("was killed by a signal".to_string(), |c| {
            format!("exited with status {c}")
        })
    };
    let first = |line: Option<String>| line.map(|l| format!(": {l}")).unwrap_or_default();
    match (sent_status.code(), received) {
        (Some(0), Some(0)) => Ok(TransferStats {
            bytes_transferred: bytes,
            ..TransferStats::default()
        }),
        // A receiver that failed says why; its sender then only met a broken pipe.
        (_, code) if code != Some(0) => Err(failed(
            ErrorKind::Transfer,
            format!(
                "btrfs receive on {target} {}{}",
                status(code),
                first(receive_error.or(send_error))
            ),
        )),
        (code, _) => Err(failed(
            ErrorKind::Transfer,
            format!("btrfs send {}{}", status(code), first(send_error)),
        )),
    }
}

/// btrfs's own progress words, not a problem.
fn is_progress(line: &str) -> bool {
    line.starts_with("At subvol ") || line.starts_with("At snapshot ")
}
