//! The plan: every decision of a run, made once, from a validated config and today's date.
//!
//! The config says what the administrator wrote; the plan says what a run will do
//! with it: per task, where the source is, which directory on the backup disk gets
//! today's snapshot, which target it is mirrored to, how long snapshots are kept,
//! what is excluded, and the steps in their order. `check-config` prints it; the
//! engine executes it; no step derives a path or a decision of its own.

use std::fmt;
use std::path::{Path, PathBuf};

use jiff::civil::Date;

use crate::config::Location;
use crate::config::{Config, Task};
use crate::retention::Policy;
use crate::snapshot;

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    /// The task's `before` command (a database dump into the source, say).
    Before,
    /// A new dated snapshot of the source on the backup disk.
    Backup,
    /// The local snapshots the policy no longer keeps are removed.
    Retention,
    /// A target gets the snapshots it lacks and is pruned by its policy.
    Sync,
    /// The task's `after` command, whatever happened.
    After,
}

impl StepKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Before => "before",
            StepKind::Backup => "backup",
            StepKind::Retention => "retention",
            StepKind::Sync => "sync",
            StepKind::After => "after",
        }
    }

    /// Whether the steps after this one need it to have succeeded: nothing is backed
    /// up after a failed `before` (the dump may be half-written), and nothing synced
    /// or pruned after a failed backup. A failed retention or sync stops nothing.
    pub fn is_prerequisite(self) -> bool {
        matches!(self, StepKind::Before | StepKind::Backup)
    }
}

impl fmt::Display for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One planned step and what it reads and writes, as recorded.
#[derive(Debug, Clone)]
pub struct StepPlan {
    pub kind: StepKind,
    /// The step's name: the seed's `id_step` (`backup`, `retention`, `sync` for the
    /// seed's target, `sync-NAME` for another, `before`, `after`), and its log's.
    pub id: String,
    /// The target a sync step mirrors to (an index into the task's `targets`).
    pub target: Option<usize>,
    /// What it reads and writes (the seed's `dir_from`, `dir_to`).
    pub from: String,
    pub to: String,
}

/// One place a task's snapshots are mirrored to.
#[derive(Debug, Clone)]
pub struct TargetPlan {
    pub name: String,
    /// `<target>/<task>`: the task's snapshots there.
    pub dir: Location,
    /// The task's policy with the target's own changes.
    pub policy: Policy,
    pub bwlimit_kib: Option<u32>,
    pub compress: bool,
    /// The target's location (the parent of `dir`) must be a mount point.
    pub require_mountpoint: bool,
}

/// A task's `before` or `after` command.
#[derive(Debug, Clone)]
pub struct Hook {
    /// Run by `/bin/sh -c`.
    pub command: String,
    pub timeout_secs: u32,
}

/// Everything a run decides about one task.
#[derive(Debug, Clone)]
pub struct TaskPlan {
    pub name: String,
    pub source: Location,
    /// `<dir_backup_local>/<task>`: the task's snapshots on the backup disk.
    pub local_dir: PathBuf,
    pub targets: Vec<TargetPlan>,
    /// Retention on the backup disk.
    pub policy: Policy,
    /// rsync exclude patterns, as configured.
    pub excludes: Vec<String>,
    pub one_file_system: bool,
    pub before: Option<Hook>,
    pub after: Option<Hook>,
    /// The steps, in the order they run.
    pub steps: Vec<StepPlan>,
}

impl TaskPlan {
    pub fn uses_ssh(&self) -> bool {
        self.source.is_remote() || self.targets.iter().any(|t| t.dir.is_remote())
    }

    /// The snapshot today's backup writes.
    pub fn snapshot(&self, today: Date) -> PathBuf {
        self.local_dir.join(snapshot::name(today))
    }
}

/// How SSH connections are made, when anything is reached over SSH.
#[derive(Debug, Clone)]
pub struct SshPlan {
    pub key: PathBuf,
    /// Pinned host keys; `None`: trusted on first use.
    pub known_hosts: Option<PathBuf>,
    /// The administrator's ssh_config, included after ours.
    pub extra_config: Option<PathBuf>,
}

/// Every decision of one run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The date today's snapshots are named for.
    pub today: Date,
    pub config_file: PathBuf,
    /// `dir_backup_local`: never created by a run, and a mount point when required.
    pub backup_root: PathBuf,
    pub require_mountpoint: bool,
    /// Directories that must never end up inside a snapshot (the backup directories;
    /// the run adds its state directory): excluded where a source holds them.
    pub protected: Vec<PathBuf>,
    pub ssh: Option<SshPlan>,
    pub tasks: Vec<TaskPlan>,
}

impl Plan {
    pub fn new(config: &Config, today: Date) -> Plan {
        let mut protected = vec![config.dir_backup_local.clone()];
        protected.extend(
            config
                .targets
                .iter()
                .filter_map(|t| t.location.local_path().map(Path::to_path_buf)),
        );
        let tasks = config
            .tasks
            .iter()
            .map(|task| task_plan(config, task, today))
            .collect::<Vec<_>>();
        let ssh = tasks.iter().any(TaskPlan::uses_ssh).then(|| SshPlan {
            key: config.ssh_key.clone(),
            known_hosts: config.ssh_known_hosts.clone(),
            extra_config: config.ssh_config.clone(),
        });
        Plan {
            today,
            config_file: config.file.clone(),
            backup_root: config.dir_backup_local.clone(),
            require_mountpoint: config.require_mountpoint,
            protected,
            ssh,
            tasks,
        }
    }
}

fn task_plan(config: &Config, task: &Task, today: Date) -> TaskPlan {
    let local_dir = config.dir_backup_local.join(&task.name);
    let local = local_dir.display().to_string();
    let source = task.dir_source.to_string();
    let targets: Vec<TargetPlan> = config
        .targets_of(task)
        .map(|target| TargetPlan {
            name: target.name.clone(),
            dir: target.location.join(&task.name),
            policy: target.retention.apply(task.retention),
            bwlimit_kib: target.bwlimit_kib,
            compress: target.compress,
            require_mountpoint: target.require_mountpoint,
        })
        .collect();
    let hook = |command: &Option<String>| {
        command.as_ref().map(|command| Hook {
            command: command.clone(),
            timeout_secs: task.hook_timeout_secs,
        })
    };
    let step = |kind: StepKind, id: &str, target, from: &str, to: &str| StepPlan {
        kind,
        id: id.to_string(),
        target,
        from: from.to_string(),
        to: to.to_string(),
    };
    let mut steps = Vec::new();
    if task.before.is_some() {
        steps.push(step(StepKind::Before, "before", None, &source, &source));
    }
    steps.push(step(
        StepKind::Backup,
        "backup",
        None,
        &source,
        &local_dir.join(snapshot::name(today)).display().to_string(),
    ));
    steps.push(step(StepKind::Retention, "retention", None, &local, &local));
    for (i, target) in targets.iter().enumerate() {
        let seed = config
            .targets
            .iter()
            .any(|t| t.seed && t.name == target.name);
        let id = if seed {
            "sync".to_string()
        } else {
            format!("sync-{}", target.name)
        };
        steps.push(step(
            StepKind::Sync,
            &id,
            Some(i),
            &local,
            &target.dir.to_string(),
        ));
    }
    if task.after.is_some() {
        steps.push(step(StepKind::After, "after", None, &local, &local));
    }
    TaskPlan {
        name: task.name.clone(),
        source: task.dir_source.clone(),
        local_dir,
        targets,
        policy: task.retention,
        excludes: task.excludes.clone(),
        one_file_system: task.one_file_system,
        before: hook(&task.before),
        after: hook(&task.after),
        steps,
    }
}

/// The plan in words, as `check-config` prints it.
impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.tasks.len();
        writeln!(
            f,
            "{} is valid: {n} task{}.",
            self.config_file.display(),
            plural(n)
        )?;
        for task in &self.tasks {
            writeln!(f, "\n{}: {}", task.name, task.source)?;
            for step in &task.steps {
                write!(f, "  {:<10} ", step.id)?;
                match step.kind {
                    StepKind::Before | StepKind::After => {
                        let hook = if step.kind == StepKind::Before {
                            &task.before
                        } else {
                            &task.after
                        };
                        if let Some(hook) = hook {
                            write!(
                                f,
                                "runs {:?} (at most {} s)",
                                hook.command, hook.timeout_secs
                            )?;
                        }
                        if step.kind == StepKind::Before {
                            write!(f, "; no snapshot if it fails")?;
                        }
                    }
                    StepKind::Backup => {
                        write!(
                            f,
                            "{} -> {}/YYYY-MM-DD, unchanged files hard-linked to the previous snapshot",
                            step.from,
                            task.local_dir.display()
                        )?;
                        if !task.excludes.is_empty() {
                            write!(f, "; excluding {}", task.excludes.join(", "))?;
                        }
                        if task.one_file_system {
                            write!(f, "; not crossing file systems")?;
                        }
                    }
                    StepKind::Retention => write!(f, "keeps {}", policy_words(&task.policy))?,
                    StepKind::Sync => {
                        let target = &task.targets[step.target.unwrap_or_default()];
                        write!(f, "-> {}, the snapshots it lacks; ", step.to)?;
                        if target.policy == task.policy {
                            write!(f, "pruned by the same policy")?;
                        } else {
                            write!(f, "keeps {}", policy_words(&target.policy))?;
                        }
                        if let Some(kib) = target.bwlimit_kib {
                            write!(f, "; at most {kib} KiB/s")?;
                        }
                        if target.compress {
                            write!(f, "; compressed")?;
                        }
                        if target.require_mountpoint {
                            write!(f, "; only onto a mounted disk")?;
                        }
                    }
                }
                writeln!(f)?;
            }
        }
        writeln!(f)?;
        if self.require_mountpoint {
            writeln!(
                f,
                "A run fails unless {} is a mount point.",
                self.backup_root.display()
            )?;
        }
        if let Some(ssh) = &self.ssh {
            let hosts = match &ssh.known_hosts {
                Some(file) => format!("host keys checked against {}", file.display()),
                None => "host keys trusted on first use".to_string(),
            };
            writeln!(f, "SSH: key {}, {hosts}.", ssh.key.display())?;
        }
        Ok(())
    }
}

/// A policy in words: "the newest 7, one a week for 4 weeks, ...".
pub fn policy_words(p: &Policy) -> String {
    let mut parts = vec![format!("the newest {}", p.daily)];
    for (count, unit) in [(p.weekly, "week"), (p.monthly, "month"), (p.yearly, "year")] {
        if count > 0 {
            parts.push(format!(
                "one a {unit} for {count} {unit}{}",
                plural(count as usize)
            ));
        }
    }
    parts.join(", ")
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn plan(text: &str, today: &str) -> Plan {
        let config = Config::parse(Path::new("/etc/backup_config.yml"), text).unwrap();
        Plan::new(&config, today.parse().unwrap())
    }

    #[test]
    fn every_path_of_a_run_is_decided_once() {
        let plan = plan(
            "dir_backup_local: /mnt/backup\ndir_backup_remote: backup@nas.lan:/srv/backup\n\
             email_sender: a@b.c\nemail_report: a@b.c\n\
             tasks:\n  - {name: home, dir_source: /home, excludes: ['.cache/']}\n",
            "2026-03-01",
        );
        let task = &plan.tasks[0];
        assert_eq!(task.local_dir, Path::new("/mnt/backup/home"));
        assert_eq!(
            task.targets[0].dir.to_string(),
            "backup@nas.lan:/srv/backup/home"
        );
        let steps: Vec<(StepKind, &str, &str)> = task
            .steps
            .iter()
            .map(|s| (s.kind, s.from.as_str(), s.to.as_str()))
            .collect();
        assert_eq!(
            steps,
            [
                (StepKind::Backup, "/home", "/mnt/backup/home/2026-03-01"),
                (StepKind::Retention, "/mnt/backup/home", "/mnt/backup/home"),
                (
                    StepKind::Sync,
                    "/mnt/backup/home",
                    "backup@nas.lan:/srv/backup/home"
                ),
            ]
        );
        assert!(plan.ssh.is_some());
        assert_eq!(plan.protected, [PathBuf::from("/mnt/backup")]);
    }

    #[test]
    fn check_config_prints_the_plan_in_words() {
        let plan = plan(
            "dir_backup_local: /mnt/backup\ndir_backup_remote: /mnt/offsite\nrequire_mountpoint: true\n\
             email_sender: a@b.c\nemail_report: a@b.c\nretention: {weekly: 0}\n\
             tasks:\n  - {name: home, dir_source: /home, excludes: ['.cache/', '*.tmp']}\n",
            "2026-03-01",
        );
        assert_eq!(
            plan.to_string(),
            "/etc/backup_config.yml is valid: 1 task.\n\
             \n\
             home: /home\n\
             \x20 backup     /home -> /mnt/backup/home/YYYY-MM-DD, unchanged files hard-linked to the previous snapshot; excluding .cache/, *.tmp\n\
             \x20 retention  keeps the newest 7, one a month for 12 months, one a year for 5 years\n\
             \x20 sync       -> /mnt/offsite/home, the snapshots it lacks; pruned by the same policy\n\
             \n\
             A run fails unless /mnt/backup is a mount point.\n"
        );
        assert_eq!(plan.protected.len(), 2, "a local target is protected too");
    }
}
