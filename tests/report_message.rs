//! The composed report, parsed back: structure, escaping, and the size cap.

mod support;

use std::io::Write;
use std::path::Path;

use backup_server::clock::Clock;
use backup_server::config::Config;
use backup_server::config::Thresholds;
use backup_server::health::disks::{self, Disk};
use backup_server::health::{State, Verdict};
use backup_server::outcome::{TaskResult, TransferStats};
use backup_server::record::Measure;
use backup_server::report::{About, compose, enrich};
use mail_parser::{MessageParser, MimeHeaders};
use support::results::{End, MadeRun};

fn config() -> Config {
    let text = "dir_backup_local: /b\ndir_backup_remote: /r\nemail_sender: backup@example.com\n\
                email_report: admin@example.com\nemail_admin: boss@example.com\n\
                tasks: [{name: data, dir_source: /data}]\n";
    Config::parse(Path::new("c.yml"), text).unwrap()
}

/// A run of `name` on 2026-11-26 whose backup of `source` failed after 100 s.
fn failed_backup(name: &str, source: &str, log: &Path) -> TaskResult {
    backup_of(name, source, log)
        .step(
            "backup",
            End::fails(format!("rsync exited with status 23: cannot read {source}")),
            100.0,
        )
        .step("retention", End::Ok, 0.0)
        .step("sync", End::Ok, 0.0)
        .build()
}

/// A run of `name` on 2026-11-26, backing `source` up, before its steps.
fn backup_of(name: &str, source: &str, log: &Path) -> MadeRun {
    MadeRun::of(name, 1_795_000_000.0)
        .reading(source)
        .writing("/b/data/2026-11-26")
        .logging(log)
}

fn compose_for(results: &[TaskResult]) -> compose::Composed {
    compose_about(results, &[], None, &[])
}

fn compose_with_pings(results: &[TaskResult], undelivered_pings: &[String]) -> compose::Composed {
    compose_about(results, &[], None, undelivered_pings)
}

fn compose_about(
    results: &[TaskResult],
    disks: &[Disk],
    site_url: Option<&str>,
    undelivered_pings: &[String],
) -> compose::Composed {
    let clock = Clock::on("2026-11-26".parse().unwrap());
    // Nothing recorded: each task is judged from this run alone.
    let verdicts: Vec<Verdict> = results
        .iter()
        .map(|r| Verdict::of(r, State::NeverRan, None, clock.now(), 2))
        .collect();
    let reports = enrich(results, &verdicts, &[], &clock);
    let about = About {
        host: "nas",
        unrecorded: None,
        disks,
        site_url,
        summary: false,
        undelivered_pings,
    };
    compose::compose(&config(), &reports, &about).unwrap()
}

/// A backup that moved 120 files of 35.2 MB, of a 1.2 TB tree.
fn good_backup(log: &Path) -> TaskResult {
    backup_of("data", "/data", log)
        .step("backup", End::Ok, 100.0)
        .with(|step| {
            step.stats = Some(TransferStats {
                files_total: 2_000_000,
                files_transferred: 120,
                bytes_transferred: 35_200_000,
                total_size: 1_200_000_000_000,
            })
        })
        .build()
}

#[test]
fn the_report_has_the_headers_a_careful_sender_sets_and_says_what_moved_and_how_full_the_disks_are()
{
    let dir = tempfile::tempdir().unwrap();
    let disks = [disks::judge(
        "backup disk",
        &[
            Measure {
                at: 1_794_136_000.0,
                free_bytes: Some(400_000_000_000),
                total_bytes: Some(1_000_000_000_000),
                free_inodes: Some(900),
                total_inodes: Some(1000),
            },
            Measure {
                at: 1_795_000_000.0,
                free_bytes: Some(300_000_000_000),
                total_bytes: Some(1_000_000_000_000),
                free_inodes: Some(900),
                total_inodes: Some(1000),
            },
        ],
        1_795_000_000.0,
        Thresholds::default(),
    )
    .unwrap()];
    let composed = compose_about(
        &[good_backup(&dir.path().join("data_backup.log"))],
        &disks,
        Some("https://backup.nas.lan/"),
        &[],
    );
    let raw = String::from_utf8(composed.message.formatted()).unwrap();
    let message = MessageParser::default().parse(raw.as_bytes()).unwrap();
    let id = message.message_id().unwrap();
    assert!(id.ends_with(".backup-server@example.com"), "{id}");
    assert!(message.date().is_some());
    assert!(
        raw.contains("\r\nAuto-Submitted: auto-generated\r\n"),
        "{raw}"
    );
    assert!(raw.contains("\r\nUser-Agent: backup-server "), "{raw}");
    assert_eq!(
        message.subject(),
        Some("Backup succeeded on nas: 1 task, a disk needs attention")
    );
    let text = message.body_text(0).unwrap().replace("\r\n", "\n");
    for expected in [
        "The history: https://backup.nas.lan/\n",
        "  moved: 120 files, 35.2 MB of 1.2 TB\n",
        "Disks:\n  backup disk: 300.0 GB of 1.0 TB free (30.0%), 900 of 1,000 inodes free; full in about 30 days at the recent rate\n",
        "    NEEDS ATTENTION: at the rate of the last 30 days it is full in 30 days\n",
    ] {
        assert!(text.contains(expected), "{expected:?} in\n{text}");
    }
    let html = message.body_html(0).unwrap();
    assert!(
        html.contains("<a href=\"https://backup.nas.lan/\">"),
        "{html}"
    );
}

#[test]
fn undelivered_pings_are_listed_in_both_parts_and_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("data_backup.log");
    std::fs::write(&log, "line\n").unwrap();
    let pings = [
        "ntfy failure ping not delivered: http://ntfy.lan answered HTTP 500 (3 attempts)"
            .to_string(),
        "webhook failure ping not delivered: cannot connect to https://<hook>".to_string(),
    ];
    let raw = compose_with_pings(&[failed_backup("data", "/data", &log)], &pings)
        .message
        .formatted();
    let message = MessageParser::default().parse(&raw).unwrap();
    let text = message.body_text(0).unwrap().replace("\r\n", "\n");
    assert!(
        text.contains("Notifications (pings) that could not be delivered; the backups are not affected, but a monitoring service may raise an alarm:\n  - ntfy failure ping not delivered: http://ntfy.lan answered HTTP 500 (3 attempts)\n"),
        "{text}"
    );
    let html = message.body_html(0).unwrap();
    assert!(
        html.contains(
            "<li>webhook failure ping not delivered: cannot connect to https://&lt;hook&gt;</li>"
        ),
        "{html}"
    );
    let none = compose_for(&[failed_backup("data", "/data", &log)])
        .message
        .formatted();
    assert!(!String::from_utf8_lossy(&none).contains("Notifications (pings)"));
}

#[test]
fn hostile_paths_are_escaped_in_the_html() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("data_backup.log");
    std::fs::write(&log, "rsync: <script>alert(1)</script>\n").unwrap();
    let composed = compose_for(&[failed_backup(
        "data",
        "/data/<script>alert(1)</script>",
        &log,
    )]);
    let raw = composed.message.formatted();
    let message = MessageParser::default().parse(&raw).unwrap();
    let html = message.body_html(0).unwrap();
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("/data/&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(
        message.body_text(0).unwrap().contains("/data/<script>"),
        "plain text says it as it is"
    );
}

#[test]
fn the_message_is_mixed_holding_alternative_text_and_html_then_the_zips() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("data_backup.log");
    std::fs::write(&log, "line one\nline two\n").unwrap();
    let composed = compose_for(&[failed_backup("data", "/data", &log)]);
    let raw = String::from_utf8(composed.message.formatted()).unwrap();
    assert!(raw.contains("Content-Type: multipart/mixed"), "{raw}");
    assert!(raw.contains("Content-Type: multipart/alternative"));
    assert!(raw.contains("Subject: Backup FAILED on nas: 1 of 1 task failed"));
    assert!(raw.contains("Cc: boss@example.com"));
    let message = MessageParser::default().parse(raw.as_bytes()).unwrap();
    let zip = message.attachment(0).unwrap();
    assert_eq!(zip.content_type().unwrap().ctype(), "application");
    assert_eq!(zip.content_type().unwrap().subtype(), Some("zip"));
    let text = support::unzip_entry(zip.contents(), "data_backup.log");
    assert_eq!(text, "line one\nline two\n");
    assert!(composed.cut_logs.is_empty());
}

#[test]
fn a_log_that_cannot_be_read_is_named_not_attached() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("data_backup.log");
    let composed = compose_for(&[failed_backup("data", "/data", &missing)]);
    let raw = composed.message.formatted();
    let message = MessageParser::default().parse(&raw).unwrap();
    let text = message.body_text(0).unwrap();
    assert!(
        text.contains("log not attached: failed to open file"),
        "{text}"
    );
    assert!(!text.contains("attached as"), "{text}");
    assert_eq!(message.attachment_count(), 0);
    assert!(composed.cut_logs.is_empty());
}

#[test]
fn a_200_mb_log_keeps_the_message_under_20_mb_and_says_it_was_cut() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("data_backup.log");
    // 200 MB of incompressible text lines: the worst case for the size cap.
    let mut file = std::io::BufWriter::new(std::fs::File::create(&log).unwrap());
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut line = String::new();
    let mut written = 0usize;
    while written < 200_000_000 {
        line.clear();
        for _ in 0..8 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            line.push_str(&format!("{x:016x}"));
        }
        line.push('\n');
        file.write_all(line.as_bytes()).unwrap();
        written += line.len();
    }
    file.write_all(b"the last line, where rsync says what went wrong\n")
        .unwrap();
    drop(file);

    let composed = compose_for(&[failed_backup("data", "/data", &log)]);
    let raw = composed.message.formatted();
    assert!(raw.len() < 20_000_000, "the message is {} bytes", raw.len());
    assert_eq!(composed.cut_logs, std::slice::from_ref(&log));
    let message = MessageParser::default().parse(&raw).unwrap();
    assert!(
        message.body_text(0).unwrap().contains("cut to its last"),
        "the mail says the log was cut"
    );
    assert!(
        message
            .body_text(0)
            .unwrap()
            .contains(&log.display().to_string()),
        "and where the whole log is"
    );
    let text = support::unzip_entry(message.attachment(0).unwrap().contents(), "data_backup.log");
    assert!(
        text.starts_with("[backup-server: the first "),
        "{}",
        &text[..200]
    );
    assert!(
        text.ends_with("the last line, where rsync says what went wrong\n"),
        "the tail is kept"
    );
}

#[test]
fn the_mail_says_what_failed_first_then_the_last_good_backup_then_the_disks_then_the_pings() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("data_backup.log");
    std::fs::write(&log, "line\n").unwrap();
    let disks = [disks::judge(
        "backup disk",
        &[Measure {
            at: 1_795_000_000.0,
            free_bytes: Some(50_000_000_000),
            total_bytes: Some(1_000_000_000_000),
            free_inodes: Some(900_000),
            total_inodes: Some(1_000_000),
        }],
        1_795_000_000.0,
        Thresholds::default(),
    )
    .unwrap()];
    let pings = ["ntfy failure ping not delivered: http://ntfy.lan answered HTTP 500".to_string()];
    let raw = compose_about(
        &[failed_backup("data", "/data", &log)],
        &disks,
        None,
        &pings,
    )
    .message
    .formatted();
    let message = MessageParser::default().parse(&raw).unwrap();
    let text = message.body_text(0).unwrap().replace("\r\n", "\n");
    let html = message.body_html(0).unwrap();
    for part in [text.as_str(), &*html] {
        let at = |words: &str| {
            part.find(words)
                .unwrap_or_else(|| panic!("{words:?} in\n{part}"))
        };
        let order = [
            at("What failed"),
            at("rsync exited with status 23: cannot read /data"),
            at("Last good backup: never"),
            at("900,000 of 1,000,000 inodes free"),
            at("ntfy failure ping not delivered"),
        ];
        assert!(order.is_sorted(), "{order:?} in\n{part}");
    }
    assert!(
        text.contains(
            "What failed:\n  data: backup: rsync exited with status 23: cannot read /data\n"
        ),
        "{text}"
    );
    assert!(!html.contains("min-width"), "no fixed widths: {html}");
}
