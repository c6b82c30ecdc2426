//! Backups come first: a state directory that cannot be written (read-only, or a
//! missing one that cannot be made) still takes the snapshots, then fails the run
//! loudly; the lock lives where it can, and the run says where. The read-only file
//! system is a real one: a read-only bind mount.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::tree::snapshots;
use support::{World, entries, show, stderr};

/// A read-only bind mount of a directory onto itself, undone when dropped.
struct ReadOnly(PathBuf);

impl ReadOnly {
    fn mount(dir: &Path) -> ReadOnly {
        let run = |args: &[&str]| {
            let out = Command::new("mount")
                .args(args)
                .arg(dir)
                .arg(dir)
                .output()
                .unwrap();
            assert!(out.status.success(), "mount {args:?}: {}", show(&out));
        };
        run(&["--bind"]);
        let out = Command::new("mount")
            .args(["-o", "remount,ro,bind"])
            .arg(dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "remount ro: {}", show(&out));
        assert!(
            fs::write(dir.join("probe"), "x").is_err(),
            "it is read-only"
        );
        ReadOnly(dir.to_path_buf())
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_read_only_state_directory_still_backs_up_then_fails_the_run_and_says_where_the_lock_is() {
    let world = World::new();
    world.run_expecting("2026-03-01", 0);
    let _ro = ReadOnly::mount(&world.state);
    let reports = world.root.path().join("reports");
    let out = world.run_reporting_to("2026-03-02", &reports);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert_eq!(
        snapshots(&world.local_task()),
        ["2026-03-01".to_string(), "2026-03-02".into()].into(),
        "the night's backup was taken: {}",
        show(&out)
    );
    assert_eq!(
        snapshots(&world.remote_task()),
        ["2026-03-01".to_string(), "2026-03-02".into()].into(),
        "and synced"
    );
    let said = stderr(&out);
    assert!(
        said.contains(&format!(
            "the state directory {} cannot be written (",
            world.state.display()
        )) && said.contains("Read-only file system")
            && said
                .contains("the backups run, but this run keeps its lock, logs and work files in "),
        "{said}"
    );
    assert_eq!(entries(&reports).len(), 1, "the report went out");
}

#[test]
fn a_state_directory_that_cannot_be_created_still_backs_up() {
    let mut world = World::new();
    let parent = world.root.path().join("readonly-parent");
    fs::create_dir_all(&parent).unwrap();
    let _ro = ReadOnly::mount(&parent);
    world.state = parent.join("state");
    backs_up_then_fails(&world, "cannot be written");
}

#[test]
fn a_full_state_directory_still_backs_up() {
    let mut world = World::new();
    let small = world.root.path().join("small");
    fs::create_dir_all(&small).unwrap();
    let out = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&small)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let _mounted = Mounted(small.clone());
    world.state = small.join("state");
    fs::create_dir_all(world.state.join("run")).unwrap();
    // Filled to the last block.
    let _ = fs::write(small.join("filler"), vec![0u8; 1024 * 1024]);
    backs_up_then_fails(&world, "No space left on device");
}

#[test]
fn a_corrupt_log_db_still_backs_up_then_fails_the_run() {
    let world = World::new();
    fs::create_dir_all(&world.state).unwrap();
    fs::write(
        world.state.join("log.db"),
        "this is not a database, it is text\n".repeat(200),
    )
    .unwrap();
    backs_up_then_fails(&world, "the backups run, but this run is not recorded");
}

/// The run takes today's snapshot, then exits 1 saying `why`.
fn backs_up_then_fails(world: &World, why: &str) {
    let out = world.run_expecting("2026-03-01", 1);
    assert_eq!(
        snapshots(&world.local_task()),
        ["2026-03-01".to_string()].into(),
        "{}",
        show(&out)
    );
    assert!(stderr(&out).contains(why), "{}", show(&out));
}

/// A mount undone when dropped.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}
