//! `backup-server check-config`: is this config good, and what would a run do?
//!
//! The NixOS module runs this at build time, in a sandbox with no view of the live
//! disk, so it prints the plan (which reads nothing but the config) and touches
//! nothing else.

use crate::config::{Config, EmailWhen};
use crate::plan::Plan;

/// The plan in words, and where the reports go.
pub fn summary(config: &Config, plan: &Plan) -> String {
    let pings = crate::notify::summary(&config.notify).unwrap_or_default();
    format!("{plan}{}{pings}", reports(config))
}

/// When the reports go out, and where (as `email_when` says).
fn reports(config: &Config) -> String {
    let when = match config.email_when {
        EmailWhen::Never => return "Reports: none (email_when: never).\n".to_string(),
        EmailWhen::Always => "after every run".to_string(),
        EmailWhen::Attention => format!(
            "when something needs attention, and a summary each {}",
            weekday(config.summary_weekday)
        ),
    };
    let cc = if config.email_admin.is_empty() {
        String::new()
    } else {
        format!(", CC {} on failure", config.email_admin)
    };
    format!(
        "Reports: {when}, from {} to {}{cc}, through {}:{}.\n",
        config.email_sender, config.email_report, config.smtp.host, config.smtp.port
    )
}

fn weekday(day: jiff::civil::Weekday) -> &'static str {
    use jiff::civil::Weekday::*;
    match day {
        Monday => "Monday",
        Tuesday => "Tuesday",
        Wednesday => "Wednesday",
        Thursday => "Thursday",
        Friday => "Friday",
        Saturday => "Saturday",
        Sunday => "Sunday",
    }
}
