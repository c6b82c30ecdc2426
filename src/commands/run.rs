//! `backup-server run`: the plan executed, every step recorded, then the report and
//! the site.
//!
//! The order of things guards the principles: the config is validated and the plan
//! made before anything is touched; the lock is taken before any snapshot is; each
//! step is recorded as it ends, whether it failed or not, and a run whose record
//! cannot be written still backs up (and says so); nothing about email can stop a
//! backup.

use std::path::PathBuf;

use crate::clock::{Clock, elapsed};
use crate::config::Config;
use crate::engine::{Engine, Observer};
use crate::error::Error;
use crate::exit::Exit;
use crate::journal;
use crate::lock::{RunLock, Work};
use crate::notify::{Finished, Notifier, Ping, Started};
use crate::outcome::{StepOutcome, StepResult, TaskResult};
use crate::plan::{Plan, StepPlan, TaskPlan};
use crate::record::{Progress, Record, RunId};
use crate::report::{self, About, Delivery, ReportOptions};
use crate::scripts::Scripts;
use crate::state::StateDir;

/// What happens to the report.
#[derive(Debug, Clone)]
pub enum Email {
    /// Sent through the SMTP server, the password read from this file (or the default).
    Send {
        password_file: Option<PathBuf>,
    },
    /// Written as an `.eml` file into this directory.
    WriteTo(PathBuf),
    Off,
}

pub struct RunOptions {
    pub config: PathBuf,
    pub state: StateDir,
    pub scripts_dir: Option<PathBuf>,
    pub email: Email,
    /// Where to publish the history site after the run, if anywhere.
    pub site_dir: Option<PathBuf>,
    pub clock: Clock,
}

pub fn run(opts: &RunOptions) -> Result<Exit, Error> {
    let config = Config::load(&opts.config)?;
    let clock = &opts.clock;
    let scripts = Scripts::locate(opts.scripts_dir.as_deref())?;
    // Backups come first: a state directory that cannot be written (read-only,
    // full, missing and not to be made) does not stop them. The run keeps its lock,
    // logs and work files somewhere that can hold them, says where, and fails at
    // the end: a run that could not be recorded has failed, whatever its snapshots.
    let (stand_in, state_trouble) = match opts.state.writable() {
        Ok(()) => (None, None),
        Err(error) => {
            let why = format!(
                "the state directory {} cannot be written ({error})",
                opts.state.root().display()
            );
            let stand_in = opts.state.fallback().map_err(|tried| Error::State {
                path: opts.state.root().to_path_buf(),
                error: std::io::Error::other(format!(
                    "{why}, and no stand-in could be made: {tried}"
                )),
            })?;
            journal::error(&format!(
                "{why}: the backups run, but this run keeps its lock, logs and work files in {} \
                 and is not recorded",
                stand_in.root().display()
            ));
            (Some(stand_in), Some(why))
        }
    };
    let state = stand_in.as_ref().unwrap_or(&opts.state);
    // A verify holding the lock is waited for: it ends, and the night's backup still
    // happens. Another run is not: two runs a night have nothing to wait for.
    let lock = RunLock::acquire_after(&state.lock(), Work::Run, Work::Verify, |holder| {
        journal::info(&format!(
            "waiting for the verify that holds the lock ({holder})"
        ))
    })?;
    // A killed run's hooks may still be writing into a source: end them before any
    // task starts another writer there.
    for leftover in crate::engine::hook_group::end_leftovers(state, crate::step_log::GRACE) {
        match leftover {
            crate::engine::hook_group::Leftover::Stopped(r) => journal::warn(&format!(
                "task {}: the {} command of a run that was killed was still running \
                 (process group {}); stopped it before starting another",
                r.task, r.hook, r.group
            )),
            crate::engine::hook_group::Leftover::Unstoppable(r) => journal::error(&format!(
                "task {}: the {} command of a run that was killed is still running \
                 (process group {}) and could not be stopped; its {} command will not start",
                r.task, r.hook, r.group, r.hook
            )),
        }
    }
    // Dated once the lock is held: a run that waited past midnight takes the new day's.
    let plan = Plan::new(&config, clock.today());

    let host = crate::host::name();
    let started = clock.now();
    let mut book = Book::open(state, &host, &plan, clock);
    if let Some(why) = state_trouble {
        // Whatever the log database managed, the run's files are not where the
        // next run and the pages look: not recorded.
        book.unrecorded.get_or_insert(why);
    }
    if let Some(site_dir) = &opts.site_dir {
        book.go_live(&plan, &config, clock, site_dir);
    }
    // Pings (notify): the run started; at its end, how it went. Never a reason to stop.
    let mut notifier = Notifier::load(&config.notify, config.stale_after_days);
    let names: Vec<String> = plan.tasks.iter().map(|t| t.name.clone()).collect();
    let start = Started {
        host: &host,
        run: book.run_id(),
        tasks: &names,
    };
    let pings = notifier.start(&start, &|name| book.history(name), clock);
    book.pinged(&pings);
    let engine = Engine {
        plan: &plan,
        scripts: &scripts,
        state,
        clock,
        ssh_config: write_ssh_config(&plan, state),
        lock_fd: Some(lock.fd()),
    };
    let results: Vec<TaskResult> = plan
        .tasks
        .iter()
        .map(|task| {
            journal::info(&format!("task {}: starting", task.name));
            let result = engine.run_task(task, &mut book);
            // What each side holds now, with the policy's verdicts, for the pages.
            let ssh_config = engine.ssh_config.as_deref();
            let sides = crate::sides::inventory::after_run(
                &plan,
                task,
                &result,
                &scripts,
                ssh_config,
                clock.now(),
            );
            book.write(|record, _| {
                sides
                    .iter()
                    .try_for_each(|s| record.record_side(&task.name, s))
            });
            result
        })
        .collect();
    let failed = results.iter().filter(|t| !t.succeeded()).count();
    journal::info(&format!(
        "{} of {} tasks succeeded",
        results.len() - failed,
        results.len()
    ));
    book.end(clock.now(), crate::outcome::run_word(&results));

    // Each task's recorded runs, this one included: read once, judged once, for the
    // pings and the report alike.
    let histories: Vec<Option<crate::record::TaskHistory>> =
        results.iter().map(|r| book.history(&r.name)).collect();
    let finished = Finished {
        host: &host,
        run: book.run_id(),
        started,
        ended: clock.now(),
        results: &results,
        verdicts: notifier.verdicts(&results, &histories, clock),
        unrecorded: book.unrecorded.as_deref(),
        clock,
    };
    let pings = notifier.finish(&finished);
    let verdicts = finished.verdicts;
    book.pinged(&pings);
    let undelivered_pings: Vec<String> = notifier
        .undelivered()
        .iter()
        .map(|p| p.describe())
        .collect();

    let mut trouble = failed > 0 || book.unrecorded.is_some();
    if let Some(why) = &book.unrecorded {
        journal::error(&format!(
            "this run failed although its backups may have succeeded: it is not (wholly) \
             recorded ({why})"
        ));
    }
    if let Some(site_dir) = &opts.site_dir {
        match book.render_site(&plan, &config, clock, None, site_dir) {
            Ok(rendered) => journal::info(&format!(
                "site rendered: {} pages in {}",
                rendered.pages,
                site_dir.display()
            )),
            Err(e) => {
                journal::error(&Error::Site(e).to_string());
                trouble = true;
            }
        }
    }
    let undelivered = match &opts.email {
        Email::Off => false,
        email => {
            let reports = report::enrich(&results, &verdicts, &histories, clock);
            let disks = book.disks(clock, config.disk);
            let about = About {
                host: &host,
                unrecorded: book.unrecorded.as_deref(),
                disks: &disks,
                site_url: config.site_url.as_deref(),
                summary: false,
                undelivered_pings: &undelivered_pings,
            };
            match report::wanted(&config, &reports, &about, plan.today) {
                Some(summary) => {
                    let about = About { summary, ..about };
                    !send_report(&config, &reports, &about, state, email)
                }
                None => {
                    journal::info(
                        "no report: nothing needs attention (email_when: attention or never)",
                    );
                    !send_kept_reports(&config, state, email)
                }
            }
        }
    };
    Ok(Exit::of_run(
        trouble,
        undelivered || !undelivered_pings.is_empty(),
    ))
}

/// The ssh_config for this run, when anything is reached over SSH. If it cannot be
/// written, the steps that need it fail and say so; local ones still run.
fn write_ssh_config(plan: &Plan, state: &StateDir) -> Option<PathBuf> {
    let ssh = plan.ssh.as_ref()?;
    crate::ssh::write_config(ssh, state)
        .map_err(|e| journal::error(&format!("cannot write the ssh_config: {e}")))
        .ok()
}

fn report_options<'a>(state: &'a StateDir, email: &'a Email) -> ReportOptions<'a> {
    ReportOptions {
        state,
        password_file: match email {
            Email::Send { password_file } => password_file.as_deref(),
            _ => None,
        },
        email_to: match email {
            Email::WriteTo(dir) => Some(dir),
            _ => None,
        },
    }
}

/// Sends what earlier runs kept; false when that failed.
fn send_kept_reports(config: &Config, state: &StateDir, email: &Email) -> bool {
    match report::send_kept(config, &report_options(state, email)) {
        Some(Delivery::Undelivered { reason, .. }) => {
            journal::error(&format!(
                "the reports kept by earlier runs were not sent: {reason}"
            ));
            false
        }
        Some(Delivery::Sent { set_aside }) => set_aside == 0,
        _ => true,
    }
}

/// Sends (or writes, or keeps) the report; false when it did not go out.
fn send_report(
    config: &Config,
    reports: &[report::TaskReport],
    about: &About,
    state: &StateDir,
    email: &Email,
) -> bool {
    let options = report_options(state, email);
    match report::deliver(config, reports, about, &options) {
        Delivery::Sent { set_aside } => {
            journal::info(&format!("report sent to {}", config.email_report));
            // Each was told to the journal; the run is not clean while one was lost.
            return set_aside == 0;
        }
        Delivery::Written(path) => journal::info(&format!("report written to {}", path.display())),
        Delivery::Undelivered { reason, kept } => {
            let kept = kept
                .map(|path| {
                    format!(
                        "; kept as {}, to be sent first by the next run",
                        path.display()
                    )
                })
                .unwrap_or_default();
            journal::error(&format!("the report was not sent: {reason}{kept}"));
            return false;
        }
    }
    true
}

/// The run's bookkeeping: each step recorded and told to the journal as it ends, and,
/// when the run publishes the site, the pages re-published as it goes.
struct Book {
    record: Option<(Record, RunId)>,
    /// Why (part of) this run is not in the log database, if it is not.
    unrecorded: Option<String>,
    live: Option<Live>,
}

/// The site while a run goes: what the render at its start kept, and how far it is.
struct Live {
    site_dir: PathBuf,
    rendered: crate::site::Rendered,
    progress: Progress,
    clock: Clock,
}

impl Live {
    fn republish(&mut self) {
        let published = crate::site::republish(
            &self.site_dir,
            &self.rendered,
            &self.clock,
            Some(&self.progress),
        );
        if let Err(e) = published {
            // The run goes on; its end renders the site whole (and says if it cannot).
            journal::warn(&format!("cannot update the pages while the run goes: {e}"));
        }
    }
}

impl Book {
    /// Opens the record and records the run's start. A record that cannot be opened
    /// does not stop the backups: the run goes on, unrecorded, and says so.
    fn open(state: &StateDir, host: &str, plan: &Plan, clock: &Clock) -> Book {
        let opened = Record::open(&state.log_db()).and_then(|mut record| {
            let run = record.begin_run(host, clock.now(), &plan.today.to_string())?;
            Ok((record, run))
        });
        match opened {
            Ok(record) => Book {
                record: Some(record),
                unrecorded: None,
                live: None,
            },
            Err(e) => {
                journal::error(&format!(
                    "{e}; the backups run, but this run is not recorded"
                ));
                Book {
                    record: None,
                    unrecorded: Some(e.to_string()),
                    live: None,
                }
            }
        }
    }

    /// Writes with the record, noting the first failure.
    fn write(
        &mut self,
        write: impl FnOnce(&mut Record, RunId) -> Result<(), crate::record::RecordError>,
    ) {
        let Some((record, run)) = &mut self.record else {
            return;
        };
        if let Err(e) = write(record, *run) {
            journal::error(&e.to_string());
            self.unrecorded.get_or_insert_with(|| e.to_string());
        }
    }

    /// The backup disk and the targets, judged from what the record holds.
    fn disks(
        &self,
        clock: &Clock,
        thresholds: crate::config::Thresholds,
    ) -> Vec<crate::health::disks::Disk> {
        let Some((record, _)) = &self.record else {
            return Vec::new();
        };
        crate::health::disks::disks(record, clock.now(), thresholds).unwrap_or_else(|e| {
            journal::warn(&e.to_string());
            Vec::new()
        })
    }

    /// Renders the site from the record; `progress`: this run's, while it goes.
    fn render_site(
        &self,
        plan: &Plan,
        config: &Config,
        clock: &Clock,
        progress: Option<&Progress>,
        site_dir: &std::path::Path,
    ) -> Result<crate::site::Rendered, crate::site::SiteError> {
        let Some((record, run)) = &self.record else {
            return Err(crate::site::SiteError::Unrecorded(
                self.unrecorded.clone().unwrap_or_default(),
            ));
        };
        let configured: Vec<String> = plan.tasks.iter().map(|t| t.name.clone()).collect();
        crate::site::render_recorded(
            Some(record),
            &configured,
            progress.map(|_| *run),
            progress,
            clock,
            &crate::site::Settings::of(config),
            site_dir,
        )
    }

    /// Publishes the site with this run going, to be updated at each step.
    fn go_live(&mut self, plan: &Plan, config: &Config, clock: &Clock, site_dir: &std::path::Path) {
        let progress = Progress {
            since: clock.now(),
            ..Progress::default()
        };
        match self.render_site(plan, config, clock, Some(&progress), site_dir) {
            Ok(rendered) => {
                self.live = Some(Live {
                    site_dir: site_dir.to_path_buf(),
                    rendered,
                    progress,
                    clock: clock.clone(),
                })
            }
            Err(e) => journal::warn(&format!("cannot show the run on the pages as it goes: {e}")),
        }
    }

    fn end(&mut self, ended: f64, outcome: &str) {
        self.write(|record, run| record.end_run(run, ended, outcome));
    }

    fn run_id(&self) -> Option<i64> {
        self.record.as_ref().map(|(_, run)| run.0)
    }

    /// A task's recorded runs, if the record can be read.
    fn history(&self, task: &str) -> Option<crate::record::TaskHistory> {
        let (record, _) = self.record.as_ref()?;
        record.history(task, None).ok()
    }

    fn pinged(&mut self, pings: &[Ping]) {
        for ping in pings {
            self.write(|record, run| record.ping(run, ping));
        }
    }
}

impl Observer for Book {
    fn task_started(&mut self, task: &TaskPlan, started: f64) {
        self.write(|record, run| record.begin_task(run, &task.name, started));
    }

    fn step_started(&mut self, task: &TaskPlan, step: &StepPlan) {
        if let Some(live) = &mut self.live {
            live.progress.task = Some(task.name.clone());
            live.progress.step = Some(step.id.clone());
            live.republish();
        }
    }

    fn step_finished(&mut self, task: &TaskPlan, step: &StepResult) {
        announce(&task.name, step);
        self.write(|record, run| record.step(run, &task.name, step));
        if let Some(live) = &mut self.live {
            live.progress.step = None;
            live.progress.done.push((
                task.name.clone(),
                step.id.clone(),
                step.outcome.word().to_string(),
            ));
            live.republish();
        }
    }

    fn task_finished(&mut self, task: &TaskPlan, result: &TaskResult) {
        if !result.skipped.is_empty() {
            let skipped: Vec<&str> = result.skipped.iter().map(|s| s.as_str()).collect();
            journal::error(&format!(
                "task {}: skipped {}",
                task.name,
                skipped.join(" and ")
            ));
        }
        self.write(|record, run| record.end_task(run, result));
    }
}

/// One line per step, so the journal tells the story without opening a log file.
fn announce(task: &str, step: &StepResult) {
    let head = format!("task {task}: {} ", step.id);
    let took = elapsed(step.ended - step.started);
    let log = step.log.display();
    match &step.outcome {
        StepOutcome::Failed { error } => {
            journal::error(&format!("{head}FAILED after {took}: {error} (log: {log})"))
        }
        StepOutcome::Warned { warnings } => journal::warn(&format!(
            "{head}succeeded with warnings in {took}: {} (log: {log})",
            warnings.join("; ")
        )),
        StepOutcome::Ok => journal::info(&format!("{head}succeeded in {took}")),
    }
}
