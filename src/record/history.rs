//! The record read back: each task's runs, newest first, with their steps.
//!
//! The health rule, the report and every page and file of the site read this one
//! structure, so they agree with each other. It is read one task at a time: ten years
//! of twenty tasks is 219,000 steps, and no reader needs them all at once. Within a
//! task, the repeated strings (step names, source and target directories) are shared,
//! not copied.

use std::collections::HashSet;
use std::rc::Rc;

use rusqlite::Connection;

use super::RunId;
use crate::outcome::{Space, TaskResult, TransferStats};

/// One step of one task run, as recorded.
#[derive(Debug, Clone)]
pub struct StepRow {
    pub step: Rc<str>,
    pub started: f64,
    pub ended: f64,
    /// ok, warned or failed.
    pub outcome: Rc<str>,
    /// Why it failed.
    pub message: Option<String>,
    pub warnings: Vec<String>,
    pub dir_from: Rc<str>,
    pub dir_to: Rc<str>,
    pub stats: Option<TransferStats>,
    pub local: Option<Space>,
    pub target: Option<Space>,
}

impl StepRow {
    pub fn duration(&self) -> f64 {
        (self.ended - self.started).max(0.0)
    }

    pub fn failed(&self) -> bool {
        &*self.outcome == "failed"
    }

    pub fn warned(&self) -> bool {
        &*self.outcome == "warned"
    }
}

/// How a task run ended, or that it has not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Ok,
    Warned,
    Failed,
    /// The run was killed (or the machine stopped) before the task ended.
    Interrupted,
    /// The task is running now.
    Running,
}

impl RunState {
    pub fn succeeded(self) -> bool {
        matches!(self, RunState::Ok | RunState::Warned)
    }

    pub fn word(self) -> &'static str {
        match self {
            RunState::Ok => "ok",
            RunState::Warned => "warned",
            RunState::Failed => "failed",
            RunState::Interrupted => "interrupted",
            RunState::Running => "running",
        }
    }
}

/// One run of one task.
#[derive(Debug, Clone)]
pub struct TaskRun {
    pub run: RunId,
    pub started: f64,
    /// When it ended; for an unfinished run, when its last recorded step ended.
    pub ended: f64,
    pub state: RunState,
    pub steps: Vec<StepRow>,
}

impl TaskRun {
    pub fn succeeded(&self) -> bool {
        self.state.succeeded()
    }

    pub fn duration(&self) -> f64 {
        (self.ended - self.started).max(0.0)
    }

    /// Why it did not succeed, in one line: the failed step's message.
    pub fn reason(&self) -> Option<String> {
        match self.state {
            RunState::Failed => Some(match self.steps.iter().find(|s| s.failed()) {
                Some(step) => format!(
                    "{}: {}",
                    step.step,
                    step.message
                        .as_deref()
                        .unwrap_or("failed (no reason recorded)")
                ),
                None => "failed (no reason recorded)".to_string(),
            }),
            RunState::Interrupted => Some(format!(
                "the run was stopped{} before the task ended",
                self.steps
                    .last()
                    .map(|s| format!(" after its {} step", s.step))
                    .unwrap_or_default()
            )),
            RunState::Warned => Some(
                self.steps
                    .iter()
                    .flat_map(|s| s.warnings.iter().map(move |w| format!("{}: {w}", s.step)))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            RunState::Ok | RunState::Running => None,
        }
    }

    /// What the backup moved, when it ran.
    pub fn backup_stats(&self) -> Option<TransferStats> {
        self.steps
            .iter()
            .find(|s| &*s.step == "backup")
            .and_then(|s| s.stats)
    }
}

/// One task's history, newest run first.
#[derive(Debug, Clone)]
pub struct TaskHistory {
    pub name: String,
    pub runs: Vec<TaskRun>,
    /// Its snapshots on each side and its last verification.
    pub inventory: super::Inventory,
}

impl TaskHistory {
    /// The history of a task whose runs cannot be read (the run could not be
    /// recorded): this run alone.
    pub fn of_result(task: &TaskResult) -> TaskHistory {
        let state = match task.word() {
            "ok" => RunState::Ok,
            "warned" => RunState::Warned,
            _ => RunState::Failed,
        };
        TaskHistory {
            name: task.name.clone(),
            inventory: Default::default(),
            runs: vec![TaskRun {
                run: crate::record::RunId(0),
                started: task.started,
                ended: task.ended,
                state,
                steps: task
                    .steps
                    .iter()
                    .map(|s| StepRow {
                        step: s.id.as_str().into(),
                        started: s.started,
                        ended: s.ended,
                        outcome: s.outcome.word().into(),
                        message: s.outcome.error().map(|e| e.message.clone()),
                        warnings: s.outcome.warnings().to_vec(),
                        dir_from: s.from.as_str().into(),
                        dir_to: s.to.as_str().into(),
                        stats: s.stats,
                        local: s.local,
                        target: s.target,
                    })
                    .collect(),
            }],
        }
    }

    /// The newest run that has ended (a running one is not judged yet).
    pub fn last_run(&self) -> Option<&TaskRun> {
        self.runs.iter().find(|r| r.state != RunState::Running)
    }

    pub fn running(&self) -> Option<&TaskRun> {
        self.runs.first().filter(|r| r.state == RunState::Running)
    }

    pub fn last_success(&self) -> Option<&TaskRun> {
        self.runs.iter().find(|r| r.succeeded())
    }

    pub fn success_rate(&self) -> Option<f64> {
        let ended = self.runs.iter().filter(|r| r.state != RunState::Running);
        let (all, ok) = ended.fold((0, 0), |(all, ok), r| {
            (all + 1, ok + usize::from(r.succeeded()))
        });
        (all > 0).then(|| ok as f64 / all as f64)
    }
}

/// One shared copy of each distinct string.
#[derive(Default)]
struct Interner(HashSet<Rc<str>>);

impl Interner {
    fn get(&mut self, text: &str) -> Rc<str> {
        if let Some(shared) = self.0.get(text) {
            return shared.clone();
        }
        let shared: Rc<str> = Rc::from(text);
        self.0.insert(shared.clone());
        shared
    }
}

/// The names of the tasks with a recorded run, in order.
pub fn task_names(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut query = conn.prepare("SELECT DISTINCT task FROM tasks ORDER BY task")?;
    let names = query.query_map([], |row| row.get(0))?;
    names.collect()
}

/// One task's history (empty when it never ran). `active` is the run going now, if
/// any: its unfinished task is running; an unfinished one of another run was
/// interrupted.
pub fn load(conn: &Connection, task: &str, active: Option<RunId>) -> rusqlite::Result<TaskHistory> {
    let mut runs: Vec<TaskRun> = Vec::new();
    let mut tasks = conn.prepare_cached(
        "SELECT run_id, started, ended, outcome FROM tasks WHERE task = ?1 ORDER BY run_id",
    )?;
    let mut rows = tasks.query([task])?;
    while let Some(row) = rows.next()? {
        let run = RunId(row.get(0)?);
        let started: f64 = row.get(1)?;
        let state = match row.get_ref(3)?.as_str_or_null()? {
            Some("ok") => RunState::Ok,
            Some("warned") => RunState::Warned,
            Some("failed") => RunState::Failed,
            _ if Some(run) == active => RunState::Running,
            _ => RunState::Interrupted,
        };
        runs.push(TaskRun {
            run,
            started,
            ended: row.get::<_, Option<f64>>(2)?.unwrap_or(started),
            state,
            steps: Vec::new(),
        });
    }

    let mut strings = Interner::default();
    let mut steps = conn.prepare_cached(
        "SELECT run_id, step, started, ended, outcome, message, warnings, dir_from, dir_to,
                files_total, files_transferred, bytes_transferred, total_size,
                local_snapshots, local_free_bytes, local_free_inodes, local_total_bytes,
                local_total_inodes, target_snapshots, target_free_bytes, target_free_inodes,
                target_total_bytes, target_total_inodes
         FROM steps WHERE task = ?1 ORDER BY run_id, rowid",
    )?;
    let mut rows = steps.query([task])?;
    // Both queries walk the runs in the same order, the order of their indexes (no
    // sort), so each step finds its run by moving forward, never by searching.
    let mut index = 0;
    while let Some(row) = rows.next()? {
        let run = RunId(row.get(0)?);
        while runs.get(index).is_some_and(|r| r.run.0 < run.0) {
            index += 1;
        }
        let Some(task_run) = runs.get_mut(index).filter(|r| r.run == run) else {
            continue;
        };
        let mut text = |i: usize| -> rusqlite::Result<Rc<str>> {
            Ok(strings.get(row.get_ref(i)?.as_str_or_null()?.unwrap_or_default()))
        };
        let int = |i: usize| -> rusqlite::Result<Option<u64>> {
            Ok(row.get::<_, Option<i64>>(i)?.map(|v| v.max(0) as u64))
        };
        let stats = match (int(9)?, int(10)?, int(11)?, int(12)?) {
            (
                Some(files_total),
                Some(files_transferred),
                Some(bytes_transferred),
                Some(total_size),
            ) => Some(TransferStats {
                files_total,
                files_transferred,
                bytes_transferred,
                total_size,
            }),
            _ => None,
        };
        let space = |at: usize| -> rusqlite::Result<Option<Space>> {
            Ok(int(at)?.map(|snapshots| Space {
                snapshots,
                free_bytes: int(at + 1).ok().flatten(),
                free_inodes: int(at + 2).ok().flatten(),
                total_bytes: int(at + 3).ok().flatten(),
                total_inodes: int(at + 4).ok().flatten(),
            }))
        };
        let warnings: Vec<String> = match row.get_ref(6)?.as_str_or_null()? {
            None | Some("[]") => Vec::new(),
            Some(json) => serde_json::from_str(json).unwrap_or_else(|_| vec![json.to_string()]),
        };
        let step = StepRow {
            step: text(1)?,
            started: row.get(2)?,
            ended: row.get(3)?,
            outcome: text(4)?,
            message: row.get(5)?,
            warnings,
            dir_from: text(7)?,
            dir_to: text(8)?,
            stats,
            local: space(13)?,
            target: space(18)?,
        };
        if matches!(task_run.state, RunState::Interrupted | RunState::Running) {
            task_run.ended = task_run.ended.max(step.ended);
        }
        task_run.steps.push(step);
    }
    // Newest first, as every reader wants them.
    runs.reverse();
    Ok(TaskHistory {
        name: task.to_string(),
        runs,
        inventory: super::Inventory::default(),
    })
}
