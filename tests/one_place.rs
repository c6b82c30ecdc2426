//! A target is identified by what it is, not by how it is spelled: two targets that
//! are one directory (one reached through a symlink, over SSH or on this machine)
//! would prune each other's snapshots, so their syncs are refused, loudly, before
//! anything is pruned; the backup itself is still taken. Real rsync and sshd.

mod support;

use std::os::unix::fs::symlink;

use support::sshd::Sshd;
use support::{World, entries, stderr};

const SHORT: &str = "{daily: 1, weekly: 0, monthly: 0, yearly: 0}";

#[test]
fn two_local_targets_that_are_one_directory_refuse_their_syncs_and_prune_nothing() {
    let mut world = World::new();
    let usb = world.root.path().join("usb");
    symlink(&world.remote, &usb).unwrap();
    // The remote target held two snapshots before the usb one was configured.
    for day in ["2026-03-01", "2026-03-02"] {
        world.run_expecting(day, 0);
    }
    world.extra = format!(
        "targets:\n  - {{name: usb, location: {}, retention: {SHORT}}}\n",
        usb.display()
    );
    let held = entries(&world.remote_task());
    assert_eq!(held, ["2026-03-01", "2026-03-02"]);

    let out = world.run_expecting("2026-03-03", 1);
    assert!(
        stderr(&out).contains(&format!(
            "refusing to sync: target usb ({}/data) is the \
             same place as target remote ({}/data): each would prune the other's snapshots; \
             make them two places, or remove one",
            usb.display(),
            world.remote.display()
        )),
        "{}",
        support::show(&out)
    );
    assert_eq!(
        entries(&world.remote_task()),
        held,
        "nothing was pruned there"
    );
    assert!(
        entries(&world.local_task()).contains(&"2026-03-03".to_string()),
        "the backup was taken"
    );
}

#[test]
fn two_ssh_targets_that_are_one_directory_are_found_by_their_real_path() {
    let mut world = World::new();
    let sshd = Sshd::start(&world.root.path().join("sshd"));
    let alias = world.root.path().join("alias");
    symlink(&world.remote, &alias).unwrap();
    world.remote_spec = format!("root@backuphost:{}", world.remote.display());
    world.extra = format!(
        "{}targets:\n  - {{name: offsite, location: 'root@backuphost:{}', retention: {SHORT}}}\n",
        sshd.config_lines(),
        alias.display()
    );
    let out = world.run_expecting("2026-03-01", 1);
    assert!(
        stderr(&out).contains("refusing to sync: target offsite (root@backuphost:")
            && stderr(&out).contains("is the same place as target remote"),
        "{}",
        support::show(&out)
    );
    assert!(
        entries(&world.remote_task()).is_empty(),
        "neither was synced"
    );
}
