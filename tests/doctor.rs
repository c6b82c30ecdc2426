//! `backup-server doctor` against real parts on 127.0.0.1 (sshd, the SMTPS server, the
//! HTTP recorder): a setup that passes every check, and one that fails each way a
//! first run would, every failure with its fix; and nothing is written or sent.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

use support::http::{Answer, HttpRecorder};
use support::smtp::{self, SmtpServer};
use support::sshd::Sshd;
use support::{World, show};

/// The parts a whole setup talks to.
struct Parts {
    sshd: Sshd,
    smtp: SmtpServer,
    healthchecks: HttpRecorder,
    ntfy: HttpRecorder,
    webhook: HttpRecorder,
}

const NTFY_TOKEN: &str = "tk_doctor0token";

/// A world mirrored over SSH, reporting to the SMTPS server, pinging all three channels.
fn whole_setup() -> (World, Parts) {
    let mut world = World::new();
    let dir = world.root.path().to_path_buf();
    let parts = Parts {
        sshd: Sshd::start(&dir.join("sshd")),
        smtp: SmtpServer::start(&dir.join("smtp")),
        healthchecks: HttpRecorder::start(&dir.join("hc"), Answer::default()),
        ntfy: HttpRecorder::start(
            &dir.join("ntfy"),
            Answer {
                token: Some(NTFY_TOKEN.into()),
                ..Answer::default()
            },
        ),
        webhook: HttpRecorder::start(&dir.join("hook"), Answer::default()),
    };
    fs::write(dir.join("password"), format!("{}\n", smtp::PASSWORD)).unwrap();
    fs::write(
        dir.join("hc-url"),
        parts.healthchecks.url("/ping/doctor-check"),
    )
    .unwrap();
    fs::write(dir.join("ntfy-token"), NTFY_TOKEN).unwrap();
    world.remote_spec = format!("root@backuphost:{}", world.remote.display());
    world.extra = format!(
        "{}{}notify:\n  healthchecks: {{url_file: {hc}}}\n  \
         ntfy: {{url: '{ntfy}', token_file: {token}}}\n  webhook: {{url: '{hook}'}}\n",
        parts.sshd.config_lines(),
        parts.smtp.config_lines(),
        hc = dir.join("hc-url").display(),
        ntfy = parts.ntfy.url("/backups"),
        token = dir.join("ntfy-token").display(),
        hook = parts.webhook.url("/hook"),
    );
    (world, parts)
}

fn doctor(world: &World) -> Output {
    world
        .binary()
        .arg("--password-file")
        .arg(world.root.path().join("password"))
        .arg("doctor")
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_good_setup_passes_every_check_and_nothing_is_written_or_sent() {
    let (world, parts) = whole_setup();
    let out = doctor(&world);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = stdout(&out);
    let config = world.root.path().join("backup_config.yml");
    let expected = [
        format!("✓ config: {} is valid (1 task)", config.display()),
        "✓ step scripts: found".to_string(),
        format!(
            "✓ source of task data: {} is a readable directory",
            world.source.display()
        ),
        format!("✓ backup disk: {} is writable", world.local.display()),
        format!("✓ SSH key: {} is readable", parts.sshd.client_key.display()),
    ];
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..5],
        expected.iter().map(String::as_str).collect::<Vec<_>>()[..],
        "{text}"
    );
    assert!(
        lines[5].starts_with(
            "✓ SSH to root@backuphost (target remote): logged in; its host key is the pinned one; rsync version "
        ),
        "{text}"
    );
    assert_eq!(
        lines[6],
        format!(
            "✓ SMTP login: 127.0.0.1:{} accepted the login of backup@example.com over TLS (no mail sent)",
            parts.smtp.port
        )
    );
    assert_eq!(
        lines[7],
        format!(
            "✓ healthchecks: {} accepts connections (plain HTTP, no TLS) (no request sent: any request to a ping URL counts as a ping)",
            parts.healthchecks.url("")
        )
    );
    assert_eq!(
        lines[8],
        format!(
            "✓ ntfy: {}: the topic can be read with the token (HTTP 200; nothing published)",
            parts.ntfy.url("")
        )
    );
    assert_eq!(
        lines[9],
        format!(
            "✓ webhook: {} accepts connections (plain HTTP, no TLS) (nothing sent)",
            parts.webhook.url("")
        )
    );
    assert_eq!(&lines[10..], ["", "All 10 checks passed."]);

    assert!(parts.healthchecks.received().is_empty(), "no ping counted");
    assert!(parts.webhook.received().is_empty());
    let polls = parts.ntfy.received();
    assert_eq!(polls.len(), 1);
    assert_eq!(polls[0].method, "GET");
    assert_eq!(polls[0].path, "/backups/json?poll=1&since=latest");
    assert_eq!(
        polls[0].header("authorization"),
        Some(format!("Bearer {NTFY_TOKEN}").as_str())
    );
    assert!(parts.smtp.received().is_empty(), "no mail sent");
    assert!(
        !world.state.exists(),
        "the state directory is not even created"
    );
    assert!(support::entries(&world.local).is_empty());
    assert!(support::entries(&world.remote).is_empty());
}

#[test]
fn a_wrong_host_key_a_wrong_password_and_a_missing_disk_each_come_with_their_fix() {
    let (world, parts) = whole_setup();
    // Another key pinned for the host, as after a reinstall.
    let other = world.root.path().join("other_host_key");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .unwrap();
    assert!(status.success());
    let other_pub = fs::read_to_string(other.with_extension("pub")).unwrap();
    let mut words = other_pub.split_whitespace();
    let (kind, key) = (words.next().unwrap(), words.next().unwrap());
    fs::write(
        &parts.sshd.known_hosts,
        format!("[127.0.0.1]:{} {kind} {key}\n", parts.sshd.port),
    )
    .unwrap();
    fs::write(world.root.path().join("password"), "not-the-app-password\n").unwrap();
    fs::remove_dir(&world.local).unwrap();
    fs::write(world.root.path().join("ntfy-token"), "tk_wrong").unwrap();

    let out = doctor(&world);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = stdout(&out);
    let block = |start: &str| -> String {
        let at = text
            .find(start)
            .unwrap_or_else(|| panic!("no {start:?} in:\n{text}"));
        text[at..].lines().take(2).collect::<Vec<_>>().join("\n")
    };
    assert_eq!(
        block("✗ backup disk"),
        format!(
            "✗ backup disk: {local} does not exist\n    fix: mount the backup disk at {local} (backup-server never creates it, so that an unmounted disk cannot fill the root file system), or correct dir_backup_local",
            local = world.local.display()
        )
    );
    assert_eq!(
        block("✗ SSH to root@backuphost"),
        format!(
            "✗ SSH to root@backuphost (target remote): host key verification failed: the host's SSH key is not the one in the known_hosts file (ssh_known_hosts, or <state>/known_hosts when trusted on first use); if it changed on purpose, update that file\n    fix: compare the host's key (ssh-keyscan backuphost) with its line in {} (ssh_known_hosts); if the host was reinstalled, replace that line",
            parts.sshd.known_hosts.display()
        )
    );
    assert_eq!(
        block("✗ SMTP login"),
        format!(
            "✗ SMTP login: 127.0.0.1:{} refused the login of backup@example.com (535): check the Gmail app password in {pw}\n    fix: create a Gmail app password for backup@example.com (https://myaccount.google.com/apppasswords; it needs 2-step verification) and write it into {pw}",
            parts.smtp.port,
            pw = world.root.path().join("password").display()
        )
    );
    assert!(
        block("✗ ntfy").starts_with(&format!(
            "✗ ntfy: {} refused to let the token read the topic (HTTP 403)\n    fix: check notify.ntfy.token_file",
            parts.ntfy.url("")
        )),
        "{text}"
    );
    assert!(text.ends_with("\n4 of 10 checks failed.\n"), "{text}");
    assert!(
        text.contains("✓ healthchecks: "),
        "the rest still checked: {text}"
    );
    assert!(parts.smtp.received().is_empty());
    assert!(!world.local.exists(), "the missing disk is not created");
}

#[test]
fn an_unreadable_source_is_named_with_its_fix() {
    let mut world = World::new();
    let secret_source = world.root.path().join("private");
    fs::create_dir(&secret_source).unwrap();
    fs::set_permissions(&secret_source, fs::Permissions::from_mode(0o700)).unwrap();
    world.source_spec = secret_source.display().to_string();
    // Run as nobody: root reads everything; nobody may not read the private source.
    fs::set_permissions(world.root.path(), fs::Permissions::from_mode(0o755)).unwrap();

    let out = world
        .binary_as_nobody()
        .args(["--no-email", "doctor"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "✓ config: {} is valid (1 task)\n\
             ✓ step scripts: found\n\
             ✗ source of task data: {} cannot be read: Permission denied (os error 13)\n    \
             fix: let the user of the run (root under the service) read and list it\n\
             ✓ backup disk: {} is writable\n\
             ✓ target remote: {} is writable\n\
             \n1 of 5 checks failed.\n",
            world.config_path().display(),
            secret_source.display(),
            world.local.display(),
            world.remote.display()
        )
    );
}

#[test]
fn an_invalid_config_is_the_one_failure_and_exits_2() {
    let mut world = World::new();
    world.extra = "notify: {ntfy: {url: 'ftp://x/t'}}\n".into();
    let out = doctor(&world);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let config = world.root.path().join("backup_config.yml");
    assert_eq!(
        stdout(&out),
        format!(
            "✗ config: {c}: 1 problem:\n      notify.ntfy.url: must be an http:// or https:// URL\n    \
             fix: correct the keys named above in {c}; `backup-server check-config` shows the same\n\
             \n1 of 1 checks failed.\n",
            c = config.display()
        )
    );
}

#[test]
fn a_host_key_not_pinned_is_trusted_on_first_use_by_the_run_not_by_the_doctor() {
    let mut world = World::new();
    let sshd = Sshd::start(&world.root.path().join("sshd"));
    world.remote_spec = format!("root@backuphost:{}", world.remote.display());
    world.extra = format!(
        "ssh_key: {}\nssh_config: {}\n",
        sshd.client_key.display(),
        sshd.client_config.display()
    );
    let out = world
        .binary()
        .args(["--no-email", "doctor"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        stdout(&out).contains(
            "✓ SSH to root@backuphost (target remote): logged in; its host key is not pinned: the first run will trust and remember it (set ssh_known_hosts to pin it); rsync version"
        ),
        "{}",
        show(&out)
    );
    assert!(
        !world.state.exists(),
        "nothing remembered in the state directory"
    );

    // Once a run has trusted it, the doctor checks against what the run remembered.
    assert_eq!(world.run("2026-03-01").status.code(), Some(0));
    let out = world
        .binary()
        .args(["--no-email", "doctor"])
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains(&format!(
            "logged in; its host key is the one in {}",
            world.state.join("known_hosts").display()
        )),
        "{}",
        show(&out)
    );
}

#[test]
fn a_healthchecks_url_is_checked_by_a_verified_tls_handshake_alone() {
    let dir = tempfile::tempdir().unwrap();
    let service = HttpRecorder::start(dir.path(), Answer::https());
    let mut world = World::new();
    let url_file = world.root.path().join("hc-url");
    fs::write(&url_file, service.url("/ping/tls-check")).unwrap();
    let notify = |ca: &str| {
        format!(
            "notify:\n{ca}  healthchecks: {{url_file: {}}}\n",
            url_file.display()
        )
    };
    let run = |world: &World| {
        world
            .binary()
            .args(["--no-email", "doctor"])
            .output()
            .unwrap()
    };

    world.extra = notify("");
    let out = run(&world);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.starts_with("✗ healthchecks: "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.starts_with(&format!(
            "✗ healthchecks: TLS with {} failed: ",
            service.url("")
        )) && line.ends_with("(is the certificate trusted? see notify.ca_file)"),
        "{text}"
    );

    world.extra = notify(&format!("  ca_file: {}\n", service.ca_file.display()));
    let out = run(&world);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        stdout(&out).contains(&format!(
            "✓ healthchecks: {} answers with a trusted TLS certificate (no request sent: any request to a ping URL counts as a ping)",
            service.url("")
        )),
        "{}",
        show(&out)
    );
    assert!(service.received().is_empty(), "no HTTP request, so no ping");
}
