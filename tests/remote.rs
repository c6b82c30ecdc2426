//! Over SSH, against a real sshd on 127.0.0.1: a remote target and a remote source.

mod support;

use std::fs;

use support::sshd::Sshd;
use support::targets::world_syncing_over_ssh;
use support::{World, entries, inode};

#[test]
fn snapshots_reach_an_ssh_target_with_hard_links_and_pinned_host_keys() {
    let (world, _sshd) = world_syncing_over_ssh();

    world.run_two_nights();
    world.assert_two_nights_in(&world.remote_task());
}

#[test]
fn a_wrong_host_key_fails_the_sync_and_leaves_the_remote_alone() {
    let (world, sshd) = world_syncing_over_ssh();
    sshd.pin_another_host_key(&world.root.path().join("other"));

    world.run_expecting("2026-03-01", 1);
    assert!(entries(&world.remote).is_empty());
    assert!(
        world
            .step_log("sync")
            .contains("HOST IDENTIFICATION HAS CHANGED"),
        "{}",
        world.step_log("sync")
    );
}

#[test]
fn a_remote_source_is_backed_up_over_ssh() {
    let mut world = World::new();
    let sshd = Sshd::start(&world.root.path().join("sshd"));
    world.source_spec = format!("root@backuphost:{}", world.source.display());
    world.extra = sshd.config_lines();

    world.run_expecting("2026-03-01", 0);
    world.run_expecting("2026-03-02", 0);
    let local = world.local_task();
    assert_eq!(
        fs::read_to_string(local.join("2026-03-02/docs/report.txt")).unwrap(),
        "quarterly numbers\n"
    );
    assert_eq!(
        inode(&local.join("2026-03-01/photos/cat.jpg")),
        inode(&local.join("2026-03-02/photos/cat.jpg"))
    );
}

#[test]
fn a_remote_source_whose_path_holds_wildcard_characters_is_that_path_alone() {
    let mut world = World::new();
    let sshd = Sshd::start(&world.root.path().join("sshd"));
    // `data[1]` as a wildcard matches `data1`: the rsync there must not read it so.
    let odd = world.root.path().join("data[1]");
    let lookalike = world.root.path().join("data1");
    support::write(&odd.join("mine.txt"), "the real source\n");
    support::write(&lookalike.join("other.txt"), "a directory next to it\n");
    world.source_spec = format!("root@backuphost:{}", odd.display());
    world.extra = sshd.config_lines();
    world.run_expecting("2026-03-01", 0);
    assert_eq!(
        support::entries(&world.local_task().join("2026-03-01")),
        ["mine.txt"]
    );
    let out = world.cli_expecting("2026-03-01", &["verify"], 0);
    assert!(out.contains("against the source"), "{out}");
    assert!(!out.contains("could not be checked"), "{out}");
}
