//! Messages for the person at the terminal, or for journald.
//!
//! Under systemd (`JOURNAL_STREAM` set) each line starts with a `<N>` syslog priority,
//! which journald turns into the entry's level; on a terminal the line is plain.

use std::sync::OnceLock;

#[derive(Clone, Copy)]
pub enum Level {
    Error = 3,
    Warning = 4,
    Info = 6,
}

fn under_journald() -> bool {
    static ONCE: OnceLock<bool> = OnceLock::new();
    *ONCE.get_or_init(|| std::env::var_os("JOURNAL_STREAM").is_some())
}

pub fn log(level: Level, message: &str) {
    let prefix = match (under_journald(), level) {
        (true, level) => format!("<{}>", level as u8),
        (false, Level::Error) => "error: ".into(),
        (false, Level::Warning) => "warning: ".into(),
        (false, Level::Info) => String::new(),
    };
    // One write per message line so that concurrent output never interleaves mid-line.
    for line in message.lines() {
        eprintln!("{prefix}{line}");
    }
}

pub fn info(message: &str) {
    log(Level::Info, message);
}

pub fn warn(message: &str) {
    log(Level::Warning, message);
}

pub fn error(message: &str) {
    log(Level::Error, message);
}
