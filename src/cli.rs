//! The command line of DESIGN.md, and the dispatch from it to the work.
//!
//! `main` is the one place that prints an error that stopped a command and picks
//! its exit status (`Error::exit`); everything below returns.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use jiff::civil::Date;

use crate::clock::Clock;
use crate::config::Config;
use crate::error::Error;
use crate::exit::Exit;
use crate::journal;
use crate::plan::Plan;
use crate::record::Record;
use crate::run::{self, Email, RunOptions};
use crate::state::StateDir;

const DEFAULT_CONFIG: &str = "/etc/backup-server/backup_config.yml";

/// Dated rsync snapshots, pruned, mirrored over SSH, recorded and reported.
#[derive(Debug, Parser)]
#[command(name = "backup-server", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,

    /// The configuration file.
    #[arg(long, global = true, value_name = "FILE", default_value = DEFAULT_CONFIG)]
    config: PathBuf,

    /// Holds log.db, the lock, step logs and unsent reports [default: $STATE_DIRECTORY, else /var/lib/backup-server]
    #[arg(long, global = true, value_name = "DIR")]
    state_dir: Option<PathBuf>,

    /// The Gmail app password file [default: $GMAIL_PASSWORD_FILE, else $CREDENTIALS_DIRECTORY/gmail-password]
    #[arg(long, global = true, value_name = "FILE")]
    password_file: Option<PathBuf>,

    /// Do not send the report.
    #[arg(long, global = true)]
    no_email: bool,

    /// Where the history site is published (rendered after every run when given).
    #[arg(long, global = true, value_name = "DIR")]
    site_dir: Option<PathBuf>,

    /// Write the report as an .eml file into DIR instead of sending it.
    #[arg(long, global = true, value_name = "DIR", conflicts_with = "no_email")]
    email_to: Option<PathBuf>,

    /// Where the step scripts are [default: $BACKUP_SERVER_SCRIPTS_DIR, else beside the binary]
    #[arg(long, global = true, value_name = "DIR")]
    scripts_dir: Option<PathBuf>,

    /// Name snapshots, record and judge as if today were this date (tests, demo).
    #[arg(long, global = true, value_name = "YYYY-MM-DD", hide = true)]
    today: Option<Date>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The whole run: every task, the log DB and the report.
    Run,
    /// Validate the config and print what a run would do (reads nothing else on disk).
    CheckConfig,
    /// Render the history site from the log DB into --site-dir.
    RenderSite,
    /// Check, writing nothing, what a first run needs: the config, the sources, the
    /// backup disk, SSH (host keys, rsync), the SMTP login and the ping URLs.
    Doctor,
    /// A simulated week of runs on sample data in DIR (default: a new temporary
    /// directory): no network, no root.
    Demo { dir: Option<PathBuf> },
    /// The snapshots of each task on the backup disk and on each target, side by
    /// side: what each backup added, why each is kept and until when.
    List {
        /// Only this task.
        task: Option<String>,
        /// Print JSON, for scripts.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        key: SshKey,
    },
    /// Copy a file or directory out of a snapshot, as it was (owners, modes, times,
    /// hard links, ACLs, xattrs); says what it will do first, and replaces nothing
    /// without --overwrite.
    Restore {
        task: String,
        /// Inside the snapshot (relative), or as it was in the source (absolute).
        path: String,
        /// The snapshot's date.
        #[arg(long, value_name = "YYYY-MM-DD|latest", default_value = "latest")]
        date: String,
        /// local (the backup disk) or a target's name.
        #[arg(long, value_name = "local|TARGET", default_value = "local")]
        from: String,
        /// The directory to restore into [default: ./restored-TASK-DATE].
        #[arg(long, value_name = "DIR")]
        to: Option<PathBuf>,
        /// Say what it would do, and do nothing.
        #[arg(long)]
        dry_run: bool,
        /// Replace what exists in DIR.
        #[arg(long)]
        overwrite: bool,
        #[command(flatten)]
        key: SshKey,
    },
    /// Compare each target's newest snapshot with the backup disk's by content, and
    /// the newest local snapshot with the source where the source has not changed;
    /// record every difference (exit status 4 when there is one).
    Verify {
        /// Only this task.
        task: Option<String>,
        /// Read the contents of a random PERCENT of the files (every entry's type,
        /// size, time and metadata are still compared).
        #[arg(long, value_name = "PERCENT")]
        sample: Option<f64>,
        #[command(flatten)]
        key: SshKey,
    },
}

/// For the commands besides `run` that may reach a target over SSH.
#[derive(Debug, clap::Args)]
struct SshKey {
    /// The SSH key to use instead of the config's ssh_key (under the NixOS module the
    /// config names the service's credential, there only while the service runs).
    #[arg(long, value_name = "FILE")]
    ssh_key: Option<PathBuf>,
}

/// The config (with `--ssh-key` applied), its plan for `clock`'s day, and the
/// scripts.
fn prepare(
    file: &std::path::Path,
    clock: &Clock,
    scripts_dir: Option<&std::path::Path>,
    key: SshKey,
) -> Result<(Config, Plan, crate::scripts::Scripts), Error> {
    let mut config = Config::load(file)?;
    if let Some(key) = key.ssh_key {
        config.ssh_key = key;
    }
    let plan = Plan::new(&config, clock.today());
    let scripts = crate::scripts::Scripts::locate(scripts_dir).map_err(Error::Scripts)?;
    Ok((config, plan, scripts))
}

pub fn main() -> Exit {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let usage_error = e.use_stderr();
            let _ = e.print();
            return if usage_error {
                Exit::Usage
            } else {
                Exit::Success
            };
        }
    };
    match dispatch(cli) {
        Ok(exit) => exit,
        Err(e) => {
            journal::error(&e.to_string());
            e.exit()
        }
    }
}

fn dispatch(cli: Cli) -> Result<Exit, Error> {
    let clock = match cli.today {
        Some(today) => Clock::on(today),
        None => Clock::system(),
    };
    let state = StateDir::locate(cli.state_dir);
    match cli.command {
        Command::CheckConfig => {
            let config = Config::load(&cli.config)?;
            let plan = Plan::new(&config, clock.today());
            print!("{}", crate::check::summary(&config, &plan));
            Ok(Exit::Success)
        }
        Command::Demo { dir } => crate::demo::demo(dir, cli.scripts_dir),
        Command::List { task, json, key } => {
            let (config, plan, scripts) =
                prepare(&cli.config, &clock, cli.scripts_dir.as_deref(), key)?;
            crate::inventory::list(
                &config,
                &plan,
                &state,
                &scripts,
                &clock,
                task.as_deref(),
                json,
            )
        }
        Command::Restore {
            task,
            path,
            date,
            from,
            to,
            dry_run,
            overwrite,
            key,
        } => {
            let (config, plan, scripts) =
                prepare(&cli.config, &clock, cli.scripts_dir.as_deref(), key)?;
            let request = crate::restore::Request {
                task,
                path,
                date: Some(date),
                from: Some(from),
                to,
                dry_run,
                overwrite,
            };
            crate::restore::restore(&config, &plan, &state, &scripts, &request)
        }
        Command::Verify { task, sample, key } => {
            let (config, plan, scripts) =
                prepare(&cli.config, &clock, cli.scripts_dir.as_deref(), key)?;
            let request = crate::verify::Request {
                task,
                sample,
                site_dir: cli.site_dir,
            };
            crate::verify::verify(&config, &plan, &state, &scripts, &clock, &request)
        }
        Command::Doctor => crate::doctor::doctor(&crate::doctor::DoctorOptions {
            config: cli.config,
            state,
            scripts_dir: cli.scripts_dir,
            password_file: cli.password_file,
            email: !cli.no_email,
        }),
        Command::RenderSite => {
            let site_dir = cli.site_dir.ok_or_else(|| {
                Error::Usage("render-site needs --site-dir DIR: where to publish the site".into())
            })?;
            let config = Config::load(&cli.config)?;
            let configured: Vec<String> = config.tasks.iter().map(|t| t.name.clone()).collect();
            let db = state.log_db();
            let record = if db.exists() {
                Some(Record::open(&db)?)
            } else {
                None
            };
            // A run going now (it holds the lock) shows as running, not interrupted.
            let active = match &record {
                Some(record) if crate::lock::is_held(&state.lock()) => record.running()?,
                _ => None,
            };
            let progress = match (&record, active) {
                (Some(record), Some(run)) => Some(record.progress(run)?),
                _ => None,
            };
            let rendered = crate::site::render_recorded(
                record.as_ref(),
                &configured,
                active,
                progress.as_ref(),
                &clock,
                &crate::site::Settings::of(&config),
                &site_dir,
            )
            .map_err(Error::Site)?;
            journal::info(&format!(
                "site rendered: {} pages in {}",
                rendered.pages,
                site_dir.display()
            ));
            Ok(Exit::Success)
        }
        Command::Run => run::run(&RunOptions {
            state,
            site_dir: cli.site_dir,
            config: cli.config,
            scripts_dir: cli.scripts_dir,
            email: match (cli.no_email, cli.email_to) {
                (true, _) => Email::Off,
                (false, Some(dir)) => Email::WriteTo(dir),
                (false, None) => Email::Send {
                    password_file: cli.password_file,
                },
            },
            clock,
        }),
    }
}
