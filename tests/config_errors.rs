//! A bad config: a clear error naming the file, key and task, exit 2, nothing on disk.

mod support;

use std::process::Command;

use support::{World, show, stderr};

fn check_config(world: &World) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_backup-server"))
        .arg("--config")
        .arg(world.config_path())
        .arg("check-config")
        .output()
        .unwrap()
}

#[test]
fn check_config_summarises_a_good_config() {
    let world = World::new();
    let out = check_config(&world);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let (config, source, local, remote) = (
        world.config_path(),
        world.source.display().to_string(),
        world.local.display().to_string(),
        world.remote.display().to_string(),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "{config} is valid: 1 task.\n\
             \n\
             data: {source}\n\
             \x20 backup     {source} -> {local}/data/YYYY-MM-DD, unchanged files hard-linked to the previous snapshot\n\
             \x20 retention  keeps the newest 7, one a week for 4 weeks, one a month for 12 months, one a year for 5 years\n\
             \x20 sync       -> {remote}/data, the snapshots it lacks; pruned by the same policy\n\
             \n\
             Reports: after every run, from backup@example.com to admin@example.com, through smtp.gmail.com:465.\n",
            config = config.display()
        )
    );
}

#[test]
fn check_config_says_when_reports_go_out() {
    let mut world = World::new();
    let reports = |world: &World| {
        let out = check_config(world);
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .find(|l| l.starts_with("Reports: "))
            .unwrap_or_default()
            .to_string()
    };
    world.extra =
        "email_when: attention\nsummary_weekday: friday\nemail_admin: boss@example.com\n".into();
    assert_eq!(
        reports(&world),
        "Reports: when something needs attention, and a summary each Friday, from backup@example.com to admin@example.com, CC boss@example.com on failure, through smtp.gmail.com:465."
    );
    world.extra = "email_when: never\n".into();
    assert_eq!(reports(&world), "Reports: none (email_when: never).");
}

#[test]
fn a_bad_config_names_every_problem_and_touches_nothing() {
    let mut world = World::new();
    world.source_spec = "relative/source".into();
    world.extra = "retention: {daily: -1}\nsmtp: {prot: 465}\n".into();
    std::fs::remove_dir_all(&world.local).unwrap();

    for out in [check_config(&world), world.run("2026-03-01")] {
        assert_eq!(out.status.code(), Some(2), "{}", show(&out));
        let err = stderr(&out);
        assert!(err.contains("backup_config.yml: 3 problems:"), "{err}");
        assert!(
            err.contains(
                "retention.daily: must be a whole number from 0 to 100000, not the number -1"
            ),
            "{err}"
        );
        assert!(
            err.contains("smtp.prot: is not a known key (did you mean \"port\"?)"),
            "{err}"
        );
        assert!(
            err.contains(
                "tasks[0] \"data\": dir_source: must be an absolute path or user@host:/path"
            ),
            "{err}"
        );
    }
    assert!(!world.state.exists(), "no state directory was created");
    assert!(!world.local.exists());
}

#[test]
fn a_missing_config_and_a_yaml_error_are_clear() {
    let world = World::new();
    let missing = world.root.path().join("nope.yml");
    let out = Command::new(env!("CARGO_BIN_EXE_backup-server"))
        .arg("--config")
        .arg(&missing)
        .arg("check-config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("config file {} does not exist", missing.display())),
        "{}",
        show(&out)
    );

    let broken = world.root.path().join("broken.yml");
    std::fs::write(&broken, "tasks:\n  - name: a\n   dir_source: /x\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_backup-server"))
        .arg("--config")
        .arg(&broken)
        .arg("check-config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not valid YAML"), "{}", show(&out));
    assert!(stderr(&out).contains("line 3"), "{}", show(&out));
}
