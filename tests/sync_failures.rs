//! A sync that did not happen is a failure, said in words that name the cause: never
//! a success with a warning, and never a reason to prune the target.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use support::sshd::{LoginShell, Sshd, chown_tree, target_user, use_ssh_target};
use support::targets::world_syncing_over_ssh;
use support::tree::{assert_snapshots_unchanged, snapshot_fingerprints};
use support::{World, show, stderr, write};

#[test]
fn a_sync_that_could_not_write_every_file_on_the_target_fails_and_prunes_nothing_there() {
    let mut world = World::new();
    let sshd = Sshd::start(&world.root.path().join("sshd"));
    // A file only root may read, in the source and so in every snapshot.
    let secret = world.source.join("docs/secret.key");
    write(&secret, "root only\n");
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    world.task_extra = "    retention: {daily: 2, weekly: 0, monthly: 0, yearly: 0}\n".into();

    // Two nights to the target as root, then the administrator moves to a dedicated
    // user, handing it the task directory but not the one root-only file (shared by
    // both snapshots): the target user can neither hard-link nor read it.
    world.remote_spec = format!("root@backuphost:{}", world.remote.display());
    world.extra = sshd.config_lines();
    world.run_expecting("2026-03-01", 0);
    world.run_expecting("2026-03-02", 0);
    let user = target_user(LoginShell::Bash);
    use_ssh_target(&mut world, &sshd, &user);
    let target = world.remote_task();
    chown_tree(&target.join("2026-03-02/docs/secret.key"), 0, 0);
    let before = snapshot_fingerprints(&target);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        ["2026-03-01", "2026-03-02"]
    );

    write(&world.source.join("docs/report.txt"), "revised\n");
    let out = world.run("2026-03-03");
    let stderr = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(stderr.contains("task data: sync FAILED"), "{}", show(&out));
    assert!(stderr.contains("Permission denied"), "{}", show(&out));
    assert!(
        world.step_log("sync").contains("Permission denied (13)"),
        "the target-side rsync said why:\n{}",
        world.step_log("sync")
    );
    assert!(
        !target.join("2026-03-03").exists(),
        "no snapshot for the day appears on the target"
    );
    assert_snapshots_unchanged(&before, &target, "the target");
    assert_eq!(
        world.db_steps()[6..],
        ["backup:1:0", "retention:1:0", "sync:0:0"]
    );
}

#[test]
fn a_refused_host_key_is_reported_as_host_key_verification_failed() {
    let (world, sshd) = world_syncing_over_ssh();
    sshd.pin_another_host_key(&world.root.path().join("other"));

    let out = world.run_expecting("2026-03-01", 1);
    let stderr = stderr(&out);
    let failed: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("task data: sync FAILED"))
        .collect();
    assert_eq!(failed.len(), 1, "{}", show(&out));
    assert!(
        failed[0]
            .to_lowercase()
            .contains("host key verification failed"),
        "{}",
        failed[0]
    );
    assert!(!failed[0].contains("@@@"), "{}", failed[0]);
    assert!(support::entries(&world.remote).is_empty());
}
