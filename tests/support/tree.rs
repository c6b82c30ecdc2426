//! What a directory tree holds, entry by entry: to compare a snapshot with the source
//! it was taken from (a manifest), and with itself before and after a run (a
//! fingerprint, which adds inode numbers).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::hash::Hasher;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// One entry of a tree, as a restore would give it back (owners aside: a target
/// reached as an ordinary user cannot keep them).
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    /// Permission bits, setuid, setgid and sticky included.
    pub mode: u32,
    pub size: u64,
    /// Of the contents (files) or of nothing (the rest).
    pub hash: u64,
    /// Where a symlink points.
    pub link: Option<PathBuf>,
    /// Modification time of files and symlinks; 0 for directories (rsync sets theirs
    /// last, and the test never relies on them).
    pub mtime: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Other,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} mode {:o} size {} hash {:016x} mtime {}",
            self.kind, self.mode, self.size, self.hash, self.mtime
        )?;
        if let Some(link) = &self.link {
            write!(f, " -> {}", link.display())?;
        }
        Ok(())
    }
}

/// Relative path → entry, for everything under a root (the root itself excluded).
/// Entries that vanish while the tree is read are left out.
pub type Manifest = BTreeMap<PathBuf, Entry>;

/// A manifest with each entry's inode number, and the root's own under `.`: equal
/// fingerprints mean byte- and inode-identical trees.
pub type Fingerprint = BTreeMap<PathBuf, (Entry, u64)>;

/// The entry at `path`, or None when it is not there (it may vanish while a tree is
/// read: a killed run's leftovers are still being deleted).
///
/// On a side written by a user that is not root, rsync's `--fake-super` keeps what that
/// user cannot set in the xattr `user.rsync.%stat` (`MODE MAJOR,MINOR UID:GID`, the mode
/// in octal with its type bits), and a symlink as a file holding its target: the entry
/// is read as a restore with `--fake-super` gives it back.
fn entry(path: &Path) -> Option<(Entry, u64)> {
    let meta = fs::symlink_metadata(path).ok()?;
    let stored = fake_super_mode(path);
    let kind = match (stored.map(|m| m & libc::S_IFMT), meta.file_type()) {
        (Some(libc::S_IFREG), _) => Kind::File,
        (Some(libc::S_IFDIR), _) => Kind::Dir,
        (Some(libc::S_IFLNK), _) => Kind::Symlink,
        (Some(_), _) => Kind::Other,
        (None, t) if t.is_file() => Kind::File,
        (None, t) if t.is_dir() => Kind::Dir,
        (None, t) if t.is_symlink() => Kind::Symlink,
        (None, _) => Kind::Other,
    };
    let mut hasher = std::hash::DefaultHasher::new();
    if kind == Kind::File {
        hasher.write(&fs::read(path).ok()?);
    }
    let link = match (kind, stored) {
        (Kind::Symlink, None) => Some(fs::read_link(path).ok()?),
        (Kind::Symlink, Some(_)) => Some(PathBuf::from(
            String::from_utf8_lossy(&fs::read(path).ok()?).into_owned(),
        )),
        _ => None,
    };
    let entry = Entry {
        kind,
        mode: stored.unwrap_or(meta.mode()) & 0o7777,
        size: if kind == Kind::Dir { 0 } else { meta.size() },
        hash: hasher.finish(),
        link,
        mtime: if kind == Kind::Dir { 0 } else { meta.mtime() },
    };
    Some((entry, meta.ino()))
}

/// The mode rsync's `--fake-super` stored for `path`, if it stored one.
fn fake_super_mode(path: &Path) -> Option<u32> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut value = [0u8; 128];
    // SAFETY: two NUL-terminated strings and a buffer of the length given.
    let n = unsafe {
        libc::lgetxattr(
            c_path.as_ptr(),
            c"user.rsync.%stat".as_ptr(),
            value.as_mut_ptr().cast(),
            value.len(),
        )
    };
    let text = std::str::from_utf8(value.get(..usize::try_from(n).ok()?)?).ok()?;
    u32::from_str_radix(text.split(' ').next()?, 8).ok()
}

fn walk(root: &Path, relative: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(root.join(relative)) else {
        return;
    };
    let mut names: Vec<_> = entries.flatten().map(|e| e.file_name()).collect();
    names.sort();
    for name in names {
        let path = relative.join(&name);
        let is_dir = fs::symlink_metadata(root.join(&path)).is_ok_and(|m| m.is_dir());
        out.push(path.clone());
        if is_dir {
            walk(root, &path, out);
        }
    }
}

/// Every path under `root`, relative to it; none when `root` is not a real directory.
fn paths(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if fs::symlink_metadata(root).is_ok_and(|m| m.is_dir()) {
        walk(root, Path::new(""), &mut out);
    }
    out
}

/// What `root` holds, never following a symlink (nothing, when it is not a directory).
pub fn manifest(root: &Path) -> Manifest {
    paths(root)
        .into_iter()
        .filter_map(|p| entry(&root.join(&p)).map(|(entry, _)| (p, entry)))
        .collect()
}

/// What `root` holds, inode numbers included, and `root` itself under `.` (a file or
/// a symlink is only that).
pub fn fingerprint(root: &Path) -> Fingerprint {
    let mut print: Fingerprint = paths(root)
        .into_iter()
        .filter_map(|p| entry(&root.join(&p)).map(|e| (p, e)))
        .collect();
    if let Some(itself) = entry(root) {
        print.insert(PathBuf::from("."), itself);
    }
    print
}

/// How `actual` differs from `expected`, as at most `limit` lines, then a count.
pub fn differences<V: PartialEq + fmt::Debug>(
    expected: &BTreeMap<PathBuf, V>,
    actual: &BTreeMap<PathBuf, V>,
    limit: usize,
) -> Vec<String> {
    let mut out = Vec::new();
    let keys: BTreeSet<&PathBuf> = expected.keys().chain(actual.keys()).collect();
    for key in keys {
        let line = match (expected.get(key), actual.get(key)) {
            (Some(_), None) => format!("missing {}", key.display()),
            (None, Some(a)) => format!("unexpected {} ({a:?})", key.display()),
            (Some(e), Some(a)) if e != a => {
                format!("changed {}: was {e:?}, is {a:?}", key.display())
            }
            _ => continue,
        };
        out.push(line);
    }
    let total = out.len();
    if total > limit {
        out.truncate(limit);
        out.push(format!("... {} differences in all", total));
    }
    out
}

/// Whether `name` is exactly `YYYY-MM-DD` and a real date.
pub fn is_snapshot_name(name: &str) -> bool {
    name.len() == 10
        && name.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
        && name.parse::<jiff::civil::Date>().is_ok()
}

/// The snapshots of a task directory: real directories (not symlinks) named
/// `YYYY-MM-DD`; empty when the directory does not exist.
pub fn snapshots(task_dir: &Path) -> BTreeSet<String> {
    let Ok(entries) = fs::read_dir(task_dir) else {
        return BTreeSet::new();
    };
    entries
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|name| is_snapshot_name(name))
        .collect()
}

/// Every snapshot of a task directory, byte for byte and inode for inode.
pub fn snapshot_fingerprints(task_dir: &Path) -> BTreeMap<String, Fingerprint> {
    snapshots(task_dir)
        .into_iter()
        .map(|name| {
            let print = fingerprint(&task_dir.join(&name));
            (name, print)
        })
        .collect()
}

/// The snapshots of `task_dir` are exactly those of `before`, byte for byte and inode
/// for inode; `what` names the side in the message.
pub fn assert_snapshots_unchanged(
    before: &BTreeMap<String, Fingerprint>,
    task_dir: &Path,
    what: &str,
) {
    let after = snapshot_fingerprints(task_dir);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "{what}: the set of snapshots changed"
    );
    assert_snapshots_kept(before, task_dir, what);
}

/// Every snapshot of `before` is still in `task_dir`, byte for byte and inode for
/// inode (others may have come); `what` names the side in the message.
pub fn assert_snapshots_kept(before: &BTreeMap<String, Fingerprint>, task_dir: &Path, what: &str) {
    for (name, print) in before {
        let diff = differences(print, &fingerprint(&task_dir.join(name)), 10);
        assert!(
            diff.is_empty(),
            "{what}: {name} is not the snapshot it was:\n{}",
            diff.join("\n")
        );
    }
}

/// The manifest within a fingerprint: contents without inode numbers or the root.
pub fn manifest_of(print: &Fingerprint) -> Manifest {
    print
        .iter()
        .filter(|(path, _)| path.as_os_str() != ".")
        .map(|(path, (entry, _))| (path.clone(), entry.clone()))
        .collect()
}
