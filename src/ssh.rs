//! The ssh_config a run hands to every ssh and rsync it starts, and what ssh means
//! when it says it could not connect or log in.
//!
//! One generated file carries the key, the host-key policy and the timeouts, so the
//! scripts need a single `-F FILE` argument and nothing secret ever reaches an argv:
//! the key is a path, read by ssh itself.

use fs_err::os::unix::fs::OpenOptionsExt;
use std::io::Write;
use std::path::PathBuf;

use crate::plan::{Plan, SshPlan};
use crate::state::StateDir;

/// Writes the ssh_config for `ssh` into the state directory and returns its path.
/// It is written beside and renamed into place, so an ssh that a run, `list` or
/// `verify` starts meanwhile reads the old file or the new one, never half of one.
pub fn write_config(ssh: &SshPlan, state: &StateDir) -> std::io::Result<PathBuf> {
    let path = state.ssh_config();
    let text = render(ssh, state);
    let fresh = path.with_extension(format!("new-{}", std::process::id()));
    let mut file = fs_err::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&fresh)?;
    file.write_all(text.as_bytes())?;
    drop(file);
    fs_err::rename(&fresh, &path)?;
    Ok(path)
}

/// For the commands besides `run` that reach a target (`list`, `restore`,
/// `verify`): the ssh_config, written as a run writes it, once the key is there.
/// `None` when nothing is reached over SSH; the error says what is missing.
pub fn prepare(plan: &Plan, state: &StateDir) -> Result<Option<PathBuf>, SetupError> {
    let Some(ssh) = &plan.ssh else {
        return Ok(None);
    };
    if !ssh.key.is_file() {
        return Err(SetupError::NoKey(ssh.key.clone()));
    }
    fs_err::create_dir_all(state.root())
        .and_then(|()| write_config(ssh, state))
        .map(Some)
        .map_err(|e| SetupError::Write(std::sync::Arc::new(e)))
}

/// Why SSH could not be set up for a command that reaches a target.
#[derive(Debug, Clone)]
pub enum SetupError {
    /// The key file (`ssh_key`, or `--ssh-key`) is not there.
    NoKey(PathBuf),
    /// The ssh_config could not be written into the state directory.
    Write(std::sync::Arc<std::io::Error>),
    /// A run that needed one did not write it.
    NotWritten,
}

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SetupError::NoKey(key) => write!(
                f,
                "the SSH key {} (ssh_key) does not exist or is not a file; under the NixOS module it \
                 is the service's credential: give the key's own file with --ssh-key",
                key.display()
            ),
            SetupError::Write(e) => write!(f, "cannot write the ssh_config: {e}"),
            SetupError::NotWritten => f.write_str("no ssh_config was written for this run"),
        }
    }
}

fn render(ssh: &SshPlan, state: &StateDir) -> String {
    // ssh takes the first value it finds for each option, so ours come first and the
    // administrator's own file (ports, users, jump hosts) is included last.
    let (known_hosts, checking) = match &ssh.known_hosts {
        Some(file) => (file.clone(), "yes"),
        // No pinned host keys: trust a host on first use, remember it in the state dir.
        None => (state.known_hosts(), "accept-new"),
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
        ssh.key.display(),
        known_hosts.display(),
    );
    if let Some(extra) = &ssh.extra_config {
        text.push_str(&format!("Include {}\n", extra.display()));
    }
    text
}

/// The reason in words when `line` is ssh saying it could not connect or log in.
pub fn failure(line: &str) -> Option<String> {
    if line.starts_with("Host key verification failed") {
        return Some(
            "host key verification failed: the host's SSH key is not the one in the known_hosts file \
             (ssh_known_hosts, or <state>/known_hosts when trusted on first use); \
             if it changed on purpose, update that file"
                .to_string(),
        );
    }
    if line.contains("Permission denied (publickey") {
        return Some(format!(
            "the SSH login was refused ({}): is the key in the user's authorized_keys?",
            line.trim()
        ));
    }
    let unreachable = [
        "ssh: connect to host",
        "ssh: Could not resolve hostname",
        "kex_exchange_identification:",
        "Connection closed by",
        "Connection timed out during banner exchange",
        "Connection to ",
    ];
    unreachable
        .iter()
        .any(|p| line.starts_with(p))
        .then(|| format!("cannot reach the host over SSH: {}", line.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn pins_host_keys_when_a_known_hosts_file_is_given() {
        let text = "dir_backup_local: /b\ndir_backup_remote: u@h:/r\nemail_sender: a@b.c\nemail_report: a@b.c\n\
                    ssh_known_hosts: /etc/kh\nssh_config: /etc/backup/ssh\ntasks: [{name: t, dir_source: /s}]\n";
        let config = crate::config::Config::parse(Path::new("c.yml"), text).unwrap();
        let plan = crate::plan::Plan::new(&config, "2026-03-01".parse().unwrap());
        let state = StateDir::new("/var/lib/backup-server".into());
        let rendered = render(plan.ssh.as_ref().unwrap(), &state);
        assert!(
            rendered.contains("UserKnownHostsFile /etc/kh\nStrictHostKeyChecking yes\n"),
            "{rendered}"
        );
        assert!(rendered.contains("IdentityFile /root/.ssh/id_ed25519_backup\n"));
        assert!(rendered.ends_with("Include /etc/backup/ssh\n"));
    }
}
