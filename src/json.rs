//! What `--json` prints for `check-config`, `doctor` and `verify`: one versioned shape
//! per command, built here from the same values the words are made of, so that a
//! script reads what a person reads. Each shape carries `"version": 1`; a change
//! that removes or renames a field raises it (docs/monitoring.md documents them).
//! `list --json` keeps its own shape, beside the listing it mirrors (inventory).

use serde_json::{Value, json};

use crate::config::{Config, ConfigError, EmailWhen};
use crate::plan::{Plan, TaskPlan};
use crate::record::CheckRecord;

/// The version of every shape here.
pub const VERSION: u32 = 1;

/// `check-config --json` for a valid config: what a run would do.
pub fn plan(config: &Config, plan: &Plan) -> Value {
    json!({
        "version": VERSION,
        "config": plan.config_file,
        "valid": true,
        "today": plan.today.to_string(),
        "backup_root": plan.backup_root,
        "tasks": plan.tasks.iter().map(task).collect::<Vec<_>>(),
        "reports": reports(config),
    })
}

fn task(task: &TaskPlan) -> Value {
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

fn reports(config: &Config) -> Value {
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
pub fn refused(file: &std::path::Path, error: &ConfigError) -> Value {
    let problems: Vec<Value> = match error {
        ConfigError::Invalid(_, problems) => problems
            .iter()
            .map(|p| json!({ "key": p.key, "message": p.message }))
            .collect(),
        other => vec![json!({ "key": null, "message": other.to_string() })],
    };
    json!({
        "version": VERSION,
        "config": file,
        "valid": false,
        "problems": problems,
    })
}

/// `doctor --json`: each check, and the totals.
pub fn doctor(checks: &[crate::doctor::Check]) -> Value {
    let failed = checks.iter().filter(|c| c.result.is_err()).count();
    json!({
        "version": VERSION,
        "checks": checks.iter().map(|c| match &c.result {
            Ok(what) => json!({ "item": c.item, "ok": true, "detail": what }),
            Err(f) => json!({ "item": c.item, "ok": false, "problem": f.problem, "fix": f.fix }),
        }).collect::<Vec<_>>(),
        "passed": checks.len() - failed,
        "failed": failed,
    })
}

/// `verify --json`: each task's checks, as recorded.
pub fn verify(tasks: &[(String, Vec<CheckRecord>)]) -> Value {
    json!({
        "version": VERSION,
        "tasks": tasks.iter().map(|(name, checks)| json!({
            "name": name,
            "checks": checks.iter().map(check).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn check(c: &CheckRecord) -> Value {
    use crate::record::Against;
    let (against, target) = match &c.against {
        Against::Source => ("source", None),
        Against::Target(name) => ("target", Some(name)),
    };
    json!({
        "against": against,
        "target": target,
        "snapshot": c.snapshot.map(|d| d.to_string()),
        "location": c.location,
        "outcome": c.outcome.word(),
        "sample_percent": c.sample_percent,
        "files_checked": c.files_checked,
        "differences": c.differences,
        "listed": c.listed,
        "message": c.message,
    })
}

/// Prints a shape on stdout, pretty, with a final newline.
pub fn print(value: &Value) {
    crate::inventory::print_out(&format!(
        "{}\n",
        serde_json::to_string_pretty(value).expect("a JSON value serializes")
    ));
}
