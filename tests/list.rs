//! `backup-server list` against real sides: the backup disk, a target over SSH whose
//! user's shell is dash, and a second disk with a policy of its own; and what it
//! says when a side cannot be reached.

mod support;

use std::fs;

use support::sshd::{self, LoginShell, Sshd};
use support::{World, show};

#[test]
fn every_side_is_listed_with_its_own_policy_and_one_that_cannot_be_is_named() {
    let mut world = World::new();
    let sshd = Sshd::start(&world.root.path().join("sshd"));
    let user = sshd::target_user(LoginShell::Dash);
    sshd::use_ssh_target(&mut world, &sshd, &user);
    let usb = world.root.path().join("usb");
    fs::create_dir(&usb).unwrap();
    world.extra.push_str(&format!(
        "targets:\n  - {{name: usb, location: {}, retention: {{daily: 1, weekly: 0, monthly: 0, yearly: 0}}}}\n",
        usb.display()
    ));
    for day in ["2026-03-01", "2026-03-02", "2026-03-03"] {
        world.run_expecting(day, 0);
    }
    let root = world.root.path().display().to_string();
    let text = world
        .cli_expecting("2026-03-03", &["list"], 0)
        .replace(&root, "<root>");
    assert_eq!(
        text,
        format!(
            "data\n\
             \x20 backup disk  <root>/local/data: 3 snapshots\n\
             \x20 remote       {user}@backuphost:<root>/remote/data: 3 snapshots\n\
             \x20 usb          <root>/usb/data: 1 snapshot\n\
             \x20 date        added              backup disk                                      remote  usb\n\
             \x20 2026-03-03  nothing            newest, daily until 2026-03-09                   yes     yes: newest, daily until 2026-03-03\n\
             \x20 2026-03-02  nothing            daily, weekly until 2026-03-29                   yes     no\n\
             \x20 2026-03-01  4.0 kB in 3 files  daily, weekly, monthly, yearly until 2030-12-31  yes     no\n",
            user = user.name
        )
    );

    let json: serde_json::Value =
        serde_json::from_str(&world.cli_expecting("2026-03-03", &["list", "data", "--json"], 0))
            .unwrap();
    let newest = &json["tasks"][0]["snapshots"][0];
    assert_eq!(newest["date"], "2026-03-03");
    assert_eq!(
        newest["sides"]["usb"],
        serde_json::json!({"kept": true, "reasons": ["newest", "daily"], "until": "2026-03-03"})
    );
    assert_eq!(
        json["tasks"][0]["snapshots"][2]["sides"]["usb"],
        serde_json::Value::Null
    );
    assert_eq!(json["tasks"][0]["snapshots"][2]["added"]["files"], 3);

    // The SSH target goes away: the other sides are still listed, and the exit status
    // says something is wrong.
    drop(sshd);
    let out = world.cli("2026-03-03", &["list"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout).replace(&root, "<root>");
    assert!(
        text.contains(&format!(
            "  remote       {}@backuphost:<root>/remote/data: cannot be listed: cannot reach the host over SSH: ssh: connect to host 127.0.0.1 port",
            user.name
        )),
        "{text}"
    );
    assert!(
        text.contains("  2026-03-03  nothing            newest, daily until 2026-03-09                   ?       yes: newest, daily until 2026-03-03\n"),
        "{text}"
    );

    // The second disk is unplugged: its snapshots are unknown, not gone.
    fs::rename(&usb, world.root.path().join("usb-unplugged")).unwrap();
    let out = world.cli("2026-03-03", &["list"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout).replace(&root, "<root>");
    assert!(
        text.contains(
            "  usb          <root>/usb/data: cannot be listed: <root>/usb does not exist: is the disk mounted?\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("  2026-03-03  nothing            newest, daily until 2026-03-09                   ?       ?\n"),
        "{text}"
    );
}
