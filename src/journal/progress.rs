//! One updating line on a terminal while long work goes on, so that a restore of two
//! terabytes is not hours of a blank screen: what is being done, the files and bytes
//! rsync has moved, its rate, and the time so far. It is fed from rsync's own
//! `--info=progress2` lines, which are asked for (`rsync_options`) only when the line
//! is shown: stderr a terminal, not under journald, not `-q`. Off a terminal (the
//! timer, a pipe) nothing changes: no option, no line.
//!
//! One line for the process, set up by `begin` and taken down by its guard; messages
//! printed meanwhile (`journal`) go above it.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

static LINE: Mutex<Option<Line>> = Mutex::new(None);

struct Line {
    bar: ProgressBar,
    what: String,
}

/// Whether a progress line is shown at all.
pub fn enabled() -> bool {
    std::io::stderr().is_terminal() && !super::under_journald() && !super::quiet()
}

/// What rsync is given so that it reports its progress: nothing when no line is shown.
pub fn rsync_options() -> Option<&'static str> {
    enabled().then_some("--info=progress2")
}

/// Takes the line down when dropped.
#[must_use]
pub struct Shown(());

impl Drop for Shown {
    fn drop(&mut self) {
        if let Some(line) = lock().take() {
            line.bar.finish_and_clear();
        }
    }
}

/// Shows `what` (the step, the task) on the progress line, if one is shown.
pub fn begin(what: &str) -> Shown {
    if enabled() {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}").expect("a valid template"),
        );
        bar.set_message(what.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Some(old) = lock().replace(Line {
            bar,
            what: what.to_string(),
        }) {
            old.bar.finish_and_clear();
        }
    }
    Shown(())
}

/// Feeds one line of rsync's stdout; true when it was a progress update (consumed).
pub fn rsync_line(text: &str) -> bool {
    let mut guard = lock();
    let Some(line) = guard.as_mut() else {
        return false;
    };
    let Some(update) = Update::parse(text) else {
        return false;
    };
    line.bar
        .set_message(format!("{}: {}", line.what, update.words()));
    true
}

/// Runs `print` with the progress line out of the way (messages go above it).
pub fn above(print: impl FnOnce()) {
    match lock().as_ref() {
        Some(line) => line.bar.suspend(print),
        None => print(),
    }
}

fn lock() -> std::sync::MutexGuard<'static, Option<Line>> {
    LINE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One `--info=progress2` line:
/// `    1,234,567  45%   12.34MB/s    0:00:01 (xfr#12, to-chk=88/101)`.
#[derive(Debug, PartialEq)]
struct Update {
    bytes: u64,
    percent: u32,
    rate: String,
    files: Option<u64>,
}

impl Update {
    fn parse(line: &str) -> Option<Update> {
        let mut words = line.split_whitespace();
        let bytes = words.next()?.replace(',', "").parse().ok()?;
        let percent = words.next()?.strip_suffix('%')?.parse().ok()?;
        let rate = words.next().filter(|r| r.ends_with("/s"))?.to_string();
        let files = line
            .split_once("xfr#")
            .and_then(|(_, rest)| rest.split([',', ')']).next())
            .and_then(|n| n.parse().ok());
        Some(Update {
            bytes,
            percent,
            rate,
            files,
        })
    }

    fn words(&self) -> String {
        let files = match self.files {
            Some(1) => "1 file, ".to_string(),
            Some(n) => format!("{n} files, "),
            None => String::new(),
        };
        format!(
            "{files}{} ({}%), {}",
            crate::words::bytes(self.bytes),
            self.percent,
            self.rate
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsyncs_progress_lines_are_read_and_nothing_else_is() {
        assert_eq!(
            Update::parse("     32,768 100%   31.25MB/s    0:00:00 (xfr#1, to-chk=0/3)"),
            Some(Update {
                bytes: 32768,
                percent: 100,
                rate: "31.25MB/s".into(),
                files: Some(1),
            })
        );
        assert_eq!(
            Update::parse("  1,048,576  12%  512.00kB/s    0:00:07  ").map(|u| u.files),
            Some(None)
        );
        for other in [
            "item >f+++++++++ 12 monkeys.txt",
            "Number of files: 3 (reg: 2, dir: 1)",
            "",
            "sending incremental file list",
        ] {
            assert_eq!(Update::parse(other), None, "{other}");
        }
    }
}
