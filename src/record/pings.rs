//! The pings of each run (`pings`): which went out and which could not be delivered.
//!
//! A ping that could not be delivered is shown in the report and on the pages, so it is
//! recorded with its run; `render-site` reads back those of the newest finished run.

use rusqlite::params;

use super::{Record, RecordError, RunId};
use crate::config::Event;
use crate::outcome::{Channel, Ping};

impl Record {
    /// Records one ping of `run`.
    pub fn ping(&mut self, run: RunId, ping: &Ping) -> Result<(), RecordError> {
        let result = self.conn.execute(
            "INSERT INTO pings (run_id, channel, event, at, status, message, attempts)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                run.0,
                ping.channel.word(),
                ping.event.word(),
                ping.at,
                if ping.delivered {
                    "delivered"
                } else {
                    "failed"
                },
                ping.message,
                ping.attempts,
            ],
        );
        self.named(
            &format!(
                "record the {} {} ping",
                ping.channel.word(),
                ping.event.word()
            ),
            result.map(drop),
        )
    }

    /// The pings of `run`, in the order they were sent.
    pub fn pings(&self, run: RunId) -> Result<Vec<Ping>, RecordError> {
        let read = || -> rusqlite::Result<Vec<Ping>> {
            let mut select = self.conn.prepare(
                "SELECT channel, event, at, status, message, attempts FROM pings
                 WHERE run_id = ?1 ORDER BY rowid",
            )?;
            let rows = select.query_map([run.0], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, f64>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, Option<String>>(4)?,
                    row.get::<_, u32>(5)?,
                ))
            })?;
            let mut pings = Vec::new();
            for row in rows {
                let (channel, event, at, status, message, attempts) = row?;
                // A row a newer version wrote in words this one does not know is left out.
                let Some(event) = Event::parse(&event) else {
                    continue;
                };
                pings.push(Ping {
                    channel: Channel::named(&channel),
                    event,
                    at,
                    delivered: status == "delivered",
                    message: message.unwrap_or_default(),
                    attempts,
                });
            }
            Ok(pings)
        };
        self.named("read the pings", read())
    }

    /// The pings of the newest run that ended which were not delivered.
    pub fn undelivered_pings(&self) -> Result<Vec<Ping>, RecordError> {
        let newest = self.conn.query_row(
            "SELECT MAX(id) FROM runs WHERE ended IS NOT NULL",
            [],
            |row| row.get::<_, Option<i64>>(0),
        );
        match self.named("read the runs", newest)? {
            Some(run) => Ok(self
                .pings(RunId(run))?
                .into_iter()
                .filter(|p| !p.delivered)
                .collect()),
            None => Ok(Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_are_kept_with_their_run_and_the_undelivered_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut record = Record::open(&dir.path().join("log.db")).unwrap();
        let ping = |channel, event, delivered: bool, message: &str, attempts| Ping {
            channel,
            event,
            at: 1_795_000_000.0,
            delivered,
            message: message.into(),
            attempts,
        };
        let first = record
            .begin_run("nas", 1_795_000_000.0, "2026-11-18")
            .unwrap();
        record
            .ping(
                first,
                &ping(
                    Channel::named("ntfy"),
                    Event::Failure,
                    false,
                    "http://ntfy.lan answered HTTP 500",
                    3,
                ),
            )
            .unwrap();
        record.end_run(first, 1_795_000_100.0, "failed").unwrap();
        assert_eq!(record.undelivered_pings().unwrap().len(), 1);

        let second = record
            .begin_run("nas", 1_795_086_400.0, "2026-11-19")
            .unwrap();
        let start = ping(
            Channel::named("healthchecks"),
            Event::Start,
            true,
            "HTTP 200",
            1,
        );
        let fail = ping(
            Channel::named("webhook"),
            Event::Success,
            false,
            "cannot connect to https://h",
            3,
        );
        record.ping(second, &start).unwrap();
        assert_eq!(
            record.undelivered_pings().unwrap().len(),
            1,
            "a run still going is not the newest that ended"
        );
        record.ping(second, &fail).unwrap();
        record.end_run(second, 1_795_086_500.0, "ok").unwrap();
        assert_eq!(record.pings(second).unwrap(), [start, fail.clone()]);
        assert_eq!(record.undelivered_pings().unwrap(), [fail]);
    }
}
