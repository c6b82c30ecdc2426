//! The email report against a real SMTP server (implicit TLS, AUTH) on 127.0.0.1:
//! delivered when it can be, kept and sent later when it cannot, never lost.

mod support;

use std::fs;
use std::process::Output;

use mail_parser::{MessageParser, MimeHeaders};
use support::smtp::{self, SmtpServer};
use support::{World, entries, show, stderr};
use tempfile::TempDir;

/// A world whose reports go to `smtp`, with the right password on file.
fn world_mailing_to(smtp: &SmtpServer) -> World {
    let mut world = World::new();
    world.extra = format!("email_admin: boss@example.com\n{}", smtp.config_lines());
    fs::write(
        world.root.path().join("password"),
        format!("{}\n", smtp::PASSWORD),
    )
    .unwrap();
    world
}

/// A real SMTP server (its files in the returned directory) and a world mailing to it.
fn mailing() -> (TempDir, SmtpServer, World) {
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(dir.path());
    let world = world_mailing_to(&smtp);
    (dir, smtp, world)
}

/// A world with the right password on file whose mail server is down (nothing
/// listens on its port).
fn world_with_server_down() -> World {
    let mut world = World::new();
    fs::write(
        world.root.path().join("password"),
        format!("{}\n", smtp::PASSWORD),
    )
    .unwrap();
    world.extra = format!(
        "smtp: {{host: 127.0.0.1, port: {}}}\n",
        support::free_port()
    );
    world
}

fn run_mailing(world: &World, today: &str) -> Output {
    world
        .emailing_command(today)
        .arg("--password-file")
        .arg(world.root.path().join("password"))
        .output()
        .unwrap()
}

fn outbox(world: &World) -> Vec<String> {
    entries(&world.state.join("outbox"))
        .into_iter()
        .filter(|n| n.ends_with(".eml"))
        .collect()
}

#[test]
fn a_good_run_delivers_one_report_without_attachments() {
    let (_dir, smtp, world) = mailing();
    let out = run_mailing(&world, "2026-03-01");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));

    let received = smtp.received();
    assert_eq!(received.len(), 1);
    let (raw, rcpt) = &received[0];
    assert_eq!(rcpt, &["admin@example.com"], "no CC when all is well");
    let message = MessageParser::default().parse(raw.as_bytes()).unwrap();
    let subject = message.subject().unwrap();
    assert!(
        subject.starts_with("Backup succeeded on ") && subject.ends_with(": 1 task"),
        "{subject}"
    );
    assert_eq!(message.attachment_count(), 0);
    assert!(message.body_text(0).unwrap().contains("data succeeded"));
    assert!(message.body_html(0).unwrap().contains("data: succeeded"));
    assert!(
        entries(&world.state.join("logs")).is_empty(),
        "step logs go once the report is accepted"
    );
}

#[test]
fn a_failed_task_delivers_backup_failed_with_the_cc_and_the_zipped_log() {
    let (_dir, smtp, world) = mailing();
    fs::remove_dir_all(&world.source).unwrap();
    let log = world.state.join("logs/data_backup.log");
    let out = run_mailing(&world, "2026-03-01");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));

    let received = smtp.received();
    assert_eq!(received.len(), 1);
    let (raw, rcpt) = &received[0];
    assert_eq!(rcpt, &["admin@example.com", "boss@example.com"]);
    let message = MessageParser::default().parse(raw.as_bytes()).unwrap();
    assert!(
        message.subject().unwrap().contains("Backup FAILED on ")
            && message.subject().unwrap().ends_with(": 1 of 1 task failed")
    );
    assert_eq!(
        message.cc().unwrap().first().unwrap().address(),
        Some("boss@example.com")
    );
    assert_eq!(message.attachment_count(), 1);
    let attachment = message.attachment(0).unwrap();
    assert_eq!(attachment.attachment_name(), Some("data_backup.zip"));
    let text = support::unzip_entry(attachment.contents(), "data_backup.log");
    assert!(text.contains("(dir_source) does not exist"), "{text}");
    let html = message.body_html(0).unwrap();
    assert!(
        html.contains("FAILED") && html.contains("not run"),
        "{html}"
    );
    assert!(
        !log.exists(),
        "a fully attached log is deleted once the report is accepted"
    );
}

#[test]
fn a_wrong_password_keeps_the_report_and_the_logs_and_exits_3() {
    let (_dir, smtp, world) = mailing();
    let wrong = "not-the-app-password-7f3kq9";
    fs::write(world.root.path().join("password"), format!("{wrong}\n")).unwrap();
    let out = run_mailing(&world, "2026-03-01");

    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(
        stderr(&out).contains("refused the login of backup@example.com (535)"),
        "{}",
        show(&out)
    );
    assert!(
        stderr(&out).contains("check the Gmail app password in"),
        "{}",
        show(&out)
    );
    assert!(
        !stderr(&out).contains(wrong),
        "the password never reaches a message"
    );
    // Nor anything the run wrote: the kept report, the step logs, the ssh_config...
    let grep = std::process::Command::new("grep")
        .args(["-r", "-l", wrong])
        .arg(&world.state)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&grep.stdout),
        "",
        "the password is in these files"
    );
    assert_eq!(
        entries(&world.local_task()),
        ["2026-03-01"],
        "the backup itself is done"
    );
    assert_eq!(outbox(&world).len(), 1);
    assert!(
        world.state.join("logs/data_backup.log").exists(),
        "logs stay until a report is accepted"
    );
    assert!(smtp.received().is_empty());
}

#[test]
fn a_server_that_is_down_keeps_the_report_and_the_next_run_sends_it_first() {
    let mut world = World::new();
    fs::write(
        world.root.path().join("password"),
        format!("{}\n", smtp::PASSWORD),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    smtp::make_ca(dir.path(), "ca");
    let port = support::free_port();
    world.extra = format!(
        "smtp: {{host: 127.0.0.1, port: {port}, ca_file: {}}}\n",
        dir.path().join("ca.crt").display()
    );
    let out = run_mailing(&world, "2026-03-01");
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(
        stderr(&out).contains(&format!(
            "cannot connect to 127.0.0.1:{port}: connection refused"
        )),
        "{}",
        show(&out)
    );
    assert_eq!(outbox(&world).len(), 1);

    // The server is back the next night.
    let smtp = SmtpServer::start(&dir.path().join("server"));
    world.extra = smtp.config_lines();
    let out = run_mailing(&world, "2026-03-02");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let received = smtp.received();
    assert_eq!(received.len(), 2, "the kept report and tonight's");
    assert!(
        received[0].0.contains("data/2026-03-01"),
        "the kept one first"
    );
    assert!(received[1].0.contains("data/2026-03-02"));
    assert!(outbox(&world).is_empty());
}

#[test]
fn a_kept_report_that_can_never_be_sent_is_set_aside_and_holds_back_no_other() {
    // Two nights with the server down keep two reports...
    let dir = tempfile::tempdir().unwrap();
    let mut world = world_with_server_down();
    for day in ["2026-03-01", "2026-03-02"] {
        assert_eq!(run_mailing(&world, day).status.code(), Some(3));
    }
    let kept = world.state.join("outbox");
    let ids: Vec<String> = outbox(&world)
        .iter()
        .map(|eml| eml.strip_suffix(".eml").unwrap().to_string())
        .collect();
    let text = |id: &String| fs::read_to_string(kept.join(format!("{id}.eml"))).unwrap();
    let (first, second) = match ids.as_slice() {
        [a, b] if text(a).contains("data/2026-03-01") => (a.clone(), b.clone()),
        [a, b] => (b.clone(), a.clone()),
        _ => panic!("two kept reports: {ids:?}"),
    };
    // ... the first of which the server will refuse for good, and a third that no
    // one can read any more.
    let eml = kept.join(format!("{first}.eml"));
    let text = text(&first);
    let kept_at = fs::metadata(&eml).unwrap().modified().unwrap();
    fs::write(&eml, format!("X-Test-Refuse: yes\r\n{text}")).unwrap();
    // Still the oldest: it comes first, and must not hold back the one after it.
    fs::File::options()
        .write(true)
        .open(&eml)
        .unwrap()
        .set_modified(kept_at)
        .unwrap();
    fs::write(kept.join("broken.eml"), "").unwrap();
    fs::write(kept.join("broken.json"), "{").unwrap();

    let smtp = SmtpServer::start(dir.path());
    world.extra = smtp.config_lines();
    let out = run_mailing(&world, "2026-03-03");
    assert_eq!(
        out.status.code(),
        Some(3),
        "two reports are lost: {}",
        show(&out)
    );
    let received = smtp.received();
    let days: Vec<bool> = ["data/2026-03-02", "data/2026-03-03"]
        .iter()
        .zip(&received)
        .map(|(day, (raw, _))| raw.contains(day))
        .collect();
    assert_eq!(
        (received.len(), days),
        (2, vec![true, true]),
        "the second kept report and tonight's went out"
    );
    assert!(
        stderr(&out).contains(&format!(
            "the report kept by an earlier run can never be sent (127.0.0.1:{} refused the report: ",
            smtp.port
        )),
        "{}",
        show(&out)
    );
    assert!(
        stderr(&out).contains("cannot read the kept report broken"),
        "{}",
        show(&out)
    );
    assert!(outbox(&world).is_empty());
    let mut failed = entries(&kept.join("failed"));
    failed.sort();
    let mut expected = vec![
        "broken.eml".to_string(),
        "broken.json".into(),
        format!("{first}.eml"),
        format!("{first}.json"),
    ];
    expected.sort();
    assert_eq!(failed, expected, "set aside, not deleted");
    assert!(!kept.join(format!("{second}.eml")).exists());

    // Set aside once: the next night is clean.
    let out = run_mailing(&world, "2026-03-04");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

#[test]
fn a_server_that_never_answers_times_out_and_keeps_the_report() {
    let mut world = World::new();
    fs::write(
        world.root.path().join("password"),
        format!("{}\n", smtp::PASSWORD),
    )
    .unwrap();
    // Accepts connections and never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    world.extra = format!("smtp: {{host: 127.0.0.1, port: {port}, timeout_secs: 1}}\n");
    let out = run_mailing(&world, "2026-03-01");
    drop(silent);

    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(
        stderr(&out).contains(&format!(
            "127.0.0.1:{port} did not answer in time (smtp.timeout_secs)"
        )),
        "{}",
        show(&out)
    );
    assert_eq!(
        stderr(&out).matches("trying again").count(),
        2,
        "a timeout is retried: {}",
        show(&out)
    );
    assert_eq!(outbox(&world).len(), 1);
}

#[test]
fn a_certificate_from_an_unknown_ca_is_refused() {
    let (dir, smtp, mut world) = mailing();
    smtp::make_ca(&dir.path().join("other"), "other");
    world.extra = world.extra.replace(
        &smtp.ca_file.display().to_string(),
        &dir.path().join("other/other.crt").display().to_string(),
    );
    let out = run_mailing(&world, "2026-03-01");

    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(
        stderr(&out).contains(&format!("TLS with 127.0.0.1:{} failed", smtp.port)),
        "{}",
        show(&out)
    );
    assert!(stderr(&out).contains("UnknownIssuer"), "{}", show(&out));
    assert_eq!(outbox(&world).len(), 1);
    assert!(smtp.received().is_empty());
}

#[test]
fn a_missing_password_file_never_stops_a_backup() {
    let world = World::new();
    let out = world
        .emailing_command("2026-03-01")
        .env_remove("CREDENTIALS_DIRECTORY")
        .env_remove("GMAIL_PASSWORD_FILE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(stderr(&out).contains("no password file"), "{}", show(&out));
    assert_eq!(entries(&world.local_task()), ["2026-03-01"]);
    assert_eq!(entries(&world.remote_task()), ["2026-03-01"]);
    assert_eq!(outbox(&world).len(), 1);
}

#[test]
fn email_to_writes_the_report_as_a_file() {
    let world = World::new();
    let reports = world.root.path().join("reports");
    let out = world.run_reporting_to("2026-03-01", &reports);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let files = entries(&reports);
    assert_eq!(files.len(), 1, "{files:?}");
    let raw = fs::read(reports.join(&files[0])).unwrap();
    let message = MessageParser::default().parse(&raw).unwrap();
    assert!(message.subject().unwrap().starts_with("Backup succeeded"));
}

/// The subjects of the reports in `dir`, oldest first (as written, one a run).
fn subjects(dir: &std::path::Path) -> Vec<String> {
    let mut files: Vec<(std::time::SystemTime, std::path::PathBuf)> = fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                .map(|p| (fs::metadata(&p).unwrap().modified().unwrap(), p))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .map(|(_, p)| {
            let raw = fs::read(p).unwrap();
            let message = MessageParser::default().parse(&raw).unwrap();
            message.subject().unwrap().to_string()
        })
        .collect()
}

#[test]
fn with_email_when_attention_silence_means_all_is_well_and_a_weekly_summary_proves_it() {
    let mut world = World::new();
    world.extra = "email_when: attention\nsummary_weekday: monday\n".into();
    let reports = world.root.path().join("reports");
    let run = |day: &str, code: i32| {
        let out = world.run_reporting_to(day, &reports);
        assert_eq!(out.status.code(), Some(code), "{day}: {}", show(&out));
        // One report at most a run; sleep past the file's mtime resolution for the order.
        std::thread::sleep(std::time::Duration::from_millis(20));
        out
    };
    // Tuesday, all fine: no mail.
    let out = run("2026-03-03", 0);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no report: nothing needs attention"));
    assert_eq!(subjects(&reports), Vec::<String>::new());
    // Wednesday, the source is gone: a failure is mailed.
    fs::rename(&world.source, world.root.path().join("away")).unwrap();
    run("2026-03-04", 1);
    // Thursday, it is back: the recovery is mailed; then fine again: nothing.
    fs::rename(world.root.path().join("away"), &world.source).unwrap();
    run("2026-03-05", 0);
    for day in ["2026-03-06", "2026-03-07", "2026-03-08"] {
        run(day, 0);
    }
    // Monday: all fine, and the weekly summary says so.
    run("2026-03-09", 0);
    let host = backup_server::host::name();
    assert_eq!(
        subjects(&reports),
        [
            format!("Backup FAILED on {host}: 1 of 1 task failed"),
            format!("Backup succeeded on {host}: 1 task"),
            format!("Backup summary for {host}: 1 task, all fine"),
        ]
    );
}

#[test]
fn with_email_when_never_no_email_setting_is_needed() {
    let world = World::new();
    let text = world
        .config_text()
        .replace("email_sender: backup@example.com\n", "")
        .replace("email_report: admin@example.com\n", "email_when: never\n");
    let config = world.root.path().join("never.yml");
    fs::write(&config, text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_backup-server"))
        .arg("--config")
        .arg(&config)
        .arg("--state-dir")
        .arg(&world.state)
        .args(["--today", "2026-03-01", "run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no report"));
}

#[test]
fn a_stale_task_that_succeeds_again_is_reported_recovered_as_the_pings_say() {
    let mut world = World::new();
    world.extra = "email_when: attention\nstale_after_days: 2\n".into();
    let reports = world.root.path().join("reports");
    let run = |day: &str| {
        let out = world.run_reporting_to(day, &reports);
        assert_eq!(out.status.code(), Some(0), "{day}: {}", show(&out));
    };
    run("2026-03-03");
    assert!(entries(&reports).is_empty(), "all well: no mail");
    // The server was off for three nights: its first run back ends a stale spell. Its
    // previous run succeeded, but a recovery is judged by the state the run began in.
    run("2026-03-07");
    let files = entries(&reports);
    assert_eq!(files.len(), 1, "{files:?}");
    let raw = fs::read(reports.join(&files[0])).unwrap();
    let message = MessageParser::default().parse(&raw).unwrap();
    let text = message.body_text(0).unwrap();
    assert!(text.contains("data succeeded (recovered): "), "{text}");
}

#[test]
fn a_refusal_that_is_not_the_reports_own_keeps_every_report_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let mut world = world_with_server_down();
    assert_eq!(run_mailing(&world, "2026-03-01").status.code(), Some(3));
    let [eml] = <[String; 1]>::try_from(outbox(&world)).unwrap();
    let eml = world.state.join("outbox").join(eml);
    let text = fs::read_to_string(&eml).unwrap();
    fs::write(&eml, format!("X-Test-Refuse: recipient\r\n{text}")).unwrap();

    let smtp = SmtpServer::start(dir.path());
    world.extra = smtp.config_lines();
    let out = run_mailing(&world, "2026-03-02");
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(
        stderr(&out).contains("permanent error (550): 5.1.1 The email account"),
        "the server's answer is shown: {}",
        show(&out)
    );
    assert!(smtp.received().is_empty());
    assert_eq!(
        outbox(&world).len(),
        2,
        "both wait: the kept one and tonight's"
    );
    assert!(!world.state.join("outbox/failed").exists());
}
