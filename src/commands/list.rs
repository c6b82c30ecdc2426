//! `backup-server list`: a task's snapshots on the backup disk and on each target,
//! side by side, with what each snapshot's backup added, why the policy keeps it and
//! until when, and which sides have it.
//!
//! Users of hard-link snapshots misread `du` and cannot see why a snapshot is there
//! or when it will go; this says it. The sides are listed live, the same way the
//! engine lists them (`snapshots.sh list`, over SSH with the run's ssh_config), and
//! judged by the policy of each side; only what each backup added comes from the
//! record. Nothing is written but the ssh_config, as a run writes it.

use std::collections::BTreeMap;
use std::fmt::Write;

use jiff::civil::Date;
use serde::Serialize;

use crate::clock::Clock;
use crate::config::Config;
use crate::error::Error;
use crate::exit::Exit;
use crate::journal::print_out;
use crate::outcome::TransferStats;
use crate::plan::Plan;
use crate::record::Record;
use crate::retention::Kept;
use crate::scripts::Scripts;
use crate::sides::LOCAL;
use crate::sides::inventory::{Row, SideNow, cell, heading, rows, take};
use crate::state::StateDir;
use crate::words;

/// What each snapshot of each task added, from the record (nothing if there is none
/// yet, or it cannot be read: `list` shows the snapshots all the same).
fn added(state: &StateDir, task: &str) -> BTreeMap<Date, TransferStats> {
    let db = state.log_db();
    if !db.exists() {
        return BTreeMap::new();
    }
    match Record::open(&db).and_then(|record| record.inventory(task)) {
        Ok(inventory) => inventory.added,
        Err(e) => {
            crate::journal::warn(&format!("{e}; what each snapshot added is not shown"));
            BTreeMap::new()
        }
    }
}

/// `backup-server list [TASK] [--json]`: prints the inventory of the tasks; exit 1
/// when a side could not be listed (what could be listed is printed all the same).
pub fn list(
    config: &Config,
    plan: &Plan,
    state: &StateDir,
    scripts: &Scripts,
    clock: &Clock,
    task: Option<&str>,
    json: bool,
) -> Result<Exit, Error> {
    let tasks = super::select(plan, config, task)?;
    let remote = tasks
        .iter()
        .any(|t| t.targets.iter().any(|target| target.dir.is_remote()));
    let ssh_config = if remote {
        crate::ssh::prepare(plan, state)
    } else {
        Ok(None)
    };
    let today = clock.today();
    let mut failed = false;
    let mut shown = Vec::new();
    for task in tasks {
        let sides = take(plan, task, scripts, &ssh_config, &|_| None);
        failed |= sides.iter().any(|s| s.listing.is_err());
        shown.push(TaskInventory {
            name: task.name.clone(),
            added: added(state, &task.name),
            sides,
        });
    }
    let text = if json {
        let tasks: Vec<JsonTask> = shown.iter().map(|t| t.json(today)).collect();
        serde_json::to_string_pretty(&JsonList { today, tasks }).expect("serializes") + "\n"
    } else {
        let texts: Vec<String> = shown.iter().map(|t| t.text(today)).collect();
        texts.join("\n")
    };
    print_out(&text);
    Ok(if failed {
        Exit::TaskFailed
    } else {
        Exit::Success
    })
}

/// One task's sides, listed, with what each snapshot added.
pub struct TaskInventory {
    pub name: String,
    pub sides: Vec<SideNow>,
    pub added: BTreeMap<Date, TransferStats>,
}

impl TaskInventory {
    /// Every date any side holds, newest first.
    fn rows(&self, today: Date) -> Vec<Row> {
        let verdicts: Vec<BTreeMap<Date, Option<Kept>>> =
            self.sides.iter().map(|s| s.verdicts(today)).collect();
        rows(&verdicts)
    }

    /// The table `list` prints.
    pub fn text(&self, today: Date) -> String {
        let mut out = format!("{}\n", self.name);
        let width = self
            .sides
            .iter()
            .map(|s| heading(&s.name).len())
            .max()
            .unwrap_or(0);
        for side in &self.sides {
            let state = match &side.listing {
                Ok(snapshots) => words::plural(snapshots.len(), "snapshot"),
                Err(why) => format!("cannot be listed: {why}"),
            };
            let _ = writeln!(
                out,
                "  {:<width$}  {}: {state}",
                heading(&side.name),
                side.location
            );
        }
        let mut table: Vec<Vec<String>> = vec![
            ["date", "added"]
                .into_iter()
                .map(String::from)
                .chain(self.sides.iter().map(|s| heading(&s.name).to_string()))
                .collect(),
        ];
        for (date, cells) in self.rows(today) {
            let mut row = vec![date.to_string(), words::added(&self.added, date)];
            for (side, c) in self.sides.iter().zip(&cells) {
                row.push(cell(side.name == LOCAL, side.listing.is_ok(), c, &cells[0]));
            }
            table.push(row);
        }
        if table.len() == 1 {
            out.push_str("  no snapshot on any side\n");
            return out;
        }
        let widths: Vec<usize> = (0..table[0].len())
            .map(|i| {
                table
                    .iter()
                    .map(|r| r[i].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in table {
            let line: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            let _ = writeln!(out, "  {}", line.join("  ").trim_end());
        }
        out
    }

    fn json(&self, today: Date) -> JsonTask {
        let sides = self
            .sides
            .iter()
            .map(|s| JsonSide {
                name: s.name.clone(),
                location: s.location.clone(),
                error: s.listing.as_ref().err().cloned(),
                snapshots: s.listing.as_ref().map_or(0, |l| l.len()),
            })
            .collect();
        let snapshots = self
            .rows(today)
            .into_iter()
            .map(|(date, cells)| JsonSnapshot {
                date: date.to_string(),
                added: self.added.get(&date).map(|s| JsonAdded {
                    files: s.files_transferred,
                    bytes: s.bytes_transferred,
                }),
                sides: self
                    .sides
                    .iter()
                    .zip(cells)
                    .filter(|(side, _)| side.listing.is_ok())
                    .map(|(side, cell)| {
                        let cell = cell.map(|kept| JsonVerdict {
                            kept: kept.is_some(),
                            reasons: kept
                                .iter()
                                .flat_map(|k| k.reasons.iter().map(|r| r.key()))
                                .collect(),
                            until: kept.map(|k| k.until.to_string()),
                        });
                        (side.name.clone(), cell)
                    })
                    .collect(),
            })
            .collect();
        JsonTask {
            name: self.name.clone(),
            sides,
            snapshots,
        }
    }
}

#[derive(Serialize)]
struct JsonList {
    /// The day the verdicts are for.
    #[serde(serialize_with = "display")]
    today: Date,
    tasks: Vec<JsonTask>,
}

#[derive(Serialize)]
struct JsonTask {
    name: String,
    sides: Vec<JsonSide>,
    /// Newest first.
    snapshots: Vec<JsonSnapshot>,
}

#[derive(Serialize)]
struct JsonSide {
    name: String,
    location: String,
    error: Option<String>,
    snapshots: usize,
}

#[derive(Serialize)]
struct JsonSnapshot {
    date: String,
    /// What its backup transferred (null: not in the record).
    added: Option<JsonAdded>,
    /// By side name: null when that side does not have it; sides that could not be
    /// listed are left out.
    sides: BTreeMap<String, Option<JsonVerdict>>,
}

#[derive(Serialize)]
struct JsonAdded {
    files: u64,
    bytes: u64,
}

#[derive(Serialize)]
struct JsonVerdict {
    kept: bool,
    reasons: Vec<&'static str>,
    until: Option<String>,
}

fn display<S: serde::Serializer>(value: &Date, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retention::Policy;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn side(name: &str, dates: &[&str], policy: Policy) -> SideNow {
        SideNow {
            name: name.into(),
            location: format!("/{name}/data"),
            policy,
            listing: Ok(dates.iter().map(|s| d(s)).collect()),
        }
    }

    #[test]
    fn the_table_shows_each_side_and_says_where_a_target_differs() {
        let policy = Policy {
            daily: 2,
            weekly: 0,
            monthly: 0,
            yearly: 0,
        };
        let longer = Policy {
            monthly: 12,
            ..policy
        };
        let inventory = TaskInventory {
            name: "data".into(),
            sides: vec![
                side(LOCAL, &["2026-03-02", "2026-03-03", "2026-03-04"], policy),
                side("remote", &["2026-03-03", "2026-03-04"], policy),
                side("far", &["2026-02-01", "2026-03-04"], longer),
                SideNow {
                    listing: Err("cannot reach nas over SSH".into()),
                    ..side("nas", &[], policy)
                },
            ],
            added: BTreeMap::from([
                (
                    d("2026-03-04"),
                    TransferStats {
                        files_transferred: 3,
                        bytes_transferred: 1234,
                        ..TransferStats::default()
                    },
                ),
                (d("2026-03-03"), TransferStats::default()),
            ]),
        };
        assert_eq!(
            inventory.text(d("2026-03-04")),
            r#"data
  backup disk  /local/data: 3 snapshots
  remote       /remote/data: 2 snapshots
  far          /far/data: 2 snapshots
  nas          /nas/data: cannot be listed: cannot reach nas over SSH
  date        added              backup disk                     remote  far                                           nas
  2026-03-04  1.2 kB in 3 files  newest, daily until 2026-03-05  yes     yes: newest, daily, monthly until 2027-02-28  ?
  2026-03-03  nothing            daily until 2026-03-04          yes     no                                            ?
  2026-03-02  —                  to be deleted by the next run   no      no                                            ?
  2026-02-01  —                  no                              no      yes: daily, monthly until 2027-01-31          ?
"#
        );
    }
}
