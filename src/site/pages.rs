//! The HTML pages: the index (is everything fine?) and a paginated history per task.
//!
//! Readable without JavaScript, on a phone and in dark mode (the CSS in `site/`),
//! every value escaped by maud.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::TaskSummary;
use super::charts::{self, outcome_class, outcome_word};
use super::context::{Context, PAGE_SIZE, page_file, slug};
use crate::clock::took;
use crate::health::{Health, Overall};
use crate::record::{StepRow, TaskHistory, TaskRun as Run};

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

/// How things stand over the tasks and the disks, by the health rule.
pub fn overall(ctx: &Context, tasks: &[TaskSummary]) -> Overall {
    Overall::of(tasks.iter().map(|t| t.health.state), ctx.disks)
}

pub fn index(ctx: &Context, tasks: &[TaskSummary]) -> Markup {
    let overall = overall(ctx, tasks);
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
        @if overall.tasks == 0 {
            section.banner.attention { h1 { (overall.headline()) } p { "Nothing has been configured or recorded." } }
        } @else if overall.all_fine() {
            section.banner.fine { h1 { (overall.headline()) } p { "Every task succeeded on its last run, none is stale, no disk is filling up." } }
        } @else {
            section.banner.attention {
                h1 { (overall.headline()) }
                ul {
                    @for i in &overall.attention {
                        @let task = &tasks[*i];
                        li { a href={ "tasks/" (slug(*i, &task.name)) "/index.html" } { (task.name) } ": " span.why { (task.health.describe(ctx.clock)) } }
                    }
                    @for i in &overall.disks {
                        @let disk = &ctx.disks[*i];
                        li { (disk.name) ": " span.why { (disk.warning.as_deref().unwrap_or_default()) } }
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
            div { span.figure { (crate::words::number(runs as u64)) } " task runs" }
            div { span.figure { (crate::words::number(successes as u64)) } " succeeded" }
            div { span.figure { (crate::words::number((runs - successes) as u64)) } " failed" }
            div { "last run " span.figure { (last_run.map_or("never".to_string(), |t| ctx.clock.local_time(t))) } }
            @if let Some(next) = ctx.next_run {
                div { "next run expected " span.figure { (ctx.clock.local_time(next)) } }
            }
        }
        @if !ctx.disks.is_empty() {
            h2 { "Disks" }
            table.disks.cards {
                thead { tr { th { "disk" } th { "space" } th { "free space" } } }
                tbody {
                    @for disk in ctx.disks {
                        // Measured before the last run began: that run did not reach it.
                        @let old = last_run.is_some_and(|t| disk.measured < t);
                        tr class=[old.then_some("old")] {
                            td.name data-label="disk" { (disk.name) }
                            td.wrap data-label="space" {
                                @if old { span.asof { "as of " (ctx.clock.date_of(disk.measured).to_string()) ": " } }
                                (disk.describe())
                                @if let Some(warning) = &disk.warning { br; span.disk.attention { "Needs attention: " (warning) } }
                            }
                            td.chart { (charts::disk(disk, ctx.clock)) }
                        }
                    }
                }
            }
        }
        h2 { "Tasks" }
        table.tasks.cards {
            thead { tr { th { "task" } th { "state" } th { "last run" } th { "last success" } th { "success rate" } th { "last 30 runs" } th { "durations" } } }
            tbody {
                @for (i, task) in tasks.iter().enumerate() {
                    tr class=(task.health.state.word()) {
                        td.name data-label="task" { a href={ "tasks/" (slug(i, &task.name)) "/index.html" } { (task.name) } }
                        td.wrap.outcome { span class={ "state " (task.health.state.word()) } { (task.health.describe(ctx.clock)) } }
                        td data-label="last run" { @if let Some(run) = &task.last_run { (badge(run)) " " (ctx.clock.local_time(run.started)) } @else { "never" } }
                        td data-label="last success" { @if let Some(run) = &task.last_success { (ctx.clock.local_time(run.ended)) } @else { "never" } }
                        td data-label="success rate" { @if let Some(rate) = task.success_rate { (format!("{:.0}%", rate * 100.0)) } @else { "—" } }
                        td.chart { (charts::strip(&task.recent, ctx.clock)) }
                        td.chart { (charts::sparkline(&task.recent)) }
                    }
                }
            }
        }
        h2 { "Recent runs" }
        table.runs.cards {
            thead { tr { th { "outcome" } th { "started" } th { "task" } th { "took" } th { "steps" } } }
            tbody {
                @for (i, run) in &recent {
                    tr {
                        td.outcome { (badge(run)) }
                        td data-label="started" { (ctx.clock.local_time(run.started)) }
                        td.name data-label="task" { a href={ "tasks/" (slug(*i, &tasks[*i].name)) "/index.html" } { (tasks[*i].name) } }
                        td data-label="took" { (took(run.duration())) }
                        td data-label="steps" { (step_badges(run)) }
                    }
                }
            }
        }
    };
    layout(
        ctx,
        &format!("{} — backups on {}", overall.mark(), ctx.host),
        "",
        body,
    )
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
        @if page == 1 { (super::snapshot_table::sections(ctx, &task.inventory)) }
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
                h3 { (badge(run)) " " (ctx.clock.local_time(run.started)) " " small { "took " (took(run.duration())) } }
                @if let Some(reason) = run.reason() {
                    p class={ "reason " (outcome_class(run.state)) } { (reason) }
                }
                details.steps {
                    summary { (step_badges(run)) }
                    table.steps.cards {
                        thead { tr { th { "step" } th { "result" } th { "started" } th { "took" } th { "from" } th { "to" } } }
                        tbody {
                            @for step in &run.steps {
                                tr {
                                    td.name data-label="step" { (step.step) }
                                    td.outcome { span class={ "badge " (step_class(step)) } { (step.outcome) } }
                                    td.started data-label="started" { (ctx.clock.local_time(step.started)) }
                                    td data-label="took" { (took(step.duration())) }
                                    td.path data-label="from" { code { (&*step.dir_from) } }
                                    td.path data-label="to" { code { (&*step.dir_to) } }
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
        &format!(
            "{} {} — backups on {}",
            if health.state.needs_attention() {
                "✗"
            } else {
                "✓"
            },
            task.name,
            ctx.host
        ),
        "../../",
        body,
    )
}
