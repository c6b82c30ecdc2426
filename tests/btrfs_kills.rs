//! SIGKILL at random moments of a night whose backup disk is btrfs, with a target on
//! the test's ordinary file system (which gets rsync) or on btrfs (btrfs send |
//! receive), its whole process group or only its main process, then a run to
//! completion.
//!
//! After every kill and every recovery, on both sides: every `YYYY-MM-DD` directory
//! (or `.replaced-DATE` while its name is free: a swap the next run undoes) equals
//! the source as it was on that date; every older snapshot still there is
//! byte- and inode-identical to before; on the btrfs side every one is a read-only
//! subvolume. After a recovery run today's snapshot exists on both sides, the newest
//! ones the policy keeps are all there, and nothing in progress is left.
//!
//! `BACKUP_SERVER_KILL_SECS` (default 40) bounds how long it kills;
//! `BACKUP_SERVER_KILL_SEED` repeats the dates, aims and delays.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use jiff::civil::Date;
use support::btrfs::Btrfs;
use support::faults::{Rng, kill_group, kill_process, spawn_in_own_group, wait_until_none};
use support::sshd::Sshd;
use support::tree::{
    Fingerprint, Manifest, differences, fingerprint, is_snapshot_name, manifest, manifest_of,
};
use support::{World, entries, write};

const DAILY: usize = 2;
const POLICY: &str = "    retention: {daily: 2, weekly: 0, monthly: 0, yearly: 0}\n";
const DIRS: usize = 30;
const FILES_PER_DIR: usize = 50;

/// Where the target is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    /// A local path on the test's ordinary file system: rsync.
    Plain,
    /// A local path on a btrfs of its own: btrfs send | receive.
    Btrfs,
    /// The same over SSH to 127.0.0.1, as root (who may run btrfs receive).
    BtrfsOverSsh,
}

struct Soak {
    world: World,
    _sshd: Option<Sshd>,
    _disks: Vec<Btrfs>,
    /// Which sides are btrfs: (local, target).
    btrfs: (bool, bool),
    rng: Rng,
    seed: u64,
    manifests: BTreeMap<String, Manifest>,
    today: Date,
    files: Vec<PathBuf>,
    generation: usize,
    last_run: Duration,
    kills: usize,
    recoveries: usize,
    /// The hidden entries seen right after a kill, by name kind.
    hidden_after_kill: BTreeMap<String, usize>,
}

impl Soak {
    fn new(target: Target) -> Soak {
        let seed = Rng::seed_from_env("BACKUP_SERVER_KILL_SEED");
        let mut world = World::new();
        world.task_extra = POLICY.into();
        let mut disks = vec![Btrfs::mount_at(&world.local)];
        if target != Target::Plain {
            disks.push(Btrfs::mount_at(&world.remote));
        }
        let sshd = (target == Target::BtrfsOverSsh).then(|| {
            let sshd = Sshd::start(&world.root.path().join("sshd"));
            world.remote_spec = format!("root@backuphost:{}", world.remote.display());
            world.extra = sshd.config_lines();
            sshd
        });
        let mut soak = Soak {
            world,
            _sshd: sshd,
            _disks: disks,
            btrfs: (true, target != Target::Plain),
            rng: Rng::new(seed),
            seed,
            manifests: BTreeMap::new(),
            today: "2026-03-01".parse().unwrap(),
            files: Vec::new(),
            generation: 0,
            last_run: Duration::from_secs(2),
            kills: 0,
            recoveries: 0,
            hidden_after_kill: BTreeMap::new(),
        };
        for d in 0..DIRS {
            for f in 0..FILES_PER_DIR {
                let relative = PathBuf::from(format!("d{d:02}/f{f:03}.txt"));
                let text = soak.text();
                write(&soak.world.source.join(&relative), &text);
                soak.files.push(relative);
            }
        }
        soak.record();
        // The source's record then knows every entry: the nights after the first
        // are read against it.
        support::settle();
        soak
    }

    fn text(&mut self) -> String {
        let len = 40 + self.rng.below(400) as usize;
        (0..len)
            .map(|_| (b'a' + self.rng.below(26) as u8) as char)
            .collect()
    }

    fn record(&mut self) {
        self.manifests
            .insert(self.today.to_string(), manifest(&self.world.source));
    }

    fn advance_day(&mut self) {
        self.today = self.today.tomorrow().unwrap();
        self.generation += 1;
        for _ in 0..20 {
            let i = self.rng.below(self.files.len() as u64) as usize;
            let text = self.text();
            write(&self.world.source.join(&self.files[i]), &text);
        }
        let gone = self
            .files
            .swap_remove(self.rng.below(self.files.len() as u64) as usize);
        fs::remove_file(self.world.source.join(gone)).unwrap();
        let new = PathBuf::from(format!("d00/new-{}.txt", self.generation));
        let text = self.text();
        write(&self.world.source.join(&new), &text);
        self.files.push(new);
        self.record();
    }

    fn sides(&self) -> [(&'static str, PathBuf, bool); 2] {
        [
            ("local", self.world.local_task(), self.btrfs.0),
            ("target", self.world.remote_task(), self.btrfs.1),
        ]
    }

    fn observe(&self) -> [BTreeMap<String, Fingerprint>; 2] {
        self.sides().map(|(_, dir, _)| {
            held(&dir)
                .into_iter()
                .map(|(name, path)| (name, fingerprint(&path)))
                .collect()
        })
    }

    fn spawn(&self) -> Child {
        spawn_in_own_group(
            self.world
                .command(&self.today.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped()),
        )
    }

    /// Every invariant after a run on today; `complete` after a recovery run.
    fn check(
        &self,
        when: &str,
        before: &[BTreeMap<String, Fingerprint>; 2],
        after: &[BTreeMap<String, Fingerprint>; 2],
        complete: bool,
    ) {
        let today = self.today.to_string();
        let all_before = &before[0];
        let mut problems = Vec::new();
        for (((side, dir, btrfs), before), after) in self.sides().iter().zip(before).zip(after) {
            for (name, print) in after {
                let Some(expected) = self.manifests.get(name) else {
                    problems.push(format!("{side}: {name} exists but no run was made on it"));
                    continue;
                };
                let diff = differences(expected, &manifest_of(print), 6);
                if !diff.is_empty() {
                    problems.push(format!(
                        "{side}: {name} is not the source of its date:\n    {}",
                        diff.join("\n    ")
                    ));
                }
                if *btrfs
                    && !held(dir)
                        .get(name)
                        .is_some_and(|p| is_read_only_subvolume(p))
                {
                    problems.push(format!("{side}: {name} is not a read-only subvolume"));
                }
                if let Some(old) = before.get(name)
                    && name.as_str() < today.as_str()
                {
                    let diff = differences(old, print, 6);
                    if !diff.is_empty() {
                        problems.push(format!(
                            "{side}: {name}, older than today, changed:\n    {}",
                            diff.join("\n    ")
                        ));
                    }
                }
            }
            if complete {
                // The target is sent what the backup disk holds, too.
                let mut expected: Vec<String> =
                    before.keys().chain(all_before.keys()).cloned().collect();
                expected.push(today.clone());
                expected.sort();
                expected.dedup();
                for name in expected.iter().rev().take(DAILY) {
                    if !after.contains_key(name) {
                        problems.push(format!(
                            "{side}: {name} is missing after a complete run; it holds {:?}",
                            entries(dir)
                        ));
                    }
                }
                let left: Vec<String> = entries(dir)
                    .into_iter()
                    .filter(|n| {
                        n.starts_with('.') && !(*side == "local" && n.starts_with(".sync-"))
                    })
                    .collect();
                if !left.is_empty() {
                    problems.push(format!("{side}: leftovers after a complete run: {left:?}"));
                }
            }
        }
        if !problems.is_empty() {
            let logs: String = ["backup", "retention", "sync"]
                .iter()
                .map(|step| {
                    let path = self.world.state.join(format!("logs/data_{step}.log"));
                    format!(
                        "--- {step}:\n{}",
                        fs::read_to_string(path).unwrap_or_default()
                    )
                })
                .collect();
            panic!(
                "{when} (seed {}):\n{}\nthe step logs of the last run:\n{logs}",
                self.seed,
                problems.join("\n")
            );
        }
    }

    fn recover(
        &mut self,
        before: [BTreeMap<String, Fingerprint>; 2],
    ) -> [BTreeMap<String, Fingerprint>; 2] {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let start = Instant::now();
            let out = self.spawn().wait_with_output().unwrap();
            if out.status.code() == Some(75) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            self.last_run = start.elapsed();
            assert!(
                out.status.success(),
                "a recovery run on {} ended with {} (seed {}):\n{}",
                self.today,
                out.status,
                self.seed,
                String::from_utf8_lossy(&out.stderr)
            );
            break;
        }
        self.recoveries += 1;
        let after = self.observe();
        self.check(
            &format!("after a recovery run on {}", self.today),
            &before,
            &after,
            true,
        );
        after
    }

    fn kill_once(
        &mut self,
        before: [BTreeMap<String, Fingerprint>; 2],
        main_only: bool,
    ) -> [BTreeMap<String, Fingerprint>; 2] {
        let mut child = self.spawn();
        let pgid = child.id();
        let delay = self.rng.duration_up_to(self.last_run);
        std::thread::sleep(delay);
        if main_only {
            kill_process(pgid);
        } else {
            kill_group(pgid);
        }
        let _ = child.wait();
        let left = wait_until_none(|p| p.pgrp == pgid, Duration::from_secs(30));
        if !left.is_empty() {
            kill_group(pgid);
            wait_until_none(|p| p.pgrp == pgid, Duration::from_secs(10));
        }
        // Over SSH the target's side (a btrfs receive, a snapshots.sh commit that
        // renames while the tree is read) ends on its own after the connection is
        // gone: it is waited for, as kills.rs waits for the target user's processes.
        let remote = self.world.remote.display().to_string();
        let waited = Instant::now();
        let busy: Vec<String> = support::faults::processes()
            .into_iter()
            .filter(|p| p.command.contains(&remote))
            .map(|p| p.command)
            .collect();
        let left = wait_until_none(|p| p.command.contains(&remote), Duration::from_secs(30));
        assert!(left.is_empty(), "the target side did not end: {left:?}");
        if !busy.is_empty() {
            println!("  waited {:.1?} for {busy:?}", waited.elapsed());
        }
        self.kills += 1;
        for (side, dir, _) in self.sides() {
            for name in entries(&dir).into_iter().filter(|n| n.starts_with('.')) {
                let kind = name.split('-').next().unwrap_or_default().to_string();
                *self
                    .hidden_after_kill
                    .entry(format!("{side} {kind}"))
                    .or_default() += 1;
            }
        }
        let after = self.observe();
        self.check(
            &format!("after a kill {delay:.1?} into a run on {}", self.today),
            &before,
            &after,
            false,
        );
        after
    }

    fn soak(mut self, budget: Duration) {
        let started = Instant::now();
        let mut state = self.observe();
        state = self.recover(state);
        self.advance_day();
        state = self.recover(state);
        let mut i = 0;
        while started.elapsed() < budget {
            if self.rng.below(3) != 0 {
                self.advance_day();
            }
            for _ in 0..1 + self.rng.below(3) {
                i += 1;
                state = self.kill_once(state, i % 3 == 2);
            }
            if self.rng.below(2) == 0 {
                self.advance_day();
            }
            state = self.recover(state);
        }
        println!(
            "btrfs kill test (seed {}): {} kills, {} recovery runs in {:.0?}; hidden entries right after kills: {:?}",
            self.seed,
            self.kills,
            self.recoveries,
            started.elapsed(),
            self.hidden_after_kill
        );
        // Over SSH a night takes longer: fewer kills fit in the same time.
        let least = if self._sshd.is_some() { 5 } else { 10 };
        assert!(
            self.kills >= least,
            "only {} kills; more time is needed",
            self.kills
        );
    }
}

/// The complete snapshots in `dir` and where each is: every real `YYYY-MM-DD`
/// directory, and a `.replaced-DATE` whose name is free (a same-day swap killed
/// between its two renames, which the next run puts back), under its date.
fn held(dir: &Path) -> BTreeMap<String, PathBuf> {
    let is_dir = |n: &str| fs::symlink_metadata(dir.join(n)).is_ok_and(|m| m.is_dir());
    let names = entries(dir);
    let mut held: BTreeMap<String, PathBuf> = names
        .iter()
        .filter(|n| is_snapshot_name(n) && is_dir(n))
        .map(|n| (n.clone(), dir.join(n)))
        .collect();
    for parked in &names {
        if let Some(date) = parked.strip_prefix(".replaced-")
            && is_snapshot_name(date)
            && is_dir(parked)
        {
            held.entry(date.to_string())
                .or_insert_with(|| dir.join(parked));
        }
    }
    held
}

fn is_read_only_subvolume(path: &Path) -> bool {
    Btrfs::is_subvolume(path) && Btrfs::is_read_only(path)
}

fn budget() -> Duration {
    let secs = std::env::var("BACKUP_SERVER_KILL_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    Duration::from_secs(secs)
}

#[test]
fn killed_btrfs_nights_never_lose_or_fake_a_snapshot_with_a_plain_target() {
    Soak::new(Target::Plain).soak(budget());
}

#[test]
fn killed_btrfs_nights_never_lose_or_fake_a_snapshot_with_a_btrfs_target() {
    Soak::new(Target::Btrfs).soak(budget());
}

#[test]
fn killed_btrfs_nights_never_lose_or_fake_a_snapshot_with_a_btrfs_target_over_ssh() {
    Soak::new(Target::BtrfsOverSsh).soak(budget());
}
