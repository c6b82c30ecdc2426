//! What the record knows about a task's snapshots: what each side held when it was
//! last listed, with why the policy keeps each snapshot and until when; what each
//! snapshot's backup added; and the checks of its last verification.
//!
//! `list` reads the sides live and takes only what each backup added from here; the
//! pages, `metrics.prom` and the report have nothing but the record, so a run writes
//! each side's listing at its end and `verify` writes its checks.

use std::collections::BTreeMap;

use jiff::civil::Date;
use rusqlite::{Connection, params};

use crate::outcome::TransferStats;
use crate::retention::{Kept, Reason};

/// One side of a task (the backup disk or a target) as it was last listed.
#[derive(Debug, Clone, PartialEq)]
pub struct SideRecord {
    /// `local` for the backup disk, else the target's name.
    pub side: String,
    /// The task directory there: `/path` or `user@host:/path`.
    pub location: String,
    /// Unix seconds.
    pub listed: f64,
    /// Why it could not be listed (then it has no snapshots).
    pub error: Option<String>,
    /// Oldest first.
    pub snapshots: Vec<SnapshotRecord>,
}

/// A snapshot on one side, and the policy's verdict on the day it was listed.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotRecord {
    pub date: Date,
    /// `None`: the policy no longer keeps it (the next run deletes it).
    pub kept: Option<Kept>,
}

/// How one check of a verification ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComparisonOutcome {
    /// Every file compared matches.
    Ok,
    /// The copies differ.
    Differs,
    /// The check could not be made (a side unreachable, no snapshot to compare).
    Failed,
}

impl ComparisonOutcome {
    pub fn word(self) -> &'static str {
        match self {
            ComparisonOutcome::Ok => "ok",
            ComparisonOutcome::Differs => "differs",
            ComparisonOutcome::Failed => "failed",
        }
    }

    fn from_word(word: &str) -> ComparisonOutcome {
        match word {
            "ok" => ComparisonOutcome::Ok,
            "differs" => ComparisonOutcome::Differs,
            _ => ComparisonOutcome::Failed,
        }
    }
}

/// What a task's newest local snapshot was compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Against {
    /// The task's source, for the files it has not changed since the snapshot.
    Source,
    /// A target's copy of the snapshot, by the target's name.
    Target(String),
}

impl Against {
    fn key(&self) -> String {
        match self {
            Against::Source => "source".to_string(),
            Against::Target(name) => format!("target:{name}"),
        }
    }

    fn from_key(key: &str) -> Against {
        match key.strip_prefix("target:") {
            Some(name) => Against::Target(name.to_string()),
            None => Against::Source,
        }
    }

    /// `the source` or `target remote`, for sentences.
    pub fn words(&self) -> String {
        match self {
            Against::Source => "the source".to_string(),
            Against::Target(name) => format!("target {name}"),
        }
    }
}

/// One check of a verification.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// When the task's verification started (shared by its checks), Unix seconds.
    pub started: f64,
    pub ended: f64,
    pub against: Against,
    /// The date of the snapshot compared.
    pub snapshot: Option<Date>,
    /// What it was compared with: the target's copy or the source.
    pub location: Option<String>,
    /// The share of files whose contents were read; `None`: all of them.
    pub sample_percent: Option<f64>,
    pub outcome: ComparisonOutcome,
    pub files_checked: Option<u64>,
    pub differences: u64,
    /// The differences in words (the first `LISTED` of them are recorded).
    pub listed: Vec<String>,
    /// Why it could not be checked.
    pub message: Option<String>,
}

/// Differences kept in the record per check; the count says how many there were.
pub const LISTED: usize = 100;

/// The verdicts of a task's snapshots on each side and its last verification, as
/// the record has them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inventory {
    /// The backup disk first, then the targets, as last listed.
    pub sides: Vec<SideRecord>,
    /// What each snapshot's backup transferred, by the snapshot's date.
    pub added: BTreeMap<Date, TransferStats>,
    /// The checks of the newest verification; empty if it was never verified.
    pub verification: Vec<Comparison>,
}

impl Inventory {
    /// Whether the last verification found the copies equal and every check ran.
    pub fn verified(&self) -> Option<bool> {
        (!self.verification.is_empty()).then(|| {
            self.verification
                .iter()
                .all(|c| c.outcome == ComparisonOutcome::Ok)
        })
    }
}

/// Replaces what the record says `side` of `task` holds.
pub fn write_side(conn: &mut Connection, task: &str, side: &SideRecord) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    tx.execute(
        "DELETE FROM snapshots WHERE task = ?1 AND side = ?2",
        params![task, side.side],
    )?;
    tx.execute(
        "INSERT OR REPLACE INTO sides (task, side, location, listed, error) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![task, side.side, side.location, side.listed, side.error],
    )?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO snapshots (task, side, date, reasons, kept_until) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for snapshot in &side.snapshots {
            let reasons: Vec<&str> = snapshot
                .kept
                .iter()
                .flat_map(|k| k.reasons.iter().map(|r| r.key()))
                .collect();
            insert.execute(params![
                task,
                side.side,
                snapshot.date.to_string(),
                serde_json::to_string(&reasons).expect("strings serialize"),
                snapshot.kept.as_ref().map(|k| k.until.to_string()),
            ])?;
        }
    }
    tx.commit()
}

/// Records one check of a verification.
pub fn write_check(conn: &Connection, task: &str, check: &Comparison) -> rusqlite::Result<()> {
    let listed: Vec<&String> = check.listed.iter().take(LISTED).collect();
    conn.execute(
        "INSERT INTO verifications (task, started, ended, against, snapshot, location, sample_percent,
            outcome, files_checked, differences, listed, message)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            task,
            check.started,
            check.ended,
            check.against.key(),
            check.snapshot.map(|d| d.to_string()),
            check.location,
            check.sample_percent,
            check.outcome.word(),
            check.files_checked.map(|n| n as i64),
            check.differences as i64,
            serde_json::to_string(&listed).expect("strings serialize"),
            check.message,
        ],
    )
    .map(drop)
}

/// A date as the record writes it; an unreadable one is left out rather than
/// failing the pages.
fn parse_date(text: Option<String>) -> Option<Date> {
    text.and_then(|t| crate::snapshot::parse_name(&t))
}

/// What the record knows of `task`'s snapshots (see `Inventory`).
pub fn load(conn: &Connection, task: &str) -> rusqlite::Result<Inventory> {
    let mut sides: Vec<SideRecord> = Vec::new();
    let mut query = conn.prepare_cached(
        "SELECT side, location, listed, error FROM sides WHERE task = ?1
         ORDER BY side != 'local', rowid",
    )?;
    let mut rows = query.query([task])?;
    while let Some(row) = rows.next()? {
        sides.push(SideRecord {
            side: row.get(0)?,
            location: row.get(1)?,
            listed: row.get(2)?,
            error: row.get(3)?,
            snapshots: Vec::new(),
        });
    }
    let mut query = conn.prepare_cached(
        "SELECT side, date, reasons, kept_until FROM snapshots WHERE task = ?1 ORDER BY side, date",
    )?;
    let mut rows = query.query([task])?;
    while let Some(row) = rows.next()? {
        let side: String = row.get(0)?;
        let Some(date) = parse_date(row.get(1)?) else {
            continue;
        };
        let reasons: Vec<String> =
            serde_json::from_str(&row.get::<_, String>(2)?).unwrap_or_default();
        let reasons: Vec<Reason> = reasons.iter().filter_map(|r| Reason::from_key(r)).collect();
        let kept = match parse_date(row.get(3)?) {
            Some(until) if !reasons.is_empty() => Some(Kept { reasons, until }),
            _ => None,
        };
        if let Some(side) = sides.iter_mut().find(|s| s.side == side) {
            side.snapshots.push(SnapshotRecord { date, kept });
        }
    }

    // What each snapshot added: the last backup of its day that did not fail (a
    // same-day re-run replaces the snapshot).
    let mut added = BTreeMap::new();
    let mut query = conn.prepare_cached(
        "SELECT runs.today, steps.files_total, steps.files_transferred, steps.bytes_transferred,
                steps.total_size
         FROM steps JOIN runs ON runs.id = steps.run_id
         WHERE steps.task = ?1 AND steps.step = 'backup' AND steps.outcome != 'failed'
           AND steps.bytes_transferred IS NOT NULL
         ORDER BY steps.run_id",
    )?;
    let mut rows = query.query([task])?;
    while let Some(row) = rows.next()? {
        let Some(day) = parse_date(row.get(0)?) else {
            continue;
        };
        let int = |i: usize| -> rusqlite::Result<u64> {
            Ok(row.get::<_, Option<i64>>(i)?.unwrap_or(0).max(0) as u64)
        };
        added.insert(
            day,
            TransferStats {
                files_total: int(1)?,
                files_transferred: int(2)?,
                bytes_transferred: int(3)?,
                total_size: int(4)?,
            },
        );
    }

    let mut verification = Vec::new();
    let mut query = conn.prepare_cached(
        "SELECT started, ended, against, snapshot, location, sample_percent, outcome,
                files_checked, differences, listed, message
         FROM verifications
         WHERE task = ?1 AND started = (SELECT MAX(started) FROM verifications WHERE task = ?1)
         ORDER BY id",
    )?;
    let mut rows = query.query([task])?;
    while let Some(row) = rows.next()? {
        verification.push(Comparison {
            started: row.get(0)?,
            ended: row.get(1)?,
            against: Against::from_key(&row.get::<_, String>(2)?),
            snapshot: parse_date(row.get(3)?),
            location: row.get(4)?,
            sample_percent: row.get(5)?,
            outcome: ComparisonOutcome::from_word(&row.get::<_, String>(6)?),
            files_checked: row.get::<_, Option<i64>>(7)?.map(|n| n.max(0) as u64),
            differences: row.get::<_, i64>(8)?.max(0) as u64,
            listed: serde_json::from_str(&row.get::<_, String>(9)?).unwrap_or_default(),
            message: row.get(10)?,
        });
    }
    Ok(Inventory {
        sides,
        added,
        verification,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{StepOutcome, StepResult};
    use crate::plan::StepKind;
    use crate::record::Record;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn backup(start: f64, outcome: StepOutcome, bytes: u64) -> StepResult {
        StepResult {
            kind: StepKind::Backup,
            id: "backup".into(),
            started: start,
            ended: start + 1.0,
            from: "/data".into(),
            to: "/backup/data".into(),
            log: "/state/logs/data_backup.log".into(),
            outcome,
            stats: Some(TransferStats {
                files_total: 10,
                files_transferred: bytes / 100,
                bytes_transferred: bytes,
                total_size: 1000,
            }),
            local: None,
            target: None,
        }
    }

    #[test]
    fn each_side_is_replaced_whole_and_read_back_with_its_verdicts() {
        let dir = tempfile::tempdir().unwrap();
        let mut record = Record::open(&dir.path().join("log.db")).unwrap();
        let kept = |reasons: Vec<Reason>, until: &str| {
            Some(Kept {
                reasons,
                until: d(until),
            })
        };
        let local = SideRecord {
            side: "local".into(),
            location: "/backup/data".into(),
            listed: 1000.0,
            error: None,
            snapshots: vec![
                SnapshotRecord {
                    date: d("2026-03-01"),
                    kept: None,
                },
                SnapshotRecord {
                    date: d("2026-03-02"),
                    kept: kept(vec![Reason::Newest, Reason::Daily], "2026-03-08"),
                },
            ],
        };
        let remote = SideRecord {
            side: "remote".into(),
            location: "backup@nas:/srv/data".into(),
            listed: 1001.0,
            error: Some("cannot reach nas over SSH".into()),
            snapshots: Vec::new(),
        };
        record.record_side("data", &remote).unwrap();
        record.record_side("data", &local).unwrap();
        assert_eq!(
            record.inventory("data").unwrap().sides,
            [local.clone(), remote.clone()],
            "the backup disk first"
        );

        let fewer = SideRecord {
            snapshots: local.snapshots[1..].to_vec(),
            listed: 2000.0,
            ..local.clone()
        };
        record.record_side("data", &fewer).unwrap();
        assert_eq!(record.inventory("data").unwrap().sides, [fewer, remote]);
        assert_eq!(record.inventory("other").unwrap(), Inventory::default());
    }

    #[test]
    fn a_snapshot_added_what_the_last_backup_of_its_day_transferred() {
        let dir = tempfile::tempdir().unwrap();
        let mut record = Record::open(&dir.path().join("log.db")).unwrap();
        let mut night = |today: &str, start: f64, outcome: StepOutcome, bytes: u64| {
            let run = record.begin_run("nas", start, today).unwrap();
            record.begin_task(run, "data", start).unwrap();
            record
                .step(run, "data", &backup(start, outcome, bytes))
                .unwrap();
        };
        night("2026-03-01", 100.0, StepOutcome::Ok, 500);
        // A same-day re-run replaced the snapshot; a failed one on the 2nd did not.
        night("2026-03-01", 200.0, StepOutcome::Ok, 700);
        night("2026-03-02", 300.0, StepOutcome::Ok, 100);
        let failed = StepOutcome::Failed {
            error: crate::outcome::StepError::new(crate::outcome::ErrorKind::Transfer, "x"),
        };
        night("2026-03-02", 400.0, failed, 900);
        let added: Vec<(String, u64)> = record
            .inventory("data")
            .unwrap()
            .added
            .into_iter()
            .map(|(d, s)| (d.to_string(), s.bytes_transferred))
            .collect();
        assert_eq!(
            added,
            [
                ("2026-03-01".to_string(), 700),
                ("2026-03-02".to_string(), 100)
            ]
        );
    }

    #[test]
    fn the_last_verification_is_read_back_check_by_check() {
        let dir = tempfile::tempdir().unwrap();
        let mut record = Record::open(&dir.path().join("log.db")).unwrap();
        let check = |started: f64, against: Against, outcome: ComparisonOutcome| Comparison {
            started,
            ended: started + 5.0,
            against,
            snapshot: Some(d("2026-03-02")),
            location: Some("backup@nas:/srv/data/2026-03-02".into()),
            sample_percent: Some(10.0),
            outcome,
            files_checked: Some(3),
            differences: if outcome == ComparisonOutcome::Differs {
                150
            } else {
                0
            },
            listed: if outcome == ComparisonOutcome::Differs {
                (0..150)
                    .map(|i| format!("missing on the target: f{i}"))
                    .collect()
            } else {
                Vec::new()
            },
            message: None,
        };
        record
            .record_check(
                "data",
                &check(100.0, Against::Source, ComparisonOutcome::Ok),
            )
            .unwrap();
        let newer = [
            check(
                200.0,
                Against::Target("remote".into()),
                ComparisonOutcome::Differs,
            ),
            check(200.0, Against::Source, ComparisonOutcome::Ok),
        ];
        for c in &newer {
            record.record_check("data", c).unwrap();
        }
        let inventory = record.inventory("data").unwrap();
        assert_eq!(
            inventory.verification.len(),
            2,
            "the newest verification only"
        );
        assert_eq!(inventory.verification[1], newer[1]);
        let differs = &inventory.verification[0];
        assert_eq!(differs.differences, 150);
        assert_eq!(differs.listed.len(), LISTED, "the first 100 are kept");
        assert_eq!(differs.listed[99], "missing on the target: f99");
        assert_eq!(inventory.verified(), Some(false));
    }
}
