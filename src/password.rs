//! The Gmail app password: found, read, and kept out of sight.
//!
//! It is only ever read from a file (systemd's `LoadCredential`, sops-nix, a plain
//! file), never taken from argv or the environment, and its `Debug` form is redacted
//! so that no log line can print it by accident.

use std::path::{Path, PathBuf};

pub struct Password {
    secret: String,
    /// The file it was read from, to name in messages.
    file: PathBuf,
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Password {
    pub fn expose(&self) -> &str {
        &self.secret
    }

    pub fn file(&self) -> &Path {
        &self.file
    }
}

/// Where the password is read from: `--password-file`, else `$GMAIL_PASSWORD_FILE`,
/// else `$CREDENTIALS_DIRECTORY/gmail-password`.
fn locate(explicit: Option<&Path>) -> Option<PathBuf> {
    explicit
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("GMAIL_PASSWORD_FILE").map(PathBuf::from))
        .or_else(|| {
            std::env::var_os("CREDENTIALS_DIRECTORY")
                .map(|d| PathBuf::from(d).join("gmail-password"))
        })
}

/// Reads the password; the error says which file and why, never what it holds.
pub fn read(explicit: Option<&Path>) -> Result<Password, PasswordError> {
    let Some(path) = locate(explicit) else {
        return Err(PasswordError::NoFile);
    };
    let text = fs_err::read_to_string(&path).map_err(PasswordError::Unreadable)?;
    // A file written by echo or an editor ends in a newline that is not part of it.
    let password: String = text.trim_end_matches(['\n', '\r']).to_string();
    if password.trim().is_empty() {
        return Err(PasswordError::Empty(path));
    }
    Ok(Password {
        secret: password,
        file: path,
    })
}

/// Why the Gmail password could not be had: which file and why, never what it holds.
/// A report that cannot be sent for it is kept, and the run exits 3.
#[derive(Debug)]
pub enum PasswordError {
    /// No option or environment variable says where it is.
    NoFile,
    /// The file could not be read (fs-err's error names it).
    Unreadable(std::io::Error),
    Empty(PathBuf),
}

impl std::fmt::Display for PasswordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordError::NoFile => f.write_str(
                "no password file: pass --password-file, or set GMAIL_PASSWORD_FILE or CREDENTIALS_DIRECTORY",
            ),
            PasswordError::Unreadable(e) => write!(f, "cannot read the Gmail password: {e}"),
            PasswordError::Empty(path) => {
                write!(f, "the password file {} is empty", path.display())
            }
        }
    }
}

impl std::error::Error for PasswordError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_without_the_newline_and_never_shows_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "abcd efgh ijkl mnop\n").unwrap();
        let password = read(Some(&file)).unwrap();
        assert_eq!(password.expose(), "abcd efgh ijkl mnop");
        assert_eq!(format!("{password:?}"), "Password(<redacted>)");
        std::fs::write(&file, "\n").unwrap();
        assert!(
            read(Some(&file))
                .unwrap_err()
                .to_string()
                .contains("is empty")
        );
        let missing = read(Some(&dir.path().join("nope")))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("nope"), "{missing}");
    }
}
