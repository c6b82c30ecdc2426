//! SIGKILL at any moment: the run is killed at many points of each step (backup,
//! retention, sync), its whole process group as systemd stops a service or only its
//! main process, then run again to completion; over an SSH target whose login shell
//! is dash, and over a local-path target.
//!
//! After every killed run and every recovery run, on both sides: every `YYYY-MM-DD`
//! directory equals the source as it was on that date; every older snapshot that
//! still exists is byte- and inode-identical to before the run; nothing the
//! retention policy keeps is lost (an old same-day snapshot set aside as
//! `.replaced-DATE` counts as kept until the next run). After a recovery run, today's
//! snapshot exists on both sides and no `.in-progress`, `.replaced-*` or `.deleting-*`
//! is left.
//!
//! Knobs (environment): `BACKUP_SERVER_KILL_SECS` (how long each test kills, default
//! 75; the two tests run side by side), `BACKUP_SERVER_KILL_SEED` (the same dates,
//! aims and delays again, though not the same timing; each test prints its seed),
//! `BACKUP_SERVER_KILL_SHELL` (`dash`, `bash` or `ash`: the SSH target's login shell,
//! default `dash`). Run with `--nocapture` to see where the kills landed.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use jiff::civil::Date;
use support::faults::{
    Rng, kill_group, kill_process, processes, spawn_in_own_group, wait_until_none,
};
use support::sshd::{LoginShell, Sshd, TargetUser, target_user, use_ssh_target};
use support::tree::{Fingerprint, Manifest, differences, fingerprint, manifest, manifest_of};
use support::{World, entries, write};

/// Small, so that every new day prunes on both sides.
const DAILY: usize = 2;
const POLICY: &str = "    retention: {daily: 2, weekly: 0, monthly: 0, yearly: 0}\n";
const STEPS: [&str; 3] = ["backup", "retention", "sync"];
/// Files in the source: enough that each step takes a while to kill into.
const DIRS: usize = 40;
const FILES_PER_DIR: usize = 60;
/// A foreign file in both task directories, which no run may touch.
const FOREIGN: &str = "notes.txt";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kill {
    /// SIGKILL to the whole process group, as systemd stops a service.
    Group,
    /// SIGKILL to the main process only: its children live on, or die of
    /// PR_SET_PDEATHSIG, as they may.
    MainOnly,
}

/// What one side holds.
struct Observed {
    /// Real directories named `YYYY-MM-DD`.
    snapshots: BTreeMap<String, Fingerprint>,
    /// `.replaced-DATE` directories: old same-day snapshots set aside by a swap.
    replaced: BTreeMap<String, Fingerprint>,
    /// Every hidden entry the engine may leave (`.in-progress`, `.replaced-*`,
    /// `.deleting-*`).
    hidden: Vec<String>,
    /// The foreign file, if it is still there.
    foreign: Option<Fingerprint>,
}

impl Observed {
    fn of(task_dir: &Path) -> Observed {
        let mut snapshots = BTreeMap::new();
        let mut replaced = BTreeMap::new();
        let mut hidden = Vec::new();
        for name in entries(task_dir) {
            let path = task_dir.join(&name);
            let is_dir = fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
            if support::tree::is_snapshot_name(&name) && is_dir {
                snapshots.insert(name, fingerprint(&path));
            } else if let Some(date) = name.strip_prefix(".replaced-")
                && support::tree::is_snapshot_name(date)
            {
                if is_dir {
                    replaced.insert(date.to_string(), fingerprint(&path));
                }
                hidden.push(name);
            } else if name == ".in-progress" || name.starts_with(".deleting-") {
                hidden.push(name);
            }
        }
        let foreign_path = task_dir.join(FOREIGN);
        let foreign = fs::symlink_metadata(&foreign_path)
            .is_ok()
            .then(|| fingerprint(&foreign_path));
        Observed {
            snapshots,
            replaced,
            hidden,
            foreign,
        }
    }

    /// The snapshots that exist, complete, under their name or set aside as
    /// `.replaced-DATE` while their name is free (a swap the next run must undo).
    fn alive(&self) -> BTreeMap<String, &Fingerprint> {
        let mut alive: BTreeMap<String, &Fingerprint> =
            self.snapshots.iter().map(|(n, p)| (n.clone(), p)).collect();
        for (name, print) in &self.replaced {
            alive.entry(name.clone()).or_insert(print);
        }
        alive
    }
}

/// Where the kills landed, for the summary.
#[derive(Default)]
struct Tally {
    /// By the step whose log was the newest when the kill landed.
    by_step: BTreeMap<String, usize>,
    /// By the last command the step had started (`$ script args` in its log).
    by_command: BTreeMap<String, usize>,
    by_kind: BTreeMap<String, usize>,
    /// Hidden entries found right after a kill, per side.
    hidden_after_kill: BTreeMap<String, usize>,
    /// Runs that ended on their own before the kill came.
    finished_first: usize,
    kills: usize,
    recoveries: usize,
    stragglers_killed: usize,
}

impl Tally {
    fn summary(&self, label: &str, seed: u64, elapsed: Duration) -> String {
        let mut text = format!(
            "kill test ({label}, seed {seed}): {} kills and {} recovery runs in {:.0?}; \
             {} runs finished before their kill; {} stragglers killed\n",
            self.kills, self.recoveries, elapsed, self.finished_first, self.stragglers_killed
        );
        let _ = writeln!(text, "  kills by step: {:?}", self.by_step);
        let _ = writeln!(text, "  kills by kind: {:?}", self.by_kind);
        let _ = writeln!(
            text,
            "  kills by last command started: {:?}",
            self.by_command
        );
        let _ = writeln!(
            text,
            "  hidden entries right after kills: {:?}",
            self.hidden_after_kill
        );
        text
    }
}

struct Soak {
    label: String,
    world: World,
    _sshd: Option<Sshd>,
    /// The SSH target's user: its processes are the target side of a run.
    target_user: Option<TargetUser>,
    rng: Rng,
    seed: u64,
    started: Instant,
    /// The source as it was on each date a run was made.
    manifests: BTreeMap<String, Manifest>,
    /// The date of the newest run, and of the source's current state.
    today: Date,
    /// Files of the source, for changing some each day.
    files: Vec<PathBuf>,
    generation: usize,
    /// How long each step took in the latest unkilled runs, newest last.
    step_times: BTreeMap<&'static str, Vec<Duration>>,
    /// How long the latest unkilled run took.
    last_run: Duration,
    tally: Tally,
}

impl Soak {
    fn new(label: &str, ssh_shell: Option<LoginShell>) -> Soak {
        let seed = Rng::seed_from_env("BACKUP_SERVER_KILL_SEED");
        let mut world = World::new();
        world.task_extra = POLICY.into();
        let (sshd, user) = match ssh_shell {
            Some(shell) => {
                let sshd = Sshd::start(&world.root.path().join("sshd"));
                let user = target_user(shell);
                use_ssh_target(&mut world, &sshd, &user);
                (Some(sshd), Some(user))
            }
            None => (None, None),
        };
        let mut soak = Soak {
            label: label.to_string(),
            world,
            _sshd: sshd,
            target_user: user,
            rng: Rng::new(seed),
            seed,
            started: Instant::now(),
            manifests: BTreeMap::new(),
            today: "2026-03-01".parse().unwrap(),
            files: Vec::new(),
            generation: 0,
            step_times: BTreeMap::new(),
            last_run: Duration::from_secs(5),
            tally: Tally::default(),
        };
        soak.fill_source();
        for task in soak.sides().map(|(_, dir)| dir) {
            write(&task.join(FOREIGN), "the administrator's notes\n");
        }
        if let Some(user) = &soak.target_user {
            support::sshd::chown_tree(&soak.world.remote, user.uid, user.gid);
        }
        // The source's record then knows every entry: the nights after the first
        // are read against it.
        support::settle();
        soak
    }

    fn sides(&self) -> [(&'static str, PathBuf); 2] {
        [
            ("local", self.world.local_task()),
            ("target", self.world.remote_task()),
        ]
    }

    fn observe(&self) -> [Observed; 2] {
        self.sides().map(|(_, dir)| Observed::of(&dir))
    }

    /// A few thousand small files in nested directories, some symlinks, odd modes.
    fn fill_source(&mut self) {
        let source = self.world.source.clone();
        for d in 0..DIRS {
            for f in 0..FILES_PER_DIR {
                let relative = PathBuf::from(format!("d{:02}/sub{}/f{f:03}.txt", d, f % 3));
                let text = self.random_text();
                write(&source.join(&relative), &text);
                self.files.push(relative);
            }
        }
        std::os::unix::fs::symlink("../d01/sub0/f000.txt", source.join("d00/link")).unwrap();
        std::os::unix::fs::symlink("/nonexistent/target", source.join("dangling")).unwrap();
        fs::set_permissions(
            source.join("d02/sub1/f001.txt"),
            fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        fs::set_permissions(source.join("d03"), fs::Permissions::from_mode(0o750)).unwrap();
        self.record_source();
    }

    fn random_text(&mut self) -> String {
        let len = 40 + self.rng.below(200) as usize;
        (0..len)
            .map(|_| (b'a' + self.rng.below(26) as u8) as char)
            .collect()
    }

    fn record_source(&mut self) {
        let name = self.today.to_string();
        self.manifests.insert(name, manifest(&self.world.source));
    }

    /// The next day: the source changes a little (edits, deletions, new files, a
    /// mode, a symlink), and is recorded as that day's.
    fn advance_day(&mut self) {
        self.today = self.today.tomorrow().unwrap();
        self.generation += 1;
        let source = self.world.source.clone();
        for _ in 0..30 {
            let i = self.rng.below(self.files.len() as u64) as usize;
            let text = self.random_text();
            write(&source.join(&self.files[i]), &text);
        }
        for _ in 0..3 {
            let i = self.rng.below(self.files.len() as u64) as usize;
            let gone = self.files.swap_remove(i);
            fs::remove_file(source.join(gone)).unwrap();
        }
        for k in 0..3 {
            let d = self.rng.below(DIRS as u64);
            let relative = PathBuf::from(format!("d{d:02}/new-{}-{k}.txt", self.generation));
            let text = self.random_text();
            write(&source.join(&relative), &text);
            self.files.push(relative);
        }
        let i = self.rng.below(self.files.len() as u64) as usize;
        let mode = if self.generation.is_multiple_of(2) {
            0o644
        } else {
            0o640
        };
        fs::set_permissions(
            source.join(&self.files[i]),
            fs::Permissions::from_mode(mode),
        )
        .unwrap();
        let link = source.join("d00/link");
        fs::remove_file(&link).unwrap();
        let j = self.rng.below(self.files.len() as u64) as usize;
        std::os::unix::fs::symlink(Path::new("..").join(&self.files[j]), &link).unwrap();
        self.record_source();
    }

    fn logs_dir(&self) -> PathBuf {
        self.world.state.join("logs")
    }

    fn step_log(&self, step: &str) -> PathBuf {
        self.logs_dir().join(format!("data_{step}.log"))
    }

    /// Removes the step logs, so that a log's appearance tells a step has started.
    fn clear_logs(&self) {
        for step in STEPS {
            let _ = fs::remove_file(self.step_log(step));
        }
    }

    fn spawn_run(&self, date: &str, stderr_name: &str) -> Child {
        self.clear_logs();
        let stderr = fs::File::create(self.world.root.path().join(stderr_name)).unwrap();
        spawn_in_own_group(
            self.world
                .command(date)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr),
        )
    }

    fn stderr_of(&self, name: &str) -> String {
        fs::read_to_string(self.world.root.path().join(name)).unwrap_or_default()
    }

    /// Runs on `date` to the end, noting how long each step took; retries while a
    /// straggler of a killed run holds the lock (exit 75).
    fn run_to_completion(&mut self, date: &str) -> (ExitStatus, String) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mut child = self.spawn_run(date, "recovery.stderr");
            let start = Instant::now();
            let mut seen: Vec<(&'static str, Instant)> = Vec::new();
            let status = loop {
                for step in STEPS {
                    if !seen.iter().any(|(s, _)| *s == step) && self.step_log(step).exists() {
                        seen.push((step, Instant::now()));
                    }
                }
                if let Some(status) = child.try_wait().unwrap() {
                    break status;
                }
                assert!(
                    start.elapsed() < Duration::from_secs(120),
                    "{}: a run on {date} did not end in two minutes",
                    self.label
                );
                std::thread::sleep(Duration::from_millis(2));
            };
            let end = Instant::now();
            self.last_run = end - start;
            for (i, (step, began)) in seen.iter().enumerate() {
                let until = seen.get(i + 1).map(|(_, t)| *t).unwrap_or(end);
                let times = self.step_times.entry(step).or_default();
                times.push(until - *began);
                if times.len() > 6 {
                    times.remove(0);
                }
            }
            let stderr = self.stderr_of("recovery.stderr");
            if status.code() == Some(75) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            return (status, stderr);
        }
    }

    /// The step whose log is newest, and the last command it started.
    fn where_now(&self) -> (String, String) {
        for step in STEPS.iter().rev() {
            if let Ok(log) = fs::read_to_string(self.step_log(step)) {
                let command = log
                    .lines()
                    .rev()
                    .find_map(|l| l.strip_prefix("$ "))
                    .map(|c| {
                        // The script and its sub-command, if it has one.
                        let words: Vec<&str> = c.split_whitespace().take(2).collect();
                        match words.as_slice() {
                            [script, sub] if !sub.starts_with('/') => format!("{script} {sub}"),
                            [script, ..] => script.to_string(),
                            [] => String::new(),
                        }
                    })
                    .unwrap_or_else(|| "(none yet)".into());
                return (step.to_string(), format!("{step}: {command}"));
            }
        }
        ("before any step".into(), "before any step".into())
    }

    /// Starts a run on `date` and SIGKILLs it somewhere in `aim` (or just after).
    /// Returns how the run ended when it ended on its own first.
    fn killed_run(&mut self, date: &str, aim: &'static str, kill: Kill) -> Option<ExitStatus> {
        let mut child = self.spawn_run(date, "killed.stderr");
        let pgid = child.id();
        let start = Instant::now();
        // Wait for the aimed step to start (its log appears), then a random delay
        // within the time that step takes; a third of the kills aim at the step's
        // last moments (the commits, the swaps, the pruning).
        let typical = self.step_time(aim);
        let patience = (self.last_run * 2).clamp(Duration::from_secs(2), Duration::from_secs(30));
        while !self.step_log(aim).exists() && start.elapsed() < patience {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        let delay = if self.rng.below(3) == 0 {
            typical.mul_f64(0.7) + self.rng.duration_up_to(typical.mul_f64(0.3))
        } else {
            self.rng.duration_up_to(typical)
        };
        std::thread::sleep(delay);
        if let Some(status) = child.try_wait().unwrap() {
            println!(
                "  {date}: aimed at {aim} +{delay:.1?}, but the run ended first ({status}) after {:.1?}",
                start.elapsed()
            );
            self.tally.finished_first += 1;
            self.wait_for_stragglers(pgid);
            return Some(status);
        }
        match kill {
            Kill::Group => kill_group(pgid),
            Kill::MainOnly => kill_process(pgid),
        }
        let (step, command) = self.where_now();
        println!(
            "  {date}: {kill:?} kill aimed at {aim} +{delay:.1?} landed in {command} after {:.1?}",
            start.elapsed()
        );
        child.wait().unwrap();
        self.tally.kills += 1;
        *self.tally.by_step.entry(step).or_default() += 1;
        *self.tally.by_command.entry(command).or_default() += 1;
        *self.tally.by_kind.entry(format!("{kill:?}")).or_default() += 1;
        self.wait_for_stragglers(pgid);
        None
    }

    /// How long `step` takes: the median of its latest unkilled runs.
    fn step_time(&self, step: &str) -> Duration {
        let mut times = self.step_times.get(step).cloned().unwrap_or_default();
        times.sort();
        times
            .get(times.len() / 2)
            .copied()
            .unwrap_or(Duration::from_millis(300))
    }

    /// Waits until nothing of the run's process group is left (the children of a
    /// main-only kill finish or die); SIGKILLs the group if that takes too long.
    fn wait_for_stragglers(&mut self, pgid: u32) {
        let left = wait_until_none(|p| p.pgrp == pgid, Duration::from_secs(30));
        if !left.is_empty() {
            self.tally.stragglers_killed += 1;
            kill_group(pgid);
            let left = wait_until_none(|p| p.pgrp == pgid, Duration::from_secs(10));
            assert!(
                left.is_empty(),
                "{}: processes survive SIGKILL: {left:?}",
                self.label
            );
        }
    }

    /// Waits until no process of the target user is left (an rsync --server, a
    /// remote sh, still finishing after the connection dropped).
    fn wait_for_target_side(&self) -> bool {
        let Some(user) = &self.target_user else {
            return false;
        };
        let busy = processes().iter().any(|p| p.uid == user.uid);
        let left = wait_until_none(|p| p.uid == user.uid, Duration::from_secs(60));
        assert!(
            left.is_empty(),
            "{}: the target user's processes did not end: {left:?}",
            self.label
        );
        busy
    }

    /// Every invariant, comparing `after` with `before` a run on `today`. `complete`:
    /// the run ended with exit 0 (a recovery run), not killed.
    fn check(
        &self,
        when: &str,
        today: &str,
        before: &[Observed; 2],
        after: &[Observed; 2],
        complete: bool,
    ) -> Vec<String> {
        let mut problems = Vec::new();
        for (((side, _), before), after) in self.sides().iter().zip(before).zip(after) {
            let mut problem = |text: String| problems.push(format!("{side}: {text}"));
            // Every YYYY-MM-DD directory is the source of its date.
            let mut faked = BTreeSet::new();
            for (name, print) in &after.snapshots {
                match self.manifests.get(name) {
                    None => problem(format!("{name} exists but no run was ever made on it")),
                    Some(expected) => {
                        let diff = differences(expected, &manifest_of(print), 8);
                        if !diff.is_empty() {
                            faked.insert(name.clone());
                            problem(format!(
                                "{name} is not the source of {name}:\n    {}",
                                diff.join("\n    ")
                            ));
                        }
                    }
                }
            }
            // Older snapshots are untouched; nothing the policy keeps is lost.
            let alive = before.alive();
            let mut all: BTreeSet<String> = alive.keys().cloned().collect();
            all.extend(after.snapshots.keys().cloned());
            let kept = keep(&all, today);
            for (name, print) in &alive {
                match after.snapshots.get(name) {
                    Some(_) if faked.contains(name) => {} // said above
                    Some(now) if name.as_str() < today => {
                        let diff = differences(print, now, 8);
                        if !diff.is_empty() {
                            problem(format!(
                                "{name} is older than today and changed:\n    {}",
                                diff.join("\n    ")
                            ));
                        }
                    }
                    Some(_) => {}
                    None if !kept.contains(name) => {} // pruned by the policy
                    None => {
                        let set_aside = after
                            .replaced
                            .get(name)
                            .is_some_and(|p| differences(*print, p, 1).is_empty());
                        if complete || !set_aside {
                            problem(format!(
                                "{name} is lost (the policy keeps it); the directory holds {:?}",
                                entries(&self.task_dir(side))
                            ));
                        }
                    }
                }
            }
            if before.foreign != after.foreign {
                problem(format!("the foreign {FOREIGN} was touched"));
            }
            if complete {
                if !after.snapshots.contains_key(today) {
                    problem(format!("today's snapshot {today} is missing"));
                }
                if !after.hidden.is_empty() {
                    problem(format!(
                        "leftovers after a complete run: {:?}",
                        after.hidden
                    ));
                }
            }
        }
        problems
            .into_iter()
            .map(|p| format!("{when}: {p}"))
            .collect()
    }

    fn task_dir(&self, side: &str) -> PathBuf {
        if side == "local" {
            self.world.local_task()
        } else {
            self.world.remote_task()
        }
    }

    fn fail(&self, problems: &[String], stderr: &str) -> ! {
        panic!(
            "{}\n{}\nthe run's stderr:\n{stderr}",
            problems.join("\n"),
            self.tally
                .summary(&self.label, self.seed, self.started.elapsed())
        );
    }

    fn note_hidden(&mut self, observed: &[Observed; 2]) {
        for ((side, _), seen) in self.sides().iter().zip(observed) {
            for name in &seen.hidden {
                let kind = match name.as_str() {
                    ".in-progress" => ".in-progress".to_string(),
                    n if n.starts_with(".replaced-") => ".replaced-*".to_string(),
                    _ => ".deleting-*".to_string(),
                };
                *self
                    .tally
                    .hidden_after_kill
                    .entry(format!("{side} {kind}"))
                    .or_default() += 1;
            }
        }
    }

    /// One complete run on the current day, checked.
    fn recover(&mut self, before: [Observed; 2]) -> [Observed; 2] {
        let today = self.today.to_string();
        let began = Instant::now();
        let (status, stderr) = self.run_to_completion(&today);
        let ran = began.elapsed();
        self.tally.recoveries += 1;
        let after = self.observe();
        println!(
            "  {today}: recovery run {status} in {ran:.1?}, observed in {:.1?}; steps take about {:.1?}",
            began.elapsed() - ran,
            STEPS.map(|s| self.step_time(s))
        );
        let mut problems = self.check(
            &format!("after a recovery run on {today}"),
            &today,
            &before,
            &after,
            true,
        );
        if !status.success() {
            problems.insert(
                0,
                format!("a recovery run on {today} ended with {status}, not 0"),
            );
        }
        if !problems.is_empty() {
            self.fail(&problems, &stderr);
        }
        after
    }

    /// The step of `aims` the fewest kills have landed in so far (the first of them,
    /// from a random start): every step gets its share whatever its length.
    fn least_hit(&mut self, aims: &[&'static str]) -> &'static str {
        let start = self.rng.below(aims.len() as u64) as usize;
        (0..aims.len())
            .map(|k| aims[(start + k) % aims.len()])
            .min_by_key(|step| self.tally.by_step.get(*step).copied().unwrap_or(0))
            .unwrap()
    }

    /// A run on the current day killed somewhere in `aim`, checked right after the
    /// kill and again once the target side of it has ended.
    fn kill_once(&mut self, before: [Observed; 2], aim: &'static str, kill: Kill) -> [Observed; 2] {
        let today = self.today.to_string();
        let ended = self.killed_run(&today, aim, kill);
        let mut after = self.observe();
        let mut problems = match ended {
            None => {
                self.note_hidden(&after);
                Vec::new()
            }
            Some(status) if status.success() => Vec::new(),
            Some(status) => vec![format!(
                "a run on {today} that ended before its kill ended with {status}, not 0"
            )],
        };
        problems.extend(self.check(
            &format!("after a {kill:?} kill on {today} aimed at {aim}"),
            &today,
            &before,
            &after,
            ended.is_some(),
        ));
        if self.wait_for_target_side() {
            let settled = self.observe();
            problems.extend(self.check(
                &format!("once the target side of the killed run on {today} ended"),
                &today,
                &before,
                &settled,
                false,
            ));
            after = settled;
        }
        if !problems.is_empty() {
            let stderr = self.stderr_of("killed.stderr");
            self.fail(&problems, &stderr);
        }
        after
    }

    fn soak(mut self, budget: Duration) {
        // Two complete nights first: something to link to, prune and sync.
        let mut state = self.observe();
        state = self.recover(state);
        self.step_times.clear(); // a full first copy is no measure of the nights after
        self.advance_day();
        state = self.recover(state);

        let mut i = 0usize;
        while self.started.elapsed() < budget {
            // The killed run: the next day, or (one in three) the same day again, so
            // that the same-day swap is hit.
            let same_day = self.rng.below(3) == 0;
            if !same_day {
                self.advance_day();
            }
            let aims: &[&'static str] = if same_day {
                &["backup", "sync"]
            } else {
                &STEPS
            };
            // One, two or three killed runs in a row before a recovery run: a killed
            // run's leftovers met by another killed run.
            let kills = 1 + self.rng.below(3);
            for _ in 0..kills {
                // Retention is worth aiming at only while it has something to prune.
                let local = state[0].alive();
                let today = self.today.to_string();
                let after_backup = local.len() + usize::from(!local.contains_key(&today));
                let aims: Vec<&'static str> = aims
                    .iter()
                    .copied()
                    .filter(|s| *s != "retention" || after_backup > DAILY)
                    .collect();
                let aim = self.least_hit(&aims);
                let kill = if i % 3 == 2 {
                    Kill::MainOnly
                } else {
                    Kill::Group
                };
                i += 1;
                state = self.kill_once(state, aim, kill);
            }
            // The recovery run: the same day, or the next.
            if self.rng.below(2) == 0 {
                self.advance_day();
            }
            state = self.recover(state);
        }

        let summary = self
            .tally
            .summary(&self.label, self.seed, self.started.elapsed());
        println!("{summary}");
        for step in STEPS {
            let landed = self.tally.by_step.get(step).copied().unwrap_or(0);
            assert!(
                landed >= 3,
                "only {landed} kills landed in {step}; more time is needed \
                 (BACKUP_SERVER_KILL_SECS)\n{summary}"
            );
        }
        // The nights after the first are link farms (engine/farm.rs): kills must have
        // met farms being made or written (over SSH a target's farm is made by an
        // `ssh` call, counted with the others).
        let in_farms: usize = (self.tally.by_command.iter())
            .filter(|(c, _)| c.contains("snapshots.sh farm") || c.contains("replay.sh"))
            .map(|(_, n)| *n)
            .sum();
        assert!(
            in_farms >= 2,
            "only {in_farms} kills landed in a link farm's copy or replay; more time is needed \
             (BACKUP_SERVER_KILL_SECS)\n{summary}"
        );
    }
}

/// The snapshots among `names` the policy keeps on `today`: the `DAILY` newest up to
/// today, and any dated after it.
fn keep(names: &BTreeSet<String>, today: &str) -> BTreeSet<String> {
    let mut kept: BTreeSet<String> = names
        .iter()
        .filter(|n| n.as_str() > today)
        .cloned()
        .collect();
    kept.extend(
        names
            .iter()
            .filter(|n| n.as_str() <= today)
            .rev()
            .take(DAILY)
            .cloned(),
    );
    kept
}

fn budget() -> Duration {
    let secs = std::env::var("BACKUP_SERVER_KILL_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(75);
    Duration::from_secs(secs)
}

fn ssh_shell() -> LoginShell {
    match std::env::var("BACKUP_SERVER_KILL_SHELL").as_deref() {
        Ok("bash") => LoginShell::Bash,
        Ok("ash") => LoginShell::BusyboxAsh,
        Ok("dash") | Err(_) => LoginShell::Dash,
        Ok(other) => panic!("BACKUP_SERVER_KILL_SHELL={other}: expected dash, bash or ash"),
    }
}

#[test]
fn killed_runs_never_lose_or_fake_a_snapshot_over_ssh_to_a_target_whose_shell_is_dash() {
    let shell = ssh_shell();
    Soak::new(&format!("ssh, login shell {shell:?}"), Some(shell)).soak(budget());
}

#[test]
fn killed_runs_never_lose_or_fake_a_snapshot_with_a_local_path_target() {
    Soak::new("local-path target", None).soak(budget());
}
