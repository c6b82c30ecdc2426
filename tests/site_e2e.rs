//! The site as a visitor gets it: real runs render it, nginx serves it on 127.0.0.1
//! (the server block the NixOS module uses), every link resolves, and headless
//! Chromium shows the tasks and their states. Screenshots go to target/test-artifacts.

mod support;

use std::collections::{BTreeSet, VecDeque};
use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use support::{World, free_port, show};

struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM, not Child::kill's SIGKILL: the master must take its workers down.
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

fn start_nginx(prefix: &Path, site: &Path, port: u16) -> Nginx {
    fs::create_dir_all(prefix).unwrap();
    let conf = backup_server::site::nginx::write_config(prefix, site, port).unwrap();
    let child = Command::new("nginx")
        .arg("-p")
        .arg(prefix)
        .args(["-e", "stderr", "-c"])
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(prefix.join("nginx.log")).unwrap())
        .spawn()
        .expect("nginx runs (apt-get install nginx)");
    support::wait_for_port(port, "nginx", &prefix.join("nginx.log"));
    Nginx(child)
}

/// A plain HTTP/1.0 GET: (status, headers, body).
fn get(port: u16, path: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_lowercase(), body.to_string())
}

/// The local links of a page, resolved against its path.
fn links(page: &str, html: &str) -> Vec<String> {
    let base = &page[..page.rfind('/').map_or(0, |i| i + 1)];
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|href| !href.contains("://") && !href.starts_with('#'))
        .map(|href| {
            let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
            for part in href.split('/') {
                match part {
                    ".." => {
                        parts.pop();
                    }
                    "." | "" => {}
                    other => parts.push(other),
                }
            }
            format!("/{}", parts.join("/"))
        })
        .collect()
}

fn chromium(args: &[&str], url: &str) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
        ])
        .args([
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .expect("chromium runs (apt-get install chromium)")
}

#[test]
fn nginx_serves_every_page_and_chromium_shows_the_tasks() {
    let world = World::new();
    // nginx's workers run as nobody: the path to the site must be open to them.
    fs::set_permissions(world.root.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let site = world.root.path().join("site");
    for (day, ok) in [
        ("2026-03-01", true),
        ("2026-03-02", false),
        ("2026-03-03", true),
        ("2026-03-04", false),
    ] {
        let parked = world.root.path().join("parked");
        if !ok {
            fs::rename(&world.source, &parked).unwrap();
        }
        let out = world.run_rendering(day, &site);
        assert_eq!(out.status.success(), ok, "{}", show(&out));
        if !ok {
            fs::rename(&parked, &world.source).unwrap();
        }
    }
    let port = free_port();
    let _nginx = start_nginx(&world.root.path().join("nginx"), &site, port);

    // Crawl every link from the index: no 404 anywhere.
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from(["/index.html".to_string()]);
    while let Some(path) = queue.pop_front() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let (status, _, body) = get(port, &path);
        assert_eq!(status, 200, "{path}");
        if path.ends_with(".html") {
            queue.extend(links(&path, &body));
        }
    }
    for expected in [
        "/style.css",
        "/status.json",
        "/metrics.prom",
        "/feed.atom",
        "/tasks/data/index.html",
    ] {
        assert!(seen.contains(expected), "{expected} is linked: {seen:?}");
    }

    let (_, headers, _) = get(port, "/status.json");
    assert!(
        headers.contains("content-type: application/json"),
        "{headers}"
    );
    let (_, headers, _) = get(port, "/metrics.prom");
    assert!(
        headers.contains("content-type: text/plain; version=0.0.4"),
        "{headers}"
    );
    let (_, headers, _) = get(port, "/feed.atom");
    assert!(
        headers.contains("content-type: application/atom+xml"),
        "{headers}"
    );
    assert!(headers.contains("cache-control: no-cache"), "{headers}");
    assert_eq!(
        get(port, "/.backup-server-site").0,
        404,
        "hidden files stay hidden"
    );
    assert_ne!(get(port, "/tasks/").0, 200, "no directory listing");

    // What a browser shows.
    let url = format!("http://127.0.0.1:{port}/");
    let dom = chromium(&["--dump-dom"], &url);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("1 of 1 task needs attention"), "{dom}");
    assert!(
        dom.contains(">data</a>: <span class=\"why\">failing since"),
        "{dom}"
    );
    let task_dom = chromium(&["--dump-dom"], &format!("{url}tasks/data/index.html"));
    let task_dom = String::from_utf8_lossy(&task_dom.stdout);
    assert_eq!(
        task_dom.matches("<article class=\"run\">").count(),
        4,
        "{task_dom}"
    );
    assert!(
        task_dom.contains("2 days all good, 2 days with a failed run"),
        "{task_dom}"
    );

    // Screenshots to look at: a desktop, and a phone in dark mode (Chromium's
    // --force-dark-mode makes `prefers-color-scheme: dark` match, as a phone set to dark
    // would). The pages carry a viewport meta tag, and their tables become cards on a
    // phone (tests/layout.rs measures them).
    assert!(
        dom.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
    );
    assert!(dom.contains("<meta name=\"color-scheme\" content=\"light dark\">"));
    assert!(dom.contains("<table class=\"tasks cards\">"), "{dom}");
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    fs::create_dir_all(&artifacts).unwrap();
    for (name, page, size, dark) in [
        ("site-index.png", "", "1100,900", false),
        ("site-task.png", "tasks/data/index.html", "1100,900", false),
        ("site-index-phone-dark.png", "", "390,844", true),
        (
            "site-task-phone-dark.png",
            "tasks/data/index.html",
            "390,844",
            true,
        ),
    ] {
        let shot = artifacts.join(name);
        let _ = fs::remove_file(&shot);
        let window = format!("--window-size={size}");
        let target = format!("--screenshot={}", shot.display());
        let mut args = vec!["--hide-scrollbars", window.as_str(), target.as_str()];
        if dark {
            args.push("--force-dark-mode");
        }
        let out = chromium(&args, &format!("{url}{page}"));
        assert!(shot.exists(), "no screenshot: {}", show(&out));
    }
}
