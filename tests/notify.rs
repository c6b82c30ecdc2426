//! Pings against a real HTTP server on 127.0.0.1 (tests/support/http_recorder.py):
//! what each channel sends, in which order, with which headers and bodies; and a
//! service that is down, answers 500, hangs or is not trusted costs the backups
//! nothing but says so: recorded, in the report, on the pages, and exit 3.

mod support;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::http::{Answer, HttpRecorder};
use support::{World, entries, show, stderr};

/// A world whose config has `notify` lines, with secret files written into it.
fn world_with(notify: &str) -> World {
    let mut world = World::new();
    world.extra = format!("notify:\n{notify}");
    world
}

fn secret(world: &World, name: &str, value: &str) -> String {
    let path = world.root.path().join(name);
    fs::write(&path, format!("{value}\n")).unwrap();
    path.display().to_string()
}

/// `backup-server run`, the report written into `<root>/mail`, the site into `<root>/site`.
fn run_reporting(world: &World, today: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_backup-server"));
    command
        .arg("--config")
        .arg(world.config_path())
        .arg("--state-dir")
        .arg(&world.state)
        .arg("--email-to")
        .arg(world.root.path().join("mail"))
        .arg("--site-dir")
        .arg(world.root.path().join("site"))
        .args(["--today", today, "run"]);
    command.output().unwrap()
}

fn expect(out: &Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "{}", show(out));
}

/// The `pings` rows: `channel event status attempts: message`.
fn ping_rows(world: &World) -> Vec<String> {
    world.query("SELECT channel || ' ' || event || ' ' || status || ' ' || attempts || ': ' || message FROM pings ORDER BY rowid")
}

/// Every report written so far: (subject, plain text).
fn reports(world: &World) -> Vec<(String, String)> {
    let dir = world.root.path().join("mail");
    entries(&dir)
        .iter()
        .map(|name| {
            let raw = fs::read(dir.join(name)).unwrap();
            let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
            (
                message.subject().unwrap_or_default().to_string(),
                message.body_text(0).unwrap().replace("\r\n", "\n"),
            )
        })
        .collect()
}

fn index(world: &World) -> String {
    fs::read_to_string(world.root.path().join("site/index.html")).unwrap()
}

#[test]
fn healthchecks_hears_start_and_success_then_start_and_fail_with_the_log_tail() {
    let dir = tempfile::tempdir().unwrap();
    let service = HttpRecorder::start(dir.path(), Answer::default());
    let mut world = World::new();
    let url_file = secret(&world, "hc-url", &service.url("/ping/0f6c3a7e-check"));
    world.extra = format!("notify:\n  healthchecks: {{url_file: {url_file}}}\n");

    expect(&world.run("2026-03-01"), 0);
    fs::rename(&world.source, world.root.path().join("unmounted")).unwrap();
    expect(&world.run("2026-03-02"), 1);

    assert_eq!(
        service.lines(),
        [
            "POST /ping/0f6c3a7e-check/start",
            "POST /ping/0f6c3a7e-check",
            "POST /ping/0f6c3a7e-check/start",
            "POST /ping/0f6c3a7e-check/fail",
        ]
    );
    let received = service.received();
    let host = backup_server::host::name();
    assert_eq!(
        received[0].body,
        format!("backup-server run 1 started on {host}: data\n")
    );
    assert_eq!(
        received[0].header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(
        received[1].body.starts_with(&format!(
            "backup-server run 1 on {host}: 1 of 1 tasks succeeded, "
        )),
        "{}",
        received[1].body
    );
    assert!(
        received[1].body.ends_with("\ndata: succeeded\n"),
        "{}",
        received[1].body
    );
    let fail = &received[3].body;
    assert!(
        fail.contains("\ndata: FAILED: backup: the source ")
            && fail.contains("(dir_source) does not exist"),
        "{fail}"
    );
    assert!(
        fail.contains("\n--- data: the backup step's log (all of it; "),
        "{fail}"
    );
    assert!(
        fail.contains("\nbackup FAILED: the source "),
        "the log's own last line: {fail}"
    );
    assert_eq!(
        ping_rows(&world),
        [
            "healthchecks start delivered 1: HTTP 200",
            "healthchecks success delivered 1: HTTP 200",
            "healthchecks start delivered 1: HTTP 200",
            "healthchecks failure delivered 1: HTTP 200",
        ]
    );
}

#[test]
fn a_failed_steps_log_tail_fits_the_healthchecks_body_limit() {
    let dir = tempfile::tempdir().unwrap();
    let service = HttpRecorder::start(dir.path(), Answer::default());
    let mut world = World::new();
    let url_file = secret(&world, "hc-url", &service.url("/ping/big"));
    world.extra = format!("notify:\n  healthchecks: {{url_file: {url_file}}}\n");
    // A before command that writes 300 kB of output and fails: its log is the tail.
    world.task_extra =
        "    before: \"echo FIRST-LINE; yes 'a line of dump output' | head -c 300000; echo LAST-LINE; exit 3\"\n"
            .into();
    expect(&world.run("2026-03-01"), 1);

    let received = service.received();
    assert_eq!(received[1].path, "/ping/big/fail");
    let body = &received[1].body;
    assert!(body.len() <= 100_000, "{} bytes", body.len());
    assert!(
        body.len() > 95_000,
        "the room is used: {} bytes",
        body.len()
    );
    assert!(
        body.contains("\n--- data: the before step's log (the last "),
        "{}",
        &body[..2000]
    );
    assert!(body.contains("LAST-LINE\n"), "the end of the log is kept");
    assert!(!body.contains("FIRST-LINE"), "its start is cut");
}

#[test]
fn ntfy_says_failure_then_recovery_with_its_token_and_then_stays_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let token = "tk_7dq1w0ntfytokenvalue";
    let service = HttpRecorder::start(
        dir.path(),
        Answer {
            token: Some(token.into()),
            ..Answer::default()
        },
    );
    let mut world = World::new();
    let url_file = secret(&world, "ntfy-url", &service.url("/backups-nas"));
    let token_file = secret(&world, "ntfy-token", token);
    world.extra = format!(
        "notify:\n  ntfy: {{url_file: {url_file}, token_file: {token_file}, tags: [floppy_disk]}}\n"
    );

    fs::rename(&world.source, world.root.path().join("unmounted")).unwrap();
    expect(&world.run("2026-03-01"), 1);
    fs::rename(world.root.path().join("unmounted"), &world.source).unwrap();
    expect(&world.run("2026-03-02"), 0);
    expect(&world.run("2026-03-03"), 0);

    let host = backup_server::host::name();
    let received = service.received();
    // Each message as "METHOD path | title | priority | tags".
    let seen: Vec<String> = received
        .iter()
        .map(|r| {
            format!(
                "{} {} | {} | {} | {}",
                r.method,
                r.path,
                r.header("title").unwrap_or("-"),
                r.header("priority").unwrap_or("-"),
                r.header("tags").unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            format!(
                "POST /backups-nas | Backup FAILED on {host}: 1 of 1 tasks | 4 | rotating_light,floppy_disk"
            ),
            format!("POST /backups-nas | Backup recovered on {host}: data | 3 | tada,floppy_disk"),
        ],
        "no start, no message for the quiet third night"
    );
    for r in &received {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {token}").as_str())
        );
    }
    let unmounted = world.source.display();
    let failure = &received[0].body;
    assert!(
        failure.starts_with(&format!(
            "data: FAILED: backup: the source {unmounted} (dir_source) does not exist or is not a directory; never succeeded (first run 2026-03-01 "
        )) && failure.ends_with(")\n"),
        "the reason once, then the health: {failure}"
    );
    assert_eq!(
        received[1].body,
        "data: succeeded (recovered: it was never successful)\n"
    );
}

#[test]
fn ntfy_can_also_say_start_and_success_at_its_own_priority() {
    let dir = tempfile::tempdir().unwrap();
    let service = HttpRecorder::start(dir.path(), Answer::default());
    let world = world_with(&format!(
        "  ntfy: {{url: '{}', on: [start, success, failure], priority: max}}\n",
        service.url("/chatty")
    ));
    expect(&world.run("2026-03-01"), 0);
    let received = service.received();
    let titles: Vec<(Option<&str>, Option<&str>)> = received
        .iter()
        .map(|r| (r.header("title"), r.header("priority")))
        .collect();
    let host = backup_server::host::name();
    assert_eq!(
        titles,
        [
            (
                Some(format!("Backup started on {host}").as_str()),
                Some("2")
            ),
            (
                Some(format!("Backup succeeded on {host}: 1 tasks").as_str()),
                Some("2")
            ),
        ]
    );
    assert_eq!(
        received[0].header("authorization"),
        None,
        "no token, no header"
    );
}

#[test]
fn the_webhook_gets_the_run_as_json_with_its_headers() {
    let dir = tempfile::tempdir().unwrap();
    let service = HttpRecorder::start(dir.path(), Answer::default());
    let mut world = World::new();
    let headers = secret(
        &world,
        "hook-headers",
        "# sent with every call\nAuthorization: Bearer hook-9zq-header\nX-Backup-Site: home",
    );
    world.extra = format!(
        "notify:\n  webhook: {{url: '{}', headers_file: {headers}}}\n",
        service.url("/hooks/backup")
    );
    expect(&world.run("2026-03-01"), 0);
    fs::rename(&world.source, world.root.path().join("unmounted")).unwrap();
    expect(&world.run("2026-03-02"), 1);

    assert_eq!(
        service.lines(),
        ["POST /hooks/backup", "POST /hooks/backup"]
    );
    let received = service.received();
    assert_eq!(received[0].header("content-type"), Some("application/json"));
    assert_eq!(
        received[0].header("authorization"),
        Some("Bearer hook-9zq-header")
    );
    assert_eq!(received[0].header("x-backup-site"), Some("home"));

    let good: serde_json::Value = serde_json::from_str(&received[0].body).unwrap();
    assert_eq!(good["version"], 1);
    assert_eq!(good["event"], "success");
    assert_eq!(good["outcome"], "ok");
    assert_eq!(good["run_id"], 1);
    assert_eq!(good["host"], backup_server::host::name());
    let task = &good["tasks"][0];
    assert_eq!(task["name"], "data");
    let steps: Vec<&str> = task["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["backup", "retention", "sync"]);
    assert_eq!(task["steps"][0]["outcome"], "ok");
    assert_eq!(task["steps"][0]["stats"]["files_transferred"], 3);
    assert!(task["steps"][0]["local"]["snapshots"] == 1);
    assert_eq!(task["health"]["state"], "ok");
    assert_eq!(task["health"]["before"], "never_ran");
    assert!(good["ended_unix"].as_f64().unwrap() >= good["started_unix"].as_f64().unwrap());

    let bad: serde_json::Value = serde_json::from_str(&received[1].body).unwrap();
    assert_eq!(bad["event"], "failure");
    assert_eq!(bad["outcome"], "failed");
    let task = &bad["tasks"][0];
    assert_eq!(task["steps"][0]["error_kind"], "unavailable");
    assert!(
        task["steps"][0]["message"]
            .as_str()
            .unwrap()
            .contains("(dir_source) does not exist")
    );
    assert_eq!(task["skipped"], serde_json::json!(["retention", "sync"]));
    assert_eq!(task["health"]["state"], "failing");
    assert_eq!(task["health"]["before"], "ok");
    assert!(
        task["health"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("backup: the source ")
    );
}

/// A world pinging every channel at the base URLs `hc`, `ntfy` and `hook` (ntfy at the
/// start and at a success too, so each channel pings at least once per run).
fn every_channel(hc: &str, ntfy: &str, hook: &str, extra: &str) -> World {
    let mut world = World::new();
    let url_file = secret(&world, "hc-url", &format!("{hc}/ping/check"));
    world.extra = format!(
        "notify:\n{extra}  healthchecks: {{url_file: {url_file}}}\n  \
         ntfy: {{url: '{ntfy}/topic', on: [start, success]}}\n  webhook: {{url: '{hook}/hook'}}\n"
    );
    world
}

/// The pings rows of a run of `every_channel` whose every ping failed with `why(service)`.
fn all_failed(
    hc: &str,
    ntfy: &str,
    hook: &str,
    attempts: u32,
    why: &dyn Fn(&str) -> String,
) -> Vec<String> {
    vec![
        format!("healthchecks start failed {attempts}: {}", why(hc)),
        format!("ntfy start failed {attempts}: {}", why(ntfy)),
        format!("healthchecks success failed {attempts}: {}", why(hc)),
        format!("ntfy success failed {attempts}: {}", why(ntfy)),
        format!("webhook success failed {attempts}: {}", why(hook)),
    ]
}

#[test]
fn a_service_that_is_down_is_tried_three_times_and_the_run_exits_3_with_its_backups_done() {
    let [hc, ntfy, hook] = [(); 3].map(|()| format!("http://127.0.0.1:{}", support::free_port()));
    let world = every_channel(&hc, &ntfy, &hook, "");

    let started = Instant::now();
    let out = run_reporting(&world, "2026-03-01");
    let took = started.elapsed();
    expect(&out, 3);
    assert_eq!(
        entries(&world.local_task()),
        ["2026-03-01"],
        "the backup ran"
    );
    assert_eq!(
        entries(&world.remote_task()),
        ["2026-03-01"],
        "and the sync"
    );
    let refused = |service: &str| format!("cannot connect to {service}: connection refused");
    assert!(
        stderr(&out).contains(&format!(
            "healthchecks start ping: {}; trying again in 1 s",
            refused(&hc)
        )) && stderr(&out).contains(&format!(
            "healthchecks start ping: {}; trying again in 3 s",
            refused(&hc)
        )),
        "{}",
        show(&out)
    );
    let failed = format!("{} (3 attempts)", refused(&hook));
    assert!(
        stderr(&out).contains(&format!("webhook success ping not delivered: {failed}")),
        "{}",
        show(&out)
    );
    assert_eq!(
        ping_rows(&world),
        all_failed(&hc, &ntfy, &hook, 3, &refused)
    );
    // Five pings, each 1 s + 3 s of pauses between three quick refusals.
    assert!(
        took >= Duration::from_secs(20) && took < Duration::from_secs(35),
        "{took:?}"
    );
    let (subject, report) = &reports(&world)[0];
    assert!(
        subject.starts_with("Backup succeeded on "),
        "the report is about the backups: {subject}"
    );
    assert!(
        report.contains(&format!("webhook success ping not delivered: {failed}")),
        "{report}"
    );
    let index = index(&world);
    assert!(index.contains("Notifications not delivered"), "{index}");
    assert!(
        index.contains(&format!(
            "<li>webhook success ping not delivered: {failed}</li>"
        )),
        "{index}"
    );

    // render-site reads the same from the record.
    let site = world.root.path().join("site");
    world.render_site_expecting(&site, 0);
    let rendered = self::index(&world);
    assert_eq!(
        rendered.matches(" ping not delivered: ").count(),
        5,
        "{rendered}"
    );
}

#[test]
fn a_500_is_tried_three_times_and_recorded_as_failed() {
    let dir = tempfile::tempdir().unwrap();
    let [hc, ntfy, hook] = ["hc", "ntfy", "hook"].map(|name| {
        HttpRecorder::start(
            &dir.path().join(name),
            Answer {
                status: Some(500),
                ..Answer::default()
            },
        )
    });
    let world = every_channel(&hc.url(""), &ntfy.url(""), &hook.url(""), "");
    let out = world.run("2026-03-01");
    expect(&out, 3);
    assert_eq!(
        hc.lines(),
        [
            "POST /ping/check/start",
            "POST /ping/check/start",
            "POST /ping/check/start",
            "POST /ping/check",
            "POST /ping/check",
            "POST /ping/check",
        ]
    );
    assert_eq!(ntfy.lines(), ["POST /topic"; 6]);
    assert_eq!(hook.lines(), ["POST /hook"; 3]);
    assert_eq!(
        ping_rows(&world),
        all_failed(&hc.url(""), &ntfy.url(""), &hook.url(""), 3, &|s| format!(
            "{s} answered HTTP 500"
        ))
    );
    assert!(world.local_task().join("2026-03-01").is_dir());
}

#[test]
fn a_404_or_a_redirect_is_not_tried_again() {
    let dir = tempfile::tempdir().unwrap();
    let [missing, moved] = [404, 302].map(|status| {
        HttpRecorder::start(
            &dir.path().join(status.to_string()),
            Answer {
                status: Some(status),
                ..Answer::default()
            },
        )
    });
    let world = world_with(&format!(
        "  ntfy: {{url: '{}', on: [success]}}\n  webhook: {{url: '{}'}}\n",
        missing.url("/no-such-topic"),
        moved.url("/old-hook")
    ));
    expect(&world.run("2026-03-01"), 3);
    assert_eq!(missing.lines(), ["POST /no-such-topic"]);
    assert_eq!(
        moved.lines(),
        ["POST /old-hook"],
        "not followed, not tried again"
    );
    assert_eq!(
        ping_rows(&world),
        [
            format!(
                "ntfy success failed 1: {} answered HTTP 404: is the URL right?",
                missing.url("")
            ),
            format!(
                "webhook success failed 1: {} answered HTTP 302 (a redirect): give the URL it redirects to",
                moved.url("")
            ),
        ]
    );
}

#[test]
fn a_500_that_passes_is_delivered_on_the_second_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let flaky = HttpRecorder::start(
        dir.path(),
        Answer {
            fail_first: 1,
            ..Answer::default()
        },
    );
    let world = world_with(&format!("  webhook: {{url: '{}'}}\n", flaky.url("/hook")));
    expect(&world.run("2026-03-01"), 0);
    assert_eq!(flaky.lines().len(), 2);
    assert_eq!(ping_rows(&world), ["webhook success delivered 2: HTTP 200"]);
}

#[test]
fn a_service_that_hangs_is_given_up_within_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let [hc, ntfy, hook] = ["hc", "ntfy", "hook"].map(|name| {
        HttpRecorder::start(
            &dir.path().join(name),
            Answer {
                hang: true,
                ..Answer::default()
            },
        )
    });
    let world = every_channel(
        &hc.url(""),
        &ntfy.url(""),
        &hook.url(""),
        "  timeout_secs: 1\n",
    );
    let started = Instant::now();
    let out = world.run("2026-03-01");
    let took = started.elapsed();
    expect(&out, 3);
    assert_eq!(hc.lines().len(), 6, "three attempts at each of two pings");
    assert_eq!(ntfy.lines().len(), 6);
    assert_eq!(hook.lines().len(), 3);
    // Five pings, each three attempts of 1 s and pauses of 1 s and 3 s: 35 s, and the
    // backup itself.
    assert!(
        took >= Duration::from_secs(35) && took < Duration::from_secs(45),
        "{took:?}"
    );
    assert_eq!(
        ping_rows(&world),
        all_failed(&hc.url(""), &ntfy.url(""), &hook.url(""), 3, &|s| format!(
            "{s} did not answer in time (notify.timeout_secs)"
        ))
    );
}

#[test]
fn https_is_verified_against_notify_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let service = HttpRecorder::start(dir.path(), Answer::https());
    let mut world = World::new();
    let url_file = secret(&world, "hc-url", &service.url("/ping/tls"));
    world.extra = format!("notify:\n  healthchecks: {{url_file: {url_file}}}\n");
    let out = world.run("2026-03-01");
    expect(&out, 3);
    assert_eq!(service.lines(), Vec::<String>::new(), "nothing got through");
    let rows = ping_rows(&world);
    assert_eq!(rows.len(), 2);
    assert!(
        rows[0].starts_with(&format!(
            "healthchecks start failed 1: TLS with {} failed: ",
            service.url("")
        )) && rows[0].ends_with("(is the certificate trusted? see notify.ca_file)"),
        "an untrusted certificate is not tried again: {rows:?}"
    );

    world.extra = format!(
        "notify:\n  ca_file: {}\n  healthchecks: {{url_file: {url_file}}}\n",
        service.ca_file.display()
    );
    expect(&world.run("2026-03-02"), 0);
    assert_eq!(service.lines(), ["POST /ping/tls/start", "POST /ping/tls"]);
}

#[test]
fn a_secret_file_that_cannot_be_read_fails_its_pings_not_the_backup() {
    let world = world_with("  healthchecks: {url_file: /nonexistent/hc-url}\n");
    let out = world.run("2026-03-01");
    expect(&out, 3);
    assert!(world.local_task().join("2026-03-01").is_dir());
    let rows = ping_rows(&world);
    assert!(
        rows[0].starts_with("healthchecks start failed 0: cannot read notify.healthchecks.url_file (failed to open file `/nonexistent/hc-url`"),
        "{rows:?}"
    );
    let bad = world.root.path().join("bad-url");
    fs::write(&bad, "hc-ping.com/not-a-url-k2x\n").unwrap();
    let world = world_with(&format!(
        "  healthchecks: {{url_file: {}}}\n",
        bad.display()
    ));
    let out = world.run("2026-03-01");
    expect(&out, 3);
    assert!(
        stderr(&out).contains(&format!(
            "healthchecks start ping not delivered: notify.healthchecks.url_file {}: what it holds must be an http:// or https:// URL",
            bad.display()
        )),
        "{}",
        show(&out)
    );
    assert!(!stderr(&out).contains("k2x"), "the content is never shown");
}

#[test]
fn no_secret_reaches_argv_the_environment_stderr_logs_the_record_the_report_or_the_pages() {
    let dir = tempfile::tempdir().unwrap();
    let hc = HttpRecorder::start(&dir.path().join("hc"), Answer::default());
    let ntfy_token = "tk_Q9sekret0ntfy";
    let ntfy = HttpRecorder::start(
        &dir.path().join("ntfy"),
        Answer {
            token: Some(ntfy_token.into()),
            ..Answer::default()
        },
    );
    let hook = HttpRecorder::start(&dir.path().join("hook"), Answer::default());
    let mut world = World::new();
    let secrets = [
        "Q9sekret0check",
        "Q9sekret0topic",
        ntfy_token,
        "Q9sekret0hookpath",
        "Q9sekret0header",
    ];
    let hc_url = secret(&world, "hc-url", &hc.url("/ping/Q9sekret0check"));
    let ntfy_url = secret(&world, "ntfy-url", &ntfy.url("/Q9sekret0topic"));
    let ntfy_token_file = secret(&world, "ntfy-token", ntfy_token);
    let hook_url = secret(&world, "hook-url", &hook.url("/Q9sekret0hookpath"));
    let hook_headers = secret(&world, "hook-headers", "Authorization: Q9sekret0header");
    world.extra = format!(
        "notify:\n  healthchecks: {{url_file: {hc_url}}}\n  \
         ntfy: {{url_file: {ntfy_url}, token_file: {ntfy_token_file}, on: [start, failure, success]}}\n  \
         webhook: {{url_file: {hook_url}, headers_file: {hook_headers}}}\n"
    );
    // The before command writes every process's argv and its own environment into its
    // log, while backup-server runs.
    world.task_extra =
        "    before: \"for f in /proc/[0-9]*/cmdline; do tr '\\\\0' ' ' < $f; echo; done; env\"\n"
            .into();
    let out = run_reporting(&world, "2026-03-01");
    expect(&out, 0);
    // And a failing night, whose healthchecks ping carries the logs.
    fs::rename(&world.source, world.root.path().join("unmounted")).unwrap();
    expect(&run_reporting(&world, "2026-03-02"), 1);

    assert_eq!(hc.lines().len(), 4);
    assert_eq!(
        ntfy.lines().len(),
        4,
        "start and end, twice: {:?}",
        ntfy.lines()
    );
    assert_eq!(hook.lines().len(), 2);
    assert!(
        fs::read_to_string(world.state.join("logs/data_before.log"))
            .unwrap_or_default()
            .contains("backup-server"),
        "the before log lists the processes"
    );
    let mut places = vec![(
        "stderr".to_string(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )];
    for root in [
        &world.state,
        &world.root.path().join("mail"),
        &world.root.path().join("site"),
    ] {
        collect(root, &mut places);
    }
    assert!(
        places.len() > 10,
        "{:?}",
        places.iter().map(|p| &p.0).collect::<Vec<_>>()
    );
    for (place, text) in &places {
        for secret in secrets {
            assert!(!text.contains(secret), "{secret} is in {place}");
        }
    }
}

/// Every file under `dir`, as (path, lossy text).
fn collect(dir: &Path, into: &mut Vec<(String, String)>) {
    let Ok(read) = fs::read_dir(dir) else {
        return;
    };
    for entry in read {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, into);
        } else if let Ok(bytes) = fs::read(&path) {
            into.push((
                path.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
    }
}

#[test]
fn a_ping_that_could_not_be_delivered_is_worth_a_report_even_when_mail_is_only_for_attention() {
    let port = support::free_port();
    let mut world = World::new();
    // Summaries on Mondays, the run on Tuesday 3 March 2026: nothing else would mail.
    world.extra = format!(
        "email_when: attention\nsummary_weekday: monday\nnotify:\n  \
         webhook: {{url: 'http://127.0.0.1:{port}/hook'}}\n"
    );
    expect(&run_reporting(&world, "2026-03-03"), 3);
    let reports = reports(&world);
    assert_eq!(reports.len(), 1, "the failed ping is news");
    assert!(
        reports[0]
            .1
            .contains("webhook success ping not delivered: cannot connect to "),
        "{}",
        reports[0].1
    );
}
