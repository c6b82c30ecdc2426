//! A report's file says which night it is about and how it went, so the failed night
//! is found with `ls`, not grep: `<run start>_<host>_<outcome>.eml`, in `--email-to`'s
//! directory and in the outbox alike.

mod support;

use std::fs;
use std::path::Path;

use support::{World, entries, show};

fn host() -> String {
    let name = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    name.trim().to_string()
}

/// The name with its time of day blanked: `2026-03-01T..-..-.._nas_ok.eml`.
fn shape(name: &str) -> String {
    let (day, rest) = name.split_once('T').unwrap();
    let (time, rest) = rest.split_at(8);
    assert!(
        time.chars().enumerate().all(|(i, c)| if i == 2 || i == 5 {
            c == '-'
        } else {
            c.is_ascii_digit()
        }),
        "{name}"
    );
    format!("{day}T..-..-..{rest}")
}

fn reports_written(world: &World, today: &str, dir: &Path, code: i32) {
    let out = world.run_reporting_to(today, dir);
    assert_eq!(out.status.code(), Some(code), "{}", show(&out));
}

#[test]
fn a_report_is_named_for_its_night_host_and_outcome() {
    let mut world = World::new();
    let dir = world.root.path().join("reports");
    reports_written(&world, "2026-03-01", &dir, 0);
    world.source_spec = "/nonexistent/source".into();
    reports_written(&world, "2026-03-02", &dir, 1);
    let mut names: Vec<String> = entries(&dir).iter().map(|n| shape(n)).collect();
    names.sort();
    let host = host();
    assert_eq!(
        names,
        [
            format!("2026-03-01T..-..-.._{host}_ok.eml"),
            format!("2026-03-02T..-..-.._{host}_failed.eml"),
        ]
    );
}

#[test]
fn a_kept_report_is_named_the_same_way() {
    let world = World::new();
    // No password file: the report cannot go out and is kept in the outbox.
    let out = world.emailing_command("2026-03-01").output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let kept: Vec<String> = entries(&world.state.join("outbox"))
        .iter()
        .filter(|n| n.ends_with(".eml"))
        .map(|n| shape(n))
        .collect();
    assert_eq!(kept, [format!("2026-03-01T..-..-.._{}_ok.eml", host())]);
    let json: Vec<String> = entries(&world.state.join("outbox"))
        .into_iter()
        .filter(|n| n.ends_with(".json"))
        .collect();
    assert_eq!(json.len(), 1, "the envelope beside it");
}
