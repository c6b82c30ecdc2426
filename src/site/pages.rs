//! The HTML pages: the index (is everything fine?) and a paginated history per task.
//!
//! Readable without JavaScript, on a phone and in dark mode (the CSS in `site/`),
//! every value escaped by maud.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::TaskSummary;
use super::charts::{self, outcome_class, outcome_word};
use crate::capacity::Disk;
use crate::clock::{Clock, elapsed};
use crate::health::Health;
use crate::record::Progress;
use crate::record::{StepRow, TaskHistory, TaskRun as Run};

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

fn layout(ctx: &Context, title: &str, root: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) }
                link rel="stylesheet" href={ (root) "style.css" };
                link rel="alternate" type="application/atom+xml" title="Failed backups" href={ (root) "feed.atom" };
            }
            body {
                header {
                    a.home href={ (root) "index.html" } { "backup-server" }
                    span.host { " on " (ctx.host) }
                }
                main { (body) }
                footer {
                    "Rendered " (ctx.clock.local_time(ctx.now)) " · "
                    a href={ (root) "status.json" } { "status.json" } " · "
                    a href={ (root) "metrics.prom" } { "metrics.prom" } " · "
                    a href={ (root) "feed.atom" } { "failures feed" }
                }
            }
        }
    }
}

fn badge(run: &Run) -> Markup {
    html! { span class={ "badge " (outcome_class(run.state)) } { (outcome_word(run.state)) } }
}

fn step_class(step: &StepRow) -> &'static str {
    if step.failed() {
        "failed"
    } else if step.warned() {
        "warned"
    } else {
        "ok"
    }
}

fn step_badges(run: &Run) -> Markup {
    html! {
        @for step in &run.steps {
            span class={ "badge " (step_class(step)) } title=(&*step.dir_to) {
                (step.step) @if step.failed() { " FAILED" }
            }
            " "
        }
    }
}

pub fn index(ctx: &Context, tasks: &[TaskSummary]) -> Markup {
    let attention: Vec<(usize, &TaskSummary)> = tasks
        .iter()
        .enumerate()
        .filter(|(_, t)| t.health.state.needs_attention())
        .collect();
    let runs: usize = tasks.iter().map(|t| t.runs).sum();
    let successes: usize = tasks.iter().map(|t| t.successes).sum();
    let last_run = tasks
        .iter()
        .filter_map(|t| t.last_run.as_ref())
        .map(|r| r.started)
        .reduce(f64::max);
    let mut recent: Vec<(usize, &Run)> = tasks
        .iter()
        .enumerate()
        .flat_map(|(i, t)| t.recent.iter().take(20).map(move |r| (i, r)))
        .collect();
    recent.sort_by(|a, b| b.1.started.total_cmp(&a.1.started));
    recent.truncate(20);
    let full_disks: Vec<&Disk> = ctx.disks.iter().filter(|d| d.warning.is_some()).collect();

    let body = html! {
        @if let Some(running) = ctx.running {
            section.banner.running role="status" {
                h1 { "A backup is running" }
                p {
                    "Since " (ctx.clock.local_time(running.since))
                    @if let (Some(task), Some(step)) = (&running.task, &running.step) { ": task " strong { (task) } ", step " strong { (step) } }
                    @else if let Some(task) = &running.task { ": task " strong { (task) } }
                    "."
                }
                @if !running.done.is_empty() {
                    p { "Done: "
                        @for (i, (task, step, outcome)) in running.done.iter().enumerate() {
                            @if i > 0 { ", " }
                            (task) " " (step) " " span class={ "badge " (outcome) } { (outcome) }
                        }
                    }
                }
            }
        }
        @if tasks.is_empty() {
            section.banner.attention { h1 { "No tasks yet" } p { "Nothing has been configured or recorded." } }
        } @else if attention.is_empty() && full_disks.is_empty() {
            section.banner.fine { h1 { "All backups are fine" } p { "Every task succeeded on its last run, none is stale, no disk is filling up." } }
        } @else {
            section.banner.attention {
                h1 {
                    @if !attention.is_empty() {
                        (attention.len()) " of " (tasks.len())
                        (if attention.len() == 1 { " task needs attention" } else { " tasks need attention" })
                    } @else {
                        (if full_disks.len() == 1 { "A disk needs attention" } else { "Disks need attention" })
                    }
                }
                ul {
                    @for (i, task) in &attention {
                        li { a href={ "tasks/" (slug(*i, &task.name)) "/index.html" } { (task.name) } ": " (task.health.describe(ctx.clock)) }
                    }
                    @for disk in &full_disks {
                        li { (disk.name) ": " (disk.warning.as_deref().unwrap_or_default()) }
                    }
                }
            }
        }
        @if !ctx.undelivered_pings.is_empty() {
            section.banner.attention.pings {
                h2 { "Notifications not delivered" }
                p { "The last run could not deliver these pings. The backups are not affected, but a monitoring service may raise an alarm (or stay silent when it should not)." }
                ul { @for ping in ctx.undelivered_pings { li { (ping) } } }
            }
        }
        section.figures {
            div { span.figure { (runs) } " runs" }
            div { span.figure { (successes) } " succeeded" }
            div { span.figure { (runs - successes) } " failed" }
            div { "last run " span.figure { (last_run.map_or("never".to_string(), |t| ctx.clock.local_time(t))) } }
        }
        @if !ctx.disks.is_empty() {
            h2 { "Disks" }
            div.scroll {
                table.disks {
                    thead { tr { th { "disk" } th { "space" } th { "free space, and the forecast" } } }
                    tbody {
                        @for disk in ctx.disks {
                            tr {
                                td { (disk.name) }
                                td.wrap {
                                    (disk.describe())
                                    @if let Some(warning) = &disk.warning { br; span.disk.attention { "Needs attention: " (warning) } }
                                }
                                td { (charts::disk(disk, ctx.clock)) }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Tasks" }
        div.scroll {
            table.tasks {
                thead { tr { th { "task" } th { "state" } th { "last run" } th { "last success" } th { "success rate" } th { "last 30 runs" } th { "durations" } } }
                tbody {
                    @for (i, task) in tasks.iter().enumerate() {
                        tr class=(task.health.state.word()) {
                            td { a href={ "tasks/" (slug(i, &task.name)) "/index.html" } { (task.name) } }
                            td.wrap { span class={ "state " (task.health.state.word()) } { (task.health.describe(ctx.clock)) } }
                            td { @if let Some(run) = &task.last_run { (ctx.clock.local_time(run.started)) " " (badge(run)) } @else { "never" } }
                            td { @if let Some(run) = &task.last_success { (ctx.clock.local_time(run.ended)) } @else { "never" } }
                            td { @if let Some(rate) = task.success_rate { (format!("{:.0}%", rate * 100.0)) } @else { "—" } }
                            td { (charts::strip(&task.recent, ctx.clock)) }
                            td { (charts::sparkline(&task.recent)) }
                        }
                    }
                }
            }
        }
        h2 { "Recent runs" }
        div.scroll {
            table.runs {
                thead { tr { th { "started" } th { "task" } th { "took" } th { "steps" } } }
                tbody {
                    @for (i, run) in &recent {
                        tr {
                            td { (ctx.clock.local_time(run.started)) }
                            td { a href={ "tasks/" (slug(*i, &tasks[*i].name)) "/index.html" } { (tasks[*i].name) } }
                            td { (elapsed(run.duration())) }
                            td { (step_badges(run)) }
                        }
                    }
                }
            }
        }
    };
    layout(ctx, &format!("Backups on {}", ctx.host), "", body)
}

/// Page `page` (1-based) of a task's history, of `pages` in all.
pub fn task_page(
    ctx: &Context,
    task: &TaskHistory,
    health: &Health,
    page: usize,
    pages: usize,
) -> Markup {
    let runs = task
        .runs
        .iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE);
    let body = html! {
        h1 { (task.name) }
        p class={ "state " (health.state.word()) } { (health.describe(ctx.clock)) }
        @if page == 1 { (super::inventory::sections(ctx, &task.inventory)) }
        @if page == 1 && !task.runs.is_empty() {
            h2 { "Durations" }
            (charts::durations(&task.runs, ctx.clock))
            h2 { "Data moved" }
            (charts::moved(&task.runs, ctx.clock))
            h2 { "The last year" }
            (charts::calendar(&task.runs, ctx.today, ctx.clock))
        }
        h2 { "History" @if pages > 1 { " (page " (page) " of " (pages) ")" } }
        @if task.runs.is_empty() { p { "No run is recorded." } }
        @for run in runs {
            article.run {
                h3 { (ctx.clock.local_time(run.started)) " " (badge(run)) " " small { "took " (elapsed(run.duration())) } }
                @if let Some(reason) = run.reason() {
                    p class={ "reason " (outcome_class(run.state)) } { (reason) }
                }
                div.scroll {
                    table.steps {
                        thead { tr { th { "step" } th { "result" } th { "started" } th { "took" } th { "from" } th { "to" } } }
                        tbody {
                            @for step in &run.steps {
                                tr {
                                    td { (step.step) }
                                    td { span class={ "badge " (step_class(step)) } { (step.outcome) } }
                                    td { (ctx.clock.local_time(step.started)) }
                                    td { (elapsed(step.duration())) }
                                    td { code { (&*step.dir_from) } }
                                    td { code { (&*step.dir_to) } }
                                }
                                @for message in step.message.iter().chain(&step.warnings) {
                                    tr.message { td colspan="6" { (message) } }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if pages > 1 {
            nav.pages aria-label="pages" {
                @if page > 1 { a rel="prev" href=(page_file(page - 1)) { "← newer" } " " }
                @for p in 1..=pages {
                    @if p == page { strong { (p) } } @else { a href=(page_file(p)) { (p) } }
                    " "
                }
                @if page < pages { a rel="next" href=(page_file(page + 1)) { "older →" } }
            }
        }
        p { a href="../../index.html" { (PreEscaped("&larr; ")) "all tasks" } }
    };
    layout(
        ctx,
        &format!("{} · backups on {}", task.name, ctx.host),
        "../../",
        body,
    )
}
