//! `backup-server check-config`: is this config good, and what would a run do?
//!
//! The NixOS module runs this at build time, in a sandbox with no view of the live
//! disk, so it prints the plan (which reads nothing but the config) and touches
//! nothing else.

use crate::config::Config;
use crate::plan::Plan;

/// The plan in words, and where the reports go.
pub fn summary(config: &Config, plan: &Plan) -> String {
    let cc = if config.email_admin.is_empty() {
        String::new()
    } else {
        format!(", CC {} on failure", config.email_admin)
    };
    let pings = crate::notify::summary(&config.notify).unwrap_or_default();
    format!(
        "{plan}Reports: from {} to {}{cc}, through {}:{}.\n{pings}",
        config.email_sender, config.email_report, config.smtp.host, config.smtp.port
    )
}
