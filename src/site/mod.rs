//! The history site: static pages rendered from the log DB after every run, for nginx.
//!
//! history (the DB read back as runs) → pages, charts and feeds (rendered in memory)
//! → publish (one atomic swap). It replaces the seed's Flask dashboard: nothing to log
//! into, nothing to crash.

pub mod charts;
pub mod feeds;
pub mod history;
pub mod nginx;
pub mod pages;
pub mod publish;

use std::path::Path;

use crate::config::Config;
use history::TaskHistory;
use pages::{Context, PAGE_SIZE, page_file, slug};

const STYLE: &str = include_str!("../../site/style.css");

/// Renders the site for `config` from the DB at `db` (which may not exist yet) and
/// publishes it at `site_dir`. Returns the number of pages written.
pub fn render(config: &Config, db: &Path, site_dir: &Path) -> Result<usize, String> {
    let configured: Vec<String> = config.tasks.iter().map(|t| t.name.clone()).collect();
    let tasks = if db.exists() {
        history::load(db, &configured).map_err(|e| format!("cannot read {}: {e}", db.display()))?
    } else {
        configured
            .into_iter()
            .map(|name| TaskHistory {
                name,
                runs: Vec::new(),
            })
            .collect()
    };
    let tz = jiff::tz::TimeZone::system();
    let now = crate::status::now();
    let today = jiff::Timestamp::from_millisecond((now * 1000.0) as i64)
        .map(|t| t.to_zoned_datetime(tz.clone()).date())
        .map_err(|e| e.to_string())?;
    let host = crate::report::hostname();
    let ctx = Context {
        host: &host,
        now,
        stale_after_days: config.stale_after_days,
        tz: &tz,
        today,
    };
    let files = render_files(&ctx, &tasks);
    let pages = files
        .iter()
        .filter(|(path, _)| path.ends_with(".html"))
        .count();
    publish::publish(site_dir, &files)?;
    Ok(pages)
}

/// Every file of the site, by relative path.
pub fn render_files(ctx: &Context, tasks: &[TaskHistory]) -> Vec<(String, Vec<u8>)> {
    let mut files = vec![
        (
            "index.html".to_string(),
            pages::index(ctx, tasks).into_string().into_bytes(),
        ),
        ("style.css".to_string(), STYLE.as_bytes().to_vec()),
        (
            "status.json".to_string(),
            feeds::status_json(ctx, tasks).into_bytes(),
        ),
        (
            "metrics.prom".to_string(),
            feeds::metrics(tasks).into_bytes(),
        ),
        (
            "feed.atom".to_string(),
            feeds::atom(ctx, tasks).into_bytes(),
        ),
    ];
    for (i, task) in tasks.iter().enumerate() {
        let health = task.health(ctx.now, ctx.stale_after_days);
        let pages = task.runs.len().div_ceil(PAGE_SIZE).max(1);
        for page in 1..=pages {
            let html = pages::task_page(ctx, task, health, page, pages).into_string();
            files.push((
                format!("tasks/{}/{}", slug(i, &task.name), page_file(page)),
                html.into_bytes(),
            ));
        }
    }
    files
}
