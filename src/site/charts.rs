//! Inline SVG charts: a strip of recent outcomes, a sparkline and a bar chart of
//! durations, a calendar of a year's outcomes.
//!
//! Drawn with maud like the pages, so every label is escaped; each chart carries a
//! text alternative (`role="img"` with `aria-label`, and `<title>` per mark). Every mark
//! is written with a body (`line … {}`), never as a void element (`line …;`): in HTML,
//! `<line>` is not self-closing, and an unclosed one swallows the marks after it.

use std::collections::BTreeMap;

use jiff::civil::Date;
use maud::{Markup, html};

use crate::clock::{Clock, DAY, took};
use crate::health::disks::Disk;
use crate::record::{RunState, TaskRun as Run};
use crate::words::bytes;

/// The CSS class of a run's outcome.
pub fn outcome_class(state: RunState) -> &'static str {
    match state {
        RunState::Ok => "ok",
        RunState::Warned => "warned",
        RunState::Failed | RunState::Interrupted => "failed",
        RunState::Running => "running",
    }
}

/// A run's outcome in words.
pub fn outcome_word(state: RunState) -> &'static str {
    match state {
        RunState::Ok => "succeeded",
        RunState::Warned => "succeeded with warnings",
        RunState::Failed => "FAILED",
        RunState::Interrupted => "INTERRUPTED",
        RunState::Running => "running",
    }
}

/// The last `runs` (newest first in, oldest drawn first), one square each.
pub fn strip(runs: &[Run], clock: &Clock) -> Markup {
    let shown: Vec<&Run> = runs.iter().take(30).rev().collect();
    if shown.is_empty() {
        return html! { "no runs" };
    }
    let ok = shown.iter().filter(|r| r.succeeded()).count();
    let label = format!(
        "last {} runs: {ok} succeeded, {} failed",
        shown.len(),
        shown.len() - ok
    );
    html! {
        svg.strip role="img" aria-label=(label) width=(shown.len() * 8) height="14" viewBox={ "0 0 " (shown.len() * 8) " 14" } {
            @for (i, run) in shown.iter().enumerate() {
                rect class=(outcome_class(run.state)) x=(i * 8) y="0" width="6" height="14" rx="1" {
                    title { (clock.local_time(run.started)) ": " (outcome_word(run.state)) }
                }
            }
        }
    }
}

/// Durations of the last 30 runs as a line; nothing under two runs.
pub fn sparkline(runs: &[Run]) -> Markup {
    let durations: Vec<f64> = runs.iter().take(30).rev().map(Run::duration).collect();
    if durations.len() < 2 {
        return html! {};
    }
    let max = durations.iter().copied().fold(0.0_f64, f64::max).max(1.0);
    let (w, h) = (120.0, 20.0);
    let step = if durations.len() > 1 {
        w / (durations.len() - 1) as f64
    } else {
        0.0
    };
    let points: Vec<String> = durations
        .iter()
        .enumerate()
        .map(|(i, d)| {
            format!(
                "{:.1},{:.1}",
                i as f64 * step,
                h - 1.0 - d / max * (h - 2.0)
            )
        })
        .collect();
    let label = format!(
        "durations of the last {} runs, longest {}",
        durations.len(),
        took(max)
    );
    html! {
        svg.sparkline role="img" aria-label=(label) width="120" height="20" viewBox="0 0 120 20" {
            title { (label) }
            polyline points=(points.join(" ")) fill="none" stroke-width="1.5" {}
        }
    }
}

/// A bar per run (up to the last 90), height by duration, colour by outcome.
pub fn durations(runs: &[Run], clock: &Clock) -> Markup {
    let shown: Vec<&Run> = runs.iter().take(90).rev().collect();
    let max = shown
        .iter()
        .map(|r| r.duration())
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let mut sorted: Vec<f64> = shown.iter().map(|r| r.duration()).collect();
    sorted.sort_by(f64::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    let label = format!(
        "durations of the last {} runs: median {}, longest {}",
        shown.len(),
        took(median),
        took(max)
    );
    let (bar, gap, h) = (6.0, 2.0, 80.0);
    let width = shown.len() as f64 * (bar + gap);
    html! {
        figure {
            svg.durations role="img" aria-label=(label) width=(width) height=(h) viewBox={ "0 0 " (width) " " (h) } {
                @for (i, run) in shown.iter().enumerate() {
                    @let bar_h = (run.duration() / max * (h - 2.0)).max(1.0);
                    rect class=(outcome_class(run.state)) x=(i as f64 * (bar + gap)) y=(h - bar_h) width=(bar) height=(bar_h) {
                        title { (clock.local_time(run.started)) ": " (took(run.duration())) }
                    }
                }
            }
            figcaption { (label) }
        }
    }
}

/// The outcome of each day of the year up to `today`: a column per week, the newest
/// week first (on a narrow screen the recent months are the ones in view), Monday on top.
pub fn calendar(runs: &[Run], today: Date, clock: &Clock) -> Markup {
    let mut days: BTreeMap<Date, bool> = BTreeMap::new();
    for run in runs.iter().filter(|r| r.state != RunState::Running) {
        let day = clock.date_of(run.started);
        // A day is good only if every run that day succeeded.
        let all_ok = days.get(&day).copied().unwrap_or(true) && run.succeeded();
        days.insert(day, all_ok);
    }
    let first = today
        .checked_sub(jiff::Span::new().days(364))
        .unwrap_or(today);
    let cell = 11;
    let this_monday = today
        .checked_sub(jiff::Span::new().days(i64::from(today.weekday().to_monday_zero_offset())))
        .unwrap_or(today);
    let mut cells = Vec::new();
    let (mut good, mut bad, mut none) = (0, 0, 0);
    let mut weeks = 0;
    let mut day = today;
    while day >= first {
        // Whole weeks back from this one: column 0 is this week.
        let week = ((this_monday
            - day
                .checked_sub(
                    jiff::Span::new().days(i64::from(day.weekday().to_monday_zero_offset())),
                )
                .unwrap_or(day))
        .get_days()
            / 7) as usize;
        weeks = weeks.max(week + 1);
        let (class, word) = match days.get(&day) {
            Some(true) => ("ok", "all runs succeeded"),
            Some(false) => ("failed", "a run failed"),
            None => ("none", "no run"),
        };
        match class {
            "ok" => good += 1,
            "failed" => bad += 1,
            _ => none += 1,
        }
        cells.push((
            week * cell,
            day.weekday().to_monday_zero_offset() as usize * cell,
            class,
            format!("{day}: {word}"),
        ));
        day = match day.yesterday() {
            Ok(previous) => previous,
            Err(_) => break,
        };
    }
    let label = format!(
        "the year to {today}, newest week first: {} all good, {} with a failed run, {} without a run",
        days_word(good),
        days_word(bad),
        days_word(none)
    );
    html! {
        figure {
            svg.calendar role="img" aria-label=(label) width=(weeks * cell) height=(7 * cell) viewBox={ "0 0 " (weeks * cell) " " (7 * cell) } {
                @for (x, y, class, title) in &cells {
                    rect class=(class) x=(x) y=(y) width="9" height="9" rx="1" { title { (title) } }
                }
            }
            figcaption { (label) }
        }
    }
}

/// What the backup of each of the last 90 runs moved (bytes copied rather than
/// hard-linked), a bar each.
pub fn moved(runs: &[Run], clock: &Clock) -> Markup {
    let shown: Vec<(&Run, u64)> = runs
        .iter()
        .take(90)
        .rev()
        .filter_map(|r| Some((r, r.backup_stats()?.bytes_transferred)))
        .collect();
    if shown.is_empty() {
        return html! { p { "No backup has recorded what it moved." } };
    }
    let max = shown.iter().map(|(_, b)| *b).max().unwrap_or(0).max(1);
    let mut sorted: Vec<u64> = shown.iter().map(|(_, b)| *b).collect();
    sorted.sort_unstable();
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0);
    let label = format!(
        "data moved by the last {} backups: median {}, most {}",
        shown.len(),
        bytes(median),
        bytes(*sorted.last().unwrap_or(&0))
    );
    let (bar, gap, h) = (6.0, 2.0, 60.0);
    let width = shown.len() as f64 * (bar + gap);
    html! {
        figure {
            svg.moved role="img" aria-label=(label) width=(width) height=(h) viewBox={ "0 0 " (width) " " (h) } {
                @for (i, (run, moved)) in shown.iter().enumerate() {
                    @let bar_h = (*moved as f64 / max as f64 * (h - 2.0)).max(1.0);
                    rect.moved x=(i as f64 * (bar + gap)) y=(h - bar_h) width=(bar) height=(bar_h) {
                        title { (clock.local_time(run.started)) ": " (bytes(*moved)) }
                    }
                }
            }
            figcaption { (label) }
        }
    }
}

/// A disk's free space over the forecast's window, its axes scaled to the measures
/// (the first to the last, the least free to the most), so a change shows; the
/// forecast is said in words under it, not drawn years wide.
pub fn disk(disk: &Disk, clock: &Clock) -> Markup {
    let (w, h) = (240.0, 60.0);
    let points = &disk.series;
    let start = points.first().map_or(disk.measured, |(t, _)| *t);
    let end = points
        .last()
        .map_or(disk.measured, |(t, _)| *t)
        .max(start + 1.0);
    let least = points.iter().map(|(_, f)| *f).min().unwrap_or(0) as f64;
    let most = points.iter().map(|(_, f)| *f).max().unwrap_or(0) as f64;
    // A flat line is drawn across the middle.
    let (low, high) = if most > least {
        (least, most)
    } else {
        (least - 1.0, least + 1.0)
    };
    let x = |t: f64| (t - start) / (end - start) * (w - 2.0) + 1.0;
    let y = |free: f64| h - 2.0 - (free - low) / (high - low) * (h - 4.0);
    let line: Vec<String> = points
        .iter()
        .map(|(t, f)| format!("{:.1},{:.1}", x(*t), y(*f as f64)))
        .collect();
    let full_on = disk
        .full_in_days
        .map(|days| clock.date_of(disk.measured + days * DAY));
    let span = match (points.first(), points.last()) {
        (Some((t0, f0)), Some((t1, f1))) if points.len() > 1 => format!(
            " from {} ({}) to {} ({})",
            clock.date_of(*t0),
            bytes(*f0),
            clock.date_of(*t1),
            bytes(*f1)
        ),
        _ => String::new(),
    };
    let label = format!(
        "free space on {} over the last {} measures{span}: {}{}",
        disk.name,
        points.len(),
        disk.free_bytes
            .map(bytes)
            .unwrap_or_else(|| "unknown".into()),
        full_on
            .map(|d| format!(" now, full around {d} at this rate"))
            .unwrap_or_else(|| " now, not filling up".into())
    );
    html! {
        figure {
            svg.disk role="img" aria-label=(label) width=(w) height=(h) viewBox={ "0 0 " (w) " " (h) } {
                title { (label) }
                line.axis x1="0" y1=(h - 0.5) x2=(w) y2=(h - 0.5) {}
                @if line.len() > 1 {
                    polyline.free points=(line.join(" ")) {}
                } @else if let Some(point) = line.first() {
                    @let (cx, cy) = point.split_once(',').unwrap_or(("1", "1"));
                    circle.free cx=(cx) cy=(cy) r="2" {}
                }
            }
            figcaption { (label) }
        }
    }
}

fn days_word(n: usize) -> String {
    if n == 1 {
        "1 day".into()
    } else {
        format!("{n} days")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::StepRow;

    fn closed(markup: &str) {
        for mark in ["line", "polyline", "rect", "circle", "path"] {
            let opened = markup.matches(&format!("<{mark} ")).count();
            let closed = markup.matches(&format!("</{mark}>")).count();
            assert_eq!(opened, closed, "every <{mark}> is closed: {markup}");
        }
    }

    #[test]
    fn every_mark_of_every_chart_is_closed() {
        let clock = Clock::system();
        let now = clock.now();
        let runs: Vec<Run> = (0..40)
            .map(|i| Run {
                run: crate::record::RunId(i),
                started: now - i as f64 * DAY,
                ended: now - i as f64 * DAY + 60.0,
                state: if i % 5 == 0 {
                    RunState::Failed
                } else {
                    RunState::Ok
                },
                steps: Vec::<StepRow>::new(),
            })
            .collect();
        let measured = Disk {
            name: "backup disk".into(),
            measured: now,
            free_bytes: Some(100),
            total_bytes: Some(1000),
            free_inodes: None,
            total_inodes: None,
            full_in_days: Some(3.0),
            warning: None,
            series: vec![(now - 2.0 * DAY, 300), (now - DAY, 200), (now, 100)],
        };
        for chart in [
            strip(&runs, &clock),
            sparkline(&runs),
            durations(&runs, &clock),
            calendar(&runs, clock.today(), &clock),
            moved(&runs, &clock),
            disk(&measured, &clock),
        ] {
            closed(&chart.into_string());
        }
    }

    #[test]
    fn the_calendar_starts_with_this_week() {
        let clock = Clock::system();
        let today = clock.today();
        let markup = calendar(&[], today, &clock).into_string();
        let first = markup.split("<rect ").nth(1).unwrap();
        assert!(first.starts_with("class=\"none\" x=\"0\""), "{first}");
        assert!(
            first.contains(&format!("<title>{today}: no run</title>")),
            "{first}"
        );
    }
}
