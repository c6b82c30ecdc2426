//! A target reached as a user whose login shell is not bash: Debian's `useradd`
//! default is `/bin/sh` (dash), NAS appliances use busybox `ash`. Every command
//! backup-server sends over SSH is parsed by that shell.

mod support;

use support::World;
use support::sshd::{LoginShell, Sshd, login_shell_program, target_user, use_ssh_target};

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

    world.run_two_nights();
    world.assert_two_nights_in(&world.remote_task());
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
