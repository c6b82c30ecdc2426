//! Issue 20's link farm, as a user meets it on a file system without copy-on-write: a
//! night's snapshot starts as a hard-link copy of the previous one, and everything that
//! changes gets an inode of its own first, so no older snapshot ever changes through a
//! shared inode (rsync would apply a chmod, a chown, a new time, ACL or xattr to the
//! inode it finds). The sync replays the backup's change list on the target, which
//! `verify` then checks, and the new snapshot is the source, metadata included.

mod support;

use std::fs;
use std::path::Path;
use std::process::Command;

use support::sshd::{LoginShell, Sshd, target_user, use_ssh_target};
use support::{World, inode, write};

/// Everything a snapshot holds, as text: each entry's kind, mode, owner, times, size,
/// link target and inode; every xattr (POSIX ACLs and rsync's fake-super ones are
/// xattrs too); and every file's contents.
fn state(dir: &Path) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(
            "set -e; cd \"$1\"; \
             find . -printf '%p %y %m %U:%G %T@ %s %i %l\\n' | sort; \
             getfattr -R -P -h -d -m - -e hex . 2>&1; \
             find . -type f -print0 | sort -z | xargs -0 -r sha256sum",
        )
        .arg("sh")
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", support::show(&out));
    String::from_utf8(out.stdout).unwrap()
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        support::show(&out)
    );
}

/// A source whose every kind of change the second night meets.
fn first_night_source(source: &Path) {
    // `#`: rsync takes a --files-from line that starts with it for a comment.
    for name in [
        "#notes",
        "mode",
        "owner",
        "time",
        "acl",
        "xattr",
        "content",
        "untouched",
        "gone",
    ] {
        write(
            &source.join(format!("kept/{name}.txt")),
            &format!("{name}\n"),
        );
    }
    write(&source.join("dir_to_file/inside.txt"), "inside\n");
    write(&source.join("file_to_dir"), "a file\n");
    write(&source.join("#changed"), "first\n");
    // A name's own leading space: rsync pads its deletions with spaces.
    write(&source.join(" lead"), "x\n");
    write(&source.join(" dir/f"), "y\n");
    // An exclude added on the second night empties this directory of its log; its own
    // times in the source never change.
    write(&source.join("logs/keep.txt"), "kept\n");
    write(&source.join("logs/x.log"), "excluded later\n");
    write(&source.join("cache/blob"), "a directory excluded later\n");
    run(
        "touch",
        &[
            "-d",
            "2020-02-02",
            &source.join("logs").display().to_string(),
        ],
    );
    // What does not change: most of a tree, on most nights.
    for n in 0..60 {
        write(&source.join(format!("bulk/{n:02}.txt")), &format!("{n}\n"));
    }
    write(&source.join("group/one"), "linked\n");
    fs::hard_link(source.join("group/one"), source.join("group/two")).unwrap();
    std::os::unix::fs::symlink("kept/untouched.txt", source.join("link")).unwrap();
}

fn second_night_changes(source: &Path) {
    let kept = |name: &str| {
        source
            .join(format!("kept/{name}.txt"))
            .display()
            .to_string()
    };
    run("chmod", &["600", &kept("mode")]);
    run("chown", &["12345:12345", &kept("owner")]);
    run("touch", &["-d", "2020-01-01 12:00", &kept("time")]);
    run("setfacl", &["-m", "u:12345:r", &kept("acl")]);
    run(
        "setfattr",
        &["-n", "user.tag", "-v", "night-2", &kept("xattr")],
    );
    write(&source.join("kept/content.txt"), "CONTENT\n");
    write(&source.join("kept/#notes.txt"), "NOTES\n");
    write(&source.join("#top"), "a comment to rsync, a file to us\n");
    write(&source.join("#changed"), "second\n");
    fs::remove_file(source.join(" lead")).unwrap();
    fs::remove_dir_all(source.join(" dir")).unwrap();
    fs::remove_file(source.join("kept/gone.txt")).unwrap();
    fs::remove_dir_all(source.join("dir_to_file")).unwrap();
    write(&source.join("dir_to_file"), "now a file\n");
    fs::remove_file(source.join("file_to_dir")).unwrap();
    write(&source.join("file_to_dir/inside.txt"), "now a directory\n");
    run(
        "chmod",
        &["640", &source.join("group/one").display().to_string()],
    );
    run(
        "touch",
        &[
            "-h",
            "-d",
            "2021-06-01",
            &source.join("link").display().to_string(),
        ],
    );
    write(&source.join("new.txt"), "new\n");
}

/// rsync's own comparison of `snapshot` with `source`, contents and metadata: empty
/// when they are the same.
fn differences(source: &Path, snapshot: &Path) -> String {
    let out = Command::new("rsync")
        .args([
            "-n",
            "-i",
            "-c",
            "-a",
            "--hard-links",
            "--numeric-ids",
            "--acls",
            "--xattrs",
        ])
        .args([
            "--delete",
            "--modify-window=-1",
            "--exclude=*.log",
            "--exclude=cache/",
        ])
        .arg(format!("{}/", source.display()))
        .arg(format!("{}/", snapshot.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", support::show(&out));
    String::from_utf8(out.stdout).unwrap()
}

fn nights_leave_the_older_snapshot_as_it_was(mut world: World, target_state: fn(&World) -> String) {
    first_night_source(&world.source);
    world.run_expecting("2026-03-01", 0);
    let local_d1 = world.local_task().join("2026-03-01");
    let before = (state(&local_d1), target_state(&world));

    second_night_changes(&world.source);
    world.task_extra = "    excludes: [\"*.log\", \"cache/\"]\n".into();
    // Its record of the source then holds every entry as known (the excludes
    // changed, so tonight's list still comes from the dry run of both trees).
    support::settle();
    world.run_expecting("2026-03-02", 0);
    assert!(
        world.step_log("backup").contains("(a link farm)"),
        "{}",
        world.step_log("backup")
    );
    assert!(
        world.step_log("sync").contains("(a link farm)"),
        "{}",
        world.step_log("sync")
    );
    assert_eq!(
        state(&local_d1),
        before.0,
        "the backup disk's older snapshot changed"
    );
    assert_eq!(
        target_state(&world),
        before.1,
        "the target's older snapshot changed"
    );

    let local_d2 = world.local_task().join("2026-03-02");
    assert_eq!(differences(&world.source, &local_d2), "");
    for side in [world.local_task(), world.remote_task()] {
        assert!(!side.join("2026-03-02/logs/x.log").exists(), "excluded now");
        assert!(
            !side.join("2026-03-02/cache").exists(),
            "excluded now, whole"
        );
        assert_eq!(
            fs::metadata(side.join("2026-03-02/logs"))
                .unwrap()
                .modified()
                .unwrap(),
            fs::metadata(world.source.join("logs"))
                .unwrap()
                .modified()
                .unwrap(),
            "{}: the directory a removal changed has its times back",
            side.display()
        );
    }
    let verified = world.cli_expecting("2026-03-02", &["verify"], 0);
    assert!(!verified.contains("could not be checked"), "{verified}");
    assert_eq!(
        inode(&local_d1.join("kept/untouched.txt")),
        inode(&local_d2.join("kept/untouched.txt")),
        "what did not change is shared"
    );
    assert_eq!(
        inode(&local_d2.join("group/one")),
        inode(&local_d2.join("group/two")),
        "a changed group of hard links is still one"
    );

    // A hard link that joins an unchanged file changes that file's inode (its link
    // count): read against the record of the source, both are listed and linked
    // together (and, as by --link-dest, to the older snapshot's identical file).
    fs::hard_link(
        world.source.join("kept/untouched.txt"),
        world.source.join("joined"),
    )
    .unwrap();
    world.run_expecting("2026-03-03", 0);
    let log = world.step_log("backup");
    assert!(
        log.contains("read the source alone against its record of 2026-03-02")
            && log.contains("(a link farm)"),
        "{log}"
    );
    let local_d3 = world.local_task().join("2026-03-03");
    assert_eq!(differences(&world.source, &local_d3), "");
    assert_eq!(
        inode(&local_d3.join("joined")),
        inode(&local_d3.join("kept/untouched.txt"))
    );
    world.cli_expecting("2026-03-03", &["verify"], 0);
    drop(world);
}

#[test]
fn a_changed_mode_owner_time_acl_or_xattr_leaves_older_snapshots_unchanged_with_a_local_target() {
    let world = World::new();
    nights_leave_the_older_snapshot_as_it_was(world, |world| {
        state(&world.remote_task().join("2026-03-01"))
    });
}

#[test]
fn a_changed_mode_owner_time_acl_or_xattr_leaves_older_snapshots_unchanged_over_ssh() {
    let mut world = World::new();
    let sshd = Sshd::start(&world.root.path().join("sshd"));
    let user = target_user(LoginShell::Dash);
    use_ssh_target(&mut world, &sshd, &user);
    nights_leave_the_older_snapshot_as_it_was(world, |world| {
        state(&world.remote_task().join("2026-03-01"))
    });
    drop(sshd);
}

#[test]
fn a_farm_that_cannot_be_made_is_a_night_by_link_dest_and_the_farm_is_removed() {
    let world = World::new();
    world.run_expecting("2026-03-01", 0);
    // An immutable file cannot be hard-linked: cp -al fails on it, where rsync's
    // --link-dest copies it instead.
    let stuck = world.local_task().join("2026-03-01/docs/notes.md");
    run("chattr", &["+i", &stuck.display().to_string()]);
    write(&world.source.join("docs/report.txt"), "changed\n");
    let out = world.run("2026-03-02");
    run("chattr", &["-i", &stuck.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", support::show(&out));
    let log = world.step_log("backup");
    assert!(
        log.contains("not a link farm tonight: the hard-link copy of 2026-03-01 could not be made"),
        "{log}"
    );
    let local_d2 = world.local_task().join("2026-03-02");
    assert_eq!(differences(&world.source, &local_d2), "");
    assert_eq!(
        support::entries(&world.local_task()),
        ["2026-03-01", "2026-03-02"]
    );
}

#[test]
fn after_six_nights_read_against_the_record_the_seventh_compares_with_the_snapshot_itself() {
    let world = World::new();
    support::settle();
    let logs: Vec<String> = (1..=8)
        .map(|day| {
            let date = format!("2026-03-{day:02}");
            world.run_expecting(&date, 0);
            world.step_log("backup")
        })
        .collect();
    let read_alone = "read the source alone against its record of";
    assert!(
        !logs[0].contains(read_alone),
        "the first night is a full copy"
    );
    for (night, log) in logs[1..7].iter().enumerate() {
        assert!(
            log.contains(read_alone) && log.contains("(a link farm)"),
            "night {}: {log}",
            night + 2
        );
    }
    assert!(
        logs[7].contains(
            "the source is compared with 2026-03-07 itself tonight, as after every 6 nights"
        ) && !logs[7].contains(read_alone)
            && logs[7].contains("(a link farm)"),
        "{}",
        logs[7]
    );
    assert_eq!(
        differences(&world.source, &world.local_task().join("2026-03-08")),
        ""
    );
}
