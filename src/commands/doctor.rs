//! `backup-server doctor`: is everything a first run needs in place? Checked without
//! writing anything, and said as a checklist with the fix for each failure.
//!
//! A new setup fails in the first night's run for reasons that could have been seen in
//! a minute: a source root cannot read, a backup disk not mounted, a target whose host
//! key is not the pinned one or that has no rsync, a Gmail app password typed wrong, a
//! ping URL with a typo. The doctor tries each the way the run will (the same config,
//! the same ssh_config, the same TLS and login), but stops short of doing anything: no
//! snapshot, no mail, no ping, nothing in the state directory (the ssh_config it needs
//! is written into a temporary directory), and reports every problem at once. It exits
//! 0 only when every check passed, 1 when one failed, 2 when the config is invalid.

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::config::{Config, Notify};
use crate::error::Error;
use crate::exit::Exit;
use crate::notify::http::Http;
use crate::plan::Plan;
use crate::report::deliver::Trouble;
use crate::state::StateDir;

pub struct DoctorOptions {
    /// Print the checks as JSON (crate::json) instead of the checklist.
    pub json: bool,
    pub config: PathBuf,
    pub state: StateDir,
    pub scripts_dir: Option<PathBuf>,
    /// `--password-file`; `None`: the run's default.
    pub password_file: Option<PathBuf>,
    /// `--no-email`: the run will not send a report, so the login is not checked (nor
    /// with `email_when: never`).
    pub email: bool,
}

/// One item of the checklist.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// What was checked: "backup disk", "SSH to backup@nas.lan".
    pub item: String,
    pub result: Result<String, Failure>,
}

/// What is wrong, and what to do about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub problem: String,
    pub fix: String,
}

fn pass(item: impl Into<String>, what: impl Into<String>) -> Finding {
    Finding {
        item: item.into(),
        result: Ok(what.into()),
    }
}

/// A check that failed: `problem` is the error as a person reads it.
fn fail(
    item: impl Into<String>,
    problem: impl std::fmt::Display,
    fix: impl Into<String>,
) -> Finding {
    Finding {
        item: item.into(),
        result: Err(Failure {
            problem: problem.to_string(),
            fix: fix.into(),
        }),
    }
}

/// Runs every check, prints the checklist, and says how it went.
pub fn doctor(opts: &DoctorOptions) -> Result<Exit, Error> {
    let mut checks = Vec::new();
    let config = match Config::load(&opts.config) {
        Ok(config) => {
            let n = config.tasks.len();
            checks.push(pass(
                "config",
                format!(
                    "{} is valid ({n} task{})",
                    opts.config.display(),
                    if n == 1 { "" } else { "s" }
                ),
            ));
            config
        }
        Err(e) => {
            checks.push(fail(
                "config",
                e.to_string(),
                format!(
                    "correct the keys named above in {}; `backup-server check-config` shows the same",
                    opts.config.display()
                ),
            ));
            show(&checks, opts.json);
            return Ok(Exit::Usage);
        }
    };
    let plan = Plan::new(&config, crate::clock::Clock::system().today());
    checks.push(scripts(opts.scripts_dir.as_deref()));
    checks.extend(sources(&config));
    checks.push(backup_disk(&config));
    checks.extend(local_targets(&config));
    checks.extend(ssh(&config, &plan, &opts.state));
    if opts.email && config.email_when != crate::config::EmailWhen::Never {
        checks.push(smtp(&config, opts.password_file.as_deref()));
    }
    checks.extend(pings(&config.notify));
    show(&checks, opts.json);
    Ok(if checks.iter().all(|c| c.result.is_ok()) {
        Exit::Success
    } else {
        Exit::TaskFailed
    })
}

/// The checklist on stdout (coloured on a terminal), or its JSON.
fn show(checks: &[Finding], json: bool) {
    if json {
        crate::json::print(&as_json(checks));
    } else {
        let paint = crate::journal::Paint::stdout();
        crate::journal::print_out(&checklist(checks, paint));
    }
}

/// The checklist as printed: a ✓ or ✗ line per check, the fix under each ✗, a total.
pub fn checklist(checks: &[Finding], paint: crate::journal::Paint) -> String {
    let mut out = String::new();
    for check in checks {
        match &check.result {
            Ok(what) => writeln!(out, "{} {}: {what}", paint.good("✓"), check.item),
            Err(failure) => writeln!(
                out,
                "{} {}: {}\n    fix: {}",
                paint.bad("✗"),
                check.item,
                failure.problem.replace('\n', "\n    "),
                failure.fix
            ),
        }
        .expect("writing to a String");
    }
    let failed = checks.iter().filter(|c| c.result.is_err()).count();
    if failed == 0 {
        writeln!(out, "\nAll {} checks passed.", checks.len())
    } else {
        writeln!(out, "\n{failed} of {} checks failed.", checks.len())
    }
    .expect("writing to a String");
    out
}

fn scripts(dir: Option<&Path>) -> Finding {
    match crate::scripts::Scripts::locate(dir) {
        Ok(_) => pass("step scripts", "found"),
        Err(e) => fail(
            "step scripts",
            e,
            "install backup-server as packaged (the scripts in ../libexec/backup-server beside the binary), or pass --scripts-dir",
        ),
    }
}

/// Each local source: a directory root can list.
fn sources(config: &Config) -> Vec<Finding> {
    config
        .tasks
        .iter()
        .enumerate()
        .filter_map(|(i, task)| {
            let path = task.dir_source.local_path()?;
            let item = format!("source of task {}", task.name);
            let key = format!("tasks[{i}].dir_source");
            Some(match readable_dir(path) {
                Ok(()) => pass(item, format!("{} is a readable directory", path.display())),
                Err(Unreadable::Missing) => fail(
                    item,
                    format!("{} does not exist", path.display()),
                    format!("mount the disk that holds it, or correct {key}"),
                ),
                Err(Unreadable::NotDirectory) => fail(
                    item,
                    format!("{} is not a directory", path.display()),
                    format!("point {key} at a directory"),
                ),
                Err(Unreadable::Denied(e)) => fail(
                    item,
                    format!("{} cannot be read: {e}", path.display()),
                    "let the user of the run (root under the service) read and list it",
                ),
            })
        })
        .collect()
}

enum Unreadable {
    Missing,
    NotDirectory,
    Denied(std::io::Error),
}

/// A directory whose entries can be listed (as the backup's rsync must).
fn readable_dir(path: &Path) -> Result<(), Unreadable> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Unreadable::Missing),
        Err(e) => return Err(Unreadable::Denied(e)),
        Ok(meta) if !meta.is_dir() => return Err(Unreadable::NotDirectory),
        Ok(_) => {}
    }
    let mut entries = std::fs::read_dir(path).map_err(Unreadable::Denied)?;
    match entries.next() {
        Some(Err(e)) => Err(Unreadable::Denied(e)),
        _ => Ok(()),
    }
}

/// `access(2)` for writing: what the kernel says, without writing (a read-only mount
/// says EROFS).
fn writable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    // SAFETY: c is a valid NUL-terminated string that outlives the call.
    if unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn backup_disk(config: &Config) -> Finding {
    let dir = &config.dir_backup_local;
    let item = "backup disk";
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return fail(
                item,
                format!("{} does not exist", dir.display()),
                format!(
                    "mount the backup disk at {} (backup-server never creates it, so that an unmounted disk cannot fill the root file system), or correct dir_backup_local",
                    dir.display()
                ),
            );
        }
        Err(e) => {
            return fail(
                item,
                format!("{} cannot be read: {e}", dir.display()),
                "let root read it",
            );
        }
        Ok(meta) if !meta.is_dir() => {
            return fail(
                item,
                format!("{} is not a directory", dir.display()),
                "point dir_backup_local at the backup disk's directory",
            );
        }
        Ok(_) => {}
    }
    let mount = if config.require_mountpoint {
        match crate::mountpoint::is_mountpoint(dir) {
            Ok(true) => " is a mount point and",
            Ok(false) => {
                return fail(
                    item,
                    format!(
                        "{} is not a mount point (require_mountpoint: true)",
                        dir.display()
                    ),
                    format!(
                        "mount the backup disk at {} (see /etc/fstab or fileSystems), or set require_mountpoint: false",
                        dir.display()
                    ),
                );
            }
            Err(e) => {
                return fail(
                    item,
                    format!(
                        "cannot tell whether {} is a mount point: {e}",
                        dir.display()
                    ),
                    "check /proc/self/mountinfo is readable",
                );
            }
        }
    } else {
        ""
    };
    match writable(dir) {
        Ok(()) => pass(item, format!("{}{mount} is writable", dir.display())),
        Err(e) => fail(
            item,
            format!("{} is not writable: {e}", dir.display()),
            "let root write it (is the disk mounted read-only?)",
        ),
    }
}

/// Targets on a local path (a second disk): there and writable.
fn local_targets(config: &Config) -> Vec<Finding> {
    config
        .targets
        .iter()
        .filter_map(|target| {
            let dir = target.location.local_path()?;
            let item = format!("target {}", target.name);
            let key = if target.seed {
                "dir_backup_remote".to_string()
            } else {
                format!("the location of target {}", target.name)
            };
            Some(if !dir.is_dir() {
                fail(
                    item,
                    format!("{} does not exist", dir.display()),
                    format!("mount the disk it lives on, or correct {key}"),
                )
            } else {
                match writable(dir) {
                    Ok(()) => pass(item, format!("{} is writable", dir.display())),
                    Err(e) => fail(
                        item,
                        format!("{} is not writable: {e}", dir.display()),
                        "let root write it (is it mounted read-only?)",
                    ),
                }
            })
        })
        .collect()
}

/// How long one SSH check may take, whatever ssh does.
const SSH_LIMIT: Duration = Duration::from_secs(60);

/// The SSH key, then each host: reachable with its pinned host key, holding rsync.
fn ssh(config: &Config, plan: &Plan, state: &StateDir) -> Vec<Finding> {
    let Some(ssh) = &plan.ssh else {
        return Vec::new();
    };
    let mut checks = Vec::new();
    match std::fs::File::open(&ssh.key) {
        Ok(_) => checks.push(pass(
            "SSH key",
            format!("{} is readable", ssh.key.display()),
        )),
        Err(e) => {
            checks.push(fail(
                "SSH key",
                format!("{} cannot be read: {e}", ssh.key.display()),
                format!(
                    "create it (ssh-keygen -t ed25519 -N '' -f {}) and add its .pub to each host's authorized_keys, or correct ssh_key",
                    ssh.key.display()
                ),
            ));
            return checks;
        }
    }
    // The run's own ssh_config, written into a scratch directory, with a copy of the
    // host keys trusted so far when none are pinned: a first contact is remembered
    // there, never in the state directory.
    let scratch = match tempfile::Builder::new()
        .prefix("backup-server-doctor.")
        .tempdir()
    {
        Ok(dir) => dir,
        Err(e) => {
            checks.push(fail(
                "SSH",
                format!("cannot make a temporary directory: {e}"),
                "check that $TMPDIR (or /tmp) is writable",
            ));
            return checks;
        }
    };
    let scratch_state = StateDir::new(scratch.path().to_path_buf());
    if ssh.known_hosts.is_none() && state.known_hosts().is_file() {
        let _ = std::fs::copy(state.known_hosts(), scratch_state.known_hosts());
    }
    let ssh_config = match crate::ssh::write_config(ssh, &scratch_state) {
        Ok(path) => path,
        Err(e) => {
            checks.push(fail(
                "SSH",
                format!("cannot write a temporary ssh_config: {e}"),
                "check that $TMPDIR (or /tmp) is writable",
            ));
            return checks;
        }
    };
    for (host, roles) in ssh_hosts(config) {
        checks.push(ssh_host(
            &host,
            &roles,
            &ssh_config,
            ssh.known_hosts.as_deref(),
            &scratch_state,
            state,
        ));
    }
    checks
}

/// Each host reached over SSH, with what it is for ("source of task home", "target
/// remote"), in the config's order.
fn ssh_hosts(config: &Config) -> Vec<(String, Vec<String>)> {
    let mut hosts: Vec<(String, Vec<String>)> = Vec::new();
    let mut add = |host: &str, role: String| match hosts.iter_mut().find(|(h, _)| h == host) {
        Some((_, roles)) => roles.push(role),
        None => hosts.push((host.to_string(), vec![role])),
    };
    for task in &config.tasks {
        if let Some(host) = task.dir_source.ssh_host() {
            add(host, format!("source of task {}", task.name));
        }
    }
    for target in &config.targets {
        if let Some(host) = target.location.ssh_host() {
            add(host, format!("target {}", target.name));
        }
    }
    hosts
}

fn ssh_host(
    host: &str,
    roles: &[String],
    ssh_config: &Path,
    pinned: Option<&Path>,
    scratch: &StateDir,
    state: &StateDir,
) -> Finding {
    let item = format!("SSH to {host} ({})", roles.join(", "));
    let known_before = std::fs::metadata(scratch.known_hosts()).map_or(0, |m| m.len());
    let run = run_limited(
        Command::new("ssh").arg("-F").arg(ssh_config).args([
            "-o",
            "ConnectTimeout=15",
            "--",
            host,
            "rsync",
            "--version",
        ]),
        SSH_LIMIT,
    );
    let (status, stdout, stderr) = match run {
        Ok(out) => out,
        Err(e) => {
            return fail(
                item,
                format!("cannot run ssh: {e}"),
                "install OpenSSH's client (ssh)",
            );
        }
    };
    let keys_file = match pinned {
        Some(file) => format!("{} (ssh_known_hosts)", file.display()),
        None => format!("{} (trusted on first use)", state.known_hosts().display()),
    };
    if status == Some(0) {
        let version = stdout
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let learned =
            std::fs::metadata(scratch.known_hosts()).map_or(0, |m| m.len()) > known_before;
        let key = match (pinned, learned) {
            (Some(_), _) => "its host key is the pinned one".to_string(),
            (None, false) => format!("its host key is the one in {}", state.known_hosts().display()),
            (None, true) => "its host key is not pinned: the first run will trust and remember it (set ssh_known_hosts to pin it)".to_string(),
        };
        return pass(item, format!("logged in; {key}; {version}"));
    }
    let said: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    if let Some(reason) = said.iter().find_map(|l| crate::ssh::failure(l)) {
        let fix = if reason.starts_with("host key verification failed") {
            format!(
                "compare the host's key (ssh-keyscan {}) with its line in {keys_file}; if the host was reinstalled, replace that line",
                bare_host(host)
            )
        } else if reason.starts_with("the SSH login was refused") {
            format!(
                "add the public key of ssh_key to ~/.ssh/authorized_keys of the user on {}",
                bare_host(host)
            )
        } else {
            format!(
                "is {} up, its name right, and its sshd listening (port in ssh_config)?",
                bare_host(host)
            )
        };
        return fail(item, reason, fix);
    }
    if status == Some(127)
        || said
            .iter()
            .any(|l| l.contains("rsync: not found") || l.contains("rsync: command not found"))
    {
        return fail(
            item,
            "logged in, but rsync is not installed there (or not on the login PATH)",
            format!("install rsync on {}", bare_host(host)),
        );
    }
    let what = match status {
        None => format!("ssh did not finish within {} s", SSH_LIMIT.as_secs()),
        Some(code) => format!(
            "ssh exited with status {code}: {}",
            said.last().copied().unwrap_or("(nothing on stderr)")
        ),
    };
    fail(
        item,
        what,
        format!("try `ssh -F <the run's ssh_config> {host}` by hand"),
    )
}

fn bare_host(host: &str) -> &str {
    host.rsplit('@').next().unwrap_or(host)
}

/// Runs `command` with stdin closed, killing it after `limit`: (status, stdout, stderr),
/// the status `None` when it was killed.
fn run_limited(
    command: &mut Command,
    limit: Duration,
) -> std::io::Result<(Option<i32>, String, String)> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status.code();
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ok((
        status,
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    ))
}

/// Connects, starts TLS, logs in and quits: no mail is sent.
fn smtp(config: &Config, password_file: Option<&Path>) -> Finding {
    let server = format!("{}:{}", config.smtp.host, config.smtp.port);
    let item = "SMTP login";
    let password = match crate::password::read(password_file) {
        Ok(password) => password,
        Err(reason) => {
            return fail(
                item,
                reason,
                "write the Gmail app password into the password file (mode 0600), or pass --password-file (or --no-email when the run sends no report)",
            );
        }
    };
    let mailer = match crate::report::deliver::Mailer::new(config, &password) {
        Ok(mailer) => mailer,
        Err(reason) => return fail(item, reason, "correct smtp.ca_file"),
    };
    match mailer.verify_login() {
        Ok(()) => pass(
            item,
            format!(
                "{server} accepted the login of {} over TLS (no mail sent)",
                config.email_sender
            ),
        ),
        Err(e) if e.trouble == Trouble::Login => fail(
            item,
            e.reason,
            format!(
                "create a Gmail app password for {} (https://myaccount.google.com/apppasswords; it needs 2-step verification) and write it into {}",
                config.email_sender,
                password.file().display()
            ),
        ),
        Err(e) if e.trouble == Trouble::Tls => fail(
            item,
            e.reason,
            "for a relay with its own CA, set smtp.ca_file to that CA's certificate",
        ),
        Err(e) => fail(
            item,
            e.reason,
            "check smtp.host and smtp.port (Gmail: smtp.gmail.com, 465) and that this machine may connect out to it",
        ),
    }
}

/// Each ping URL answering, without counting as a ping.
fn pings(notify: &Notify) -> Vec<Finding> {
    if notify.is_empty() {
        return Vec::new();
    }
    let http = match Http::new(
        Duration::from_secs(notify.timeout_secs),
        notify.ca_file.as_deref(),
    ) {
        Ok(http) => http,
        Err(e) => return vec![fail("pings", e, "correct notify.ca_file")],
    };
    crate::notify::probes(notify, &http)
        .into_iter()
        .map(|(item, probe)| match probe {
            Ok(what) => pass(item, what),
            Err((problem, fix)) => fail(item, problem, fix),
        })
        .collect()
}

/// `doctor --json`: each check, and the totals.
fn as_json(checks: &[Finding]) -> serde_json::Value {
    let failed = checks.iter().filter(|c| c.result.is_err()).count();
    serde_json::json!({
        "version": crate::json::VERSION,
        "checks": checks.iter().map(|c| match &c.result {
            Ok(what) => serde_json::json!({ "item": c.item, "ok": true, "detail": what }),
            Err(f) => serde_json::json!({ "item": c.item, "ok": false, "problem": f.problem, "fix": f.fix }),
        }).collect::<Vec<_>>(),
        "passed": checks.len() - failed,
        "failed": failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checklist_marks_each_item_and_gives_the_fix() {
        use crate::journal::Paint;
        let checks = [
            pass("config", "/etc/c.yml is valid (1 task)"),
            fail("backup disk", "/mnt/backup does not exist", "mount it"),
        ];
        assert_eq!(
            checklist(&checks, Paint::Plain),
            "✓ config: /etc/c.yml is valid (1 task)\n\
             ✗ backup disk: /mnt/backup does not exist\n    fix: mount it\n\
             \n1 of 2 checks failed.\n"
        );
        assert_eq!(
            checklist(&checks, Paint::Colour),
            "\x1b[32m✓\x1b[0m config: /etc/c.yml is valid (1 task)\n\
             \x1b[1;31m✗\x1b[0m backup disk: /mnt/backup does not exist\n    fix: mount it\n\
             \n1 of 2 checks failed.\n"
        );
        assert!(checklist(&[pass("a", "b")], Paint::Plain).ends_with("\nAll 1 checks passed.\n"));
    }

    #[test]
    fn hosts_are_listed_once_with_what_they_are_for() {
        let text = "dir_backup_local: /b\ndir_backup_remote: backup@nas:/r\nemail_sender: a@b.cd\n\
                    email_report: a@b.cd\ntasks: [{name: t, dir_source: /s}, {name: u, dir_source: 'backup@nas:/u'}]\n";
        let config = Config::parse(Path::new("c.yml"), text).unwrap();
        assert_eq!(
            ssh_hosts(&config),
            [(
                "backup@nas".to_string(),
                vec!["source of task u".to_string(), "target remote".to_string()]
            )]
        );
    }
}
