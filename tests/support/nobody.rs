//! The binary run as `nobody` (uid and gid 65534) through setpriv: the tests run as
//! root, who reads everything, so a file is unreadable only to another user.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use super::World;

/// Makes `path` nobody's (the directory itself, not what it holds).
pub fn give_to_nobody(path: &Path) {
    let status = Command::new("chown")
        .arg("65534:65534")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "chown {}", path.display());
}

impl World {
    /// The binary as nobody, with this world's config (readable by all) and state;
    /// its backup disk and remote are nobody's, so a run may write there.
    pub fn binary_as_nobody(&self) -> Command {
        for dir in [&self.local, &self.remote] {
            give_to_nobody(dir);
        }
        let config = self.config_path();
        fs::set_permissions(&config, fs::Permissions::from_mode(0o644)).unwrap();
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(env!("CARGO_BIN_EXE_backup-server"))
            .arg("--config")
            .arg(&config)
            .arg("--state-dir")
            .arg(&self.state);
        command
    }
}
