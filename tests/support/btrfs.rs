//! A real btrfs for a test: a sparse image file, formatted and loop-mounted on a
//! directory of the test's world, unmounted (and its loop device detached) when the
//! test ends, however it ends.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A btrfs file system mounted at `mount`, for as long as this lives.
pub struct Btrfs {
    pub mount: PathBuf,
    image: PathBuf,
}

impl Btrfs {
    /// Formats a 1 GiB sparse image beside `mount` and mounts it there (`mount` is
    /// created if need be, and must be empty).
    pub fn mount_at(mount: &Path) -> Btrfs {
        fs::create_dir_all(mount).unwrap();
        let image = mount.with_extension("btrfs.img");
        run(Command::new("truncate").args(["-s", "1G"]).arg(&image));
        run(Command::new("mkfs.btrfs").arg("-q").arg(&image));
        // The loop device is detached by the kernel once unmounted (autoclear).
        run(Command::new("mount")
            .args(["-o", "loop"])
            .arg(&image)
            .arg(mount));
        Btrfs {
            mount: mount.to_path_buf(),
            image,
        }
    }

    /// `btrfs property get -ts PATH ro` is `ro=true`.
    pub fn is_read_only(path: &Path) -> bool {
        let out = Command::new("btrfs")
            .args(["property", "get", "-ts"])
            .arg(path)
            .arg("ro")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim() == "ro=true"
    }

    /// Whether `path` is the root of a subvolume (its inode is 256 on btrfs).
    pub fn is_subvolume(path: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        fs::symlink_metadata(path).is_ok_and(|m| m.is_dir() && m.ino() == 256)
    }

    /// The paths of every subvolume on the file system, relative to its top.
    pub fn subvolumes(&self) -> Vec<String> {
        let all = Command::new("btrfs")
            .args(["subvolume", "list"])
            .arg(&self.mount)
            .output()
            .unwrap()
            .stdout;
        let mut paths: Vec<String> = String::from_utf8_lossy(&all)
            .lines()
            .filter_map(|l| l.split(" path ").nth(1).map(str::to_string))
            .collect();
        paths.sort();
        paths
    }
}

impl Drop for Btrfs {
    fn drop(&mut self) {
        // A process of the test may still hold a file open there: detach lazily.
        let unmounted = Command::new("umount").arg(&self.mount).status();
        if !unmounted.is_ok_and(|s| s.success()) {
            let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
        }
        let _ = fs::remove_file(&self.image);
    }
}

fn run(command: &mut Command) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed (btrfs tests need root, btrfs-progs and loop devices):\n{}",
        super::show(&out)
    );
}
