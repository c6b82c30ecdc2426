//! The command line of DESIGN.md, and the dispatch from it to the work.
//!
//! `main` is the one place that prints an error that stopped a command and picks
//! its exit status (`Error::exit`); everything below returns.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use jiff::civil::Date;

use crate::clock::Clock;
use crate::commands::{
    self,
    run::{Email, RunOptions},
};
use crate::error::Error;
use crate::exit::Exit;
use crate::journal;
use crate::state::StateDir;

const DEFAULT_CONFIG: &str = "/etc/backup-server/backup_config.yml";

/// Dated rsync snapshots, pruned, mirrored over SSH, recorded and reported.
#[derive(Debug, Parser)]
#[command(
    name = "backup-server",
    version,
    max_term_width = 80,
    long_about = "Dated rsync snapshots, pruned by a daily/weekly/monthly/yearly policy, \
        mirrored to targets over SSH, recorded in SQLite, reported by email and shown on \
        static pages. A systemd timer runs `backup-server run` nightly; the other commands \
        are for the person at the terminal.",
    after_help = "Examples:\n  \
        backup-server check-config\n  \
        sudo backup-server doctor\n  \
        backup-server list home\n  \
        backup-server restore home /home/alice/thesis\n  \
        backup-server demo\n\n\
        Exit status: 0 all tasks succeeded, 1 a task failed, 2 usage or config error,\n\
        3 the report or a ping could not be delivered, 4 verify found a difference,\n\
        75 another run holds the lock."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,

    /// The configuration file.
    #[arg(long, global = true, value_name = "FILE", default_value = DEFAULT_CONFIG)]
    config: PathBuf,

    /// Holds log.db, the lock, step logs and unsent reports [default:
    /// $STATE_DIRECTORY, else /var/lib/backup-server]
    #[arg(long, global = true, value_name = "DIR")]
    state_dir: Option<PathBuf>,

    /// The Gmail app password file [default: $GMAIL_PASSWORD_FILE, else
    /// $CREDENTIALS_DIRECTORY/gmail-password]
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

    /// Where the step scripts are [default: $BACKUP_SERVER_SCRIPTS_DIR, else beside
    /// the binary]
    #[arg(long, global = true, value_name = "DIR")]
    scripts_dir: Option<PathBuf>,

    /// Print only warnings and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,

    /// Print more: what each step copies from and to, and where its log is.
    #[arg(short, long, global = true)]
    verbose: bool,

    /// Name snapshots, record and judge as if today were this date (tests, demo).
    #[arg(long, global = true, value_name = "YYYY-MM-DD", hide = true)]
    today: Option<Date>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Back up, prune and mirror every task, then record, report and publish.
    ///
    /// For each task of the config: a dated snapshot of its source on the backup
    /// disk (unchanged files hard-linked to the previous one), retention, and the
    /// sync to each target. Every step is recorded in log.db; the report is mailed
    /// and, with --site-dir, the pages are rendered. The nightly timer runs this.
    #[command(after_help = "Examples:\n  \
        backup-server run\n  \
        backup-server --no-email --site-dir /var/lib/backup-server-site/html run")]
    Run,
    /// Validate the config and print what a run would do.
    ///
    /// Reads nothing but the config, so it works in a build sandbox (the NixOS
    /// module runs it when the system is built). Every problem is reported at once,
    /// naming the file, the key and the task.
    #[command(after_help = "Example:\n  \
        backup-server --config ./backup_config.yml check-config")]
    CheckConfig {
        /// Print JSON, for scripts (a versioned shape; see the docs).
        #[arg(long)]
        json: bool,
    },
    /// Render the history pages from log.db into --site-dir.
    #[command(after_help = "Example:\n  \
        backup-server --site-dir /var/lib/backup-server-site/html render-site")]
    RenderSite,
    /// Check, writing nothing, what a first run needs.
    ///
    /// The config, the sources, the backup disk, SSH (host keys, rsync on the far
    /// side), the SMTP login and the ping URLs: a checklist with the fix for each
    /// failure. Under the NixOS module, `sudo backup-server doctor` uses the
    /// service's own secrets.
    #[command(after_help = "Example:\n  \
        sudo backup-server doctor")]
    Doctor {
        /// Print JSON, for scripts (a versioned shape; see the docs).
        #[arg(long)]
        json: bool,
    },
    /// A simulated week of runs on sample data: no network, no root.
    ///
    /// Snapshots, a local "remote", one failing night, the reports as .eml files,
    /// the pages and an nginx config; it prints where to look.
    #[command(after_help = "Examples:\n  \
        backup-server demo\n  \
        backup-server demo /tmp/backup-demo")]
    Demo {
        /// Where to put the demo's files [default: a new temporary directory].
        dir: Option<PathBuf>,
    },
    /// List each task's snapshots on the backup disk and every target.
    ///
    /// Side by side: what each backup added, why each snapshot is kept and until
    /// when.
    #[command(after_help = "Examples:\n  \
        backup-server list\n  \
        backup-server list home --json")]
    List {
        /// Only this task.
        task: Option<String>,
        /// Print JSON, for scripts (a versioned shape; see the docs).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        key: SshKey,
    },
    /// Copy a file or directory out of a snapshot, as it was.
    ///
    /// Owners, modes, times, hard links, ACLs and xattrs come back as they were. It
    /// says what it will do first, and replaces nothing without --overwrite.
    #[command(after_help = "Examples:\n  \
        backup-server restore home /home/alice/thesis\n      \
        the newest snapshot, into ./restored-home-DATE/thesis\n  \
        backup-server restore home alice/thesis --date 2026-11-01\n      \
        PATH inside the snapshot, an older one\n  \
        backup-server restore home alice/thesis --from remote --dry-run\n      \
        from the target: what it would do\n  \
        backup-server restore home alice/thesis --to /home/alice --overwrite\n      \
        back where it was")]
    Restore {
        /// The task whose snapshot to read.
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
    /// Compare the copies with the backup disk, and the backup disk with the source.
    ///
    /// Each target's newest snapshot is compared with the backup disk's by content,
    /// and the newest local snapshot with the source where the source has not
    /// changed since. Every difference is recorded; the exit status is 4 when there
    /// is one.
    #[command(after_help = "Examples:\n  \
        backup-server verify\n  \
        backup-server verify home --sample 10")]
    Verify {
        /// Only this task.
        task: Option<String>,
        /// Read the contents of a random PERCENT of the files (every entry's type,
        /// size, time and metadata are still compared).
        #[arg(long, value_name = "PERCENT")]
        sample: Option<f64>,
        /// Print JSON, for scripts (a versioned shape; see the docs).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        key: SshKey,
    },
    /// Print shell completions (bash, zsh, fish) or the man pages (packaging).
    #[command(hide = true)]
    Generate {
        #[command(subcommand)]
        what: Generate,
    },
}

#[derive(Debug, Subcommand)]
enum Generate {
    /// The completion script for SHELL, on stdout.
    Completions { shell: clap_complete::Shell },
    /// One man page per command, into DIR.
    Man { dir: PathBuf },
    /// Every key backup_config.yml may hold, as dotted paths (tests/nix/run).
    Keys,
}

/// For the commands besides `run` that may reach a target over SSH.
#[derive(Debug, clap::Args)]
struct SshKey {
    /// The SSH key to use instead of the config's ssh_key (under the NixOS module the
    /// config names the service's credential, there only while the service runs).
    #[arg(long, value_name = "FILE")]
    ssh_key: Option<PathBuf>,
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
    journal::set_verbosity(match (cli.quiet, cli.verbose) {
        (true, _) => journal::Verbosity::Quiet,
        (false, true) => journal::Verbosity::Verbose,
        (false, false) => journal::Verbosity::Normal,
    });
    let clock = match cli.today {
        Some(today) => Clock::on(today),
        None => Clock::system(),
    };
    let state = StateDir::locate(cli.state_dir);
    match cli.command {
        Command::CheckConfig { json } => commands::check::check_config(&cli.config, &clock, json),
        Command::Generate { what } => generate(what),
        Command::Demo { dir } => commands::demo::demo(dir, cli.scripts_dir),
        Command::List { task, json, key } => {
            let (config, plan, scripts) =
                commands::load(&cli.config, &clock, cli.scripts_dir.as_deref(), key.ssh_key)?;
            commands::list::list(
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
                commands::load(&cli.config, &clock, cli.scripts_dir.as_deref(), key.ssh_key)?;
            let request = commands::restore::Request {
                task,
                path,
                date: Some(date),
                from: Some(from),
                to,
                dry_run,
                overwrite,
            };
            commands::restore::restore(&config, &plan, &state, &scripts, &request)
        }
        Command::Verify {
            task,
            sample,
            json,
            key,
        } => {
            let (config, plan, scripts) =
                commands::load(&cli.config, &clock, cli.scripts_dir.as_deref(), key.ssh_key)?;
            let request = commands::verify::Request {
                task,
                sample,
                site_dir: cli.site_dir,
                json,
            };
            commands::verify::verify(&config, &plan, &state, &scripts, &clock, &request)
        }
        Command::Doctor { json } => commands::doctor::doctor(&commands::doctor::DoctorOptions {
            json,
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
            commands::render_site::render_site(&cli.config, &state, &clock, &site_dir)
        }
        Command::Run => commands::run::run(&RunOptions {
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

/// Completions and man pages, from the command line as declared here (the Nix package
/// installs them).
fn generate(what: Generate) -> Result<Exit, Error> {
    use clap::CommandFactory;
    let mut command = Cli::command();
    match what {
        Generate::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "backup-server", &mut script);
            journal::print_out(&String::from_utf8_lossy(&script));
        }
        Generate::Keys => {
            journal::print_out(&(crate::config::schema().join("\n") + "\n"));
        }
        Generate::Man { dir } => {
            let write = |name: &str, page: clap::Command| -> std::io::Result<()> {
                let mut out = Vec::new();
                clap_mangen::Man::new(page).render(&mut out)?;
                fs_err::write(dir.join(format!("{name}.1")), out)
            };
            let failed = |e: std::io::Error| Error::Usage(format!("writing the man pages: {e}"));
            fs_err::create_dir_all(&dir).map_err(failed)?;
            command.build();
            let pages = command
                .get_subcommands()
                .filter(|s| !s.is_hide_set() && s.get_name() != "help");
            for sub in pages {
                let name = format!("backup-server-{}", sub.get_name());
                write(&name, sub.clone().name(name.clone())).map_err(failed)?;
            }
            write("backup-server", command).map_err(failed)?;
        }
    }
    Ok(Exit::Success)
}
