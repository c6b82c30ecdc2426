//! Text from outside (a hook's output, rsync's messages) is sanitized where it enters
//! the record: a failure message with terminal colour codes and other control
//! characters leaves `feed.atom` well-formed XML (checked by Python's own parser),
//! and the mail and the journal carry visible escapes, never the raw bytes.

mod support;

use std::fs;
use std::process::Command;

use mail_parser::MessageParser;
use support::{World, entries, show};

#[test]
fn a_coloured_failure_message_leaves_the_feed_well_formed_and_the_mail_and_stderr_clean() {
    let mut world = World::new();
    // What a coloured tool prints: ESC [ 31 m, a bell, a backspace, a form feed.
    world.task_extra =
        "    before: 'printf \"\\033[31mdatabase locked\\007\\b\\f\\033[0m\\n\"; exit 1'\n"
            .to_string();
    let site = world.root.path().join("site");
    let reports = world.root.path().join("reports");
    let out = world
        .emailing_command("2026-03-01")
        .arg("--site-dir")
        .arg(&site)
        .arg("--email-to")
        .arg(&reports)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));

    let is_raw_control = |c: char| c.is_control() && c != '\n' && c != '\t' && c != '\r';
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains(is_raw_control), "{stderr:?}");
    assert!(
        stderr.contains(
            "the before command exited with status 1: \\e[31mdatabase locked\\a\\b\\f\\e[0m"
        ),
        "the control characters are shown as visible escapes: {stderr}"
    );

    let parsed = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import sys, xml.etree.ElementTree as ET\n\
             root = ET.parse(sys.argv[1]).getroot()\n\
             ns = {'a': 'http://www.w3.org/2005/Atom'}\n\
             print(len(root.findall('a:entry', ns)))\n\
             print(root.find('a:entry', ns).find('a:summary', ns).text)",
        ])
        .arg(site.join("feed.atom"))
        .output()
        .unwrap();
    assert!(
        parsed.status.success(),
        "feed.atom is well-formed XML: {}",
        show(&parsed)
    );
    let said = String::from_utf8_lossy(&parsed.stdout);
    assert!(said.starts_with("1\n"), "{said}");
    assert!(said.contains("\\e[31mdatabase locked"), "{said}");

    let files = entries(&reports);
    let raw = fs::read(reports.join(&files[0])).unwrap();
    let message = MessageParser::default().parse(&raw).unwrap();
    let text = message.body_text(0).unwrap();
    assert!(!text.contains(is_raw_control), "{text:?}");
    assert!(text.contains("\\e[31mdatabase locked"), "{text}");
}
