use super::*;
use crate::outcome::{ErrorKind, Space, StepError, StepOutcome, TransferStats};
use crate::plan::StepKind;

fn step(kind: StepKind, start: f64, outcome: StepOutcome) -> StepResult {
    StepResult {
        kind,
        id: kind.as_str().to_string(),
        started: start,
        ended: start + 10.0,
        from: "/data".into(),
        to: "/backup/data".into(),
        log: format!("/state/logs/data_{kind}.log").into(),
        outcome,
        stats: None,
        local: None,
        target: None,
    }
}

fn count(record: &Record, sql: &str) -> i64 {
    record.conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn the_seeds_table_is_kept_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let record = Record::open(&dir.path().join("log.db")).unwrap();
    let mut info = record
        .conn
        .prepare("SELECT name, type FROM pragma_table_info('task_run')")
        .unwrap();
    let columns: Vec<String> = info
        .query_map([], |r| {
            Ok(format!(
                "{} {}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        columns,
        [
            "id_task TEXT",
            "dt_task_start REAL",
            "dt_task_end REAL",
            "success_task INTEGER",
            "id_step TEXT",
            "dt_step_start REAL",
            "dt_step_end REAL",
            "success_step INTEGER",
            "dir_from TEXT",
            "dir_to TEXT",
            "time_elapsed TEXT",
        ]
    );
    assert_eq!(count(&record, "PRAGMA user_version"), tables::VERSION);
}

#[test]
fn a_step_is_recorded_with_why_and_its_figures_and_the_seeds_rows_with_its_task() {
    let dir = tempfile::tempdir().unwrap();
    let mut record = Record::open(&dir.path().join("log.db")).unwrap();
    let run = record.begin_run("nas", 1000.0, "2026-03-01").unwrap();
    record.begin_task(run, "data", 1000.0).unwrap();
    let mut backup = step(
        StepKind::Backup,
        1000.0,
        StepOutcome::Warned {
            warnings: vec!["1 file could not be read".into()],
        },
    );
    backup.stats = Some(TransferStats {
        files_total: 10,
        files_transferred: 3,
        bytes_transferred: 300,
        total_size: 1000,
    });
    backup.local = Some(Space {
        snapshots: 4,
        free_bytes: Some(1 << 30),
        free_inodes: Some(5000),
        total_bytes: Some(1 << 32),
        total_inodes: Some(90_000),
    });
    let sync = step(
        StepKind::Sync,
        1020.0,
        StepOutcome::Failed {
            error: StepError::new(ErrorKind::Unreachable, "cannot reach the host over SSH"),
        },
    );
    record.step(run, "data", &backup).unwrap();
    record.step(run, "data", &sync).unwrap();
    let task = TaskResult {
        name: "data".into(),
        started: 1000.0,
        ended: 1030.0,
        steps: vec![backup, sync],
        skipped: vec![],
        planned: vec!["backup".into(), "sync".into()],
    };
    record.end_task(run, &task).unwrap();
    record.end_run(run, 1031.0, "failed").unwrap();

    let seed: Vec<(String, i64, i64)> = record
        .conn
        .prepare("SELECT id_step, success_step, success_task FROM task_run ORDER BY rowid")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        seed,
        [("backup".to_string(), 1, 0), ("sync".to_string(), 0, 0)]
    );

    let history = record.history("data", None).unwrap();
    let run = &history.runs[0];
    assert_eq!(run.state, RunState::Failed);
    assert_eq!(
        run.reason().as_deref(),
        Some("sync: cannot reach the host over SSH")
    );
    assert_eq!(run.steps[0].warnings, ["1 file could not be read"]);
    assert_eq!(run.steps[0].stats.unwrap().bytes_transferred, 300);
    assert_eq!(run.steps[0].local.unwrap().free_inodes, Some(5000));
    assert_eq!(run.steps[0].local.unwrap().total_inodes, Some(90_000));
    assert_eq!(
        count(
            &record,
            "SELECT error_kind = 'unreachable' FROM steps WHERE step = 'sync'"
        ),
        1
    );
}

#[test]
fn a_killed_run_is_interrupted_once_the_next_run_looks_and_running_while_it_goes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let mut record = Record::open(&db).unwrap();
    let killed = record.begin_run("nas", 1000.0, "2026-03-01").unwrap();
    record.begin_task(killed, "data", 1000.0).unwrap();
    record
        .step(
            killed,
            "data",
            &step(StepKind::Backup, 1000.0, StepOutcome::Ok),
        )
        .unwrap();
    assert_eq!(record.running().unwrap(), Some(killed));
    let going = record.history("data", Some(killed)).unwrap();
    assert_eq!(going.runs[0].state, RunState::Running);
    drop(record);

    let mut record = Record::open(&db).unwrap();
    record.begin_run("nas", 2000.0, "2026-03-02").unwrap();
    let history = record.history("data", None).unwrap();
    let run = &history.runs[0];
    assert_eq!(run.state, RunState::Interrupted);
    assert_eq!(
        run.ended, 1010.0,
        "an unfinished run ends with its last step"
    );
    assert_eq!(
        count(
            &record,
            "SELECT outcome = 'interrupted' FROM runs WHERE id = 1"
        ),
        1
    );
}

#[test]
fn a_database_of_the_first_release_is_migrated_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    {
        // What release 0.1 wrote: the seed's table only, user_version 0.
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TABLE task_run (id_task TEXT, dt_task_start REAL, dt_task_end REAL,
                success_task INTEGER, id_step TEXT, dt_step_start REAL, dt_step_end REAL,
                success_step INTEGER, dir_from TEXT, dir_to TEXT, time_elapsed TEXT);
             CREATE INDEX task_run_by_task ON task_run (id_task, dt_task_start);
             INSERT INTO task_run VALUES
                ('data', 100.5, 130.25, 1, 'backup', 100.5, 110.0, 1, '/data', '/b/data/1970-01-01', '00:00:10'),
                ('data', 100.5, 130.25, 1, 'retention', 110.0, 111.0, 1, '/b/data', '/b/data', '00:00:01'),
                ('data', 100.5, 130.25, 1, 'sync', 111.0, 130.0, 1, '/b/data', '/r/data', '00:00:19'),
                ('photos', 131.0, 140.0, 0, 'backup', 131.0, 140.0, 0, '/photos', '/b/photos/1970-01-01', '00:00:09'),
                ('data', 86500.5, 86510.0, 0, 'backup', 86500.5, 86510.0, 0, '/data', '/b/data/1970-01-02', '00:00:10');",
        )
        .unwrap();
    }
    let mut record = Record::open(&db).unwrap();
    assert_eq!(count(&record, "PRAGMA user_version"), 1);
    assert_eq!(
        count(&record, "SELECT COUNT(*) FROM task_run"),
        5,
        "the seed's rows stay"
    );
    assert_eq!(count(&record, "SELECT COUNT(*) FROM runs"), 3);
    assert_eq!(count(&record, "SELECT COUNT(*) FROM steps"), 5);

    assert_eq!(
        record
            .task_names(&["photos".into(), "gone".into()])
            .unwrap(),
        ["photos", "gone", "data"],
        "configured first, then those found only in the record"
    );
    let data: Vec<(RunState, usize, f64)> = record
        .history("data", None)
        .unwrap()
        .runs
        .iter()
        .map(|r| (r.state, r.steps.len(), r.started))
        .collect();
    assert_eq!(
        data,
        [(RunState::Failed, 1, 86500.5), (RunState::Ok, 3, 100.5)]
    );
    let data = record.history("data", None).unwrap();
    assert_eq!(data.runs[1].ended, 130.25);
    assert_eq!(&*data.runs[1].steps[2].dir_to, "/r/data");
    assert_eq!(
        record.history("photos", None).unwrap().runs[0].state,
        RunState::Failed
    );

    // A run after the migration lands beside the migrated ones.
    let run = record.begin_run("nas", 200_000.0, "1970-01-03").unwrap();
    record.begin_task(run, "data", 200_000.0).unwrap();
    let history = record.history("data", Some(run)).unwrap();
    assert_eq!(history.runs.len(), 3);
    drop(record);
    Record::open(&db).expect("a migrated database opens again without migrating");
}

#[test]
fn a_database_from_a_newer_release_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let e = Record::open(&db).err().expect("refused");
    assert!(
        e.to_string()
            .contains("its schema version is 99, newer than this backup-server knows (1)"),
        "{e}"
    );
}
