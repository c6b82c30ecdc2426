//! The errors that stop a command before or around its work, each with the message
//! for the person at the terminal and its exit status: the one place where errors
//! become exit statuses (with `Exit::of_run` for a run that went through).
//!
//! A step's failure is not one of these: it is an outcome (`outcome::StepError`),
//! recorded and reported, and the run goes on with the next task.

use jiff::civil::Date;
use std::fmt;
use std::path::PathBuf;

use crate::config::ConfigError;
use crate::exit::Exit;
use crate::lock::LockError;
use crate::outcome::StepError;
use crate::record::RecordError;
use crate::scripts::ScriptsError;
use crate::site::SiteError;

#[derive(Debug)]
pub enum Error {
    /// The command line asks for something that cannot be done as asked.
    Usage(String),
    Config(ConfigError),
    /// The step scripts are not where they should be.
    Scripts(ScriptsError),
    /// The state directory cannot be made ready.
    State {
        path: PathBuf,
        error: std::io::Error,
    },
    Lock(LockError),
    Record(RecordError),
    /// The history site could not be rendered or published.
    Site(SiteError),
    /// The demo could not build its world.
    Demo(std::io::Error),
    /// A restore could not read the snapshot or write what it was asked to.
    Restore(RestoreError),
}

impl Error {
    pub fn exit(&self) -> Exit {
        match self {
            Error::Usage(_) | Error::Config(_) | Error::Scripts(_) => Exit::Usage,
            Error::Lock(LockError::Busy { .. }) => Exit::Locked,
            Error::State { .. }
            | Error::Lock(_)
            | Error::Record(_)
            | Error::Site(_)
            | Error::Demo(_)
            | Error::Restore(_) => Exit::TaskFailed,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(message) => f.write_str(message),
            Error::Scripts(e) => e.fmt(f),
            Error::Config(e) => e.fmt(f),
            Error::State { path, error } => write!(
                f,
                "cannot prepare the state directory {}: {error}",
                path.display()
            ),
            Error::Lock(e) => e.fmt(f),
            Error::Record(e) => e.fmt(f),
            Error::Site(e) => write!(f, "cannot render the site: {e}"),
            Error::Demo(e) => write!(f, "demo: {e}"),
            Error::Restore(e) => write!(f, "restore failed: {e}"),
        }
    }
}

impl std::error::Error for Error {}

/// Why `commands::restore` could not read the snapshot or write what it was asked
/// to (a request that cannot be done as asked is a usage error instead); `Display`
/// follows "restore failed: " in `Error::Restore`. It lives here, not beside the
/// command, because commands import this module and not the other way round.
#[derive(Debug)]
pub enum RestoreError {
    /// SSH could not be set up for the target (`ssh::prepare`'s words).
    Ssh(crate::ssh::SetupError),
    /// The target side could not be reached or identified.
    Side(StepError),
    /// The side's snapshots could not be listed (`side` described).
    List {
        side: String,
        error: crate::outcome::StepError,
    },
    /// No step log could be opened for the side's commands.
    Log(std::io::Error),
    /// The dry run failed, before anything was written.
    DryRun(StepError),
    /// The copy failed; `lands` may hold part of it.
    Copy {
        lands: PathBuf,
        error: StepError,
    },
    /// Looking up the path inside the snapshot (`snapshot`, as shown) failed.
    LookInside {
        snapshot: String,
        error: StepError,
    },
    /// The lookup answered for fewer parts of the path than it was asked.
    Unlookable {
        date: Date,
        side: String,
    },
    CurrentDir(std::io::Error),
}

impl std::fmt::Display for RestoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestoreError::Ssh(why) => why.fmt(f),
            RestoreError::Side(e) => e.fmt(f),
            RestoreError::List { side, error } => write!(f, "cannot list {side}: {error}"),
            RestoreError::Log(e) => e.fmt(f),
            RestoreError::DryRun(e) => write!(f, "{e} (in the dry run, before writing anything)"),
            RestoreError::Copy { lands, error } => {
                write!(f, "{error}; {} may hold part of it", lands.display())
            }
            RestoreError::LookInside { snapshot, error } => {
                write!(f, "cannot look inside {snapshot}: {error}")
            }
            RestoreError::Unlookable { date, side } => {
                write!(f, "cannot look inside the snapshot {date} on {side}")
            }
            RestoreError::CurrentDir(e) => write!(f, "cannot tell the current directory: {e}"),
        }
    }
}

impl std::error::Error for RestoreError {}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Error {
        Error::Config(e)
    }
}

impl From<ScriptsError> for Error {
    fn from(e: ScriptsError) -> Error {
        Error::Scripts(e)
    }
}

impl From<SiteError> for Error {
    fn from(e: SiteError) -> Error {
        Error::Site(e)
    }
}

impl From<RestoreError> for Error {
    fn from(e: RestoreError) -> Error {
        Error::Restore(e)
    }
}

impl From<LockError> for Error {
    fn from(e: LockError) -> Error {
        Error::Lock(e)
    }
}

impl From<RecordError> for Error {
    fn from(e: RecordError) -> Error {
        Error::Record(e)
    }
}
