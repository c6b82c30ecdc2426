//! Is a directory a mount point? Read from `/proc/self/mountinfo`.
//!
//! `require_mountpoint` exists so that an unmounted backup disk fails the run instead
//! of silently filling the root file system. Comparing device numbers of a directory
//! and its parent misses bind mounts; the kernel's own mount table does not.

use std::io;
use std::path::Path;

pub fn is_mountpoint(dir: &Path) -> io::Result<bool> {
    let dir = fs_err::canonicalize(dir)?;
    let table = fs_err::read_to_string("/proc/self/mountinfo")?;
    Ok(mount_points(&table).any(|m| Path::new(&m) == dir))
}

/// The mount point field (the fifth) of each line, with the kernel's octal escapes
/// (`\040` for a space) undone.
fn mount_points(table: &str) -> impl Iterator<Item = String> + '_ {
    table
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(unescape)
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
    fn reads_mount_points_with_escapes() {
        let table = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n\
                     40 22 8:17 / /mnt/backup\\040disk rw - ext4 /dev/sdb1 rw\n";
        let points: Vec<String> = mount_points(table).collect();
        assert_eq!(points, ["/", "/mnt/backup disk"]);
    }

    #[test]
    fn root_is_a_mount_point_and_a_fresh_directory_is_not() {
        assert!(is_mountpoint(Path::new("/")).unwrap());
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_mountpoint(dir.path()).unwrap());
    }
}
