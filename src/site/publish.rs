//! Publishing the site: built whole in a fresh directory beside the target, then
//! swapped in with one atomic rename, so nginx never serves a half-written site.
//!
//! Files are world-readable (nginx runs as another user) whatever the service's umask;
//! nothing but the site's own files is put there. A directory that is not a site of
//! ours is never replaced: its contents would be deleted.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Marks a directory as a site we rendered, and so ours to replace.
pub const MARKER: &str = ".backup-server-site";

/// Where `render` puts the site's files while it is being built.
pub struct SiteWriter {
    root: PathBuf,
}

impl SiteWriter {
    /// Writes one file at `path` (relative, `/`-separated), readable by all.
    pub fn write(&self, path: &str, contents: &[u8]) -> io::Result<()> {
        let file = self.root.join(path);
        let mut missing: Vec<PathBuf> = file
            .parent()
            .into_iter()
            .flat_map(Path::ancestors)
            .take_while(|d| !d.exists())
            .map(Path::to_path_buf)
            .collect();
        missing.reverse();
        for dir in missing {
            make_dir(&dir)?;
        }
        fs_err::write(&file, contents)?;
        fs_err::set_permissions(&file, std::fs::Permissions::from_mode(0o644))
    }
}

/// Builds the site with `render` (page by page, so it is never all in memory) and
/// publishes it at `target`.
pub fn publish(
    target: &Path,
    render: impl FnOnce(&SiteWriter) -> io::Result<()>,
) -> Result<(), PublishError> {
    let target = &resolved(target)?;
    let name = target
        .file_name()
        .ok_or_else(|| PublishError::NoName(target.clone()))?;
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if target.exists() && !is_ours(target) {
        return Err(PublishError::NotOurs(target.clone()));
    }
    fs_err::create_dir_all(parent)?;
    let prefix = format!(".{}.new-", name.to_string_lossy());
    remove_abandoned(parent, &prefix);
    let staging = parent.join(format!("{prefix}{}", std::process::id()));
    if staging.exists() {
        fs_err::remove_dir_all(&staging)?;
    }
    let built = make_dir(&staging).and_then(|()| {
        let writer = SiteWriter {
            root: staging.clone(),
        };
        writer.write(
            MARKER,
            b"rendered by backup-server; replaced whole on every render\n",
        )?;
        render(&writer)
    });
    if let Err(e) = built {
        let _ = fs_err::remove_dir_all(&staging);
        return Err(PublishError::Write { staging, error: e });
    }

    let swapped = if target.exists() {
        exchange(&staging, target).map_err(|error| PublishError::Swap {
            target: target.clone(),
            error,
        })?;
        // The old site is now where the new one was built.
        fs_err::remove_dir_all(&staging)
    } else {
        fs_err::rename(&staging, target)
    };
    if swapped.is_err() {
        let _ = fs_err::remove_dir_all(&staging);
    }
    Ok(swapped?)
}

/// Why the site could not be published at its directory: the directory named,
/// and the io error where there is one.
#[derive(Debug)]
pub enum PublishError {
    /// A path with no last part (`/`, `..`).
    NoName(PathBuf),
    /// Something there that `publish` did not make (no marker file).
    NotOurs(PathBuf),
    DanglingSymlink {
        target: PathBuf,
        /// Where it points, in words.
        points_to: String,
    },
    /// Building the new site in `staging` failed.
    Write {
        staging: PathBuf,
        error: io::Error,
    },
    Swap {
        target: PathBuf,
        error: io::Error,
    },
    /// Making the parent, clearing an old staging directory, or the final rename
    /// (fs-err's error names the path).
    Io(io::Error),
}

impl std::fmt::Display for PublishError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PublishError::NoName(target) => {
                write!(f, "{} cannot be a site directory", target.display())
            }
            PublishError::NotOurs(target) => write!(
                f,
                "{} exists and is not a site rendered by backup-server (no {MARKER}); refusing to replace it",
                target.display()
            ),
            PublishError::DanglingSymlink { target, points_to } => write!(
                f,
                "{} is a symlink to {points_to}, which does not exist: create that directory, or point \
                 --site-dir elsewhere",
                target.display()
            ),
            PublishError::Write { staging, error } => write!(
                f,
                "cannot write the site into {}: {error}",
                staging.display()
            ),
            PublishError::Swap { target, error } => write!(
                f,
                "cannot swap in the new site at {}: {error}",
                target.display()
            ),
            PublishError::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for PublishError {}

impl From<io::Error> for PublishError {
    fn from(e: io::Error) -> PublishError {
        PublishError::Io(e)
    }
}

/// The directory `target` names, its symlinks resolved: an admin's `--site-dir`
/// that is a symlink to the directory nginx serves is published into, there; the
/// symlink itself is never replaced. A site that does not exist yet is made where
/// the path leads (a dangling symlink is refused: where it points is not ours to
/// create).
fn resolved(target: &Path) -> Result<PathBuf, PublishError> {
    match fs_err::canonicalize(target) {
        Ok(real) => Ok(real),
        Err(_) if target.symlink_metadata().is_ok() => Err(PublishError::DanglingSymlink {
            target: target.to_path_buf(),
            points_to: fs_err::read_link(target)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| "nothing readable".into()),
        }),
        Err(_) => {
            let (Some(parent), Some(name)) = (target.parent(), target.file_name()) else {
                return Ok(target.to_path_buf());
            };
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            Ok(fs_err::canonicalize(parent)
                .map(|p| p.join(name))
                .unwrap_or_else(|_| target.to_path_buf()))
        }
    }
}

/// Removes the staging directories (`<prefix><pid>`) of renders that were killed:
/// those whose process is gone. One of a render still going is left alone.
fn remove_abandoned(parent: &Path, prefix: &str) {
    let Ok(entries) = fs_err::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else {
            continue;
        };
        let alive = pid
            .parse::<u32>()
            .is_ok_and(|pid| Path::new("/proc").join(pid.to_string()).exists());
        if !alive && entry.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = fs_err::remove_dir_all(entry.path());
        }
    }
}

/// Replaces the file `name` of the published site `site` in one rename (world-readable,
/// as every file of the site): what a reader gets is the old file or the new one.
pub fn replace(site: &Path, name: &str, contents: &[u8]) -> io::Result<()> {
    let site = &fs_err::canonicalize(site)?;
    if !is_ours(site) {
        return Err(io::Error::other(format!(
            "{} is not a site rendered by backup-server",
            site.display()
        )));
    }
    let staging = site.join(format!(".{name}.new-{}", std::process::id()));
    fs_err::write(&staging, contents)?;
    fs_err::set_permissions(&staging, std::fs::Permissions::from_mode(0o644))?;
    fs_err::rename(&staging, site.join(name))
}

fn is_ours(dir: &Path) -> bool {
    dir.join(MARKER).is_file()
        || fs_err::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none())
}

fn make_dir(dir: &Path) -> io::Result<()> {
    fs_err::create_dir(dir)?;
    fs_err::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
}

/// Swaps two directories in one step (renameat2 with RENAME_EXCHANGE). Where the file
/// system cannot, falls back to two renames, with a moment where `b` is missing.
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    let (ca, cb) = (c_path(a)?, c_path(b)?);
    // SAFETY: two valid NUL-terminated paths; the call reads them and nothing else.
    let done = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if done == 0 {
        return Ok(());
    }
    let error = io::Error::last_os_error();
    if !matches!(error.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) {
        return Err(error);
    }
    let aside = b.with_extension("old-site");
    fs_err::rename(b, &aside)?;
    fs_err::rename(a, b)?;
    fs_err::rename(&aside, a)
}

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a path holds a NUL byte"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(text: &str) -> impl FnOnce(&SiteWriter) -> io::Result<()> + '_ {
        move |w| {
            w.write("index.html", text.as_bytes())?;
            w.write("tasks/a/index.html", text.as_bytes())
        }
    }

    #[test]
    fn publishes_then_replaces_whole_with_readable_files() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        publish(&site, files("one")).unwrap();
        std::fs::write(site.join("stale.html"), "from an older render").unwrap();
        publish(&site, files("two")).unwrap();
        assert_eq!(
            std::fs::read_to_string(site.join("tasks/a/index.html")).unwrap(),
            "two"
        );
        assert!(
            !site.join("stale.html").exists(),
            "the old site is gone whole"
        );
        let mode = std::fs::metadata(site.join("tasks/a/index.html"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644);
        let mode = std::fs::metadata(site.join("tasks"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, ["site"], "no staging directory is left behind");
    }

    #[test]
    fn a_failed_render_leaves_the_published_site_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        publish(&site, files("one")).unwrap();
        let err = publish(&site, |_| Err(io::Error::other("disk full")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("disk full"), "{err}");
        assert_eq!(
            std::fs::read_to_string(site.join("index.html")).unwrap(),
            "one"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no staging directory is left behind"
        );
    }

    #[test]
    fn a_killed_render_leaves_nothing_behind_once_the_next_one_runs() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        // pid_max is below 2^22: this pid belongs to no process.
        let abandoned = dir.path().join(".site.new-4999999");
        std::fs::create_dir_all(abandoned.join("tasks")).unwrap();
        let going = dir
            .path()
            .join(format!(".site.new-{}", std::os::unix::process::parent_id()));
        std::fs::create_dir(&going).unwrap();
        publish(&site, files("one")).unwrap();
        assert!(
            !abandoned.exists(),
            "a dead render's staging directory is removed"
        );
        assert!(
            going.exists(),
            "a live render's staging directory is left alone"
        );
    }

    #[test]
    fn a_site_dir_that_is_a_symlink_is_published_into_and_stays_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let served = dir.path().join("www/backups");
        std::fs::create_dir_all(&served).unwrap();
        let link = dir.path().join("site");
        std::os::unix::fs::symlink(&served, &link).unwrap();
        publish(&link, files("one")).unwrap();
        publish(&link, files("two")).unwrap();
        replace(&link, "index.html", b"three").unwrap();
        assert_eq!(
            std::fs::read_link(&link).unwrap(),
            served,
            "still the symlink"
        );
        assert_eq!(
            std::fs::read_to_string(served.join("tasks/a/index.html")).unwrap(),
            "two"
        );
        assert_eq!(
            std::fs::read_to_string(served.join("index.html")).unwrap(),
            "three"
        );
    }

    #[test]
    fn refuses_to_replace_a_directory_that_is_not_a_site() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("precious.txt"), "not ours").unwrap();
        let err = publish(dir.path(), files("x")).unwrap_err().to_string();
        assert!(
            err.contains("is not a site rendered by backup-server"),
            "{err}"
        );
        assert!(dir.path().join("precious.txt").exists());
    }
}
