//! A target reached as a user whose login shell is not bash: Debian's `useradd`
//! default is `/bin/sh` (dash), NAS appliances use busybox `ash`. Every command
//! backup-server sends over SSH is parsed by that shell.

mod support;

use std::fs;

use support::sshd::{LoginShell, Sshd, login_shell_program, target_user, use_ssh_target};
use support::{World, entries, inode, show, write};

/// Two nights synced to `user@backuphost` whose login shell is `shell`: both exit 0,
/// and the target shares unchanged files between the two snapshots.
fn two_nights_to_a_target_whose_login_shell_is(shell: LoginShell) {
    let mut world = World::new();
    let sshd = Sshd::start(&world.root.path().join("sshd"));
    let user = target_user(shell);
    use_ssh_target(&mut world, &sshd, &user);
    let program = login_shell_program(&sshd, &user);
    let expected = match shell {
        LoginShell::Bash => "/usr/bin/bash",
        LoginShell::Dash => "/usr/bin/dash",
        LoginShell::BusyboxAsh => "/usr/bin/busybox",
    };
    assert_eq!(program, expected, "the target user's login shell");

    let first = world.run("2026-03-01");
    assert_eq!(first.status.code(), Some(0), "{}", show(&first));
    write(&world.source.join("docs/report.txt"), "revised\n");
    let second = world.run("2026-03-02");
    assert_eq!(second.status.code(), Some(0), "{}", show(&second));

    let remote = world.remote_task();
    assert_eq!(entries(&remote), ["2026-03-01", "2026-03-02"]);
    assert_eq!(
        inode(&remote.join("2026-03-01/photos/cat.jpg")),
        inode(&remote.join("2026-03-02/photos/cat.jpg")),
        "an unchanged file is one inode on the target"
    );
    assert_ne!(
        inode(&remote.join("2026-03-01/docs/report.txt")),
        inode(&remote.join("2026-03-02/docs/report.txt"))
    );
    assert_eq!(
        fs::read_to_string(remote.join("2026-03-01/docs/report.txt")).unwrap(),
        "quarterly numbers\n"
    );
    assert_eq!(
        fs::read_to_string(remote.join("2026-03-02/docs/report.txt")).unwrap(),
        "revised\n"
    );
    assert_eq!(
        world.db_steps(),
        ["backup:1:1", "retention:1:1", "sync:1:1"].repeat(2)
    );
}

#[test]
fn a_target_whose_login_shell_is_dash_gets_two_nights_with_shared_hard_links() {
    two_nights_to_a_target_whose_login_shell_is(LoginShell::Dash);
}

#[test]
fn a_target_whose_login_shell_is_busybox_ash_gets_two_nights_with_shared_hard_links() {
    two_nights_to_a_target_whose_login_shell_is(LoginShell::BusyboxAsh);
}

#[test]
fn a_target_whose_login_shell_is_bash_still_works() {
    two_nights_to_a_target_whose_login_shell_is(LoginShell::Bash);
}
