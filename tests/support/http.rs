//! A real HTTP server for the tests (tests/support/http_recorder.py on Debian's
//! python3): records every request it receives, and answers as a test asks (200, 500
//! for a while, never, or 403 without the right token), over HTTP or HTTPS.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

/// How the server answers.
#[derive(Clone, Debug, Default)]
pub struct Answer {
    /// The status of every answer (default 200).
    pub status: Option<u16>,
    /// Answer 500 to this many requests first.
    pub fail_first: u32,
    /// Record the request and never answer.
    pub hang: bool,
    /// Answer 403 unless `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Speak HTTPS with a certificate signed by a CA made in the server's directory.
    pub https: bool,
}

impl Answer {
    /// 200 to everything, over HTTPS.
    pub fn https() -> Answer {
        Answer {
            https: true,
            ..Answer::default()
        }
    }
}

/// One request as the server received it.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Names in lower case.
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

pub struct HttpRecorder {
    pub port: u16,
    /// The CA that signed the server's certificate (with `https`).
    pub ca_file: PathBuf,
    log: PathBuf,
    https: bool,
    child: Child,
}

impl HttpRecorder {
    /// Starts a server with its files in `dir` (one server per directory).
    pub fn start(dir: &Path, answer: Answer) -> HttpRecorder {
        fs::create_dir_all(dir).unwrap();
        let port = super::free_port();
        let log = dir.join("requests.jsonl");
        let mut command = Command::new("/usr/bin/python3");
        command
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/http_recorder.py"))
            .arg(port.to_string())
            .arg(&log);
        if let Some(status) = answer.status {
            command.args(["--status", &status.to_string()]);
        }
        if answer.fail_first > 0 {
            command.args(["--fail-first", &answer.fail_first.to_string()]);
        }
        if answer.hang {
            command.arg("--hang");
        }
        if let Some(token) = &answer.token {
            let file = dir.join("token");
            fs::write(&file, token).unwrap();
            command.arg("--token-file").arg(file);
        }
        if answer.https {
            super::smtp::make_ca(dir, "ca");
            command
                .arg("--cert")
                .arg(dir.join("ca-server.crt"))
                .arg("--key")
                .arg(dir.join("ca-server.key"));
        }
        let child = super::helper_server::start_until_ready(
            &mut command,
            &dir.join("http.log"),
            "HTTP",
            "/usr/bin/python3 runs",
        );
        HttpRecorder {
            port,
            ca_file: dir.join("ca.crt"),
            log,
            https: answer.https,
            child,
        }
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }

    /// What it received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect()
    }

    /// `METHOD path` of each request, oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.received()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }
}

impl Drop for HttpRecorder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
