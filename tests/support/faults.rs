//! Faults a real machine has: a run SIGKILLed (its whole process group, as systemd
//! stops a service, or only its main process), and what is left running after it.

use std::fs;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Starts `command` as the leader of a process group of its own, so that the group
/// can be killed as systemd kills a service's control group.
pub fn spawn_in_own_group(command: &mut Command) -> Child {
    command.process_group(0).spawn().unwrap()
}

/// SIGKILL to every process of the group `pgid`.
pub fn kill_group(pgid: u32) {
    // SAFETY: kill(2) with a negative pid signals a process group; no memory involved.
    unsafe {
        libc::kill(-(pgid as i32), libc::SIGKILL);
    }
}

/// SIGKILL to the process `pid` alone.
pub fn kill_process(pid: u32) {
    // SAFETY: as above, for one process.
    unsafe {
        libc::kill(pid as i32, libc::SIGKILL);
    }
}

/// A running (not zombie) process, as /proc tells it.
#[derive(Debug, Clone)]
pub struct Process {
    pub pid: u32,
    pub pgrp: u32,
    pub uid: u32,
    pub command: String,
}

/// Every live process on the machine (zombies excluded: a container's pid 1 may
/// never reap them).
pub fn processes() -> Vec<Process> {
    let mut found = Vec::new();
    let Ok(proc_dir) = fs::read_dir("/proc") else {
        return found;
    };
    for entry in proc_dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let (Ok(stat), Ok(status)) = (
            fs::read_to_string(entry.path().join("stat")),
            fs::read_to_string(entry.path().join("status")),
        ) else {
            continue; // it ended while we looked
        };
        // "pid (comm) state ppid pgrp ...": comm may hold anything, so read after the last ')'.
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        if fields.len() < 3 || fields[0] == "Z" || fields[0] == "X" {
            continue;
        }
        let Ok(pgrp) = fields[2].parse() else {
            continue;
        };
        let uid = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|u| u.parse().ok())
            .unwrap_or(u32::MAX);
        let command = fs::read(entry.path().join("cmdline"))
            .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
            .unwrap_or_default();
        found.push(Process {
            pid,
            pgrp,
            uid,
            command,
        });
    }
    found
}

/// Waits until no live process matches `which`; returns those still running after
/// `timeout` (empty when all ended).
pub fn wait_until_none(which: impl Fn(&Process) -> bool, timeout: Duration) -> Vec<Process> {
    let deadline = Instant::now() + timeout;
    loop {
        let left: Vec<Process> = processes().into_iter().filter(&which).collect();
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The pid of a process that has ended (and been reaped): a stale pid, as a killed
/// process leaves in file names.
pub fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// A small, seedable random number generator (xorshift64*), so a failing sequence
/// of kills can be replayed from the seed it prints.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// A seed from `$name` when set, else from the clock.
    pub fn seed_from_env(name: &str) -> u64 {
        std::env::var(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            })
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A duration uniform in `0..=max`.
    pub fn duration_up_to(&mut self, max: Duration) -> Duration {
        let micros = max.as_micros() as u64;
        Duration::from_micros(self.below(micros + 1))
    }
}
