//! The record: what happened, written to the log DB (`<state>/log.db`) as it happens.
//!
//! The seed's `task_run` table is kept exactly and still written row for row (one
//! row per step that ran, a task's rows in one transaction), so tools written for
//! the seed keep working. Our own tables say what `task_run` cannot: which run a
//! step belonged to, why it failed, its warnings, what rsync moved, and how full
//! each side was afterwards (see `schema`). Runs and tasks are written when they
//! start and completed when they end, so a killed run is visible as one.
//!
//! WAL and a busy timeout let the site renderer read while a run writes.

mod history;
mod listings;
mod pings;
mod tables;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use crate::outcome::{StepResult, TaskResult};
pub use history::{RunState, StepRow, TaskHistory, TaskRun};
pub use listings::{
    Against, Comparison, ComparisonOutcome, Inventory, LISTED, SideRecord, SnapshotRecord,
};

/// The log DB, open for writing.
pub struct Record {
    conn: Connection,
    path: PathBuf,
}

/// A failure to read or write the log DB, naming it and what was being done.
#[derive(Debug)]
pub struct RecordError {
    pub path: PathBuf,
    pub doing: String,
    pub cause: Cause,
}

#[derive(Debug)]
pub enum Cause {
    Sqlite(rusqlite::Error),
    /// The database was written by a newer backup-server, in a schema this one does not know.
    Newer {
        version: i64,
    },
}

impl From<rusqlite::Error> for Cause {
    fn from(e: rusqlite::Error) -> Cause {
        Cause::Sqlite(e)
    }
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot {} in {}: ", self.doing, self.path.display())?;
        match &self.cause {
            Cause::Sqlite(e) => write!(f, "{e}"),
            Cause::Newer { version } => write!(
                f,
                "its schema version is {version}, newer than this backup-server knows ({}); \
                 refusing to write to it (was backup-server downgraded?)",
                tables::VERSION
            ),
        }
    }
}

impl std::error::Error for RecordError {}

/// How far a run going now is, as the pages show it while it goes.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Progress {
    /// Unix seconds.
    pub since: f64,
    /// The task and step going now, when known (`render-site` knows only what the
    /// record holds: the task going, and the steps that ended).
    pub task: Option<String>,
    pub step: Option<String>,
    /// The steps that ended, in order: task, step, outcome.
    pub done: Vec<(String, String, String)>,
}

/// A run's id in the `runs` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunId(pub i64);

impl Record {
    /// Opens (creating if need be) the log DB at `path`, migrating an older one in place.
    pub fn open(path: &Path) -> Result<Record, RecordError> {
        let fail = |doing: &str, cause: Cause| RecordError {
            path: path.to_path_buf(),
            doing: doing.to_string(),
            cause,
        };
        let open = || -> rusqlite::Result<Connection> {
            let conn = Connection::open(path)?;
            conn.busy_timeout(Duration::from_secs(30))?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            // In WAL mode, NORMAL loses no committed transaction when the process dies;
            // only a power cut may lose the last ones, never corrupt the file.
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            Ok(conn)
        };
        let mut conn = open().map_err(|e| fail("open the log database", e.into()))?;
        tables::migrate(&mut conn).map_err(|e| fail("bring the log database up to date", e))?;
        Ok(Record {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// `result`, its error naming the database and what was being done.
    fn named<T>(&self, doing: &str, result: rusqlite::Result<T>) -> Result<T, RecordError> {
        result.map_err(|e| RecordError {
            path: self.path.clone(),
            doing: doing.to_string(),
            cause: e.into(),
        })
    }

    /// Records the start of a run. Any other run still marked as going was killed: we
    /// hold the run lock, so no other run is going.
    pub fn begin_run(
        &mut self,
        host: &str,
        started: f64,
        today: &str,
    ) -> Result<RunId, RecordError> {
        let begin = |conn: &mut Connection| -> rusqlite::Result<RunId> {
            let tx = conn.transaction()?;
            tx.execute(
                "UPDATE runs SET outcome = 'interrupted' WHERE ended IS NULL AND outcome IS NULL",
                [],
            )?;
            tx.execute(
                "INSERT INTO runs (host, started, today, pid) VALUES (?1, ?2, ?3, ?4)",
                params![host, started, today, std::process::id()],
            )?;
            let id = tx.last_insert_rowid();
            tx.commit()?;
            Ok(RunId(id))
        };
        let result = begin(&mut self.conn);
        self.named("record the run", result)
    }

    pub fn begin_task(&mut self, run: RunId, task: &str, started: f64) -> Result<(), RecordError> {
        let result = self.conn.execute(
            "INSERT INTO tasks (run_id, task, started) VALUES (?1, ?2, ?3)",
            params![run.0, task, started],
        );
        self.named(
            &format!("record the start of task {task}"),
            result.map(drop),
        )
    }

    /// Records one step as it ends: its outcome, why, and the figures.
    pub fn step(&mut self, run: RunId, task: &str, step: &StepResult) -> Result<(), RecordError> {
        let error = step.outcome.error();
        let warnings = serde_json::to_string(step.outcome.warnings()).expect("strings serialize");
        let stats = step.stats;
        let (local, target) = (step.local, step.target);
        let result = self.conn.execute(
                "INSERT INTO steps (run_id, task, step, started, ended, outcome, error_kind, message,
                    warnings, dir_from, dir_to, log, files_total, files_transferred, bytes_transferred,
                    total_size, local_snapshots, local_free_bytes, local_free_inodes,
                    local_total_bytes, local_total_inodes, target_snapshots, target_free_bytes,
                    target_free_inodes, target_total_bytes, target_total_inodes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                    ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)",
                params![
                    run.0,
                    task,
                    step.id,
                    step.started,
                    step.ended,
                    step.outcome.word(),
                    error.map(|e| e.kind.as_str()),
                    error.map(|e| e.message.as_str()),
                    warnings,
                    step.from,
                    step.to,
                    step.log.to_string_lossy(),
                    stats.map(|s| s.files_total as i64),
                    stats.map(|s| s.files_transferred as i64),
                    stats.map(|s| s.bytes_transferred as i64),
                    stats.map(|s| s.total_size as i64),
                    local.map(|s| s.snapshots as i64),
                    local.and_then(|s| s.free_bytes).map(|v| v as i64),
                    local.and_then(|s| s.free_inodes).map(|v| v as i64),
                    local.and_then(|s| s.total_bytes).map(|v| v as i64),
                    local.and_then(|s| s.total_inodes).map(|v| v as i64),
                    target.map(|s| s.snapshots as i64),
                    target.and_then(|s| s.free_bytes).map(|v| v as i64),
                    target.and_then(|s| s.free_inodes).map(|v| v as i64),
                    target.and_then(|s| s.total_bytes).map(|v| v as i64),
                    target.and_then(|s| s.total_inodes).map(|v| v as i64),
                ],
            );
        self.named(
            &format!("record the {} step of task {task}", step.id),
            result.map(drop),
        )
    }

    /// Records the end of a task, and its rows in the seed's `task_run`, all or nothing.
    pub fn end_task(&mut self, run: RunId, task: &TaskResult) -> Result<(), RecordError> {
        let write = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            tx.execute(
                "UPDATE tasks SET ended = ?3, outcome = ?4 WHERE run_id = ?1 AND task = ?2",
                params![run.0, task.name, task.ended, task.word()],
            )?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO task_run (id_task, dt_task_start, dt_task_end, success_task, id_step,
                     dt_step_start, dt_step_end, success_step, dir_from, dir_to, time_elapsed)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )?;
                for step in &task.steps {
                    insert.execute(params![
                        task.name,
                        task.started,
                        task.ended,
                        task.succeeded(),
                        step.id,
                        step.started,
                        step.ended,
                        !step.outcome.failed(),
                        step.from,
                        step.to,
                        crate::clock::elapsed(step.ended - step.started),
                    ])?;
                }
            }
            tx.commit()
        };
        let result = write(&mut self.conn);
        self.named(&format!("record task {}", task.name), result)
    }

    pub fn end_run(&mut self, run: RunId, ended: f64, outcome: &str) -> Result<(), RecordError> {
        let result = self.conn.execute(
            "UPDATE runs SET ended = ?2, outcome = ?3 WHERE id = ?1",
            params![run.0, ended, outcome],
        );
        self.named("record the end of the run", result.map(drop))
    }

    /// One task's history (see `history::load`), with what the record knows of its
    /// snapshots.
    pub fn history(&self, task: &str, active: Option<RunId>) -> Result<TaskHistory, RecordError> {
        let load = history::load(&self.conn, task, active).and_then(|mut history| {
            history.inventory = listings::load(&self.conn, task)?;
            Ok(history)
        });
        self.named(&format!("read the history of task {task}"), load)
    }

    /// What the record knows of `task`'s snapshots (see `listings::load`).
    pub fn inventory(&self, task: &str) -> Result<Inventory, RecordError> {
        self.named(
            &format!("read the snapshots of task {task}"),
            listings::load(&self.conn, task),
        )
    }

    /// Replaces what the record says one side of `task` holds.
    pub fn record_side(&mut self, task: &str, side: &SideRecord) -> Result<(), RecordError> {
        let result = listings::write_side(&mut self.conn, task, side);
        self.named(
            &format!("record the snapshots of task {task} on {}", side.side),
            result,
        )
    }

    /// Records one check of a verification of `task`.
    pub fn record_check(&mut self, task: &str, check: &Comparison) -> Result<(), RecordError> {
        let result = listings::write_check(&self.conn, task, check);
        self.named(&format!("record the verification of task {task}"), result)
    }

    /// The configured tasks `configured`, then those found only in the record (renamed
    /// or removed from the config): the tasks a site shows.
    pub fn task_names(&self, configured: &[String]) -> Result<Vec<String>, RecordError> {
        let recorded = self.named("read the task names", history::task_names(&self.conn))?;
        let mut names = configured.to_vec();
        names.extend(recorded.into_iter().filter(|n| !configured.contains(n)));
        Ok(names)
    }

    /// Every disk's measures since `since` (Unix seconds): the backup disk's (named
    /// `backup disk`) from the steps that wrote it, each target's (by name) from its
    /// syncs.
    pub fn disk_measures(
        &self,
        since: f64,
    ) -> Result<std::collections::BTreeMap<String, Vec<Measure>>, RecordError> {
        let read = || -> rusqlite::Result<_> {
            let mut query = self.conn.prepare_cached(
                "SELECT 'backup disk', ended, local_free_bytes, local_total_bytes, local_free_inodes,
                        local_total_inodes
                 FROM steps WHERE local_free_bytes IS NOT NULL AND step IN ('backup', 'retention')
                    AND ended >= ?1
                 UNION ALL
                 SELECT CASE step WHEN 'sync' THEN 'remote' ELSE substr(step, 6) END, ended,
                        target_free_bytes, target_total_bytes, target_free_inodes, target_total_inodes
                 FROM steps WHERE target_free_bytes IS NOT NULL AND step LIKE 'sync%' AND ended >= ?1",
            )?;
            let mut disks: std::collections::BTreeMap<String, Vec<Measure>> =
                std::collections::BTreeMap::new();
            let mut rows = query.query([since])?;
            while let Some(row) = rows.next()? {
                let figure = |i: usize| -> rusqlite::Result<Option<u64>> {
                    Ok(row.get::<_, Option<i64>>(i)?.map(|v| v.max(0) as u64))
                };
                disks.entry(row.get(0)?).or_default().push(Measure {
                    at: row.get(1)?,
                    free_bytes: figure(2)?,
                    total_bytes: figure(3)?,
                    free_inodes: figure(4)?,
                    total_inodes: figure(5)?,
                });
            }
            Ok(disks)
        };
        self.named("read the disks' measures", read())
    }

    /// How far the run `run` has got, as recorded.
    pub fn progress(&self, run: RunId) -> Result<Progress, RecordError> {
        let read = || -> rusqlite::Result<Progress> {
            let since =
                self.conn
                    .query_row("SELECT started FROM runs WHERE id = ?1", [run.0], |r| {
                        r.get(0)
                    })?;
            let task = self
                .conn
                .query_row(
                    "SELECT task FROM tasks WHERE run_id = ?1 AND outcome IS NULL ORDER BY rowid DESC LIMIT 1",
                    [run.0],
                    |r| r.get(0),
                )
                .optional()?;
            let mut steps = self.conn.prepare(
                "SELECT task, step, outcome FROM steps WHERE run_id = ?1 ORDER BY rowid",
            )?;
            let done = steps
                .query_map([run.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Progress {
                since,
                task,
                step: None,
                done,
            })
        };
        self.named("read the run's progress", read())
    }

    /// The id of the run now going, if one is recorded as going.
    pub fn running(&self) -> Result<Option<RunId>, RecordError> {
        let result = self
            .conn
            .query_row(
                "SELECT id FROM runs WHERE ended IS NULL AND outcome IS NULL ORDER BY id DESC LIMIT 1",
                [],
                |row| row.get(0).map(RunId),
            )
            .optional();
        self.named("read the runs", result)
    }
}

/// One recorded measure of a disk.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measure {
    /// Unix seconds.
    pub at: f64,
    pub free_bytes: Option<u64>,
    pub total_bytes: Option<u64>,
    pub free_inodes: Option<u64>,
    pub total_inodes: Option<u64>,
}

#[cfg(test)]
mod record_tests;
