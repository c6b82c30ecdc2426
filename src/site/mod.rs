//! The history site: static pages rendered from the log DB after every run, for nginx.
//!
//! the record's history, judged by the health rule → pages, charts and feeds (rendered one file
//! at a time) → publish (one atomic swap). It replaces the seed's Flask dashboard:
//! nothing to log into, nothing to crash.

pub mod charts;
pub mod feeds;
pub mod nginx;
pub mod pages;
pub mod publish;

use std::path::Path;

use crate::clock::Clock;
use crate::health::{self, Health};
use crate::record::TaskHistory;
use pages::{Context, PAGE_SIZE, page_file, slug};

const STYLE: &str = include_str!("../../site/style.css");

/// Renders the site from `tasks` (the record read back) and publishes it at
/// `site_dir`. Returns the number of pages written.
pub fn render(
    tasks: &[TaskHistory],
    clock: &Clock,
    stale_after_days: u32,
    site_dir: &Path,
) -> Result<usize, String> {
    let now = clock.now();
    let health: Vec<Health> = tasks
        .iter()
        .map(|t| health::judge(t, now, stale_after_days))
        .collect();
    let host = crate::report::hostname();
    let ctx = Context {
        host: &host,
        clock,
        now,
        today: clock.date_of(now),
        health: &health,
    };
    let mut pages = 0;
    publish::publish(site_dir, |writer| {
        pages = write_site(&ctx, tasks, writer)?;
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
        let pages = task.runs.len().div_ceil(PAGE_SIZE).max(1);
        for page in 1..=pages {
            let html = pages::task_page(ctx, task, &ctx.health[i], page, pages).into_string();
            writer.write(
                &format!("tasks/{}/{}", slug(i, &task.name), page_file(page)),
                html.as_bytes(),
            )?;
            count += 1;
        }
    }
    Ok(count)
}
