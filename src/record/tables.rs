//! The log DB's schema and its migrations, versioned by `PRAGMA user_version`.
//!
//! Version 0 is the seed's (and our first release's) database: the `task_run` table
//! alone. Version 1 adds our tables and fills them from `task_run`, so the history
//! of a migrated database reads like any other. A database is migrated in place, in
//! one transaction, and never dropped; one newer than this program knows is refused
//! rather than written in a shape it does not understand.

use rusqlite::{Connection, params};

use super::Cause;

/// The schema version this program writes.
pub const VERSION: i64 = 1;

/// The seed's table, exactly (columns and types).
const SEED: &str = "
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

/// Version 1: runs, the tasks of each run, the steps of each task, and the pings of each run.
const V1: &str = "
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    host TEXT,          -- NULL for runs migrated from task_run
    started REAL NOT NULL,
    ended REAL,         -- NULL while the run is going, and for good if it was killed
    outcome TEXT,       -- ok | warned | failed | interrupted; NULL while going
    today TEXT,         -- the date the run's snapshots are named for
    pid INTEGER
);
CREATE TABLE tasks (
    run_id INTEGER NOT NULL REFERENCES runs (id),
    task TEXT NOT NULL,
    started REAL NOT NULL,
    ended REAL,         -- NULL until the task ends
    outcome TEXT,       -- ok | warned | failed; NULL until the task ends
    PRIMARY KEY (run_id, task)
);
CREATE INDEX tasks_by_task ON tasks (task, run_id);
CREATE TABLE steps (
    run_id INTEGER NOT NULL,
    task TEXT NOT NULL,
    step TEXT NOT NULL,         -- before | backup | retention | sync | sync-NAME | after
    started REAL NOT NULL,
    ended REAL NOT NULL,
    outcome TEXT NOT NULL,      -- ok | warned | failed
    error_kind TEXT,            -- unavailable | refused | unreachable | transfer | hook | io
    message TEXT,               -- why it failed, in one line
    warnings TEXT NOT NULL DEFAULT '[]',  -- a JSON array of strings
    dir_from TEXT,
    dir_to TEXT,
    log TEXT,
    files_total INTEGER,        -- rsync --stats: Number of files
    files_transferred INTEGER,  -- Number of regular files transferred
    bytes_transferred INTEGER,  -- Total transferred file size
    total_size INTEGER,         -- Total file size
    local_snapshots INTEGER,    -- after the step, on the backup disk
    local_free_bytes INTEGER,
    local_free_inodes INTEGER,
    local_total_bytes INTEGER,
    local_total_inodes INTEGER,
    target_snapshots INTEGER,   -- after the step, on the target (sync only)
    target_free_bytes INTEGER,
    target_free_inodes INTEGER,
    target_total_bytes INTEGER,
    target_total_inodes INTEGER,
    FOREIGN KEY (run_id, task) REFERENCES tasks (run_id, task)
);
CREATE INDEX steps_by_task ON steps (task, run_id);
-- The disks' forecast reads the last 30 days' steps of every task.
CREATE INDEX steps_by_end ON steps (ended);

-- The pings of each run (notify): to healthchecks, ntfy or a webhook, delivered or not.
CREATE TABLE pings (
    run_id INTEGER NOT NULL REFERENCES runs (id),
    channel TEXT NOT NULL,      -- healthchecks | ntfy | webhook
    event TEXT NOT NULL,        -- start | success | failure | recovery
    at REAL NOT NULL,           -- when it was delivered or given up
    status TEXT NOT NULL,       -- delivered | failed
    message TEXT,               -- the answer (HTTP 200), or why it failed; the URL never, only its host
    attempts INTEGER NOT NULL   -- 0 when it could not be sent (a secret file could not be read)
);
CREATE INDEX pings_by_run ON pings (run_id);

-- What each side of a task held when it was last listed (at the end of each run),
-- and why the policy keeps each snapshot there: the pages' inventory.
CREATE TABLE sides (
    task TEXT NOT NULL,
    side TEXT NOT NULL,         -- local (the backup disk) | the target's name
    location TEXT NOT NULL,     -- the task directory: /path or user@host:/path
    listed REAL NOT NULL,       -- when
    error TEXT,                 -- why it could not be listed (then it has no snapshots rows)
    PRIMARY KEY (task, side)
);
CREATE TABLE snapshots (
    task TEXT NOT NULL,
    side TEXT NOT NULL,
    date TEXT NOT NULL,         -- YYYY-MM-DD
    reasons TEXT NOT NULL,      -- a JSON array of newest, daily, weekly, monthly, yearly,
                                -- after_today; [] when the policy no longer keeps it
    kept_until TEXT,            -- the last day it stays if nightly runs go on; NULL: []
    PRIMARY KEY (task, side, date),
    FOREIGN KEY (task, side) REFERENCES sides (task, side)
);
-- backup-server verify: each check of a task's newest local snapshot, against a
-- target's copy or against the source; the checks of one verification share started.
CREATE TABLE verifications (
    id INTEGER PRIMARY KEY,
    task TEXT NOT NULL,
    started REAL NOT NULL,
    ended REAL NOT NULL,
    against TEXT NOT NULL,      -- source | target:NAME
    snapshot TEXT,              -- the date of the snapshot compared
    location TEXT,              -- what it was compared with: /path or user@host:/path
    sample_percent REAL,        -- the share of files whose contents were read; NULL: all
    outcome TEXT NOT NULL,      -- ok | differs | failed (could not be checked)
    files_checked INTEGER,
    differences INTEGER NOT NULL DEFAULT 0,
    listed TEXT NOT NULL DEFAULT '[]',  -- a JSON array: the first 100 differences in words
    message TEXT                -- why it could not be checked
);
CREATE INDEX verifications_by_task ON verifications (task, started);
";

/// Brings the database at `conn` to `VERSION`, whatever version it is at.
pub fn migrate(conn: &mut Connection) -> Result<(), Cause> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version > VERSION {
        return Err(Cause::Newer { version });
    }
    if version == VERSION {
        return Ok(());
    }
    let tx = conn.transaction()?;
    tx.execute_batch(SEED)?;
    if version < 1 {
        tx.execute_batch(V1)?;
        from_task_run(&tx)?;
    }
    tx.pragma_update(None, "user_version", VERSION)?;
    Ok(tx.commit()?)
}

/// Fills the version-1 tables from the seed's rows: one run per task run (the seed
/// never said which task runs belonged to one run), its steps with the outcome
/// `task_run` knows and nothing it does not.
fn from_task_run(tx: &rusqlite::Transaction) -> rusqlite::Result<()> {
    let mut groups = tx.prepare(
        "SELECT id_task, dt_task_start, MAX(dt_task_end), MIN(success_task),
                date(dt_task_start, 'unixepoch', 'localtime')
         FROM task_run GROUP BY id_task, dt_task_start ORDER BY dt_task_start, id_task",
    )?;
    let mut steps = tx.prepare(
        "SELECT id_step, dt_step_start, dt_step_end, success_step, dir_from, dir_to
         FROM task_run WHERE id_task = ?1 AND dt_task_start = ?2 ORDER BY rowid",
    )?;
    let mut insert_run =
        tx.prepare("INSERT INTO runs (started, ended, outcome, today) VALUES (?1, ?2, ?3, ?4)")?;
    let mut insert_task = tx.prepare(
        "INSERT INTO tasks (run_id, task, started, ended, outcome) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut insert_step = tx.prepare(
        "INSERT INTO steps (run_id, task, step, started, ended, outcome, dir_from, dir_to)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let mut rows = groups.query([])?;
    while let Some(row) = rows.next()? {
        let task: String = row.get(0)?;
        let started: f64 = row.get(1)?;
        let ended: Option<f64> = row.get(2)?;
        let outcome = if row.get::<_, Option<i64>>(3)?.unwrap_or(0) != 0 {
            "ok"
        } else {
            "failed"
        };
        let today: Option<String> = row.get(4)?;
        insert_run.execute(params![started, ended, outcome, today])?;
        let run = tx.last_insert_rowid();
        insert_task.execute(params![run, task, started, ended, outcome])?;
        let mut task_steps = steps.query(params![task, started])?;
        while let Some(step) = task_steps.next()? {
            let step_start: Option<f64> = step.get(1)?;
            let step_end: Option<f64> = step.get(2)?;
            let ok = step.get::<_, Option<i64>>(3)?.unwrap_or(0) != 0;
            insert_step.execute(params![
                run,
                task,
                step.get::<_, Option<String>>(0)?.unwrap_or_default(),
                step_start.unwrap_or(started),
                step_end.or(step_start).unwrap_or(started),
                if ok { "ok" } else { "failed" },
                step.get::<_, Option<String>>(4)?,
                step.get::<_, Option<String>>(5)?,
            ])?;
        }
    }
    Ok(())
}
