//! Is a directory a mount point? Read from `/proc/self/mountinfo`, and from the devices.
//!
//! `require_mountpoint` exists so that an unmounted backup disk fails the run instead
//! of silently filling the root file system. The kernel's mount table sees bind mounts
//! that comparing devices would miss, but it also lists the bind mount of a directory
//! onto itself, which systemd makes for each `ReadWritePaths=` of a unit with
//! `ProtectSystem=strict`: under the NixOS module an empty mount point is always in the
//! table. So a table entry counts only when it mounts a file system's root (`/` in the
//! entry's root field) or the directory is on another device than its parent.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

pub fn is_mountpoint(dir: &Path) -> io::Result<bool> {
    let dir = fs_err::canonicalize(dir)?;
    let table = fs_err::read_to_string("/proc/self/mountinfo")?;
    let mounts: Vec<Mount> = mounts(&table)
        .filter(|m| Path::new(&m.point) == dir)
        .collect();
    if mounts.is_empty() {
        return Ok(false);
    }
    if mounts.iter().any(|m| m.root == "/") {
        return Ok(true);
    }
    // Only a bind mount of part of a file system: a mount point if it brings another
    // device than its parent's (a directory bound onto itself does not).
    let Some(parent) = dir.parent() else {
        return Ok(true);
    };
    Ok(fs_err::metadata(&dir)?.dev() != fs_err::metadata(parent)?.dev())
}

/// One line of the mount table: what of its file system is mounted (`root`) and where.
struct Mount {
    root: String,
    point: String,
}

/// The root (fourth) and mount point (fifth) fields of each line, with the kernel's
/// octal escapes (`\040` for a space) undone.
fn mounts(table: &str) -> impl Iterator<Item = Mount> + '_ {
    table.lines().filter_map(|line| {
        let mut fields = line.split(' ').skip(3);
        Some(Mount {
            root: unescape(fields.next()?),
            point: unescape(fields.next()?),
        })
    })
}

fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (bytes[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_roots_and_mount_points_with_escapes() {
        let table = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n\
                     40 22 8:17 / /mnt/backup\\040disk rw - ext4 /dev/sdb1 rw\n\
                     41 22 8:1 /mnt/plain /mnt/plain rw - ext4 /dev/sda1 rw\n";
        let found: Vec<(String, String)> = mounts(table).map(|m| (m.root, m.point)).collect();
        assert_eq!(
            found,
            [
                ("/".to_string(), "/".to_string()),
                ("/".into(), "/mnt/backup disk".into()),
                ("/mnt/plain".into(), "/mnt/plain".into())
            ]
        );
    }

    #[test]
    fn root_is_a_mount_point_and_a_fresh_directory_is_not() {
        assert!(is_mountpoint(Path::new("/")).unwrap());
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_mountpoint(dir.path()).unwrap());
    }
}
