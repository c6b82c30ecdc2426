//! The command line as its ecosystem expects: help that fits 80 columns, with a
//! description for every argument; `--json` shapes that scripts can rely on; `-q` and
//! `-v`; colour only where a person looks; completions and man pages that their own
//! tools accept.

mod support;

use std::process::{Command, Output};

use support::{COMMANDS, World, show};

fn backup_server(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_backup-server"))
        .args(args)
        .env_remove("COLUMNS")
        .output()
        .unwrap()
}

/// backup-server with the config `config`, then `args` (a command and its options).
fn with_config(config: &std::path::Path, args: &[&str]) -> Output {
    let mut all = vec!["--config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    backup_server(&all)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_help_fits_80_columns_and_describes_every_argument() {
    let mut pages = vec![vec!["--help"], vec!["-h"]];
    for command in COMMANDS {
        pages.push(vec![command, "--help"]);
        pages.push(vec![command, "-h"]);
    }
    for args in pages {
        let out = backup_server(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", show(&out));
        let text = stdout(&out);
        let long: Vec<&str> = text.lines().filter(|l| l.chars().count() > 80).collect();
        assert!(
            long.is_empty(),
            "{args:?}: lines over 80 columns: {long:#?}"
        );
        // An argument without a description is a bare `<NAME>` line with no description
        // under it (--help puts it on the next line, deeper; -h beside the name).
        let lines: Vec<&str> = text.lines().collect();
        let bare: Vec<&str> = (0..lines.len())
            .filter(|&i| {
                let l = lines[i].trim();
                let described = lines
                    .get(i + 1)
                    .is_some_and(|next| next.starts_with("          ") && !next.trim().is_empty());
                l.starts_with('<') && l.ends_with('>') && !l.contains(' ') && !described
            })
            .map(|i| lines[i])
            .collect();
        assert!(
            bare.is_empty(),
            "{args:?}: arguments without a description: {bare:?}"
        );
    }
    let restore = stdout(&backup_server(&["restore", "--help"]));
    assert!(
        restore.contains("\nExamples:\n  backup-server restore home /home/alice/thesis\n"),
        "{restore}"
    );
    assert!(
        restore.contains("  <TASK>\n          The task whose snapshot to read\n"),
        "{restore}"
    );
}

#[test]
fn check_config_json_is_the_plan_and_every_problem() {
    let world = World::new();
    let config = world.config_path();
    let out = with_config(&config, &["check-config", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["version"], 1);
    assert_eq!(plan["valid"], true);
    assert_eq!(plan["tasks"][0]["name"], "data");
    assert_eq!(
        plan["tasks"][0]["source"],
        world.source.display().to_string()
    );
    let steps: Vec<&str> = plan["tasks"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["backup", "retention", "sync"]);
    assert_eq!(plan["reports"]["when"], "always");

    // Two tasks of one name, the first with a problem of its own: both are reported.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("backup_config.yml");
    std::fs::write(
        &config,
        "dir_backup_local: /mnt/backup\ndir_backup_remote: /mnt/offsite\n\
         email_sender: me@gmail.com\nemail_report: me@gmail.com\ntasks:\n\
         \x20 - name: home\n    dir_source: relative/path\n\
         \x20 - name: home\n    dir_source: /home\n",
    )
    .unwrap();
    let out = with_config(&config, &["check-config", "--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let refused: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        refused,
        serde_json::json!({
            "version": 1,
            "config": config,
            "valid": false,
            "problems": [
                { "key": "tasks[0] \"home\": dir_source", "message": "must be an absolute path or user@host:/path" },
                { "key": "tasks[1] \"home\": name", "message": "is used by an earlier task; task names must be unique" },
            ],
        })
    );
}

#[test]
fn a_yaml_error_names_the_file_and_where_the_tab_is() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup_config.yml");
    std::fs::write(&file, "dir_backup_local: /b\n\tdir_backup_remote: /r\n").unwrap();
    let out = with_config(&file, &["check-config"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "error: {}: not valid YAML: line 2 column 1: while scanning a plain scalar, found a tab\n     \
             1 | dir_backup_local: /b\n     \
             2 | →dir_backup_remote: /r\n       \
             | ^\n",
            file.display()
        )
    );
}

#[test]
fn quiet_keeps_only_warnings_and_errors_and_verbose_adds_details() {
    let world = World::new();
    let normal = world.cli("2026-03-01", &["--no-email", "run"]);
    assert_eq!(normal.status.code(), Some(0), "{}", show(&normal));
    assert!(
        String::from_utf8_lossy(&normal.stderr).contains("task data:"),
        "{}",
        show(&normal)
    );
    let quiet = world.cli("2026-03-02", &["-q", "--no-email", "run"]);
    assert_eq!(quiet.status.code(), Some(0), "{}", show(&quiet));
    assert_eq!(
        String::from_utf8_lossy(&quiet.stderr),
        "",
        "{}",
        show(&quiet)
    );
    let verbose = world.cli("2026-03-03", &["--verbose", "--no-email", "run"]);
    assert_eq!(verbose.status.code(), Some(0), "{}", show(&verbose));
    let (normal, verbose) = (
        String::from_utf8_lossy(&normal.stderr).lines().count(),
        String::from_utf8_lossy(&verbose.stderr).into_owned(),
    );
    assert!(verbose.lines().count() > normal, "{verbose}");
    assert!(verbose.contains("log: "), "{verbose}");
}

#[test]
fn doctor_json_lists_each_check() {
    let world = World::new();
    let config = world.config_path();
    let state = world.state.to_str().unwrap();
    let out = with_config(
        &config,
        &["--state-dir", state, "--no-email", "doctor", "--json"],
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["version"], 1, "{}", show(&out));
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks[0]["item"], "config");
    assert_eq!(checks[0]["ok"], true);
    let failed = checks.iter().filter(|c| c["ok"] == false).count();
    assert_eq!(report["failed"], failed);
    assert_eq!(out.status.code(), Some(if failed == 0 { 0 } else { 1 }));
    // Off a terminal, nothing is coloured.
    let plain = with_config(&config, &["--state-dir", state, "--no-email", "doctor"]);
    assert!(!stdout(&plain).contains('\x1b'), "{}", show(&plain));
    assert!(stdout(&plain).starts_with("✓ config: "), "{}", show(&plain));
}

#[test]
fn completions_and_man_pages_are_accepted_by_their_tools() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, check) in [
        ("bash", vec!["bash", "-n"]),
        ("zsh", vec!["zsh", "-n"]),
        ("fish", vec!["fish", "--no-execute"]),
    ] {
        let out = backup_server(&["generate", "completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        assert!(
            stdout(&out).contains("restore"),
            "{shell}: {}",
            stdout(&out)
        );
        let script = dir.path().join(format!("completion.{shell}"));
        std::fs::write(&script, &out.stdout).unwrap();
        let checked = Command::new(check[0])
            .args(&check[1..])
            .arg(&script)
            .output()
            .unwrap_or_else(|e| panic!("{} (tools/test.sh installs it): {e}", check[0]));
        assert!(checked.status.success(), "{shell}: {}", show(&checked));
    }
    let man = dir.path().join("man1");
    let out = backup_server(&["generate", "man", man.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let mut pages: Vec<String> = std::fs::read_dir(&man)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    let mut expected: Vec<String> = COMMANDS
        .iter()
        .map(|c| format!("backup-server-{c}.1"))
        .collect();
    expected.push("backup-server.1".into());
    expected.sort();
    assert_eq!(pages, expected);
    for page in pages {
        // groff's own warnings (-ww) about the page, none allowed.
        let out = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(man.join(&page))
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{page}: {}",
            show(&out)
        );
    }
}

#[test]
fn verify_json_gives_each_check_as_recorded() {
    let world = World::new();
    world.run_expecting("2026-03-01", 0);
    let out = world.cli("2026-03-01", &["verify", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["version"], 1);
    assert_eq!(report["tasks"][0]["name"], "data");
    let checks: Vec<(String, String, String)> = report["tasks"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["against"].as_str().unwrap().to_string(),
                c["snapshot"].as_str().unwrap().to_string(),
                c["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let check = |against: &str| {
        (
            against.to_string(),
            "2026-03-01".to_string(),
            "ok".to_string(),
        )
    };
    assert_eq!(checks, [check("target"), check("source")]);
}
