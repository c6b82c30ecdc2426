//! Where a task's data lives: a local directory or `user@host:/path` over SSH.
//!
//! Sources and the backup target share this one notion, so that rsync, ssh and the
//! scripts see exactly the same split of host and path everywhere.

use std::fmt;
use std::path::{Path, PathBuf};

/// A local absolute path, or a path on another host reached over SSH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Local(PathBuf),
    Remote {
        /// `user@host` (or a bare host, resolved through `ssh_config`).
        host: String,
        path: PathBuf,
    },
}

impl Location {
    /// Parses `/abs/path` or `[user@]host:/abs/path`; the error says what is expected.
    pub fn parse(text: &str) -> Result<Location, LocationError> {
        if text.starts_with('/') {
            return Ok(Location::Local(checked_path(text)?));
        }
        let Some((host, path)) = text.split_once(':') else {
            return Err(LocationError::NeitherPathNorRemote);
        };
        let (user, name) = match host.split_once('@') {
            Some((user, name)) => (Some(user), name),
            None => (None, host),
        };
        let word_ok = |w: &str| {
            !w.is_empty()
                && !w.starts_with('-')
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        };
        if !word_ok(name) || !user.is_none_or(word_ok) {
            return Err(LocationError::BadHost(text.to_string()));
        }
        if !path.starts_with('/') {
            return Err(LocationError::RelativeRemotePath(text.to_string()));
        }
        Ok(Location::Remote {
            host: host.to_string(),
            path: checked_path(path)?,
        })
    }

    /// The directory of one task below this location: `<self>/<task>`.
    pub fn join(&self, task: &str) -> Location {
        match self {
            Location::Local(p) => Location::Local(p.join(task)),
            Location::Remote { host, path } => Location::Remote {
                host: host.clone(),
                path: path.join(task),
            },
        }
    }

    pub fn is_remote(&self) -> bool {
        matches!(self, Location::Remote { .. })
    }

    /// The path, when the location is on this machine.
    pub fn local_path(&self) -> Option<&Path> {
        match self {
            Location::Local(p) => Some(p),
            Location::Remote { .. } => None,
        }
    }

    /// `user@host`, when the location is over SSH.
    pub fn ssh_host(&self) -> Option<&str> {
        match self {
            Location::Local(_) => None,
            Location::Remote { host, .. } => Some(host),
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            Location::Local(p) | Location::Remote { path: p, .. } => p,
        }
    }

    /// The host part for the scripts: `user@host`, or "" for a local path.
    pub fn host(&self) -> &str {
        match self {
            Location::Local(_) => "",
            Location::Remote { host, .. } => host,
        }
    }
}

impl Location {
    /// The form rsync reads as the files to send: as `Display`, but on a remote
    /// side each part of the path that holds a wildcard character (`*`, `?`, `[`)
    /// has those and its `]` and `\` escaped with a `\`. The rsync there expands
    /// wildcards in what it is asked to send (`--protect-args` keeps only the shell
    /// out), so `/srv/data[1]` would send `/srv/data1`; a part without one is
    /// taken as written, backslashes and all, and is left so.
    pub fn for_rsync(&self) -> String {
        match self {
            Location::Local(p) => p.display().to_string(),
            Location::Remote { host, path } => {
                let text = path.to_string_lossy();
                let parts: Vec<String> = text.split('/').map(escape_wildcards).collect();
                format!("{host}:{}", parts.join("/"))
            }
        }
    }
}

/// One part of a remote path, its wildcard characters escaped if it holds any.
fn escape_wildcards(part: &str) -> String {
    if !part.contains(['*', '?', '[']) {
        return part.to_string();
    }
    let mut out = String::with_capacity(part.len() + 4);
    for c in part.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for Location {
    /// The form rsync understands: `/path` or `user@host:/path`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(p) => write!(f, "{}", p.display()),
            Location::Remote { host, path } => write!(f, "{host}:{}", path.display()),
        }
    }
}

/// An absolute path with no `.`/`..` components, no trailing slash and no control
/// characters: the scripts refuse anything else, so we refuse it first, with a reason.
pub fn checked_path(text: &str) -> Result<PathBuf, LocationError> {
    if !text.starts_with('/') {
        return Err(LocationError::NotAbsolute(text.to_string()));
    }
    if text.chars().any(char::is_control) {
        return Err(LocationError::ControlCharacters(text.to_string()));
    }
    if text == "/" {
        return Err(LocationError::Root);
    }
    // Checked on the text: Path::components() would quietly drop a "." component.
    let normal = text[1..]
        .split('/')
        .all(|part| !matches!(part, "" | "." | ".."));
    if !normal {
        return Err(LocationError::NotPlain(text.to_string()));
    }
    Ok(PathBuf::from(text))
}

/// Why the text of a path or a location in the config is refused; each variant
/// holds the text as written, and `Display` is the problem the config reports
/// under the key that held it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocationError {
    /// Neither `/abs/path` nor anything with a `host:` part.
    NeitherPathNorRemote,
    /// `host:/path` whose host or user holds a character ssh would misread.
    BadHost(String),
    /// `host:path` whose path is not absolute.
    RelativeRemotePath(String),
    NotAbsolute(String),
    ControlCharacters(String),
    /// `/` itself.
    Root,
    /// A path with `.`, `..`, `//` or a trailing `/`.
    NotPlain(String),
}

impl fmt::Display for LocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LocationError::NeitherPathNorRemote => {
                f.write_str("must be an absolute path or user@host:/path")
            }
            LocationError::BadHost(text) => write!(
                f,
                "{text:?} must be an absolute path or user@host:/path (host and user may hold only letters, digits, '.', '_' and '-')"
            ),
            LocationError::RelativeRemotePath(text) => {
                write!(f, "{text:?}: the path after ':' must be absolute")
            }
            LocationError::NotAbsolute(text) => write!(f, "{text:?} must be an absolute path"),
            LocationError::ControlCharacters(text) => {
                write!(f, "{text:?} must not contain control characters")
            }
            LocationError::Root => f.write_str("must not be the root directory /"),
            LocationError::NotPlain(text) => write!(
                f,
                "{text:?} must be a plain absolute path (no '.', '..', '//' or trailing '/')"
            ),
        }
    }
}

impl std::error::Error for LocationError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remote_path_is_escaped_for_the_rsync_there_only_where_it_holds_a_wildcard() {
        let at = |text: &str| Location::parse(text).unwrap().for_rsync();
        assert_eq!(at("u@h:/srv/data[1]/x"), "u@h:/srv/data\\[1\\]/x");
        assert_eq!(at("u@h:/srv/a b*/c?"), "u@h:/srv/a b\\*/c\\?");
        assert_eq!(at("u@h:/srv/back\\slash"), "u@h:/srv/back\\slash");
        assert_eq!(
            at("/srv/data[1]"),
            "/srv/data[1]",
            "a local path is never globbed"
        );
    }

    #[test]
    fn parses_local_and_remote() {
        assert_eq!(
            Location::parse("/data").unwrap(),
            Location::Local("/data".into())
        );
        let remote = Location::parse("backup@nas.lan:/srv/backup").unwrap();
        assert_eq!(remote.host(), "backup@nas.lan");
        assert_eq!(remote.path(), Path::new("/srv/backup"));
        assert_eq!(remote.to_string(), "backup@nas.lan:/srv/backup");
        assert_eq!(
            remote.join("Photos").to_string(),
            "backup@nas.lan:/srv/backup/Photos"
        );
    }

    #[test]
    fn refuses_what_the_scripts_would_refuse() {
        for bad in [
            "data",
            "/",
            "/data/",
            "/data/../etc",
            "/a//b",
            "/a/./b",
            "host:relative",
            "-oProxyCommand=x:/p",
            "us er@host:/p",
            "@host:/p",
            "/bad\nname",
        ] {
            assert!(Location::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
