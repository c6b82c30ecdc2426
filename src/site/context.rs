//! What every page is rendered with (the host, the clock, the disks, the run going
//! now), and where each page lives: the one context the index, the task pages, the
//! snapshot tables and the feeds are all given.

use crate::clock::Clock;
use crate::health::disks::Disk;
use crate::record::Progress;

/// Runs per task page.
pub const PAGE_SIZE: usize = 100;

/// What every page needs to know.
pub struct Context<'a> {
    pub host: &'a str,
    pub clock: &'a Clock,
    pub now: f64,
    pub today: jiff::civil::Date,
    /// The run going now, if any.
    pub running: Option<&'a Progress>,
    /// The backup disk and the targets.
    pub disks: &'a [Disk],
    /// The last run's pings (notify) that could not be delivered, in words.
    pub undelivered_pings: &'a [String],
    /// When the timer next starts a run (the config's `schedule`), if known.
    pub next_run: Option<f64>,
    /// Where the pages are served (`site_url`), if said.
    pub site_url: Option<&'a str>,
}

impl<'a> Context<'a> {
    pub fn new(
        host: &'a str,
        clock: &'a Clock,
        running: Option<&'a Progress>,
        disks: &'a [Disk],
    ) -> Context<'a> {
        let now = clock.now();
        Context {
            host,
            clock,
            now,
            today: clock.date_of(now),
            running,
            disks,
            undelivered_pings: &[],
            next_run: None,
            site_url: None,
        }
    }

    /// The same, with where the pages are served and when the timer next fires.
    pub fn with_site(self, site_url: Option<&'a str>, next_run: Option<f64>) -> Context<'a> {
        Context {
            site_url,
            next_run,
            ..self
        }
    }

    /// The same, naming the last run's pings that could not be delivered.
    pub fn with_undelivered_pings(self, undelivered_pings: &'a [String]) -> Context<'a> {
        Context {
            undelivered_pings,
            ..self
        }
    }
}

/// The directory name of a task's pages: its name when it is a safe one (every
/// configured name is), else its position, so no DB content can make a path.
pub fn slug(index: usize, name: &str) -> String {
    let safe = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && name.len() <= 100;
    if safe {
        name.to_string()
    } else {
        format!("task-{index}")
    }
}

/// The file of page `page` (1-based) of a task, relative to the task's directory.
pub fn page_file(page: usize) -> String {
    if page == 1 {
        "index.html".into()
    } else {
        format!("page-{page}.html")
    }
}
