//! `backup-server restore` with names as they really are: bytes that are not UTF-8
//! (Latin-1 from an older system), names holding ` -> ` or wildcard characters, and
//! the whole snapshot asked for as `/`. Real rsync, and a real sshd for the target.

mod support;

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::Path;

use support::targets::world_syncing_over_ssh;
use support::{World, show, write};

/// `café` as Latin-1 wrote it: not UTF-8.
fn latin1_cafe() -> &'static OsStr {
    OsStr::from_bytes(b"caf\xe9")
}

#[test]
fn a_restore_without_overwrite_replaces_no_file_whatever_its_name() {
    let world = World::new();
    let odd = world.source.join("odd");
    fs::create_dir_all(&odd).unwrap();
    fs::write(odd.join(latin1_cafe()), "from the snapshot\n").unwrap();
    fs::write(odd.join("a -> b"), "from the snapshot\n").unwrap();
    symlink("elsewhere", odd.join("link -> here")).unwrap();
    world.run_expecting("2026-03-01", 0);

    // The live files, edited since, under the same names.
    let to = world.root.path().join("place");
    let mine = to.join("odd");
    fs::create_dir_all(&mine).unwrap();
    fs::write(mine.join(latin1_cafe()), "my newer edit\n").unwrap();
    fs::write(mine.join("a -> b"), "my newer edit\n").unwrap();
    symlink("mine", mine.join("link -> here")).unwrap();

    let to_arg = to.display().to_string();
    let out = world.cli("2026-03-01", &["restore", "data", "odd", "--to", &to_arg]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let said = support::stderr(&out);
    assert!(
        said.contains("refusing to overwrite: 3 entries already in"),
        "all three are named: {said}"
    );
    assert!(said.contains("/odd/a -> b\n") && said.contains("/odd/link -> here\n"));
    for name in [latin1_cafe(), OsStr::new("a -> b")] {
        assert_eq!(
            fs::read_to_string(mine.join(name)).unwrap(),
            "my newer edit\n",
            "{name:?} was not replaced"
        );
    }
    assert_eq!(
        fs::read_link(mine.join("link -> here")).unwrap(),
        Path::new("mine")
    );
}

#[test]
fn a_name_with_wildcards_restored_from_an_ssh_target_is_that_name_only() {
    let (world, _sshd) = world_syncing_over_ssh();
    for name in ["a b*", "a bX", "a b1", "c[1]", "c1"] {
        write(&world.source.join(name), &format!("{name}\n"));
    }
    world.run_expecting("2026-03-01", 0);

    for (asked, to) in [("a b*", "stars"), ("c[1]", "brackets")] {
        let to = world.root.path().join(to);
        let to_arg = to.display().to_string();
        world.cli_expecting(
            "2026-03-01",
            &[
                "restore", "data", asked, "--from", "remote", "--to", &to_arg,
            ],
            0,
        );
        assert_eq!(
            support::entries(&to),
            [asked],
            "only {asked} itself came back"
        );
        assert_eq!(
            fs::read_to_string(to.join(asked)).unwrap(),
            format!("{asked}\n")
        );
    }
}

#[test]
fn restoring_slash_puts_the_whole_snapshot_into_the_destination_and_says_so() {
    let world = World::new();
    world.run_expecting("2026-03-01", 0);
    let source = world.source.display().to_string();
    for (asked, to) in [
        ("/", "to-slash"),
        (".", "to-dot"),
        (source.as_str(), "to-source"),
    ] {
        let to = world.root.path().join(to);
        let to_arg = to.display().to_string();
        let out = world.cli_expecting(
            "2026-03-01",
            &["restore", "data", asked, "--to", &to_arg],
            0,
        );
        assert!(
            out.starts_with("Restoring the whole snapshot from the snapshot 2026-03-01"),
            "{out}"
        );
        assert!(
            out.ends_with(&format!("into {}.\n", to.display())),
            "the message says where it went: {out}"
        );
        assert_eq!(
            support::entries(&to),
            ["docs", "photos"],
            "restore {asked:?}: the snapshot's contents, not a directory named for its date"
        );
        assert_eq!(
            fs::read_to_string(to.join("docs/report.txt")).unwrap(),
            "quarterly numbers\n"
        );
    }
}
