//! Messages for the person at the terminal, or for journald.
//!
//! Under systemd (`JOURNAL_STREAM` set) each line starts with a `<N>` syslog priority,
//! which journald turns into the entry's level; on a terminal a message's first line
//! says `error:` or `warning:` (in colour, unless `NO_COLOR` is set or stderr is not a
//! terminal) and its other lines follow as they are. `-q` keeps only warnings and
//! errors, `-v` adds the details (`Level::Detail`); the choice is made once, at start.

pub mod progress;

use std::io::IsTerminal;
use std::sync::OnceLock;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error = 3,
    Warning = 4,
    Info = 6,
    /// What `-v` adds: the programs a step runs, where their logs are.
    Detail = 7,
}

/// How much is printed: the command line's `-q`/`-v`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Verbosity {
    Quiet,
    #[default]
    Normal,
    Verbose,
}

static VERBOSITY: OnceLock<Verbosity> = OnceLock::new();

/// Sets how much is printed; the first call wins (the command line's, in `cli`).
pub fn set_verbosity(verbosity: Verbosity) {
    let _ = VERBOSITY.set(verbosity);
}

/// Whether `-q` was given.
pub fn quiet() -> bool {
    VERBOSITY.get() == Some(&Verbosity::Quiet)
}

fn shown(level: Level) -> bool {
    let most = match VERBOSITY.get().copied().unwrap_or_default() {
        Verbosity::Quiet => Level::Warning,
        Verbosity::Normal => Level::Info,
        Verbosity::Verbose => Level::Detail,
    };
    level <= most
}

/// Whether stderr goes to journald (the unit), not to a person.
pub fn under_journald() -> bool {
    static ONCE: OnceLock<bool> = OnceLock::new();
    *ONCE.get_or_init(|| std::env::var_os("JOURNAL_STREAM").is_some())
}

/// Whether to colour what goes to a stream: only a terminal, and never with `NO_COLOR`
/// set to anything but the empty string (<https://no-color.org>).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Paint {
    Plain,
    Colour,
}

impl Paint {
    fn of(terminal: bool) -> Paint {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        if terminal && !no_color {
            Paint::Colour
        } else {
            Paint::Plain
        }
    }

    pub fn stdout() -> Paint {
        Paint::of(std::io::stdout().is_terminal())
    }

    pub fn stderr() -> Paint {
        Paint::of(std::io::stderr().is_terminal() && !under_journald())
    }

    fn wrap(self, code: &str, text: &str) -> String {
        match self {
            Paint::Plain => text.to_string(),
            Paint::Colour => format!("\x1b[{code}m{text}\x1b[0m"),
        }
    }

    /// Something that went well (doctor's ✓).
    pub fn good(self, text: &str) -> String {
        self.wrap("32", text)
    }

    /// Something wrong (doctor's ✗, `error:`).
    pub fn bad(self, text: &str) -> String {
        self.wrap("1;31", text)
    }

    /// Something to look at (`warning:`).
    pub fn warning(self, text: &str) -> String {
        self.wrap("1;33", text)
    }
}

pub fn log(level: Level, message: &str) {
    if !shown(level) {
        return;
    }
    let mut lines = message.lines();
    let Some(first) = lines.next() else { return };
    // One write per message line so that concurrent output never interleaves mid-line.
    if under_journald() {
        let priority = level as u8;
        eprintln!("<{priority}>{first}");
        for line in lines {
            eprintln!("<{priority}>{line}");
        }
        return;
    }
    let paint = Paint::stderr();
    let prefix = match level {
        Level::Error => format!("{} ", paint.bad("error:")),
        Level::Warning => format!("{} ", paint.warning("warning:")),
        Level::Info | Level::Detail => String::new(),
    };
    // Above the progress line, when one is shown.
    progress::above(|| {
        eprintln!("{prefix}{first}");
        for line in lines {
            eprintln!("{line}");
        }
    });
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

/// What `-v` adds.
pub fn detail(message: &str) {
    log(Level::Detail, message);
}

/// Writes `text` to stdout; a reader that went away (`| head`) is no error.
pub fn print_out(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
