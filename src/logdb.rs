//! The log database: the seed's `task_run` table, one row per step that ran.
//!
//! The report and the history site read what this writes, so the schema is the
//! seed's exactly (columns and types). Each task is written in one transaction, so a
//! crash never leaves half a task; WAL and a busy timeout let the site renderer read
//! while a run writes.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, params};

use crate::status::TaskStatus;

pub struct LogDb {
    conn: Connection,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS task_run (
    id_task TEXT,
    dt_task_start REAL,
    dt_task_end REAL,
    success_task INTEGER,
    id_step TEXT,
    dt_step_start REAL,
    dt_step_end REAL,
    success_step INTEGER,
    dir_from TEXT,
    dir_to TEXT,
    time_elapsed TEXT
);
CREATE INDEX IF NOT EXISTS task_run_by_task ON task_run (id_task, dt_task_start);
";

impl LogDb {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> rusqlite::Result<LogDb> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.execute_batch(SCHEMA)?;
        Ok(LogDb { conn })
    }

    /// Records every step of one task run, all or nothing.
    pub fn record(&mut self, task: &TaskStatus) -> rusqlite::Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO task_run (id_task, dt_task_start, dt_task_end, success_task, id_step,
                 dt_step_start, dt_step_end, success_step, dir_from, dir_to, time_elapsed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            for step in &task.steps {
                insert.execute(params![
                    task.name,
                    task.dt_task_start,
                    task.dt_task_end,
                    task.success,
                    step.step.as_str(),
                    step.dt_start,
                    step.dt_end,
                    step.success,
                    step.dir_from,
                    step.dir_to,
                    step.time_elapsed,
                ])?;
            }
        }
        tx.commit()
    }

    /// The end time (Unix seconds) of the last successful run of each task.
    pub fn last_success(&self) -> rusqlite::Result<BTreeMap<String, f64>> {
        let mut query = self.conn.prepare(
            "SELECT id_task, MAX(dt_task_end) FROM task_run WHERE success_task = 1 GROUP BY id_task",
        )?;
        let rows = query.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
        rows.collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{Step, StepStatus};

    fn task(name: &str, success: bool, end: f64) -> TaskStatus {
        let step = |step, success| StepStatus {
            step,
            success,
            dt_start: end - 10.0,
            dt_end: end,
            time_elapsed: "00:00:10".into(),
            dir_from: "/data".into(),
            dir_to: "/backup".into(),
            file_log: "x.log".into(),
            error: None,
            warning: None,
        };
        TaskStatus {
            name: name.into(),
            success,
            dt_task_start: end - 30.0,
            dt_task_end: end,
            steps: vec![step(Step::Backup, true), step(Step::Retention, success)],
        }
    }

    #[test]
    fn records_one_row_per_step_and_finds_the_last_success() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = LogDb::open(&dir.path().join("log.db")).unwrap();
        db.record(&task("a", true, 100.0)).unwrap();
        db.record(&task("a", true, 200.0)).unwrap();
        db.record(&task("a", false, 300.0)).unwrap();
        db.record(&task("b", false, 400.0)).unwrap();
        let last = db.last_success().unwrap();
        assert_eq!(last.get("a"), Some(&200.0));
        assert_eq!(
            last.get("b"),
            None,
            "a task that never succeeded has no last success"
        );
        let rows: i64 = db
            .conn
            .query_row("SELECT COUNT(*) FROM task_run", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 8);
    }

    #[test]
    fn the_schema_is_the_seeds() {
        let dir = tempfile::tempdir().unwrap();
        let db = LogDb::open(&dir.path().join("log.db")).unwrap();
        let mut info = db
            .conn
            .prepare("SELECT name, type FROM pragma_table_info('task_run')")
            .unwrap();
        let columns: Vec<(String, String)> = info
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let expected = [
            ("id_task", "TEXT"),
            ("dt_task_start", "REAL"),
            ("dt_task_end", "REAL"),
            ("success_task", "INTEGER"),
            ("id_step", "TEXT"),
            ("dt_step_start", "REAL"),
            ("dt_step_end", "REAL"),
            ("success_step", "INTEGER"),
            ("dir_from", "TEXT"),
            ("dir_to", "TEXT"),
            ("time_elapsed", "TEXT"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(columns, expected);
    }
}
