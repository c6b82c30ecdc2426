//! Shared set-up for the integration tests: a scratch world with a source, a local
//! backup disk and a "remote", the real binary, and a real sshd on 127.0.0.1.
#![allow(dead_code)] // each test file uses a different part

pub mod btrfs;
pub mod faults;
pub mod helper_server;
pub mod http;
pub mod nobody;
pub mod results;
pub mod site;
pub mod smtp;
pub mod sshd;
pub mod targets;
pub mod tree;
pub mod two_nights;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

/// One scratch world: `source/`, `local/` (the backup disk), `remote/`, `state/`.
pub struct World {
    pub root: TempDir,
    pub source: PathBuf,
    pub local: PathBuf,
    pub remote: PathBuf,
    pub state: PathBuf,
    /// Extra top-level YAML lines appended to the config.
    pub extra: String,
    /// The `dir_backup_remote` value; `remote/` by default.
    pub remote_spec: String,
    /// The task's `dir_source` value; `source/` by default.
    pub source_spec: String,
    /// Extra YAML for the task mapping (indented under it).
    pub task_extra: String,
}

impl World {
    /// A world whose source holds a few files in a couple of directories.
    pub fn new() -> World {
        let root = tempfile::Builder::new()
            .prefix("backup-server-test")
            .tempdir()
            .unwrap();
        let source = root.path().join("source");
        let local = root.path().join("local");
        let remote = root.path().join("remote");
        let state = root.path().join("state");
        for dir in [&source, &local, &remote] {
            fs::create_dir_all(dir).unwrap();
        }
        write(&source.join("docs/report.txt"), "quarterly numbers\n");
        write(&source.join("docs/notes.md"), "# notes\n");
        write(&source.join("photos/cat.jpg"), &"jpeg".repeat(1000));
        World {
            source_spec: source.display().to_string(),
            remote_spec: remote.display().to_string(),
            root,
            source,
            local,
            remote,
            state,
            extra: String::new(),
            task_extra: String::new(),
        }
    }

    pub fn config_text(&self) -> String {
        format!(
            "dir_backup_local: {}\ndir_backup_remote: {}\nemail_sender: backup@example.com\n\
             email_report: admin@example.com\n{}tasks:\n  - name: data\n    dir_source: {}\n{}",
            self.local.display(),
            self.remote_spec,
            self.extra,
            self.source_spec,
            self.task_extra,
        )
    }

    pub fn config_path(&self) -> PathBuf {
        let path = self.root.path().join("backup_config.yml");
        fs::write(&path, self.config_text()).unwrap();
        path
    }

    /// `backup-server run --no-email` as if today were `today`.
    pub fn command(&self, today: &str) -> Command {
        let mut command = self.emailing_command(today);
        command.arg("--no-email");
        command
    }

    /// `backup-server run`, report included, as if today were `today`.
    pub fn emailing_command(&self, today: &str) -> Command {
        let mut command = self.binary();
        command.args(["--today", today, "run"]);
        command
    }

    /// `backup-server run`, its report written as a file into `dir` instead of sent,
    /// as if today were `today`.
    pub fn run_reporting_to(&self, today: &str, dir: &Path) -> Output {
        self.emailing_command(today)
            .arg("--email-to")
            .arg(dir)
            .output()
            .unwrap()
    }

    /// The binary with this world's config and state, and nothing else yet: the
    /// command, its options and the day are the caller's.
    pub fn binary(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_backup-server"));
        command
            .arg("--config")
            .arg(self.config_path())
            .arg("--state-dir")
            .arg(&self.state);
        command
    }

    pub fn run(&self, today: &str) -> Output {
        self.command(today).output().unwrap()
    }

    /// Runs and insists on exit status `code`, showing the output if not.
    pub fn run_expecting(&self, today: &str, code: i32) -> Output {
        let out = self.run(today);
        assert_eq!(
            out.status.code(),
            Some(code),
            "run on {today}:\n{}",
            show(&out)
        );
        out
    }

    pub fn local_task(&self) -> PathBuf {
        self.local.join("data")
    }

    pub fn remote_task(&self) -> PathBuf {
        self.remote.join("data")
    }

    /// The `task_run` rows, as `step:success` strings, oldest first.
    pub fn db_steps(&self) -> Vec<String> {
        self.query(
            "SELECT id_step || ':' || success_step || ':' || success_task FROM task_run ORDER BY rowid",
        )
    }

    /// The rows `sql` selects from this world's log.db, one line each, read by the
    /// real sqlite3 rather than by the code under test.
    pub fn query(&self, sql: &str) -> Vec<String> {
        let out = Command::new("sqlite3")
            .arg(self.state.join("log.db"))
            .arg(sql)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", show(&out));
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// `backup-server SUBCOMMAND ARGS...` (list, restore, verify, ...) with this
    /// world's config and state, as if today were `today`.
    pub fn cli(&self, today: &str, args: &[&str]) -> Output {
        self.binary()
            .args(["--today", today])
            .args(args)
            .output()
            .unwrap()
    }

    /// Like `cli`, insisting on exit status `code`; returns stdout.
    pub fn cli_expecting(&self, today: &str, args: &[&str], code: i32) -> String {
        let out = self.cli(today, args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?} on {today}:\n{}",
            show(&out)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// A step log of task data (bytes that are not UTF-8 shown as U+FFFD).
    pub fn step_log(&self, step: &str) -> String {
        let log = fs::read(self.state.join("logs").join(format!("data_{step}.log"))).unwrap();
        String::from_utf8_lossy(&log).into_owned()
    }
}

pub fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

pub fn inode(path: &Path) -> u64 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .ino()
}

/// Every entry name of a directory (hidden ones included), sorted; empty when it
/// does not exist.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

pub fn show(out: &Output) -> String {
    format!(
        "status: {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A directory holding an `rsync` that is the real one slowed to `kib_per_sec`, to
/// put first on PATH so a test can act while a transfer is under way.
pub fn slow_rsync(root: &Path, kib_per_sec: u32) -> PathBuf {
    let dir = root.join("slow-bin");
    fs::create_dir_all(&dir).unwrap();
    let wrapper = dir.join("rsync");
    fs::write(
        &wrapper,
        format!("#!/bin/sh\nexec /usr/bin/rsync --bwlimit={kib_per_sec} \"$@\"\n"),
    )
    .unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(&wrapper)
        .status()
        .unwrap();
    dir
}

/// The text of `entry` in the zip archive `zip`.
pub fn unzip_entry(zip: &[u8], entry: &str) -> String {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("a zip archive");
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut archive.by_name(entry).expect("the entry exists"),
        &mut text,
    )
    .unwrap();
    text
}

/// Waits until something listens on 127.0.0.1:`port`; on time-out shows `log`.
pub fn wait_for_port(port: u16, what: &str, log: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} did not listen: {}",
            fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// PATH with `dir` first.
pub fn path_with(dir: &Path) -> String {
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// The commands a person types (the hidden `generate` is the package's, not theirs).
pub const COMMANDS: [&str; 8] = [
    "run",
    "check-config",
    "render-site",
    "doctor",
    "demo",
    "list",
    "restore",
    "verify",
];

/// Records each task run as a run of its own in `state`'s log.db, as `backup-server run`
/// would; returns the record, for what a test adds to it.
pub fn record_runs(
    state: &Path,
    runs: &[backup_server::outcome::TaskResult],
) -> backup_server::record::Record {
    fs::create_dir_all(state).unwrap();
    let mut db = backup_server::record::Record::open(&state.join("log.db")).unwrap();
    for task in runs {
        let run = db.begin_run("nas", task.started, "2026-01-01").unwrap();
        db.begin_task(run, &task.name, task.started).unwrap();
        for step in &task.steps {
            db.step(run, &task.name, step).unwrap();
        }
        db.end_task(run, task).unwrap();
        db.end_run(run, task.ended, task.word()).unwrap();
    }
    db
}

/// Waits until what was just written is older than the change times backup-server
/// takes on trust (2 s, `manifest::RACY`): a night's record of the source then counts
/// it as known, and the next night reads only what changed after.
pub fn settle() {
    std::thread::sleep(std::time::Duration::from_millis(2100));
}
