//! The command line of DESIGN.md, and the dispatch from it to the work.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use jiff::civil::Date;

use crate::config::Config;
use crate::exit::Exit;
use crate::journal;
use crate::run::{self, RunOptions};

const DEFAULT_CONFIG: &str = "/etc/backup-server/backup_config.yml";
const DEFAULT_STATE_DIR: &str = "/var/lib/backup-server";

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

    /// Name snapshots and apply retention as if today were this date (tests, demo).
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
    /// A simulated week of runs on sample data in DIR (default: a new temporary
    /// directory): no network, no root.
    Demo { dir: Option<PathBuf> },
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
    match cli.command {
        Command::CheckConfig => match Config::load(&cli.config) {
            Ok(config) => {
                print!("{}", crate::check::summary(&config));
                Exit::Success
            }
            Err(e) => {
                journal::error(&e.to_string());
                Exit::Usage
            }
        },
        Command::Demo { dir } => crate::demo::demo(dir, cli.scripts_dir),
        Command::RenderSite => {
            let Some(site_dir) = cli.site_dir else {
                journal::error("render-site needs --site-dir DIR: where to publish the site");
                return Exit::Usage;
            };
            let config = match Config::load(&cli.config) {
                Ok(config) => config,
                Err(e) => {
                    journal::error(&e.to_string());
                    return Exit::Usage;
                }
            };
            let db = state_dir(cli.state_dir).join("log.db");
            match crate::site::render(&config, &db, &site_dir) {
                Ok(pages) => {
                    journal::info(&format!(
                        "site rendered: {pages} pages in {}",
                        site_dir.display()
                    ));
                    Exit::Success
                }
                Err(e) => {
                    journal::error(&format!("cannot render the site: {e}"));
                    Exit::TaskFailed
                }
            }
        }
        Command::Run => run::run(&RunOptions {
            state_dir: state_dir(cli.state_dir),
            site_dir: cli.site_dir,
            config: cli.config,
            scripts_dir: cli.scripts_dir,
            password_file: cli.password_file,
            no_email: cli.no_email,
            email_to: cli.email_to,
            today: cli.today,
        }),
    }
}

/// `--state-dir`, else `$STATE_DIRECTORY` (systemd's StateDirectory=), else the default.
fn state_dir(option: Option<PathBuf>) -> PathBuf {
    option
        .or_else(|| std::env::var_os("STATE_DIRECTORY").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR))
}
