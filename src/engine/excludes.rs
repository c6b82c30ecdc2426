//! Excludes mean what the config says: each pattern reaches rsync exactly as
//! written, whatever its first character.
//!
//! An `--exclude-from` file read line by line takes a line starting with `#` or `;`
//! for a comment, `- ` and `+ ` for rule prefixes and `!` for "clear the list": a
//! pattern such as `#drafts` silently excluded nothing while `check-config` said it
//! did. So every pattern is written as the explicit exclude rule `- PATTERN` (after
//! the prefix, rsync reads the rest as the pattern itself), NUL-terminated and read
//! with `--from0` (so a newline or a trailing space in a pattern is kept too). The
//! backup and `verify` pass the same file the same way, from here.

use std::io::Write;
use std::path::Path;

/// Writes `patterns` to `path` as NUL-terminated exclude rules.
pub fn write(path: &Path, patterns: &[String]) -> std::io::Result<()> {
    let mut file = fs_err::File::create(path)?;
    for pattern in patterns {
        file.write_all(b"- ")?;
        file.write_all(pattern.as_bytes())?;
        file.write_all(b"\0")?;
    }
    Ok(())
}

/// The rsync options that read the file `write` made; `--from0` first, as rsync
/// applies it only to the files named after it.
pub fn options(path: &Path) -> [std::ffi::OsString; 2] {
    let mut from = std::ffi::OsString::from("--exclude-from=");
    from.push(path);
    ["--from0".into(), from]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_becomes_an_explicit_exclude_rule() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.excludes");
        write(
            &path,
            &["#draft".into(), "- dash".into(), "/mnt/backup/".into()],
        )
        .unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"- #draft\0- - dash\0- /mnt/backup/\0"
        );
    }
}
