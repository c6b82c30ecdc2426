//! A task page's snapshots and verification: what each side held at the end of the
//! last run, why each snapshot is kept and until when, and how the last
//! `backup-server verify` went, check by check.
//!
//! The same words as `backup-server list` and `verify` print, from the record.

use std::collections::BTreeMap;

use jiff::civil::Date;
use maud::{Markup, html};

use super::context::Context;
use crate::record::{ComparisonOutcome, Inventory};
use crate::retention::Kept;
use crate::sides::inventory::{cell, heading, rows};
use crate::words::added as added_words;

/// The snapshots section, then the verification section.
pub fn sections(ctx: &Context, inventory: &Inventory) -> Markup {
    html! {
        (snapshots(ctx, inventory))
        (verification(ctx, inventory))
    }
}

fn snapshots(ctx: &Context, inventory: &Inventory) -> Markup {
    let verdicts: Vec<BTreeMap<Date, Option<Kept>>> = inventory
        .sides
        .iter()
        .map(|side| {
            side.snapshots
                .iter()
                .map(|s| (s.date, s.kept.clone()))
                .collect()
        })
        .collect();
    let rows = rows(&verdicts);
    html! {
        h2 { "Snapshots" }
        @if inventory.sides.is_empty() {
            p { "Not listed yet: each run lists the backup disk and the targets at its end." }
        } @else {
            p.listed {
                "As listed at the end of the last run (" (ctx.clock.local_time(inventory.sides[0].listed)) "): "
                "why the retention policy keeps each snapshot, and the last day it stays if the nightly runs go on."
            }
            ul.sides {
                @for side in &inventory.sides {
                    li {
                        strong { (heading(&side.side)) } " " code { (side.location) } ": "
                        @match &side.error {
                            Some(error) => span.failed { "could not be listed: " (error) },
                            None => (crate::words::plural(side.snapshots.len(), "snapshot")),
                        }
                    }
                }
            }
            @if !rows.is_empty() {
                    table.snapshots.cards {
                        thead {
                            tr {
                                th { "date" } th { "added" }
                                @for side in &inventory.sides { th { (heading(&side.side)) } }
                            }
                        }
                        tbody {
                            @for (date, cells) in &rows {
                                tr {
                                    td.name { (date.to_string()) }
                                    td data-label="added" { (added_words(&inventory.added, *date)) }
                                    @for (side, c) in inventory.sides.iter().zip(cells) {
                                        td class=(cell_class(c)) data-label=(heading(&side.side)) {
                                            (cell(side.side == crate::sides::LOCAL, side.error.is_none(), c, &cells[0]))
                                        }
                                    }
                                }
                            }
                        }
                    }
            }
        }
    }
}

fn cell_class(cell: &Option<Option<Kept>>) -> &'static str {
    match cell {
        None => "absent",
        Some(None) => "goes",
        Some(Some(_)) => "kept",
    }
}

fn verification(ctx: &Context, inventory: &Inventory) -> Markup {
    let checks = &inventory.verification;
    html! {
        h2 { "Verification" }
        @if checks.is_empty() {
            p { "Never verified: " code { "backup-server verify" } " compares each target's copy and the source with the backup disk's snapshot." }
        } @else {
            @let verified = inventory.verified() == Some(true);
            p class={ "state " (if verified { "ok" } else { "failing" }) } {
                (crate::words::verification(checks, ctx.clock).unwrap_or_default())
            }
            table.checks.cards {
                    thead { tr { th { "against" } th { "snapshot" } th { "result" } th { "compared" } th { "copy" } } }
                    tbody {
                        @for check in checks {
                            tr {
                                td.name data-label="against" { (check.against.words()) }
                                td data-label="snapshot" { (check.snapshot.map(|d| d.to_string()).unwrap_or_default()) }
                                td.outcome {
                                    span class={ "badge " (if check.outcome == ComparisonOutcome::Ok { "ok" } else { "failed" }) } {
                                        (check.outcome.word())
                                    }
                                }
                                td data-label="compared" {
                                    @if let Some(n) = check.files_checked { (crate::words::number(n)) " entries" }
                                    @if let Some(p) = check.sample_percent { ", contents of a " (p) "% sample" }
                                }
                                td.path data-label="copy" { code { (check.location.as_deref().unwrap_or("")) } }
                            }
                            @if let Some(message) = &check.message {
                                tr.message { td colspan="5" { (message) } }
                            }
                            @for difference in &check.listed {
                                tr.message { td colspan="5" { (difference) } }
                            }
                            @if check.differences > check.listed.len() as u64 {
                                tr.message { td colspan="5" { "and " (check.differences - check.listed.len() as u64) " more" } }
                            }
                        }
                    }
            }
        }
    }
}
