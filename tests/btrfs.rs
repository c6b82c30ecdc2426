//! A backup disk on btrfs (a loop-mounted image): each snapshot is a read-only
//! subvolume, a night is a writable snapshot of the last one brought up to date by
//! rsync --inplace, an older snapshot is never written into, and retention deletes
//! subvolumes. A target that is not btrfs still gets rsync.

mod support;

use std::fs;
use std::path::Path;
use std::process::Command;

use support::btrfs::Btrfs;
use support::{World, entries, write};

const POLICY: &str = "    retention: {daily: 2, weekly: 0, monthly: 0, yearly: 0}\n";

/// A world whose backup disk is a fresh btrfs.
fn btrfs_world() -> (World, Btrfs) {
    let world = World::new();
    let disk = Btrfs::mount_at(&world.local);
    (world, disk)
}

fn sh(dir: &Path, script: &str) -> String {
    let out = Command::new("bash")
        .args(["-c", script])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{script}: {}", support::show(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// Every xattr and ACL under `dir`, entry by entry in name order.
const ATTRIBUTES: &str = "find . -mindepth 1 -print0 | sort -z | \
     xargs -0 -r getfattr -h -d -m - --absolute-names 2>/dev/null | grep -v '^$'; \
     find . -mindepth 1 ! -type l -print0 | sort -z | xargs -0 -r getfacl -P -p 2>/dev/null; true";

/// Every entry under `dir` with its type, mode, owner, size, times (modification,
/// and change time: any write into an inode moves it) and inode, the contents'
/// checksums, and every xattr and ACL: equal dumps are byte- and metadata-identical
/// trees.
fn dump(dir: &Path) -> String {
    sh(
        dir,
        &format!(
            "find . -printf '%P %y %m %U:%G %s %T@ %C@ %i %l\\n' | sort; \
             find . -type f -print0 | sort -z | xargs -0 -r sha256sum; {ATTRIBUTES}"
        ),
    )
}

/// What a restore gives back (no inode or change time, no directory sizes, which
/// differ between file systems): to compare a snapshot with its source.
fn faithful(dir: &Path) -> String {
    sh(
        dir,
        &format!(
            "find . -mindepth 1 \\( -type d -printf '%P %y %m %U:%G - %T@\\n' \\) \
               -o -printf '%P %y %m %U:%G %s %T@ %l\\n' | sort; \
             find . -type f -print0 | sort -z | xargs -0 -r sha256sum; {ATTRIBUTES}"
        ),
    )
}

#[test]
fn a_night_on_btrfs_makes_read_only_subvolume_snapshots_and_a_plain_target_still_gets_rsync() {
    let (world, _disk) = btrfs_world();
    world.run_expecting("2026-03-01", 0);
    write(&world.source.join("docs/report.txt"), "revised numbers\n");
    world.run_expecting("2026-03-02", 0);

    let task = world.local_task();
    assert_eq!(entries(&task), ["2026-03-01", "2026-03-02"]);
    for day in ["2026-03-01", "2026-03-02"] {
        let snapshot = task.join(day);
        assert!(Btrfs::is_subvolume(&snapshot), "{day} is a subvolume");
        assert!(Btrfs::is_read_only(&snapshot), "{day} is read-only");
    }
    assert_eq!(
        fs::read_to_string(task.join("2026-03-01/docs/report.txt")).unwrap(),
        "quarterly numbers\n"
    );
    assert_eq!(faithful(&task.join("2026-03-02")), faithful(&world.source));
    let backup = world.step_log("backup");
    assert!(
        backup.contains("on btrfs: each snapshot is a read-only subvolume"),
        "{backup}"
    );
    assert!(
        backup.contains("from a writable snapshot of 2026-03-01 that rsync --inplace"),
        "{backup}"
    );
    assert!(backup.contains("--inplace"), "{backup}");
    assert!(!backup.contains("--link-dest"), "{backup}");

    // The target is on the test's ordinary file system: hard-linked rsync snapshots.
    let remote = world.remote_task();
    assert_eq!(entries(&remote), ["2026-03-01", "2026-03-02"]);
    assert!(!Btrfs::is_subvolume(&remote.join("2026-03-02")));
    assert_eq!(
        support::inode(&remote.join("2026-03-01/photos/cat.jpg")),
        support::inode(&remote.join("2026-03-02/photos/cat.jpg")),
    );
    assert_eq!(
        faithful(&remote.join("2026-03-02")),
        faithful(&world.source)
    );
    assert_eq!(
        world.db_steps(),
        ["backup:1:1", "retention:1:1", "sync:1:1"].repeat(2)
    );
}

#[test]
fn an_older_snapshot_is_untouched_by_a_night_that_changes_contents_mode_owner_time_acl_and_xattr() {
    let (world, _disk) = btrfs_world();
    let source = world.source.clone();
    write(&source.join("meta/owned.txt"), "owned\n");
    write(&source.join("meta/big.bin"), &"0123456789".repeat(100_000));
    sh(
        &source,
        "setfattr -n user.colour -v blue meta/owned.txt && setfacl -m u:1234:r meta/owned.txt && \
         ln meta/owned.txt meta/owned-link.txt && touch -d '2024-01-01 12:00' meta/owned.txt",
    );
    world.run_expecting("2026-03-01", 0);
    let day1 = world.local_task().join("2026-03-01");
    let before = dump(&day1);
    assert_eq!(faithful(&day1), faithful(&source));

    sh(
        &source,
        "chmod 0600 meta/owned.txt && chown 1234:4321 meta/owned.txt && \
         setfattr -n user.colour -v red meta/owned.txt && setfacl -m u:4321:rw meta/owned.txt && \
         touch -d '2025-06-01 08:00' meta/owned.txt && \
         printf 'X' | dd of=meta/big.bin bs=1 seek=500000 conv=notrunc status=none && \
         echo 'revised numbers' > docs/report.txt && rm docs/notes.md && chmod 0750 photos",
    );
    world.run_expecting("2026-03-02", 0);

    assert_eq!(
        dump(&day1),
        before,
        "the older snapshot must not change in any byte or attribute"
    );
    let day2 = world.local_task().join("2026-03-02");
    assert_eq!(faithful(&day2), faithful(&source));
    let owned = faithful(&day2);
    // chmod 600, then an ACL whose mask is rw: the group bits show the mask.
    assert!(owned.contains("meta/owned.txt f 660 1234:4321"), "{owned}");
    assert!(owned.contains("user.colour=\"red\""), "{owned}");
}

#[test]
fn retention_deletes_subvolumes_and_leaves_nothing_behind() {
    let (mut world, disk) = btrfs_world();
    world.task_extra = POLICY.into();
    for day in ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"] {
        write(&world.source.join("docs/day.txt"), day);
        world.run_expecting(day, 0);
    }
    assert_eq!(entries(&world.local_task()), ["2026-03-03", "2026-03-04"]);
    assert_eq!(disk.subvolumes(), ["data/2026-03-03", "data/2026-03-04"]);
    let retention = world.step_log("retention");
    assert!(retention.contains("2026-03-02 goes"), "{retention}");
}

#[test]
fn a_same_day_rerun_replaces_the_subvolume_and_a_leftover_in_progress_is_removed() {
    let (world, disk) = btrfs_world();
    world.run_expecting("2026-03-01", 0);
    // What a run killed in its rsync leaves: a writable .in-progress subvolume.
    let leftover = world.local_task().join(".in-progress");
    let made = Command::new("btrfs")
        .args(["subvolume", "snapshot"])
        .arg(world.local_task().join("2026-03-01"))
        .arg(&leftover)
        .output()
        .unwrap();
    assert!(made.status.success());
    write(&leftover.join("half-written"), "junk");
    write(&world.source.join("docs/report.txt"), "afternoon edit\n");
    world.run_expecting("2026-03-01", 0);

    let task = world.local_task();
    assert_eq!(entries(&task), ["2026-03-01"]);
    assert!(Btrfs::is_read_only(&task.join("2026-03-01")));
    assert_eq!(faithful(&task.join("2026-03-01")), faithful(&world.source));
    assert_eq!(disk.subvolumes(), ["data/2026-03-01"]);
}

#[test]
fn a_disk_that_became_btrfs_starts_with_a_full_subvolume_beside_the_plain_snapshots() {
    let (world, _disk) = btrfs_world();
    // A plain snapshot directory, as an rsync night on this disk would have left it.
    let task = world.local_task();
    fs::create_dir_all(&task).unwrap();
    sh(
        &task,
        &format!("cp -a {}/. 2026-03-01", world.source.display()),
    );
    write(&world.source.join("docs/report.txt"), "revised\n");
    world.run_expecting("2026-03-02", 0);
    assert!(!Btrfs::is_subvolume(&task.join("2026-03-01")));
    assert!(Btrfs::is_read_only(&task.join("2026-03-02")));
    assert_eq!(faithful(&task.join("2026-03-02")), faithful(&world.source));
    let backup = world.step_log("backup");
    assert!(
        backup.contains("a full copy (no earlier subvolume)"),
        "{backup}"
    );
}

/// The `received_uuid` `btrfs subvolume show` gives for `path` (`-` when none).
fn received_uuid(path: &Path) -> String {
    let out = sh(path, "btrfs subvolume show .");
    out.lines()
        .find_map(|l| l.trim().strip_prefix("Received UUID:"))
        .map(|u| u.trim().to_string())
        .unwrap_or_default()
}

/// The bytes of the btrfs stream that sent `date`, as the step log says them.
fn stream_bytes(log: &str, date: &str) -> u64 {
    log.lines()
        .find_map(|l| l.strip_prefix(&format!("btrfs stream of {date}: ")))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no stream of {date} in:\n{log}"))
}

#[test]
fn a_btrfs_target_receives_read_only_snapshots_incrementally_and_a_plain_target_beside_it_gets_rsync()
 {
    let (mut world, _disk) = btrfs_world();
    let _target = Btrfs::mount_at(&world.remote);
    let usb = world.root.path().join("usb");
    fs::create_dir_all(&usb).unwrap();
    world.extra = format!("targets:\n  - {{name: usb, location: {}}}\n", usb.display());
    write(
        &world.source.join("big/data.bin"),
        &"abcdefgh".repeat(1 << 20),
    );
    world.run_expecting("2026-03-01", 0);
    let first = world.step_log("sync");
    write(&world.source.join("docs/report.txt"), "revised numbers\n");
    world.run_expecting("2026-03-02", 0);
    let second = world.step_log("sync");

    let remote = world.remote_task();
    assert_eq!(entries(&remote), ["2026-03-01", "2026-03-02"]);
    for day in ["2026-03-01", "2026-03-02"] {
        let snapshot = remote.join(day);
        assert!(
            Btrfs::is_read_only(&snapshot),
            "{day} on the target is read-only"
        );
        assert_ne!(received_uuid(&snapshot), "-", "{day} was received");
        assert_eq!(
            faithful(&snapshot),
            faithful(&world.local_task().join(day)),
            "{day} on the target equals the backup disk's"
        );
    }
    assert!(first.contains("btrfs send | btrfs receive"), "{first}");
    assert!(!first.contains("-p "), "{first}");
    assert!(second.contains("btrfs send -p "), "{second}");
    assert!(
        second.contains("sent incrementally from .sync-2026-03-01"),
        "{second}"
    );
    let (whole, incremental) = (
        stream_bytes(&first, "2026-03-01"),
        stream_bytes(&second, "2026-03-02"),
    );
    assert!(
        incremental * 20 < whole,
        "the second night sends far fewer bytes: {incremental} vs {whole}"
    );
    // Only the parent of the next send is kept on the backup disk.
    assert_eq!(
        support::entries(&world.local_task()),
        [".sync-2026-03-02", "2026-03-01", "2026-03-02"]
    );
    assert_eq!(support::entries(&remote), ["2026-03-01", "2026-03-02"]);

    // The plain target beside it: rsync, hard links.
    let usb_task = usb.join("data");
    assert_eq!(entries(&usb_task), ["2026-03-01", "2026-03-02"]);
    assert_eq!(
        support::inode(&usb_task.join("2026-03-01/big/data.bin")),
        support::inode(&usb_task.join("2026-03-02/big/data.bin")),
    );
    let usb_log = world.step_log("sync-usb");
    assert!(usb_log.contains("snapshots are sent by rsync"), "{usb_log}");
    assert_eq!(
        faithful(&usb_task.join("2026-03-02")),
        faithful(&world.source)
    );
}

#[test]
fn a_target_that_lost_the_parent_gets_a_whole_send_once_and_a_same_day_rerun_replaces() {
    let (world, _disk) = btrfs_world();
    let _target = Btrfs::mount_at(&world.remote);
    world.run_expecting("2026-03-01", 0);
    // The target's copy is replaced by one that was not received from the parent.
    let remote = world.remote_task();
    sh(
        &remote,
        "btrfs subvolume delete 2026-03-01 >/dev/null && btrfs subvolume create 2026-03-01 >/dev/null",
    );
    write(&world.source.join("docs/report.txt"), "revised numbers\n");
    world.run_expecting("2026-03-02", 0);
    let log = world.step_log("sync");
    assert!(log.contains("sending 2026-03-02 whole instead"), "{log}");
    assert!(Btrfs::is_read_only(&remote.join("2026-03-02")));
    assert_eq!(
        faithful(&remote.join("2026-03-02")),
        faithful(&world.source)
    );

    write(&world.source.join("docs/report.txt"), "afternoon edit\n");
    world.run_expecting("2026-03-02", 0);
    assert_eq!(
        faithful(&remote.join("2026-03-02")),
        faithful(&world.source)
    );
    assert!(Btrfs::is_read_only(&remote.join("2026-03-02")));
    assert_eq!(support::entries(&remote), ["2026-03-01", "2026-03-02"]);
}

#[test]
fn a_btrfs_target_over_ssh_receives_with_a_quoted_argv_and_incrementally() {
    let (mut world, _disk) = btrfs_world();
    let _target = Btrfs::mount_at(&world.remote);
    let sshd = support::sshd::Sshd::start(&world.root.path().join("sshd"));
    world.remote_spec = format!("root@backuphost:{}", world.remote.display());
    world.extra = sshd.config_lines();
    world.run_expecting("2026-03-01", 0);
    write(&world.source.join("docs/report.txt"), "revised numbers\n");
    world.run_expecting("2026-03-02", 0);

    let remote = world.remote_task();
    assert_eq!(support::entries(&remote), ["2026-03-01", "2026-03-02"]);
    for day in ["2026-03-01", "2026-03-02"] {
        assert!(Btrfs::is_read_only(&remote.join(day)));
        assert_ne!(received_uuid(&remote.join(day)), "-");
    }
    assert_eq!(
        faithful(&remote.join("2026-03-02")),
        faithful(&world.source)
    );
    let log = world.step_log("sync");
    assert!(log.contains("btrfs send -p "), "{log}");
    // The receive runs with its argv quoted word by word, not as a script on stdin.
    assert!(
        log.contains(r"'\''btrfs'\'' '\''receive'\'' '\''--'\''"),
        "{log}"
    );
}

/// Each file's group of hard links under `dir`, as the names in it: two trees with
/// the same groups link the same names together.
fn link_groups(dir: &Path) -> String {
    sh(
        dir,
        "find . -type f -printf '%i %P\\n' | sort -k2 | \
         awk '{ g[$1] = g[$1] \" \" $2 } END { for (i in g) print g[i] }' | sort",
    )
}

#[test]
fn a_file_no_longer_linked_in_the_source_is_never_written_through_its_old_links() {
    // rsync --inplace writes into the inode it finds, through every link it has: a
    // snapshot whose A and B were linked would get B's new contents in A too.
    let (world, _disk) = btrfs_world();
    let source = world.source.clone();
    sh(
        &source,
        // Enough that stays as it was for the list to be cheaper than a walk.
        "mkdir pad && for i in $(seq 30); do echo $i > pad/$i; done && \
         mkdir links && cd links && echo aaaa > a && ln a b && echo cccc > c && ln c d && \
         echo eeee > e && ln e f && touch -d '2024-01-01 12:00' a c e",
    );
    support::settle();
    world.run_expecting("2026-03-01", 0);
    let day1 = world.local_task().join("2026-03-01");
    let before = dump(&day1);

    // b gets contents of its own; d becomes a copy with another mode; e gains a
    // third link.
    let night = |date: &str, changes: &str| {
        sh(&source.join("links"), changes);
        world.run_expecting(date, 0);
        let snapshot = world.local_task().join(date);
        assert_eq!(
            faithful(&snapshot),
            faithful(&source),
            "{date}: {}",
            world.step_log("backup")
        );
        assert_eq!(link_groups(&snapshot), link_groups(&source), "{date}");
        world.step_log("backup")
    };
    let log = night(
        "2026-03-02",
        "rm b && echo bbbbbbbb > b && touch -d '2024-01-01 12:00' b && \
         cp -p d d.new && mv d.new d && chmod 0600 d && ln e g",
    );
    assert!(
        log.contains("into which rsync --inplace writes the "),
        "the second night is made from the record of the first: {log}"
    );
    assert_eq!(dump(&day1), before, "the older snapshot must not change");

    // Without the record, rsync walks both trees: every link in .in-progress is
    // given an inode of its own first.
    fs::remove_file(world.state.join("changes/data/manifest")).unwrap();
    let day2 = world.local_task().join("2026-03-02");
    let before2 = dump(&day2);
    let log = night(
        "2026-03-03",
        "rm f && echo ffffffffff > f && touch -d '2024-01-01 12:00' f e && \
         rm a && cp -p b a && chmod 0640 a",
    );
    assert!(
        log.contains("with more than one link an inode of its own"),
        "{log}"
    );
    assert_eq!(dump(&day2), before2, "the older snapshot must not change");
    assert_eq!(dump(&day1), before, "nor the oldest");
}
