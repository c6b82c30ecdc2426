//! Inline SVG charts: a strip of recent outcomes, a sparkline and a bar chart of
//! durations, a calendar of a year's outcomes.
//!
//! Drawn with maud like the pages, so every label is escaped; each chart carries a
//! text alternative (`role="img"` with `aria-label`, and `<title>` per mark).

use std::collections::BTreeMap;

use jiff::civil::Date;
use maud::{Markup, html};

use crate::capacity::{Disk, bytes};
use crate::clock::{Clock, DAY, elapsed};
use crate::record::{RunState, TaskRun as Run};

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

/// Durations of the last 30 runs as a line.
pub fn sparkline(runs: &[Run]) -> Markup {
    let durations: Vec<f64> = runs.iter().take(30).rev().map(Run::duration).collect();
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
        elapsed(max)
    );
    html! {
        svg.sparkline role="img" aria-label=(label) width="120" height="20" viewBox="0 0 120 20" {
            title { (label) }
            polyline points=(points.join(" ")) fill="none" stroke-width="1.5";
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
        elapsed(median),
        elapsed(max)
    );
    let (bar, gap, h) = (6.0, 2.0, 80.0);
    let width = shown.len() as f64 * (bar + gap);
    html! {
        figure {
            svg.durations role="img" aria-label=(label) width=(width) height=(h) viewBox={ "0 0 " (width) " " (h) } {
                @for (i, run) in shown.iter().enumerate() {
                    @let bar_h = (run.duration() / max * (h - 2.0)).max(1.0);
                    rect class=(outcome_class(run.state)) x=(i as f64 * (bar + gap)) y=(h - bar_h) width=(bar) height=(bar_h) {
                        title { (clock.local_time(run.started)) ": " (elapsed(run.duration())) }
                    }
                }
            }
            figcaption { (label) }
        }
    }
}

/// The outcome of each day of the year up to `today`: a column per week, Monday on top.
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
    // Start the grid on the Monday of the first day's week.
    let offset = i64::from(first.weekday().to_monday_zero_offset());
    let start = first
        .checked_sub(jiff::Span::new().days(offset))
        .unwrap_or(first);
    let cell = 11;
    let mut cells = Vec::new();
    let (mut good, mut bad, mut none) = (0, 0, 0);
    let mut day = start;
    let mut index = 0usize;
    while day <= today {
        if day >= first {
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
                index / 7 * cell,
                index % 7 * cell,
                class,
                format!("{day}: {word}"),
            ));
        }
        index += 1;
        day = match day.tomorrow() {
            Ok(next) => next,
            Err(_) => break,
        };
    }
    let weeks = index.div_ceil(7);
    let label = format!(
        "the year to {today}: {} all good, {} with a failed run, {} without a run",
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

/// A disk's free space over the forecast's window, and the line to the day it is full
/// at that rate, when it is filling up.
pub fn disk(disk: &Disk, clock: &Clock) -> Markup {
    let (w, h) = (240.0, 60.0);
    let points = &disk.series;
    let total = disk
        .total_bytes
        .or_else(|| points.iter().map(|(_, f)| *f).max())
        .unwrap_or(1)
        .max(1) as f64;
    let start = points.first().map_or(disk.measured, |(t, _)| *t);
    let end = disk
        .full_in_days
        .map_or(disk.measured, |days| disk.measured + days * DAY)
        .max(start + DAY);
    let x = |t: f64| (t - start) / (end - start) * w;
    let y = |free: f64| h - free / total * (h - 2.0) - 1.0;
    let line: Vec<String> = points
        .iter()
        .map(|(t, f)| format!("{:.1},{:.1}", x(*t), y(*f as f64)))
        .collect();
    let full_on = disk
        .full_in_days
        .map(|days| clock.date_of(disk.measured + days * DAY));
    let label = format!(
        "free space on {} over the last {} measures: {}{}",
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
                line.axis x1="0" y1=(h - 0.5) x2=(w) y2=(h - 0.5);
                polyline.free points=(line.join(" "));
                @if let (Some(_), Some((t, f))) = (full_on, points.last()) {
                    line.forecast x1=(format!("{:.1}", x(*t))) y1=(format!("{:.1}", y(*f as f64))) x2=(format!("{:.1}", w)) y2=(format!("{:.1}", h - 1.0));
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
