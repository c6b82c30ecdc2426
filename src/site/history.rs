//! The log DB read back as runs: the rows of `task_run` grouped into task runs, and
//! each task's health.
//!
//! Every page, chart and machine-readable file of the site is rendered from this one
//! structure, read in one query, so the site agrees with itself. Ten years of twenty
//! tasks is 219,000 rows: the repeated strings (step names, source and target
//! directories) are shared, not copied, to keep that within a few tens of MB.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::rc::Rc;

use rusqlite::{Connection, OpenFlags};

/// One step of one run, as recorded.
#[derive(Debug, Clone)]
pub struct StepRow {
    pub step: Rc<str>,
    pub start: f64,
    pub end: f64,
    pub success: bool,
    pub dir_from: Rc<str>,
    pub dir_to: Rc<str>,
}

impl StepRow {
    pub fn duration(&self) -> f64 {
        (self.end - self.start).max(0.0)
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

/// One run of one task.
#[derive(Debug, Clone)]
pub struct Run {
    pub start: f64,
    pub end: f64,
    pub success: bool,
    pub steps: Vec<StepRow>,
}

impl Run {
    pub fn duration(&self) -> f64 {
        (self.end - self.start).max(0.0)
    }
}

/// How a task is doing, judged from its runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Health {
    /// Its last run succeeded and that was recently enough.
    Ok,
    /// Its last run failed; failing since the start of the first failed run after its
    /// last success.
    Failing { since: f64 },
    /// No success for more than `stale_after_days`: no run lately, though none failed.
    Stale { last_success: f64 },
    /// It ran, but never once succeeded.
    NeverSucceeded { since: f64 },
    /// Configured, but no run is recorded.
    NeverRan,
}

impl Health {
    pub fn needs_attention(&self) -> bool {
        !matches!(self, Health::Ok)
    }

    /// The word used in `status.json` and as a CSS class.
    pub fn word(&self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Failing { .. } => "failing",
            Health::Stale { .. } => "stale",
            Health::NeverSucceeded { .. } => "never_succeeded",
            Health::NeverRan => "never_ran",
        }
    }
}

/// One task's history, newest run first.
#[derive(Debug, Clone)]
pub struct TaskHistory {
    pub name: String,
    pub runs: Vec<Run>,
}

impl TaskHistory {
    pub fn last_run(&self) -> Option<&Run> {
        self.runs.first()
    }

    pub fn last_success(&self) -> Option<&Run> {
        self.runs.iter().find(|r| r.success)
    }

    pub fn success_rate(&self) -> Option<f64> {
        (!self.runs.is_empty())
            .then(|| self.runs.iter().filter(|r| r.success).count() as f64 / self.runs.len() as f64)
    }

    pub fn health(&self, now: f64, stale_after_days: u32) -> Health {
        let Some(last) = self.last_run() else {
            return Health::NeverRan;
        };
        match self.last_success() {
            None => Health::NeverSucceeded {
                since: self.runs.last().map_or(last.start, |r| r.start),
            },
            Some(_) if !last.success => {
                // The oldest failure in the unbroken run of failures at the top.
                let since = self
                    .runs
                    .iter()
                    .take_while(|r| !r.success)
                    .last()
                    .map_or(last.start, |r| r.start);
                Health::Failing { since }
            }
            Some(ok) if (now - ok.end) / 86_400.0 > f64::from(stale_after_days) => Health::Stale {
                last_success: ok.end,
            },
            Some(_) => Health::Ok,
        }
    }
}

/// Every task's history: the configured tasks first (in config order, with or without
/// runs), then any task found only in the DB (renamed or removed from the config).
pub fn load(db: &Path, configured: &[String]) -> rusqlite::Result<Vec<TaskHistory>> {
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    let mut query = conn.prepare(
        "SELECT id_task, dt_task_start, dt_task_end, success_task, id_step, dt_step_start, dt_step_end,
                success_step, dir_from, dir_to
         FROM task_run ORDER BY id_task, dt_task_start DESC, dt_step_start",
    )?;
    let mut by_task: BTreeMap<String, Vec<Run>> = BTreeMap::new();
    let mut strings = Interner::default();
    let mut text = |row: &rusqlite::Row, i: usize| -> rusqlite::Result<Rc<str>> {
        Ok(strings.get(row.get_ref(i)?.as_str_or_null()?.unwrap_or_default()))
    };
    let mut rows = query.query([])?;
    while let Some(row) = rows.next()? {
        let task = row.get_ref(0)?.as_str_or_null()?.unwrap_or_default();
        let start: f64 = row.get(1)?;
        if !by_task.contains_key(task) {
            by_task.insert(task.to_string(), Vec::new());
        }
        let runs = by_task.get_mut(task).expect("just inserted");
        if runs.last().is_none_or(|r: &Run| r.start != start) {
            runs.push(Run {
                start,
                end: row.get(2)?,
                success: row.get::<_, i64>(3)? != 0,
                steps: Vec::with_capacity(3),
            });
        }
        let run = runs.last_mut().expect("just pushed");
        run.steps.push(StepRow {
            step: text(row, 4)?,
            start: row.get::<_, Option<f64>>(5)?.unwrap_or(start),
            end: row.get::<_, Option<f64>>(6)?.unwrap_or(start),
            success: row.get::<_, Option<i64>>(7)?.unwrap_or(0) != 0,
            dir_from: text(row, 8)?,
            dir_to: text(row, 9)?,
        });
    }
    let mut tasks: Vec<TaskHistory> = configured
        .iter()
        .map(|name| TaskHistory {
            runs: by_task.remove(name).unwrap_or_default(),
            name: name.clone(),
        })
        .collect();
    tasks.extend(
        by_task
            .into_iter()
            .map(|(name, runs)| TaskHistory { name, runs }),
    );
    Ok(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(start: f64, success: bool) -> Run {
        Run {
            start,
            end: start + 60.0,
            success,
            steps: Vec::new(),
        }
    }

    fn task(runs: Vec<Run>) -> TaskHistory {
        TaskHistory {
            name: "t".into(),
            runs,
        }
    }

    const DAY: f64 = 86_400.0;

    #[test]
    fn health_says_what_needs_attention_and_since_when() {
        let now = 100.0 * DAY;
        assert_eq!(task(vec![]).health(now, 2), Health::NeverRan);
        assert_eq!(task(vec![run(99.0 * DAY, true)]).health(now, 2), Health::Ok);
        assert_eq!(
            task(vec![
                run(99.0 * DAY, false),
                run(98.0 * DAY, false),
                run(97.0 * DAY, true),
                run(96.0 * DAY, false)
            ])
            .health(now, 2),
            Health::Failing { since: 98.0 * DAY }
        );
        assert_eq!(
            task(vec![run(90.0 * DAY, true)]).health(now, 2),
            Health::Stale {
                last_success: 90.0 * DAY + 60.0
            }
        );
        assert_eq!(
            task(vec![run(99.0 * DAY, false), run(98.0 * DAY, false)]).health(now, 2),
            Health::NeverSucceeded { since: 98.0 * DAY }
        );
    }
}
