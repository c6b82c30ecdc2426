//! Progress on long work, as a person at a terminal sees it: a restore and a run typed
//! by hand show one updating line fed by rsync's own progress, through a real
//! pseudo-terminal (util-linux's `script`); off a terminal nothing changes.

mod support;

use std::fs;
use std::process::Command;

use support::{World, path_with, show, slow_rsync, write};

/// `words` as one shell command line.
fn shell_line(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("'{}'", w.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs backup-server with `args` on a pseudo-terminal; returns what the terminal got
/// and the exit status. rsync is slowed so that the work takes a few seconds.
fn on_a_terminal(world: &World, args: &[&str]) -> (String, Option<i32>) {
    let mut words = vec![
        env!("CARGO_BIN_EXE_backup-server").to_string(),
        "--config".into(),
        world.config_path().display().to_string(),
        "--state-dir".into(),
        world.state.display().to_string(),
    ];
    words.extend(args.iter().map(|a| a.to_string()));
    let out = Command::new("script")
        .args(["--quiet", "--return", "--flush", "--command"])
        .arg(shell_line(&words))
        .arg("/dev/null")
        .env("PATH", path_with(&slow_rsync(world.root.path(), 400)))
        .env_remove("JOURNAL_STREAM")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code(),
    )
}

fn world_with_two_megabytes() -> World {
    let world = World::new();
    write(
        &world.source.join("big/video.bin"),
        &"x".repeat(2 * 1024 * 1024),
    );
    world.run_expecting("2026-03-01", 0);
    world
}

#[test]
fn a_restore_on_a_terminal_shows_its_progress_and_a_piped_one_does_not() {
    let world = world_with_two_megabytes();
    let into = world.root.path().join("restored");
    let into = into.display().to_string();
    let args = [
        "--today",
        "2026-03-01",
        "restore",
        "data",
        "big",
        "--to",
        into.as_str(),
    ];
    let (terminal, code) = on_a_terminal(&world, &args);
    assert_eq!(code, Some(0), "{terminal}");
    // Updates rewrite one line: each starts with a carriage return, and names the work,
    // the bytes and the rate rsync reported.
    let updates: Vec<&str> = terminal
        .split('\r')
        .filter(|u| u.contains(&format!("restoring {into}/big: ")))
        .collect();
    assert!(!updates.is_empty(), "no progress line in:\n{terminal:?}");
    assert!(
        updates
            .iter()
            .any(|u| u.contains("%), ") && u.contains("B/s")),
        "{updates:#?}"
    );
    // It is taken down at the end, and what the restore says is all there.
    assert!(
        terminal.contains("Restored 1 file (2.1 MB) into "),
        "{terminal}"
    );
    assert_eq!(
        fs::read(world.root.path().join("restored/big/video.bin"))
            .unwrap()
            .len(),
        2 * 1024 * 1024
    );

    let piped = world.cli(
        "2026-03-01",
        &["restore", "data", "big", "--to", &format!("{into}-piped")],
    );
    assert_eq!(piped.status.code(), Some(0), "{}", show(&piped));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&piped.stdout),
        String::from_utf8_lossy(&piped.stderr),
    );
    assert!(
        !stdout.contains('\r') && !stderr.contains('\r'),
        "{}",
        show(&piped)
    );
    assert!(!stderr.contains("restoring"), "{}", show(&piped));
}

#[test]
fn a_run_typed_at_a_terminal_shows_each_step_and_the_timer_gets_none() {
    let world = world_with_two_megabytes();
    write(&world.source.join("big/more.bin"), &"y".repeat(1024 * 1024));
    let (terminal, code) = on_a_terminal(&world, &["--today", "2026-03-02", "--no-email", "run"]);
    assert_eq!(code, Some(0), "{terminal}");
    for step in ["backup", "sync"] {
        // The step, then what rsync has moved, and the step's own message after it.
        let moved = format!("task data: {step}: ");
        assert!(
            terminal
                .split('\r')
                .any(|u| u.contains(&moved) && u.contains("B/s")),
            "no progress for {step} in:\n{terminal:?}"
        );
        assert!(
            terminal.contains(&format!("task data: {step} succeeded in ")),
            "{terminal:?}"
        );
    }
    // The step log holds rsync's output, never its progress updates.
    let log = world.step_log("backup");
    assert!(log.contains("--info=progress2"), "{log}");
    assert!(
        !log.lines().any(|l| l.contains("%") && l.contains("B/s")),
        "{log}"
    );

    // The timer's run (no terminal) asks rsync for no progress at all.
    write(&world.source.join("big/third.bin"), "z");
    world.run_expecting("2026-03-03", 0);
    let log = world.step_log("backup");
    assert!(!log.contains("progress2"), "{log}");
}
