//! `backup-server render-site`: the history site rendered from the log DB, as a run
//! renders it at its end, for a site directory given on the command line. A run that
//! is going now (it holds the lock) shows as running, not as interrupted.

use std::path::Path;

use crate::clock::Clock;
use crate::config::Config;
use crate::error::Error;
use crate::exit::Exit;
use crate::journal;
use crate::record::Record;
use crate::state::StateDir;

/// Renders the site into `site_dir` from the record in `state`, for the tasks of the
/// config in `config_file`.
pub fn render_site(
    config_file: &Path,
    state: &StateDir,
    clock: &Clock,
    site_dir: &Path,
) -> Result<Exit, Error> {
    let config = Config::load(config_file)?;
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
    render(
        &config,
        record.as_ref(),
        active,
        progress.as_ref(),
        clock,
        site_dir,
    )?;
    Ok(Exit::Success)
}

/// Renders the site from `record` (with the run going now, if any, and its progress)
/// for the tasks of `config`, and says where: what `render-site` and `verify` do.
pub fn render(
    config: &Config,
    record: Option<&Record>,
    active: Option<crate::record::RunId>,
    progress: Option<&crate::record::Progress>,
    clock: &Clock,
    site_dir: &Path,
) -> Result<(), crate::site::SiteError> {
    let configured: Vec<String> = config.tasks.iter().map(|t| t.name.clone()).collect();
    let rendered = crate::site::render_recorded(
        record,
        &configured,
        active,
        progress,
        clock,
        &crate::site::Settings::of(config),
        site_dir,
    )?;
    journal::info(&format!(
        "site rendered: {} pages in {}",
        rendered.pages,
        site_dir.display()
    ));
    Ok(())
}
