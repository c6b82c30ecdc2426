//! `backup-server verify`, against real rsync and a real sshd: an intact copy passes;
//! a flipped byte, a missing file and a changed mode on the target are each found
//! and named; a snapshot that rotted is found against the source; the result is
//! recorded and shown in the report, on the pages and in the metrics; and it never
//! runs beside a run.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use support::site::checked_metrics;
use support::sshd::Sshd;
use support::targets::world_syncing_over_ssh;
use support::{World, show, write};

/// A world backed up on two days to a root SSH target; the report changed on the 2nd.
fn two_nights() -> (World, Sshd) {
    let (world, sshd) = world_syncing_over_ssh();
    world.run_expecting("2026-03-01", 0);
    write(&world.source.join("docs/report.txt"), "revised numbers\n");
    world.run_expecting("2026-03-02", 0);
    (world, sshd)
}

/// Flips the first byte of `path` in place, keeping its size and times, as bit rot
/// would: only reading the contents can tell.
fn flip_first_byte(path: &Path) {
    let mut bytes = fs::read(path).unwrap();
    bytes[0] ^= 0x20;
    let times = fs::metadata(path).unwrap().modified().unwrap();
    fs::write(path, bytes).unwrap();
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(times)
        .unwrap();
}

/// `verify`'s output with the scratch directory written as `<root>`.
fn verify(world: &World, args: &[&str], code: i32) -> String {
    let mut all = vec!["verify"];
    all.extend(args);
    let out = world.cli_expecting("2026-03-02", &all, code);
    out.replace(&world.root.path().display().to_string(), "<root>")
}

fn records(world: &World) -> Vec<String> {
    world.query(
        "SELECT against || ' ' || snapshot || ' ' || outcome || ' ' || differences \
         FROM verifications ORDER BY id",
    )
}

#[test]
fn a_flipped_byte_a_missing_file_and_a_changed_mode_on_the_target_are_found() {
    let (world, _sshd) = two_nights();
    let intact = "data: the snapshot 2026-03-02 on the backup disk\n\
         \x20 against target remote (root@backuphost:<root>/remote/data/2026-03-02): the same, 6 entries compared\n\
         \x20 against the source (<root>/source): the same, 6 entries compared\n";
    assert_eq!(verify(&world, &[], 0), intact);

    let copy = world.remote_task().join("2026-03-02");
    flip_first_byte(&copy.join("docs/report.txt"));
    let photos_time = fs::metadata(copy.join("photos"))
        .unwrap()
        .modified()
        .unwrap();
    fs::remove_file(copy.join("photos/cat.jpg")).unwrap();
    fs::File::open(copy.join("photos"))
        .unwrap()
        .set_modified(photos_time)
        .unwrap();
    fs::set_permissions(
        copy.join("docs/notes.md"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();

    assert_eq!(
        verify(&world, &[], 4),
        "data: the snapshot 2026-03-02 on the backup disk\n\
         \x20 against target remote (root@backuphost:<root>/remote/data/2026-03-02): 3 differences in 6 entries compared\n\
         \x20   different content: docs/report.txt\n\
         \x20   different metadata (permissions): docs/notes.md\n\
         \x20   missing on the target: photos/cat.jpg\n\
         \x20 against the source (<root>/source): the same, 6 entries compared\n"
    );
    // A sample reads the contents of some files only, but still sees every entry.
    let sampled = verify(&world, &["--sample", "10"], 4);
    assert!(
        sampled.contains("    different metadata (permissions): docs/notes.md\n")
            && sampled.contains("    missing on the target: photos/cat.jpg\n")
            && sampled.contains("compared, the contents of a 10% sample read\n"),
        "{sampled}"
    );
    assert_eq!(
        records(&world)[..4],
        [
            "target:remote 2026-03-02 ok 0",
            "source 2026-03-02 ok 0",
            "target:remote 2026-03-02 differs 3",
            "source 2026-03-02 ok 0",
        ]
    );
    assert_eq!(
        fs::read(copy.join("docs/report.txt")).unwrap()[0],
        b'R',
        "verify never writes to the target"
    );
}

#[test]
fn a_snapshot_that_rotted_is_found_against_the_source_but_a_later_change_is_not() {
    let (world, _sshd) = two_nights();
    // The photo has not changed since: the snapshot should hold what the source does.
    flip_first_byte(&world.local_task().join("2026-03-02/photos/cat.jpg"));
    // The notes were edited after the snapshot: not a difference.
    write(
        &world.source.join("docs/notes.md"),
        "# notes, edited since\n",
    );
    let out = verify(&world, &["data"], 4);
    assert!(
        out.ends_with(
            "  against the source (<root>/source): 1 difference in 6 entries compared\n\
             \x20   different content from the source, which has the same size and time: photos/cat.jpg\n"
        ),
        "{out}"
    );
}

#[test]
fn the_last_verification_is_in_the_report_on_the_pages_and_in_the_metrics() {
    let (world, _sshd) = two_nights();
    fs::remove_file(world.remote_task().join("2026-03-02/docs/notes.md")).unwrap();
    let site = world.root.path().join("site");
    let out = world.cli(
        "2026-03-02",
        &["--site-dir", &site.display().to_string(), "verify"],
    );
    assert_eq!(out.status.code(), Some(4), "{}", show(&out));

    let metrics = checked_metrics(&site);
    for line in [
        "backup_server_verify_success{task=\"data\"} 0\n",
        "backup_server_verify_differences{task=\"data\",against=\"target:remote\"} 2\n",
        "backup_server_verify_differences{task=\"data\",against=\"source\"} 0\n",
    ] {
        assert!(metrics.contains(line), "{line:?} not in\n{metrics}");
    }
    let page = fs::read_to_string(site.join("tasks/data/index.html")).unwrap();
    for text in [
        "<h2>Verification</h2>",
        "missing on the target: docs/notes.md",
        "<h2>Snapshots</h2>",
        "<td class=\"name\">2026-03-01</td>",
        "daily, weekly, monthly, yearly until 2030-12-31",
    ] {
        assert!(page.contains(text), "{text:?} not on the task page");
    }

    // The next run's report says how the last verification went.
    let mails = world.root.path().join("mails");
    let out = world.run_reporting_to("2026-03-03", &mails);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let mail = support::entries(&mails)
        .into_iter()
        .map(|name| fs::read_to_string(mails.join(name)).unwrap())
        .next()
        .unwrap();
    let text = mail.replace("=\r\n", "").replace("\r\n", "\n");
    assert!(
        text.contains(": target remote 2 differences; the source the same\n"),
        "{text}"
    );
}

#[test]
fn verify_never_runs_beside_a_run() {
    let (world, _sshd) = two_nights();
    let mut holder = Command::new("flock")
        .arg(world.state.join("lock"))
        .args(["sleep", "60"])
        .spawn()
        .unwrap();
    while Command::new("flock")
        .args(["--nonblock"])
        .arg(world.state.join("lock"))
        .arg("true")
        .status()
        .unwrap()
        .success()
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = world.cli("2026-03-02", &["verify"]);
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(out.status.code(), Some(75), "{}", show(&out));
    assert!(
        support::stderr(&out).contains("another backup-server run holds"),
        "{}",
        show(&out)
    );
    assert!(records(&world).is_empty(), "nothing was checked");
}

#[test]
fn a_target_whose_user_is_not_root_is_compared_by_what_it_keeps() {
    let mut world = World::new();
    let sshd = Sshd::start(&world.root.path().join("sshd"));
    let user = support::sshd::target_user(support::sshd::LoginShell::BusyboxAsh);
    support::sshd::use_ssh_target(&mut world, &sshd, &user);
    support::sshd::chown_tree(&world.source.join("photos"), 1234, 5678);
    world.run_expecting("2026-03-01", 0);
    write(&world.source.join("docs/report.txt"), "revised numbers\n");
    world.run_expecting("2026-03-02", 0);
    // The owners are the target user's there, and rsync's fake-super xattrs hold
    // the real ones: the copy is the same as far as a restore can tell.
    let out = verify(&world, &[], 0);
    assert!(out.contains("against target remote ("), "{out}");
    assert!(!out.contains("difference"), "{out}");

    flip_first_byte(&world.remote_task().join("2026-03-02/photos/cat.jpg"));
    let out = verify(&world, &[], 4);
    assert!(
        out.contains("1 difference in 6 entries compared\n    different content: photos/cat.jpg\n"),
        "{out}"
    );
}

#[test]
fn a_nightly_run_waits_for_a_verify_instead_of_skipping_the_night() {
    let world = World::new();
    std::fs::create_dir_all(&world.state).unwrap();
    let lock = world.state.join("lock");
    // A verify holding the lock for a second, as `backup-server verify` writes it.
    let mut verify = Command::new("flock")
        .arg(&lock)
        .args([
            "sh",
            "-c",
            "echo \"verify: pid $$ since now\" > \"$0\"; sleep 1",
        ])
        .arg(&lock)
        .spawn()
        .unwrap();
    while !std::fs::read_to_string(&lock).is_ok_and(|text| text.starts_with("verify: ")) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = world.run("2026-03-01");
    verify.wait().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        support::stderr(&out).contains("waiting for the verify that holds the lock (verify: pid "),
        "{}",
        show(&out)
    );
    assert!(
        world.local_task().join("2026-03-01").is_dir(),
        "the night's backup happened"
    );
}

#[test]
fn a_sample_still_compares_every_entry_with_the_source_for_what_reads_no_contents() {
    let (world, _sshd) = two_nights();
    for i in 0..200 {
        write(
            &world.source.join(format!("many/{i:03}.txt")),
            &format!("file {i}\n"),
        );
    }
    world.run_expecting("2026-03-03", 0);
    // A snapshot file cut short, its time kept: its size says it rotted, without
    // reading it. A 1% sample of 200 files would almost never read this one.
    let rotted = world.local_task().join("2026-03-03/many/117.txt");
    let time = fs::metadata(&rotted).unwrap().modified().unwrap();
    fs::write(&rotted, "fi").unwrap();
    fs::File::options()
        .write(true)
        .open(&rotted)
        .unwrap()
        .set_modified(time)
        .unwrap();
    let out = world.cli_expecting("2026-03-03", &["verify", "--sample", "1"], 4);
    let out = out.replace(&world.root.path().display().to_string(), "<root>");
    assert!(
        out.ends_with(
            "  against the source (<root>/source): 1 difference in 207 entries compared, the contents of a 1% sample read\n\
             \x20   different size from the source, which has the same time: many/117.txt\n"
        ),
        "every entry of the source was compared, the rotted one found: {out}"
    );
}
