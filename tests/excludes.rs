//! Excludes mean what the config says: a pattern reaches rsync exactly as written,
//! whatever its first character (`#` and `;` start a comment in an exclude file,
//! `- `, `+ ` and `!` are rule prefixes there), and `verify` reads the source with
//! the same list the backup used.

mod support;

use std::fs;

use support::{World, write};

#[test]
fn patterns_beginning_with_comment_or_rule_characters_exclude_exactly_those_names() {
    let mut world = World::new();
    let odd = ["#draft", ";scratch", "- dash", "+ plus", "!bang"];
    for name in odd {
        write(&world.source.join(name), "not to be kept\n");
    }
    write(&world.source.join("draft"), "kept\n");
    write(&world.source.join("dash"), "kept\n");
    write(&world.source.join("plus"), "kept\n");
    world.task_extra = format!(
        "    excludes: [{}]\n",
        odd.iter()
            .map(|p| format!("'{p}'"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    world.run_expecting("2026-03-01", 0);
    let snapshot = world.local_task().join("2026-03-01");
    assert_eq!(
        support::entries(&snapshot),
        ["dash", "docs", "draft", "photos", "plus"],
        "each pattern excluded the name it spells, and nothing else"
    );

    // verify compares the source with the snapshot through the same excludes: the
    // entries it compares are the snapshot's, and they are the same.
    let snapshot_entries = walk_count(&snapshot);
    let out = world.cli_expecting("2026-03-01", &["verify"], 0);
    assert!(
        out.contains(&format!(
            "against the source ({}): the same, {snapshot_entries} entries compared\n",
            world.source.display()
        )),
        "{out}"
    );
}

/// The entries under `dir`, itself included (as rsync counts them).
fn walk_count(dir: &std::path::Path) -> usize {
    1 + fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                walk_count(&e.path())
            } else {
                1
            }
        })
        .sum::<usize>()
}
