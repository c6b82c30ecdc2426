use super::validate::close;
use super::*;

const GOOD: &str = r#"
dir_backup_local: /mnt/backup/local
dir_backup_remote: backup@nas.lan:/srv/backup
email_sender: me@gmail.com
email_report: me@gmail.com
email_admin: me@gmail.com
retention: {daily: 3}
tasks:
  - name: ServerData
    dir_source: /data
    excludes: ["*.tmp", "cache/"]
  - name: Photos
    dir_source: pi@camera:/photos
    retention: {monthly: 24}
"#;

/// The config `text`, read as if from the usual place.
pub(super) fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(Path::new("/etc/backup-server/backup_config.yml"), text)
}

/// Every problem found in `text`, as `key: message`.
pub(super) fn problems(text: &str) -> Vec<String> {
    match parse(text) {
        Err(ConfigError::Invalid(_, problems)) => problems
            .into_iter()
            .map(|p| format!("{}: {}", p.key, p.message))
            .collect(),
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn a_good_config_is_read_with_defaults_filled_in() {
    let config = parse(GOOD).unwrap();
    assert_eq!(
        config.email_admin, "",
        "admin equal to report is normalised away"
    );
    assert_eq!(
        config.tasks[0].retention,
        Policy {
            daily: 3,
            ..Policy::default()
        }
    );
    assert_eq!(
        config.tasks[1].retention,
        Policy {
            daily: 3,
            monthly: 24,
            ..Policy::default()
        }
    );
    assert_eq!(config.tasks[0].excludes, ["*.tmp", "cache/"]);
    assert!(config.tasks[1].dir_source.is_remote());
    assert_eq!(config.ssh_key, Path::new(DEFAULT_SSH_KEY));
    assert_eq!(config.smtp, Smtp::default());
    assert_eq!(config.stale_after_days, 2);
    assert!(!config.require_mountpoint);
}

#[test]
fn json_is_accepted() {
    let json = r#"{"dir_backup_local": "/b", "dir_backup_remote": "/r", "email_sender": "a@b.c",
            "email_report": "a@b.c", "tasks": [{"name": "t", "dir_source": "/s"}]}"#;
    assert_eq!(parse(json).unwrap().tasks[0].name, "t");
}

#[test]
fn every_problem_is_reported_at_once_with_its_key_and_task() {
    let text = r#"
dir_backup_local: relative/path
dir_backup_remote: /r
email_sender: not-an-address
email_report: a@b.c
require_mountpoint: yes
retention: {daly: 3}
tasks:
  - name: ok
    dir_source: /data
  - name: ../etc
    dir_source: /x
  - name: Photos
    dir_source: photos
    exclude: ["*.jpg"]
  - name: ok
    dir_source: /y
"#;
    let found = problems(text);
    let expected = [
        "dir_backup_local: \"relative/path\" must be an absolute path",
        "require_mountpoint: must be true or false, not the string \"yes\"",
        "email_sender: \"not-an-address\" is not an email address",
        "retention.daly: is not a known key (did you mean \"daily\"?)",
        "tasks[1] \"../etc\": name: \"../etc\" is not a safe task name: use letters, digits, '.', '_' and '-', starting with a letter or digit",
        "tasks[2] \"Photos\": exclude: is not a known key (did you mean \"excludes\"?)",
        "tasks[2] \"Photos\": dir_source: must be an absolute path or user@host:/path",
        "tasks[3] \"ok\": name: is used by an earlier task; task names must be unique",
    ];
    for line in expected {
        assert!(
            found.contains(&line.to_string()),
            "missing {line:?} in {found:#?}"
        );
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");
}

#[test]
fn missing_keys_and_an_empty_task_list_are_named() {
    assert_eq!(
        problems("tasks: []\n"),
        [
            "dir_backup_local: is required",
            "dir_backup_remote: is required (user@host:/path or /path), unless targets lists where to mirror",
            "email_sender: is required",
            "email_report: is required",
            "tasks: must hold at least one task",
        ]
    );
}

#[test]
fn a_target_must_be_a_place_of_its_own() {
    let text = "dir_backup_local: /mnt/backup\ndir_backup_remote: /mnt/backup/mirror\n\
                email_sender: a@b.c\nemail_report: a@b.c\n\
                targets:\n  - {name: usb, location: /mnt/usb}\n  - {name: again, location: /mnt/usb/x}\n\
                \x20 - {name: self, location: /mnt}\n\
                tasks: [{name: t, dir_source: /data}]\n";
    assert_eq!(
        problems(text),
        [
            "dir_backup_remote: /mnt/backup/mirror is (or holds, or lies inside) dir_backup_local /mnt/backup: a target must be another place",
            "targets[1] \"again\": location: /mnt/usb/x is (or holds, or lies inside) target \"usb\" at /mnt/usb: each target must be a place of its own",
            "targets[2] \"self\": location: /mnt is (or holds, or lies inside) dir_backup_local /mnt/backup: a target must be another place",
            "targets[2] \"self\": location: /mnt is (or holds, or lies inside) target \"remote\" at /mnt/backup/mirror: each target must be a place of its own",
            "targets[2] \"self\": location: /mnt is (or holds, or lies inside) target \"usb\" at /mnt/usb: each target must be a place of its own",
            "targets[2] \"self\": location: /mnt is (or holds, or lies inside) target \"again\" at /mnt/usb/x: each target must be a place of its own",
        ]
    );
}

#[test]
fn one_path_on_one_host_is_one_place_whoever_logs_in_and_however_the_host_is_cased() {
    let text = "dir_backup_local: /mnt/backup\ndir_backup_remote: backup@NAS.lan:/srv/backup\n\
                email_sender: a@b.c\nemail_report: a@b.c\n\
                targets:\n  - {name: again, location: 'root@nas.LAN:/srv/backup'}\n\
                tasks: [{name: t, dir_source: /data}]\n";
    assert_eq!(
        problems(text),
        [
            "targets[0] \"again\": location: root@nas.LAN:/srv/backup is (or holds, or lies inside) \
          target \"remote\" at backup@NAS.lan:/srv/backup: each target must be a place of its own"
        ]
    );
}

#[test]
fn targets_hooks_and_their_mistakes() {
    let text = format!(
        "{GOOD}sync: {{bwlimit_kib: 500}}\n\
         targets:\n\
         \x20 - {{name: offsite, location: backup@far.lan:/srv, retention: {{monthly: 36}}, compress: false}}\n\
         \x20 - {{name: usb, location: /mnt/usb, bwlimit_kib: 9000, require_mountpoint: true}}\n"
    );
    let config = parse(&text).unwrap();
    let required: Vec<bool> = config
        .targets
        .iter()
        .map(|t| t.require_mountpoint)
        .collect();
    assert_eq!(required, [false, false, true]);
    let targets: Vec<(&str, String, Option<u32>, bool, bool)> = config
        .targets
        .iter()
        .map(|t| {
            (
                t.name.as_str(),
                t.location.to_string(),
                t.bwlimit_kib,
                t.compress,
                t.seed,
            )
        })
        .collect();
    assert_eq!(
        targets,
        [
            (
                "remote",
                "backup@nas.lan:/srv/backup".into(),
                Some(500),
                true,
                true
            ),
            (
                "offsite",
                "backup@far.lan:/srv".into(),
                Some(500),
                false,
                false
            ),
            ("usb", "/mnt/usb".into(), Some(9000), false, false),
        ]
    );
    assert_eq!(
        config.targets[1].retention.apply(Policy::default()).monthly,
        36
    );
    assert_eq!(config.tasks[0].hook_timeout_secs, 3600);

    let bad = format!(
        "{}\n    before: ''\n    targets: [nowhere]\n    one_file_system: yes\n\
         targets:\n  - {{name: remote, location: /x}}\n  - {{name: Big_Name, location: nope}}\n\
         \x20 - {{name: far, location: me@far.lan:/srv, require_mountpoint: true}}\n",
        GOOD.trim_end()
    );
    assert_eq!(
        problems(&bad),
        [
            "targets[0] \"remote\": name: is the name of dir_backup_remote's target; choose another",
            "targets[1] \"Big_Name\": name: \"Big_Name\" is not a target name: use up to 32 lowercase letters, digits and '-'",
            "targets[1] \"Big_Name\": location: must be an absolute path or user@host:/path",
            "targets[2] \"far\": require_mountpoint: is for a target on a local path (a disk of this machine), not one over SSH",
            "tasks[1] \"Photos\": before: must be a shell command",
            "tasks[1] \"Photos\": one_file_system: must be true or false, not the string \"yes\"",
            "tasks[1] \"Photos\": targets[0]: must be the name of a target: remote, Big_Name, far",
        ]
    );
}

#[test]
fn nested_keys_are_named_in_full() {
    let text = format!("{GOOD}smtp: {{ca_file: relative.pem, port: 0}}\n");
    let found = problems(&text);
    assert_eq!(
        found,
        [
            "smtp.port: must be a whole number from 1 to 65535, not the number 0",
            "smtp.ca_file: \"relative.pem\" must be an absolute path",
        ]
    );
}

#[test]
fn unsafe_task_names_are_refused() {
    for name in ["..", "a/b", "a b", "$(reboot)", "-rf", ".hidden", "a;b", ""] {
        let text = GOOD.replace(
            "name: ServerData",
            &format!("name: {}", serde_json::to_string(name).unwrap()),
        );
        let found = problems(&text);
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("tasks[0]") && p.contains("not a safe task name")),
            "{name:?}: {found:#?}"
        );
    }
}

#[test]
fn a_source_inside_a_backup_directory_is_refused() {
    let text = GOOD.replace("dir_source: /data", "dir_source: /mnt/backup/local/old");
    let found = problems(&text);
    assert_eq!(
        found,
        [
            "tasks[0] \"ServerData\": dir_source: /mnt/backup/local/old lies inside dir_backup_local /mnt/backup/local: it would back up the backups"
        ]
    );
    // The other way round is fine: the backup step excludes the backup directory.
    assert!(parse(&GOOD.replace("dir_source: /data", "dir_source: /mnt")).is_ok());
}

#[test]
fn a_syntax_error_says_where() {
    let err = parse("tasks: [\n  {name: a\n").unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, ConfigError::Syntax(..)), "{message}");
    assert!(message.contains("line"), "{message}");
}

#[test]
fn close_keys_are_one_typo_apart() {
    assert!(close("daily", "daly"));
    assert!(close("excludes", "exclude"));
    assert!(close("ssh_key", "shh_key"));
    assert!(!close("daily", "yearly"));
}

#[test]
fn a_target_cannot_be_named_like_the_backup_disk() {
    let text = format!("{GOOD}targets:\n  - {{name: local, location: /mnt/usb}}\n");
    assert_eq!(
        problems(&text),
        ["targets[0] \"local\": name: \"local\" names the backup disk; choose another"]
    );
}
