//! A hook never outlives its run: one that runs past its time is stopped whole, its
//! children that ignore SIGTERM included; and one left running by a run that was
//! killed (SIGKILL, as the OOM killer or a power cut would) is ended by the next run
//! before it starts another writer into the same source. Real bash, real signals.

mod support;

use std::fs;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::{World, show, stderr};

/// Whether any process of the process group `group` is alive (a zombie is not).
fn group_alive(group: i32) -> bool {
    let Ok(dir) = fs::read_dir("/proc") else {
        return false;
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| fs::read_to_string(e.path().join("stat")).ok())
        .any(|stat| {
            // pid (comm) state ppid pgrp ...
            let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
            let fields: Vec<&str> = after.split_whitespace().collect();
            fields.first() != Some(&"Z") && fields.get(2) == Some(&group.to_string().as_str())
        })
}

fn read_group(path: &std::path::Path) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(text) = fs::read_to_string(path)
            && let Ok(group) = text.trim().parse()
        {
            return group;
        }
        assert!(Instant::now() < deadline, "the hook never started");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_hook_that_runs_too_long_is_killed_whole_even_when_its_shell_dies_on_sigterm() {
    let mut world = World::new();
    let group_file = world.root.path().join("group");
    // The hook's sh dies on SIGTERM at once; its child ignores SIGTERM and would
    // write on into the source.
    world.task_extra = format!(
        "    before: 'echo $$ > {}; sh -c \"trap \\\"\\\" TERM; while :; do sleep 1; done\" & wait'\n    \
         hook_timeout_secs: 1\n",
        group_file.display()
    );
    let started = Instant::now();
    let out = world.run_expecting("2026-03-01", 1);
    assert!(
        stderr(&out)
            .contains("the before command ran longer than 1 s (hook_timeout_secs) and was stopped"),
        "{}",
        show(&out)
    );
    let group = read_group(&group_file);
    assert!(
        !group_alive(group),
        "nothing of the hook's process group is left when its step ends"
    );
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "SIGKILL came after the grace period"
    );
}

#[test]
fn a_before_left_running_by_a_killed_run_is_ended_before_the_next_run_writes() {
    let mut world = World::new();
    let group_file = world.root.path().join("group");
    let dump = world.source.join("dump.sql");
    // A dump through a pipeline, as `pg_dumpall | gzip > dump` would be: the part
    // after the shell does not die with the run.
    world.task_extra = format!(
        "    before: 'echo $$ > {}; (while :; do echo row; sleep 0.1; done) | cat > {}'\n",
        group_file.display(),
        dump.display()
    );
    let mut run = world
        .command("2026-03-01")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let group = read_group(&group_file);
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: SIGKILL to the run we started.
    unsafe { libc::kill(run.id() as i32, libc::SIGKILL) };
    run.wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        group_alive(group),
        "the pipeline outlived the killed run (what the next run must deal with)"
    );

    // The next night, with a quick dump.
    world.task_extra = format!("    before: 'echo one dump > {}'\n", dump.display());
    let out = world.run_expecting("2026-03-02", 0);
    assert!(
        !group_alive(group),
        "the killed run's hook was ended: {}",
        show(&out)
    );
    assert!(
        stderr(&out).contains(&format!(
            "task data: the before command of a run that was killed was still running \
             (process group {group}); stopped it before starting another"
        )),
        "{}",
        show(&out)
    );
    assert_eq!(
        fs::read_to_string(world.local_task().join("2026-03-02/dump.sql")).unwrap(),
        "one dump\n",
        "the snapshot holds the night's dump alone"
    );
}
