//! The email report that ends every run (the seed's `EmailReport`).
//!
//! enrich (what to say) → compose (the MIME message) → deliver (SMTPS, or the
//! outbox until the next run). Step logs are deleted only once a server accepted the
//! report that carries them.

pub mod compose;
pub mod deliver;
pub mod enrich;

use std::path::{Path, PathBuf};

use crate::config::{Config, EmailWhen};
use crate::journal;
use crate::state::StateDir;
pub use compose::About;
use deliver::{DeliverError, Mailer, Outbox};
pub use enrich::{TaskReport, enrich};

/// Where the report went.
#[derive(Debug)]
pub enum Delivery {
    /// Accepted by the mail server; `set_aside` counts the kept reports of earlier
    /// runs that could never be sent and were moved to `outbox/failed/`.
    Sent { set_aside: usize },
    /// Written as a file for `--email-to`.
    Written(PathBuf),
    /// Not sent; `kept` is the outbox copy the next run will send (if it could be kept).
    Undelivered {
        reason: DeliverError,
        kept: Option<PathBuf>,
    },
}

pub struct ReportOptions<'a> {
    pub state: &'a StateDir,
    pub password_file: Option<&'a Path>,
    /// Write the report here as an `.eml` instead of sending it.
    pub email_to: Option<&'a Path>,
}

/// Whether a run's report goes out, as `email_when` says: `None` when not, else
/// whether it is the weekly summary (nothing needs attention, and today is
/// `summary_weekday`).
pub fn wanted(
    config: &Config,
    reports: &[TaskReport],
    about: &About,
    today: jiff::civil::Date,
) -> Option<bool> {
    match config.email_when {
        EmailWhen::Always => Some(false),
        EmailWhen::Never => None,
        EmailWhen::Attention => {
            let attention = about.unrecorded.is_some()
                || !about.undelivered_pings.is_empty()
                || about.disks.iter().any(|d| d.warning.is_some())
                || reports.iter().any(|r| {
                    !r.success || r.warnings || r.recovered || r.health.state.needs_attention()
                });
            if attention {
                Some(false)
            } else {
                (today.weekday() == config.summary_weekday).then_some(true)
            }
        }
    }
}

/// Sends the reports earlier runs could not, when this run sends none of its own.
/// `None` when there were none.
pub fn send_kept(config: &Config, opts: &ReportOptions) -> Option<Delivery> {
    let outbox = Outbox::new(opts.state.outbox());
    if config.email_when == EmailWhen::Never
        || opts.email_to.is_some()
        || outbox.pending().is_empty()
    {
        return None;
    }
    let password = match crate::password::read(opts.password_file) {
        Ok(password) => password,
        Err(e) => {
            return Some(Delivery::Undelivered {
                reason: e.into(),
                kept: None,
            });
        }
    };
    let mailer = match Mailer::new(config, &password) {
        Ok(mailer) => mailer,
        Err(reason) => return Some(Delivery::Undelivered { reason, kept: None }),
    };
    Some(match flush(&outbox, &mailer) {
        Ok(set_aside) => Delivery::Sent { set_aside },
        Err(reason) => Delivery::Undelivered { reason, kept: None },
    })
}

/// Sends the outbox's reports, oldest first, stopping at the first that fails for a
/// reason that may pass (the server is down). One that can never be sent (unreadable,
/// or refused by the server for good) is set aside, said so, and does not hold back
/// the ones after it. Returns how many were set aside.
fn flush(outbox: &Outbox, mailer: &Mailer) -> Result<usize, DeliverError> {
    let mut set_aside = 0;
    for id in outbox.pending() {
        let why = match outbox.read(&id) {
            Err(reason) => reason,
            Ok((envelope, bytes)) => match mailer.send(&envelope, &bytes) {
                Ok(()) => {
                    outbox.remove(&id);
                    journal::info(&format!("sent the report kept by an earlier run ({id})"));
                    continue;
                }
                Err(e) if e.trouble == deliver::Trouble::MessageRefused => e.into(),
                Err(e) => return Err(e.into()),
            },
        };
        let moved = match outbox.set_aside(&id) {
            Ok(moved) => moved,
            Err(error) => {
                return Err(DeliverError::Stuck {
                    why: Box::new(why),
                    error,
                });
            }
        };
        journal::error(&format!(
            "the report kept by an earlier run can never be sent ({why}); set aside as {}",
            moved.display()
        ));
        set_aside += 1;
    }
    Ok(set_aside)
}

/// Composes the report on `reports` and sends it (or writes it, or keeps it).
pub fn deliver(
    config: &Config,
    reports: &[TaskReport],
    about: &About,
    opts: &ReportOptions,
) -> Delivery {
    let composed = match compose::compose(config, reports, about) {
        Ok(composed) => composed,
        Err(e) => {
            return Delivery::Undelivered {
                reason: e.into(),
                kept: None,
            };
        }
    };
    let envelope = composed.message.envelope().clone();
    let bytes = composed.message.formatted();
    let name = deliver::file_name(reports, about);

    if let Some(dir) = opts.email_to {
        return match deliver::write_report(dir, &name, None, &bytes) {
            Ok(id) => Delivery::Written(dir.join(format!("{id}.eml"))),
            Err(reason) => Delivery::Undelivered { reason, kept: None },
        };
    }

    let outbox = Outbox::new(opts.state.outbox());
    let undelivered = |reason: DeliverError| {
        let kept = match outbox.keep(&name, &envelope, &bytes) {
            Ok(path) => Some(path),
            Err(e) => {
                journal::error(&e.to_string());
                None
            }
        };
        Delivery::Undelivered { reason, kept }
    };
    let password = match crate::password::read(opts.password_file) {
        Ok(password) => password,
        Err(e) => return undelivered(e.into()),
    };
    let mailer = match Mailer::new(config, &password) {
        Ok(mailer) => mailer,
        Err(reason) => return undelivered(reason),
    };
    // Reports kept by earlier runs go first, oldest first.
    let set_aside = match flush(&outbox, &mailer) {
        Ok(set_aside) => set_aside,
        Err(reason) => return undelivered(reason),
    };
    match mailer.send(&envelope, &bytes) {
        Ok(()) => {
            delete_logs(reports, &composed.cut_logs);
            Delivery::Sent { set_aside }
        }
        Err(e) => undelivered(e.into()),
    }
}

/// The seed's `delete_logs()`: once the report is accepted, its step logs go, but for
/// those it carries only in part (the mail points at them).
fn delete_logs(reports: &[TaskReport], keep: &[PathBuf]) {
    for log in reports
        .iter()
        .flat_map(|t| t.steps.iter().filter_map(|s| s.file_log.as_ref()))
    {
        if !keep.contains(log) {
            let _ = fs_err::remove_file(log);
        }
    }
}
