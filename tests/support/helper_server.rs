//! Starting one of the Python servers in tests/support (the SMTP server, the HTTP
//! recorder): each prints `ready` on its stdout once it listens, so a test waits for
//! that line rather than for a port, and sees the server's log when it never comes.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Spawns `command` with its stderr in `log` and waits for its `ready` line; `what`
/// names it and `expect` says what to install when it cannot even be run.
pub fn start_until_ready(command: &mut Command, log: &Path, what: &str, expect: &str) -> Child {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(fs::File::create(log).unwrap())
        .spawn()
        .expect(expect);
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(
        line.trim(),
        "ready",
        "the {what} server did not start: {}",
        fs::read_to_string(log).unwrap_or_default()
    );
    child
}
