//! The ssh_config a run hands to every ssh and rsync it starts.
//!
//! One generated file carries the key, the host-key policy and the timeouts, so the
//! scripts need a single `-F FILE` argument and nothing secret ever reaches an argv:
//! the key is a path, read by ssh itself.

use fs_err::os::unix::fs::OpenOptionsExt;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::Config;

/// Writes the ssh_config for `config` into `state_dir` and returns its path.
pub fn write_config(config: &Config, state_dir: &Path) -> std::io::Result<PathBuf> {
    let path = state_dir.join("ssh_config");
    let text = render(config, state_dir);
    let mut file = fs_err::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)?;
    file.write_all(text.as_bytes())?;
    Ok(path)
}

fn render(config: &Config, state_dir: &Path) -> String {
    // ssh takes the first value it finds for each option, so ours come first and the
    // administrator's own file (ports, users, jump hosts) is included last.
    let (known_hosts, checking) = match &config.ssh_known_hosts {
        Some(file) => (file.clone(), "yes"),
        // No pinned host keys: trust a host on first use, remember it in the state dir.
        None => (state_dir.join("known_hosts"), "accept-new"),
    };
    let mut text = format!(
        "# Written by backup-server for each run; edit backup_config.yml instead.\n\
         IdentityFile {}\n\
         IdentitiesOnly yes\n\
         BatchMode yes\n\
         UserKnownHostsFile {}\n\
         StrictHostKeyChecking {checking}\n\
         ConnectTimeout 30\n\
         ServerAliveInterval 60\n\
         ServerAliveCountMax 3\n",
        config.ssh_key.display(),
        known_hosts.display(),
    );
    if let Some(extra) = &config.ssh_config {
        text.push_str(&format!("Include {}\n", extra.display()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_host_keys_when_a_known_hosts_file_is_given() {
        let text = "dir_backup_local: /b\ndir_backup_remote: u@h:/r\nemail_sender: a@b.c\nemail_report: a@b.c\n\
                    ssh_known_hosts: /etc/kh\nssh_config: /etc/backup/ssh\ntasks: [{name: t, dir_source: /s}]\n";
        let config = Config::parse(Path::new("c.yml"), text).unwrap();
        let rendered = render(&config, Path::new("/var/lib/backup-server"));
        assert!(
            rendered.contains("UserKnownHostsFile /etc/kh\nStrictHostKeyChecking yes\n"),
            "{rendered}"
        );
        assert!(rendered.contains("IdentityFile /root/.ssh/id_ed25519_backup\n"));
        assert!(rendered.ends_with("Include /etc/backup/ssh\n"));
    }
}
