//! The history site: static pages rendered from the log DB after every run, for nginx.
//!
//! history (the DB read back as runs) → pages, charts and feeds (rendered one file
//! at a time) → publish (one atomic swap). It replaces the seed's Flask dashboard:
//! nothing to log into, nothing to crash.

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
    let mut pages = 0;
    publish::publish(site_dir, |writer| {
        pages = write_site(&ctx, &tasks, writer)?;
        Ok(())
    })?;
    Ok(pages)
}

/// Writes every file of the site, one at a time; returns the number of pages.
fn write_site(
    ctx: &Context,
    tasks: &[TaskHistory],
    writer: &publish::SiteWriter,
) -> std::io::Result<usize> {
    writer.write(
        "index.html",
        pages::index(ctx, tasks).into_string().as_bytes(),
    )?;
    writer.write("style.css", STYLE.as_bytes())?;
    writer.write("status.json", feeds::status_json(ctx, tasks).as_bytes())?;
    writer.write("metrics.prom", feeds::metrics(tasks).as_bytes())?;
    writer.write("feed.atom", feeds::atom(ctx, tasks).as_bytes())?;
    let mut count = 1;
    for (i, task) in tasks.iter().enumerate() {
        let health = task.health(ctx.now, ctx.stale_after_days);
        let pages = task.runs.len().div_ceil(PAGE_SIZE).max(1);
        for page in 1..=pages {
            let html = pages::task_page(ctx, task, health, page, pages).into_string();
            writer.write(
                &format!("tasks/{}/{}", slug(i, &task.name), page_file(page)),
                html.as_bytes(),
            )?;
            count += 1;
        }
    }
    Ok(count)
}
