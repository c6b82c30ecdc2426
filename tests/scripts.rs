//! The step scripts' own guards: whatever backup-server hands them, they refuse names
//! that are not YYYY-MM-DD and paths that are not a plain task directory, and a bad
//! argument deletes nothing at all.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn script(name: &str, args: &[&str]) -> Output {
    Command::new(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scripts")
            .join(name),
    )
    .args(args)
    .output()
    .unwrap()
}

fn refused(out: &Output, why: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(why), "expected {why:?} in {stderr:?}");
}

/// A task directory with two snapshots and a precious file beside it.
fn task_dir() -> (tempfile::TempDir, String) {
    let root = tempfile::tempdir().unwrap();
    let task = root.path().join("task");
    for snapshot in ["2026-01-01", "2026-01-02"] {
        fs::create_dir_all(task.join(snapshot)).unwrap();
    }
    fs::write(root.path().join("precious"), "keep me").unwrap();
    let task = task.display().to_string();
    (root, task)
}

#[test]
fn delete_refuses_what_is_not_a_snapshot_and_then_deletes_nothing() {
    let (root, task) = task_dir();
    refused(
        &script(
            "delete_old_backups.sh",
            &[&task, "2026-01-01", "../precious"],
        ),
        "not a YYYY-MM-DD snapshot name",
    );
    refused(
        &script(
            "delete_old_backups.sh",
            &[&task, "2026-01-01", "2026-01-03"],
        ),
        "not a snapshot directory",
    );
    refused(
        &script("delete_old_backups.sh", &["task", "2026-01-01"]),
        "must be an absolute path",
    );
    refused(
        &script(
            "delete_old_backups.sh",
            &[&format!("{task}/../task"), "2026-01-01"],
        ),
        "must not contain",
    );
    refused(
        &script("delete_old_backups.sh", &["/", "2026-01-01"]),
        "must be an absolute path",
    );
    // A snapshot name that is a link to somewhere else.
    std::os::unix::fs::symlink(root.path(), Path::new(&task).join("2026-01-05")).unwrap();
    refused(
        &script("delete_old_backups.sh", &[&task, "2026-01-05"]),
        "not a snapshot directory",
    );

    assert!(
        Path::new(&task).join("2026-01-01").exists(),
        "nothing was deleted"
    );
    assert!(root.path().join("precious").exists());

    let out = script("delete_old_backups.sh", &[&task, "2026-01-01"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!Path::new(&task).join("2026-01-01").exists());
    assert!(Path::new(&task).join("2026-01-02").exists());
}

#[test]
fn backup_and_sync_refuse_bad_names_and_modes() {
    let (_root, task) = task_dir();
    let excludes = format!("{task}/../excludes");
    fs::write(&excludes, "").unwrap();
    // backup.sh take TASK_DIR NAME SOURCE EXCLUDES_FILE LINK_DEST MODE SSH_CONFIG
    let take = |name: &str, link_dest: &str, mode: &str| {
        script(
            "backup.sh",
            &["take", &task, name, "/src", &excludes, link_dest, mode, ""],
        )
    };
    refused(&take("today", "", "fresh"), "not a YYYY-MM-DD");
    refused(&take("2026-01-03", "../x", "fresh"), "not a YYYY-MM-DD");
    refused(
        &take("2026-01-03", "", "sometimes"),
        "expected fresh or resume",
    );
    refused(
        &script("backup.sh", &["commit", &task, "2026-01-03"]),
        ".in-progress does not exist",
    );
    refused(
        &script(
            "sync_backup_to_remote.sh",
            &["prune", "", "", &task, "2026-01-01", "*"],
        ),
        "not a YYYY-MM-DD",
    );
    refused(
        &script(
            "sync_backup_to_remote.sh",
            &["list", "", "user@host", &task],
        ),
        "a remote HOST needs SSH_CONFIG",
    );
    assert!(
        Path::new(&task).join("2026-01-01").exists(),
        "nothing was deleted"
    );
}
