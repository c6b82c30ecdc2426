//! The report message: subject, plain text and HTML, and the failed steps' logs zipped.
//!
//! Gmail refuses messages over 25 MB, and a failing rsync can write gigabytes of log.
//! So each attached log keeps only its tail within a fixed budget, chosen so that
//! even incompressible logs, base64-encoded, keep the message under 20 MB; the mail
//! says which logs were cut and where the whole log lies.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use lettre::Message;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Attachment, Body, Mailbox, MultiPart};
use maud::{Markup, PreEscaped, html};

use super::enrich::{StepState, TaskReport};
use crate::config::Config;
use crate::health::disks::Disk;

/// Raw log bytes attached per message, all logs together. Base64 makes 4/3 of it:
/// 16 MB for 12 MiB of incompressible log, well under the 20 MB we allow ourselves.
pub const LOG_BUDGET: u64 = 12 * 1024 * 1024;

/// A composed report and what it says about the logs.
pub struct Composed {
    pub message: Message,
    /// Logs attached only in part; their whole text must outlive the report.
    pub cut_logs: Vec<PathBuf>,
}

/// A failed step's log, as the mail describes it: attached (maybe cut), or why not.
struct AttachedLog {
    log: PathBuf,
    attachment: Result<Zipped, io::Error>,
}

struct Zipped {
    zip_name: String,
    /// The log's size and how many of its bytes the zip holds.
    size: u64,
    kept: u64,
}

impl AttachedLog {
    fn is_cut(&self) -> bool {
        self.attachment.as_ref().is_ok_and(|z| z.kept < z.size)
    }
}

/// What the report is about besides the tasks.
pub struct About<'a> {
    pub host: &'a str,
    /// Why this run is not in the log database, if it is not.
    pub unrecorded: Option<&'a str>,
    /// The backup disk and the targets, as the capacity rule judges them.
    pub disks: &'a [Disk],
    /// Where the history pages are (`site_url`).
    pub site_url: Option<&'a str>,
    /// The weekly summary of `email_when: attention`, sent though nothing needs attention.
    pub summary: bool,
    /// The run's pings (notify) that could not be delivered, each in words.
    pub undelivered_pings: &'a [String],
}

pub fn subject(reports: &[TaskReport], about: &About) -> String {
    let host = about.host;
    let failed = reports.iter().filter(|r| !r.success).count();
    let total = reports.len();
    let tasks = if total == 1 { "task" } else { "tasks" };
    let unrecorded = if about.unrecorded.is_some() {
        ", NOT RECORDED"
    } else {
        ""
    };
    let disks = about.disks.iter().filter(|d| d.warning.is_some()).count();
    let disks = match disks {
        0 => String::new(),
        1 => ", a disk needs attention".to_string(),
        n => format!(", {n} disks need attention"),
    };
    if failed > 0 {
        format!("Backup FAILED on {host}: {failed} of {total} {tasks} failed{disks}{unrecorded}")
    } else if about.summary {
        format!("Backup summary for {host}: {total} {tasks}, all fine{disks}{unrecorded}")
    } else {
        let warned = reports.iter().filter(|r| r.warnings).count();
        let warnings = if warned > 0 {
            format!(", {warned} with warnings")
        } else {
            String::new()
        };
        format!("Backup succeeded on {host}: {total} {tasks}{warnings}{disks}{unrecorded}")
    }
}

/// The paragraph saying the run is not in the log database, when it is not.
fn unrecorded_words(about: &About) -> Option<String> {
    about.unrecorded.map(|why| {
        format!(
            "This run was not recorded in the log database ({why}). \
             Each task's health below is judged from this run alone."
        )
    })
}

/// Why the report could not be composed: an address of the config that lettre
/// refuses, or a message it cannot build. A report that cannot be composed is not
/// sent, and the run exits 3.
#[derive(Debug)]
pub enum ComposeError {
    Address {
        /// The config key that holds it: `email_sender`, `email_report`, `email_admin`.
        key: &'static str,
        address: String,
        error: lettre::address::AddressError,
    },
    Base64,
    Build(lettre::error::Error),
}

impl std::fmt::Display for ComposeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ComposeError::Address {
                key,
                address,
                error,
            } => write!(f, "{key} {address:?} is not a usable address: {error}"),
            ComposeError::Base64 => f.write_str("cannot base64-encode an attachment"),
            ComposeError::Build(e) => write!(f, "cannot build the report: {e}"),
        }
    }
}

impl std::error::Error for ComposeError {}

pub fn compose(
    config: &Config,
    reports: &[TaskReport],
    about: &About,
) -> Result<Composed, ComposeError> {
    let failed = reports.iter().any(|r| !r.success);
    let mailbox = |key: &'static str, address: &str| -> Result<Mailbox, ComposeError> {
        address.parse().map_err(|error| ComposeError::Address {
            key,
            address: address.to_string(),
            error,
        })
    };
    let domain = config
        .email_sender
        .rsplit_once('@')
        .map_or("localhost", |(_, domain)| domain);
    // What a careful sender sets: a Message-ID of the sender's domain (RFC 5322), the
    // mark of an automatic message (RFC 3834), so that no auto-reply answers it, and
    // the program; lettre adds Date and MIME-Version.
    let mut builder = Message::builder()
        .from(mailbox("email_sender", &config.email_sender)?)
        .to(mailbox("email_report", &config.email_report)?)
        .subject(subject(reports, about))
        .message_id(Some(format!("<{}@{domain}>", unique_id())))
        .user_agent(format!("backup-server {}", env!("CARGO_PKG_VERSION")))
        .header(AutoSubmitted);
    if failed && !config.email_admin.is_empty() {
        builder = builder.cc(mailbox("email_admin", &config.email_admin)?);
    }

    let failed_logs: Vec<(String, PathBuf)> = reports
        .iter()
        .flat_map(|r| r.steps.iter().map(move |s| (r, s)))
        .filter(|(_, s)| s.state == StepState::Failed)
        .filter_map(|(r, s)| Some((format!("{}_{}", r.name, s.step), s.file_log.clone()?)))
        .collect();
    let per_log = LOG_BUDGET / failed_logs.len().max(1) as u64;
    let mut attached = Vec::new();
    let mut parts = Vec::new();
    for (stem, log) in failed_logs {
        match zip_log_tail(&log, &format!("{stem}.log"), per_log) {
            Ok((zip, size, kept)) => {
                let body = Body::new_with_encoding(zip, ContentTransferEncoding::Base64)
                    .map_err(|_| ComposeError::Base64)?;
                let content_type =
                    ContentType::parse("application/zip").expect("a valid content type");
                parts.push(Attachment::new(format!("{stem}.zip")).body(body, content_type));
                let zip_name = format!("{stem}.zip");
                let attachment = Ok(Zipped {
                    zip_name,
                    size,
                    kept,
                });
                attached.push(AttachedLog { log, attachment });
            }
            // A log that cannot be read must not stop the report; the mail says so.
            Err(e) => attached.push(AttachedLog {
                log,
                attachment: Err(e),
            }),
        }
    }

    let text = render_text(reports, about, &attached);
    let html = render_html(reports, about, &attached).into_string();
    let mut mixed = MultiPart::mixed().multipart(MultiPart::alternative_plain_html(text, html));
    for part in parts {
        mixed = mixed.singlepart(part);
    }
    let message = builder.multipart(mixed).map_err(ComposeError::Build)?;
    let cut_logs = attached
        .iter()
        .filter(|a| a.is_cut())
        .map(|a| a.log.clone())
        .collect();
    Ok(Composed { message, cut_logs })
}

/// Zips the last `budget` bytes of `log` (from a line start) as `entry`. Returns the
/// zip, the log's size and how many bytes were kept.
fn zip_log_tail(log: &Path, entry: &str, budget: u64) -> io::Result<(Vec<u8>, u64, u64)> {
    let mut file = fs_err::File::open(log)?;
    let size = file.metadata()?.len();
    let mut tail = Vec::new();
    if size > budget {
        file.seek(SeekFrom::Start(size - budget))?;
        file.take(budget).read_to_end(&mut tail)?;
        // Start at a whole line, and say what is missing.
        let cut = tail.iter().position(|b| *b == b'\n').map_or(0, |i| i + 1);
        let note = format!(
            "[backup-server: the first {} bytes of this {}-byte log were cut to keep the email small; the whole log is {}]\n",
            size - (tail.len() - cut) as u64,
            size,
            log.display()
        );
        tail.splice(..cut, note.into_bytes());
    } else {
        file.read_to_end(&mut tail)?;
    }
    let kept = if size > budget { budget } else { size };
    let mut zip = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(entry, options).map_err(io::Error::other)?;
    zip.write_all(&tail)?;
    let bytes = zip.finish().map_err(io::Error::other)?.into_inner();
    Ok((bytes, size, kept))
}

fn state_word(state: StepState) -> &'static str {
    match state {
        StepState::Succeeded => "succeeded",
        StepState::Warning => "succeeded with a warning",
        StepState::Failed => "FAILED",
        StepState::NotRun => "not run",
    }
}

fn attachment_words(a: &AttachedLog) -> String {
    match &a.attachment {
        Err(e) => format!("log not attached: {e}"),
        Ok(z) if z.kept < z.size => format!(
            "log attached as {}, cut to its last {} of {} bytes; the whole log is {} until this task runs again",
            z.zip_name,
            z.kept,
            z.size,
            a.log.display()
        ),
        Ok(z) => format!("log attached as {}", z.zip_name),
    }
}

/// The paragraph saying which pings could not be delivered, when some could not.
fn pings_words(about: &About) -> Option<String> {
    (!about.undelivered_pings.is_empty()).then(|| {
        "Notifications (pings) that could not be delivered; the backups are not affected, \
         but a monitoring service may raise an alarm:"
            .to_string()
    })
}

/// Each failed step of the tasks that failed, one line each, "  data: backup: why".
fn failures_text(reports: &[TaskReport]) -> String {
    let mut out = String::new();
    for r in reports.iter().filter(|r| !r.success) {
        for s in r.steps.iter().filter(|s| s.state == StepState::Failed) {
            let why = s.error.as_deref().unwrap_or("failed");
            out.push_str(&format!("  {}: {}: {why}\n", r.name, s.step));
        }
    }
    out
}

fn render_text(reports: &[TaskReport], about: &About, attached: &[AttachedLog]) -> String {
    let mut out = format!("{}\n\n", subject(reports, about));
    if let Some(words) = unrecorded_words(about) {
        out.push_str(&format!("{words}\n\n"));
    }
    let failures = failures_text(reports);
    if !failures.is_empty() {
        out.push_str(&format!("What failed:\n{failures}\n"));
    }
    if let Some(url) = about.site_url {
        out.push_str(&format!("The history: {url}\n\n"));
    }
    for r in reports {
        let verdict = if r.success { "succeeded" } else { "FAILED" };
        let recovered = if r.recovered { " (recovered)" } else { "" };
        out.push_str(&format!(
            "{} {verdict}{recovered}: {} to {} ({})\n  {}\n  health: {}\n",
            r.name, r.start, r.end, r.time_task_elapsed, r.last_good, r.health_words
        ));
        if let Some(moved) = &r.moved {
            out.push_str(&format!("  moved: {moved}\n"));
        }
        if let Some(verification) = &r.verification {
            out.push_str(&format!("  {verification}\n"));
        }
        for s in &r.steps {
            out.push_str(&format!(
                "  {:<10} {:<25} {:>8}",
                s.step,
                state_word(s.state),
                s.time_elapsed
            ));
            if s.state != StepState::NotRun {
                out.push_str(&format!("  {} -> {}", s.dir_from, s.dir_to));
            }
            out.push('\n');
            for message in s.error.iter().chain(&s.warnings) {
                out.push_str(&format!("             {message}\n"));
            }
            if let Some(a) = attached
                .iter()
                .find(|a| Some(&a.log) == s.file_log.as_ref())
            {
                out.push_str(&format!("             {}\n", attachment_words(a)));
            }
        }
        out.push('\n');
    }
    if !about.disks.is_empty() {
        out.push_str("Disks:\n");
        for disk in about.disks {
            out.push_str(&format!("  {}: {}\n", disk.name, disk.describe()));
            if let Some(warning) = &disk.warning {
                out.push_str(&format!("    NEEDS ATTENTION: {warning}\n"));
            }
        }
        out.push('\n');
    }
    if let Some(words) = pings_words(about) {
        out.push_str(&format!("{words}\n"));
        for ping in about.undelivered_pings {
            out.push_str(&format!("  - {ping}\n"));
        }
        out.push('\n');
    }
    out.push_str("-- \nbackup-server\n");
    out
}

/// A string no other report has: the time, this process, and a hash of both with
/// the process's random hasher keys.
fn unique_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(now);
    hasher.write_u32(std::process::id());
    format!(
        "{now}.{}.{:016x}.backup-server",
        std::process::id(),
        hasher.finish()
    )
}

/// `Auto-Submitted: auto-generated` (RFC 3834): a report, not a person's mail.
#[derive(Clone)]
struct AutoSubmitted;

impl lettre::message::header::Header for AutoSubmitted {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), "auto-generated".to_string())
    }
}

/// Colours inline, as mail clients drop style sheets.
fn colours(state: StepState) -> &'static str {
    match state {
        StepState::Succeeded => "background:#e6f4ea;color:#137333",
        StepState::Warning => "background:#fef7e0;color:#8a4b00",
        StepState::Failed => "background:#fce8e6;color:#a50e0e;font-weight:bold",
        StepState::NotRun => "background:#f1f3f4;color:#5f6368",
    }
}

/// The HTML part, in the order a person reading it on a phone needs: what failed and
/// why, each task's last good backup and its steps, the disks, then the pings that
/// could not be delivered. Blocks, not fixed-width tables: it narrows to any screen.
fn render_html(reports: &[TaskReport], about: &About, attached: &[AttachedLog]) -> Markup {
    let block = "margin:0 0 16px 0;padding:8px 10px;border:1px solid #dadce0;border-radius:6px;max-width:640px";
    let wrap = "overflow-wrap:anywhere;word-break:break-word";
    let badge = |state: StepState| format!("{};padding:0 4px;border-radius:3px", colours(state));
    let class = |state: StepState| match state {
        StepState::Failed => "outcome failed",
        StepState::Warning => "outcome warned",
        StepState::Succeeded => "outcome ok",
        StepState::NotRun => "outcome not-run",
    };
    let failed: Vec<&TaskReport> = reports.iter().filter(|r| !r.success).collect();
    html! {
        (maud::DOCTYPE)
        html {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (subject(reports, about)) }
            }
            body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#202124;margin:8px" {
                h2 style={ "margin:0 0 12px 0;" (wrap) } { (subject(reports, about)) }
                @if let Some(words) = unrecorded_words(about) {
                    p style="background:#fce8e6;color:#a50e0e;padding:8px" { (words) }
                }
                @if !failed.is_empty() {
                    div style={ (block) ";background:#fce8e6;color:#a50e0e;" (wrap) } {
                        strong { "What failed" }
                        @for r in &failed {
                            @for s in r.steps.iter().filter(|s| s.state == StepState::Failed) {
                                div style="margin:6px 0 0 0" {
                                    strong { (r.name) } " " span.(class(s.state)) style=(badge(s.state)) { (s.step) " " (state_word(s.state)) }
                                    ": " (s.error.as_deref().unwrap_or("failed"))
                                }
                            }
                        }
                    }
                }
                @if let Some(url) = about.site_url {
                    p style=(wrap) { "The history: " a href=(url) { (url) } }
                }
                @for r in reports {
                    @let task_state = if !r.success { StepState::Failed } else if r.warnings { StepState::Warning } else { StepState::Succeeded };
                    div style={ (block) ";" (wrap) } {
                        div style="font-size:15px;font-weight:bold;margin:0 0 4px 0" {
                            span.(class(task_state)) style=(badge(task_state)) { (r.name) ": " (if r.success { "succeeded" } else { "FAILED" }) }
                            @if r.recovered { " (recovered)" }
                        }
                        div style="font-weight:bold" { (r.last_good) }
                        div style="color:#5f6368" {
                            (r.start) " to " (r.end) " (" (r.time_task_elapsed) ")"
                        }
                        div { "health: " (r.health_words) }
                        @if let Some(moved) = &r.moved { div { "moved: " (moved) } }
                        @if let Some(verification) = &r.verification { div { (verification) } }
                        @for s in &r.steps {
                            div style="margin:6px 0 0 0;padding:4px 0 0 0;border-top:1px solid #dadce0" {
                                (s.step) " " span.(class(s.state)) style=(badge(s.state)) { (state_word(s.state)) }
                                @if !s.time_elapsed.is_empty() { " " span style="color:#5f6368" { (s.time_elapsed) } }
                                @if s.state != StepState::NotRun {
                                    div style="font-size:13px;color:#5f6368" {
                                        (s.dir_from) (PreEscaped(" &rarr; ")) (s.dir_to)
                                    }
                                }
                                @for message in s.error.iter().chain(&s.warnings) {
                                    div { code { (message) } }
                                }
                                @if let Some(a) = attached.iter().find(|a| Some(&a.log) == s.file_log.as_ref()) {
                                    div { em { (attachment_words(a)) } }
                                }
                            }
                        }
                    }
                }
                @if !about.disks.is_empty() {
                    div style={ (block) ";" (wrap) } {
                        strong { "Disks" }
                        @for disk in about.disks {
                            div style={ "margin:6px 0 0 0" @if disk.warning.is_some() { ";" (colours(StepState::Warning)) ";padding:2px 4px" } } {
                                strong { (disk.name) } ": " (disk.describe())
                                @if let Some(warning) = &disk.warning { br; strong { "Needs attention: " (warning) } }
                            }
                        }
                    }
                }
                @if let Some(words) = pings_words(about) {
                    div style={ (block) ";background:#fef7e0;color:#8a4b00;" (wrap) } {
                        (words)
                        ul style="margin:4px 0 0 0;padding-left:20px" {
                            @for ping in about.undelivered_pings { li { (ping) } }
                        }
                    }
                }
                p style="color:#5f6368;font-size:12px" { "backup-server" }
            }
        }
    }
}
