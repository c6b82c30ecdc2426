//! `backup-server check-config`: is this config good, and what would a run do?
//!
//! The NixOS module runs this at build time, in a sandbox with no view of the live
//! disk, so it prints the plan (which reads nothing but the config) and touches
//! nothing else.

use std::path::Path;

use serde_json::{Value, json};

use crate::clock::Clock;
use crate::config::{Config, ConfigError, EmailWhen};
use crate::error::Error;
use crate::exit::Exit;
use crate::json;
use crate::plan::{Plan, TaskPlan};

/// Checks the config in `file` and prints the plan for `clock`'s day, in words or as
/// JSON; a refused config is printed as JSON too when `--json` asked for it.
pub fn check_config(file: &Path, clock: &Clock, as_json: bool) -> Result<Exit, Error> {
    let config = match Config::load(file) {
        Ok(config) => config,
        Err(e) => {
            if as_json {
                json::print(&json_refused(file, &e));
            }
            return Err(e.into());
        }
    };
    let plan = Plan::new(&config, clock.today());
    if as_json {
        json::print(&json_plan(&config, &plan));
    } else {
        print!("{}", summary(&config, &plan));
    }
    Ok(Exit::Success)
}

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

/// `check-config --json` for a valid config: what a run would do.
fn json_plan(config: &Config, plan: &Plan) -> Value {
    json!({
        "version": json::VERSION,
        "config": plan.config_file,
        "valid": true,
        "today": plan.today.to_string(),
        "backup_root": plan.backup_root,
        "tasks": plan.tasks.iter().map(json_task).collect::<Vec<_>>(),
        "reports": json_reports(config),
    })
}

fn json_task(task: &TaskPlan) -> Value {
    json!({
        "name": task.name,
        "source": task.source.to_string(),
        "local_dir": task.local_dir,
        "retention": task.policy,
        "excludes": task.excludes,
        "one_file_system": task.one_file_system,
        "before": task.before.as_ref().map(|h| &h.command),
        "after": task.after.as_ref().map(|h| &h.command),
        "targets": task.targets.iter().map(|t| json!({
            "name": t.name,
            "location": t.dir.to_string(),
            "retention": t.policy,
            "bwlimit_kib": t.bwlimit_kib,
            "compress": t.compress,
            "require_mountpoint": t.require_mountpoint,
        })).collect::<Vec<_>>(),
        "steps": task.steps.iter().map(|s| json!({
            "kind": s.kind,
            "target": s.target.map(|i| &task.targets[i].name),
            "from": s.from,
            "to": s.to,
        })).collect::<Vec<_>>(),
    })
}

fn json_reports(config: &Config) -> Value {
    let when = match config.email_when {
        EmailWhen::Never => return json!({ "when": "never" }),
        EmailWhen::Always => "always",
        EmailWhen::Attention => "attention",
    };
    json!({
        "when": when,
        "from": config.email_sender,
        "to": config.email_report,
        "cc_on_failure": (!config.email_admin.is_empty()).then_some(&config.email_admin),
        "server": format!("{}:{}", config.smtp.host, config.smtp.port),
    })
}

/// `check-config --json` for a config that was refused: every problem, by key.
fn json_refused(file: &Path, error: &ConfigError) -> Value {
    let problems: Vec<Value> = match error {
        ConfigError::Invalid(_, problems) => problems
            .iter()
            .map(|p| json!({ "key": p.key, "message": p.message }))
            .collect(),
        other => vec![json!({ "key": null, "message": other.to_string() })],
    };
    json!({
        "version": json::VERSION,
        "config": file,
        "valid": false,
        "problems": problems,
    })
}
