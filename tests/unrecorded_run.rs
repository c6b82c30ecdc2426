//! A run whose record could not be written says so: the backups still run, the run
//! fails, and its report says the run was not recorded rather than judging the tasks
//! by a history it could not read.

mod support;

use std::fs;

use mail_parser::MessageParser;
use support::tree::snapshots;
use support::{World, entries, show};

#[test]
fn a_log_db_that_cannot_be_opened_fails_the_run_and_the_report_says_not_recorded() {
    let world = World::new();
    // log.db is a directory: SQLite cannot open it.
    fs::create_dir_all(world.state.join("log.db")).unwrap();
    let reports = world.root.path().join("reports");
    let out = world.run_reporting_to("2026-03-01", &reports);

    assert_eq!(
        snapshots(&world.local_task()),
        ["2026-03-01".to_string()].into(),
        "the backup is taken"
    );
    assert_eq!(
        snapshots(&world.remote_task()),
        ["2026-03-01".to_string()].into(),
        "and synced"
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let files = entries(&reports);
    assert_eq!(files.len(), 1, "{files:?}\n{}", show(&out));
    let raw = fs::read(reports.join(&files[0])).unwrap();
    let message = MessageParser::default().parse(&raw).unwrap();
    let subject = message.subject().unwrap_or_default().to_string();
    let text = message.body_text(0).unwrap_or_default().to_string();
    let html = message.body_html(0).unwrap_or_default().to_string();
    for (part, body) in [("text", &text), ("html", &html)] {
        assert!(
            body.contains("not recorded"),
            "the {part} part does not say the run was not recorded:\n{body}"
        );
        assert!(
            !body.contains("never succeeded"),
            "the {part} part says a task that just succeeded never did:\n{body}"
        );
    }
    assert!(!subject.contains("never succeeded"), "subject: {subject}");
}
