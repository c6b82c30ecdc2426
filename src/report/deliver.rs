//! Getting a report to the mail server, or keeping it until it can be.
//!
//! Implicit TLS (port 465, as Gmail's SMTPS), certificates always verified, AUTH
//! with the app password. A report that cannot be sent is kept in the outbox (an
//! `.eml` and its envelope) and sent first by the next run, so no report is lost; one
//! the server refuses for good is set aside in `outbox/failed/`, said so, and does not
//! hold back the others.

use std::path::PathBuf;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{FileTransport, SmtpTransport, Transport};

use super::compose::ComposeError;
use crate::config::Config;
use crate::password::{Password, PasswordError};

/// Pauses between attempts on a transient failure (three attempts in all).
const BACKOFF: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(3)];

pub struct Mailer {
    transport: SmtpTransport,
    /// `host:port`, for messages.
    server: String,
    sender: String,
    password_file: String,
}

impl Mailer {
    pub fn new(config: &Config, password: &Password) -> Result<Mailer, DeliverError> {
        let smtp = &config.smtp;
        let mut tls = TlsParameters::builder(smtp.host.clone());
        if let Some(ca_file) = &smtp.ca_file {
            let pem = fs_err::read(ca_file).map_err(DeliverError::CaFileUnreadable)?;
            let ca = Certificate::from_pem(&pem).map_err(|error| DeliverError::CaFileNotPem {
                path: ca_file.clone(),
                error,
            })?;
            tls = tls.add_root_certificate(ca);
        }
        let tls = tls.build_rustls().map_err(DeliverError::Tls)?;
        let transport = SmtpTransport::builder_dangerous(smtp.host.clone())
            .port(smtp.port)
            .tls(Tls::Wrapper(tls))
            .credentials(Credentials::new(
                config.email_sender.clone(),
                password.expose().to_string(),
            ))
            .timeout(Some(Duration::from_secs(smtp.timeout_secs)))
            .build();
        Ok(Mailer {
            transport,
            server: format!("{}:{}", smtp.host, smtp.port),
            sender: config.email_sender.clone(),
            password_file: password.file().display().to_string(),
        })
    }

    /// Sends, retrying transient failures; the error is worded for the administrator.
    pub fn send(&self, envelope: &Envelope, bytes: &[u8]) -> Result<(), SendError> {
        let mut attempt = 0;
        loop {
            match self.transport.send_raw(envelope, bytes) {
                Ok(_) => return Ok(()),
                Err(e) if retryable(&e) && attempt < BACKOFF.len() => {
                    crate::journal::warn(&format!(
                        "sending the report: {}; trying again",
                        self.explain(&e).reason
                    ));
                    std::thread::sleep(BACKOFF[attempt]);
                    attempt += 1;
                }
                Err(e) => return Err(self.explain(&e)),
            }
        }
    }

    /// Connects, starts TLS, logs in and quits, sending no mail: `doctor`'s proof that
    /// the password is accepted. (lettre's `test_connection` does log in when the
    /// transport has credentials, and without its `pool` feature it quits.)
    pub fn verify_login(&self) -> Result<(), SendError> {
        match self.transport.test_connection() {
            Ok(true) => Ok(()),
            Ok(false) => Err(SendError {
                reason: format!("{} closed the connection after the login", self.server),
                trouble: Trouble::Other,
            }),
            Err(e) => Err(self.explain(&e)),
        }
    }

    fn explain(&self, e: &lettre::transport::smtp::Error) -> SendError {
        let server = &self.server;
        let (trouble, reason) = if let Some(code) = e.status().filter(|_| e.is_permanent()) {
            let code = code.to_string();
            if matches!(code.as_str(), "535" | "534" | "530") {
                let reason = format!(
                    "{server} refused the login of {} ({code}): check the Gmail app password in {}",
                    self.sender, self.password_file
                );
                (Trouble::Login, reason)
            } else {
                let trouble = match refused_message(e) {
                    true => Trouble::MessageRefused,
                    false => Trouble::Other,
                };
                (
                    trouble,
                    format!("{server} refused the report: {}", chain(e)),
                )
            }
        } else if tls_failure(e) {
            let reason = format!(
                "TLS with {server} failed: {} (is the certificate trusted? see smtp.ca_file)",
                chain(e)
            );
            (Trouble::Tls, reason)
        } else if timed_out(e) {
            let reason = format!(
                "{server} did not answer in time (smtp.timeout_secs): {}",
                chain(e)
            );
            (Trouble::Other, reason)
        } else if io_kind(e) == Some(std::io::ErrorKind::ConnectionRefused) {
            let reason = format!("cannot connect to {server}: connection refused");
            (Trouble::Other, reason)
        } else {
            (
                Trouble::Other,
                format!("sending to {server} failed: {}", chain(e)),
            )
        };
        SendError { reason, trouble }
    }
}

/// Why a report did not get out, or a kept one could not be handled; `Display` is
/// what the journal says after "the report was not sent: ". Any of these makes the
/// run exit 3 (see `exit`), the backups being fine.
#[derive(Debug)]
pub enum DeliverError {
    Password(PasswordError),
    Compose(ComposeError),
    CaFileUnreadable(std::io::Error),
    CaFileNotPem {
        path: PathBuf,
        error: lettre::transport::smtp::Error,
    },
    /// lettre could not set up TLS.
    Tls(lettre::transport::smtp::Error),
    /// The server did not take it (its kind is in `SendError::trouble`).
    Send(SendError),
    /// A report could not be written into `dir` (the outbox, or `--email-to`).
    Write {
        dir: PathBuf,
        error: std::io::Error,
    },
    /// A kept report (`id`) could not be read back.
    ReadKept {
        id: String,
        error: lettre::transport::file::Error,
    },
    /// A kept report that can never be sent (`why`) could not be set aside either,
    /// so it holds back the ones after it.
    Stuck {
        why: Box<DeliverError>,
        error: std::io::Error,
    },
}

impl std::fmt::Display for DeliverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeliverError::Password(e) => e.fmt(f),
            DeliverError::Compose(e) => e.fmt(f),
            DeliverError::CaFileUnreadable(e) => write!(f, "cannot read smtp.ca_file: {e}"),
            DeliverError::CaFileNotPem { path, error } => write!(
                f,
                "smtp.ca_file {} is not a PEM certificate: {error}",
                path.display()
            ),
            DeliverError::Tls(e) => write!(f, "cannot set up TLS: {}", chain(e)),
            DeliverError::Send(e) => f.write_str(&e.reason),
            DeliverError::Write { dir, error } => {
                write!(f, "cannot write a report into {}: {error}", dir.display())
            }
            DeliverError::ReadKept { id, error } => {
                write!(f, "cannot read the kept report {id}: {}", chain(error))
            }
            DeliverError::Stuck { why, error } => write!(
                f,
                "{why}; and it cannot be set aside, so it holds back the others: {error}"
            ),
        }
    }
}

impl std::error::Error for DeliverError {}

impl From<PasswordError> for DeliverError {
    fn from(e: PasswordError) -> DeliverError {
        DeliverError::Password(e)
    }
}

impl From<ComposeError> for DeliverError {
    fn from(e: ComposeError) -> DeliverError {
        DeliverError::Compose(e)
    }
}

impl From<SendError> for DeliverError {
    fn from(e: SendError) -> DeliverError {
        DeliverError::Send(e)
    }
}

/// Why a report was not sent: in words, and of what kind.
#[derive(Debug)]
pub struct SendError {
    pub reason: String,
    pub trouble: Trouble,
}

/// What a failure to send was, for what to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    /// The server refused the login (the app password).
    Login,
    /// TLS failed (the certificate is not trusted).
    Tls,
    /// The server refused this message for good, for what it is (too large, or its
    /// content): sending it again will fail again, while others may go through.
    MessageRefused,
    Other,
}

/// A permanent refusal of the message itself: 552 (too large, as Gmail answers one
/// over 25 MB) or an enhanced status of class 5.3.4 (too big) or 5.6 (content). Not
/// any other 5xx: a refused login, sender or recipient, or a daily sending limit,
/// would refuse every report alike, and they must all wait, not be set aside.
fn refused_message(e: &lettre::transport::smtp::Error) -> bool {
    let text = e.to_string();
    e.is_permanent()
        && (e.status().is_some_and(|code| code.to_string() == "552")
            || text.contains(" 5.3.4 ")
            || text.contains(" 5.6."))
}

/// Worth another try: no answer, a dropped connection, or a 4xx reply; not a refused
/// login or certificate, which will be refused again.
fn retryable(e: &lettre::transport::smtp::Error) -> bool {
    e.is_transient()
        || timed_out(e)
        || (!e.is_permanent() && !tls_failure(e) && !e.is_client() && io_kind(e).is_some())
}

/// With implicit TLS a failed handshake (an untrusted certificate, say) reaches us as
/// an I/O error of kind InvalidData wrapping rustls' error, not as lettre's TLS kind.
fn tls_failure(e: &lettre::transport::smtp::Error) -> bool {
    e.is_tls() || io_kind(e) == Some(std::io::ErrorKind::InvalidData)
}

/// A read or write that ran past `smtp.timeout_secs`. A socket timeout surfaces on
/// Linux as EAGAIN (WouldBlock), which lettre's own `is_timeout()` does not count.
fn timed_out(e: &lettre::transport::smtp::Error) -> bool {
    e.is_timeout() || io_kind(e) == Some(std::io::ErrorKind::WouldBlock)
}

fn io_kind(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut source = e.source();
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = err.source();
    }
    None
}

/// An error and its causes on one line.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(err) = source {
        let part = err.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = err.source();
    }
    text
}

/// What a report's file is called, so that the night it is about can be found by name:
/// `2026-12-03T02-00-07_nas_failed` (the run's start, local time; the host; failed,
/// warnings, summary or ok).
pub fn file_name(reports: &[super::TaskReport], about: &super::About) -> String {
    let when = match reports.first() {
        // "2026-12-03 02:00:07 CET" → "2026-12-03T02-00-07"
        Some(first) if first.start.len() >= 19 => {
            first.start[..19].replace(' ', "T").replace(':', "-")
        }
        _ => jiff::ZonedDateTime::now()
            .strftime("%Y-%m-%dT%H-%M-%S")
            .to_string(),
    };
    let host: String = about
        .host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let outcome = if reports.iter().any(|r| !r.success) {
        "failed"
    } else if reports.iter().any(|r| r.warnings) {
        "warnings"
    } else if about.summary {
        "summary"
    } else {
        "ok"
    };
    format!("{when}_{host}_{outcome}")
}

/// Writes `<dir>/<name>.eml` (and, given an envelope, `<name>.json` before it, as
/// lettre's FileTransport reads them back) under a name not yet taken in `dir`; each
/// file appears whole, by a rename. Returns the name used (the report's id).
pub fn write_report(
    dir: &std::path::Path,
    name: &str,
    envelope: Option<&Envelope>,
    bytes: &[u8],
) -> Result<String, DeliverError> {
    let failed = |error: std::io::Error| DeliverError::Write {
        dir: dir.to_path_buf(),
        error,
    };
    fs_err::create_dir_all(dir).map_err(failed)?;
    let id = (1..)
        .map(|n| {
            if n == 1 {
                name.to_string()
            } else {
                format!("{name}-{n}")
            }
        })
        .find(|id| !dir.join(format!("{id}.eml")).exists())
        .expect("some name is free");
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    if let Some(envelope) = envelope {
        let json = serde_json::to_vec(envelope).map_err(|e| failed(std::io::Error::other(e)))?;
        files.push((format!("{id}.json"), json));
    }
    files.push((format!("{id}.eml"), bytes.to_vec()));
    for (file, contents) in files {
        let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(failed)?;
        std::io::Write::write_all(&mut temp, &contents).map_err(failed)?;
        temp.persist(dir.join(file)).map_err(|e| failed(e.error))?;
    }
    Ok(id)
}

/// Reports waiting to be sent: `<state>/outbox/<id>.eml` with `<id>.json` (the envelope).
pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    pub fn new(dir: PathBuf) -> Outbox {
        Outbox { dir }
    }

    /// Keeps a report under `name` (see `file_name`); returns the `.eml` path.
    pub fn keep(
        &self,
        name: &str,
        envelope: &Envelope,
        bytes: &[u8],
    ) -> Result<PathBuf, DeliverError> {
        let id = write_report(&self.dir, name, Some(envelope), bytes)?;
        Ok(self.dir.join(format!("{id}.eml")))
    }

    /// The kept reports' ids, oldest first.
    pub fn pending(&self) -> Vec<String> {
        let Ok(entries) = fs_err::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut found: Vec<(std::time::SystemTime, String)> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let name = entry
                    .file_name()
                    .to_str()?
                    .strip_suffix(".eml")?
                    .to_string();
                Some((entry.metadata().ok()?.modified().ok()?, name))
            })
            .collect();
        found.sort();
        found.into_iter().map(|(_, id)| id).collect()
    }

    pub fn read(&self, id: &str) -> Result<(Envelope, Vec<u8>), DeliverError> {
        FileTransport::with_envelope(&self.dir)
            .read(id)
            .map_err(|error| DeliverError::ReadKept {
                id: id.to_string(),
                error,
            })
    }

    /// Moves a kept report that can never be sent to `failed/`, out of the way of
    /// the ones after it; returns where it now is.
    pub fn set_aside(&self, id: &str) -> std::io::Result<PathBuf> {
        let failed = self.dir.join("failed");
        fs_err::create_dir_all(&failed)?;
        for ext in ["json", "eml"] {
            let name = format!("{id}.{ext}");
            match fs_err::rename(self.dir.join(&name), failed.join(&name)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(failed.join(format!("{id}.eml")))
    }

    pub fn remove(&self, id: &str) {
        for ext in ["eml", "json"] {
            let _ = fs_err::remove_file(self.dir.join(format!("{id}.{ext}")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_name_taken_already_gets_a_number() {
        let dir = tempfile::tempdir().unwrap();
        let name = "2026-12-03T02-00-07_nas_failed";
        let ids: Vec<String> = (0..3)
            .map(|_| write_report(dir.path(), name, None, b"report").unwrap())
            .collect();
        assert_eq!(
            ids,
            [name.to_string(), format!("{name}-2"), format!("{name}-3")]
        );
        assert_eq!(
            fs_err::read(dir.path().join(format!("{name}-3.eml"))).unwrap(),
            b"report"
        );
    }
}
