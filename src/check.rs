//! `backup-server check-config`: is this config good, and what would a run do?
//!
//! The NixOS module runs this at build time, in a sandbox with no view of the live
//! disk, so it judges syntax and meaning only and never touches the file system
//! beyond reading the config.

use std::fmt::Write;

use crate::config::Config;
use crate::retention::Policy;

/// A short description of what a run with `config` would do.
pub fn summary(config: &Config) -> String {
    let mut out = String::new();
    let n = config.tasks.len();
    let _ = writeln!(
        out,
        "{} is valid: {n} task{}.",
        config.file.display(),
        if n == 1 { "" } else { "s" }
    );
    for task in &config.tasks {
        let excludes = match task.excludes.len() {
            0 => String::new(),
            k => format!(", {k} exclude pattern{}", if k == 1 { "" } else { "s" }),
        };
        let _ = writeln!(
            out,
            "  {}: {} -> {}/YYYY-MM-DD -> {}{excludes}; keeps {}",
            task.name,
            task.dir_source,
            config.local_task_dir(task).display(),
            config.dir_backup_remote.join(&task.name),
            policy(&task.retention),
        );
    }
    if config.require_mountpoint {
        let _ = writeln!(
            out,
            "A run fails unless {} is a mount point.",
            config.dir_backup_local.display()
        );
    }
    if config.uses_ssh() {
        let hosts = match &config.ssh_known_hosts {
            Some(file) => format!("host keys checked against {}", file.display()),
            None => "host keys trusted on first use".to_string(),
        };
        let _ = writeln!(out, "SSH: key {}, {hosts}.", config.ssh_key.display());
    }
    let cc = if config.email_admin.is_empty() {
        String::new()
    } else {
        format!(", CC {} on failure", config.email_admin)
    };
    let _ = writeln!(
        out,
        "Reports: from {} to {}{cc}, through {}:{}.",
        config.email_sender, config.email_report, config.smtp.host, config.smtp.port
    );
    out
}

fn policy(p: &Policy) -> String {
    format!(
        "{} daily, {} weekly, {} monthly, {} yearly",
        p.daily, p.weekly, p.monthly, p.yearly
    )
}
