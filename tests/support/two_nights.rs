//! The plainest history: two good nights with one file changed between them, and
//! what a side holds after them when it keeps snapshots as it should (the unchanged
//! files shared between the two, the changed one not). Tests of how a target is
//! reached use it to show the one thing they change does not break that.

use std::fs;
use std::path::Path;

use super::{World, entries, inode, write};

impl World {
    /// A run on 2026-03-01, `docs/report.txt` revised, a run on 2026-03-02; each must
    /// exit 0.
    pub fn run_two_nights(&self) {
        self.run_expecting("2026-03-01", 0);
        write(&self.source.join("docs/report.txt"), "revised\n");
        self.run_expecting("2026-03-02", 0);
    }

    /// `task_dir` holds the two snapshots of [`World::run_two_nights`], hard-linked
    /// where nothing changed, and the record holds two good nights.
    pub fn assert_two_nights_in(&self, task_dir: &Path) {
        let side = task_dir.display();
        assert_eq!(entries(task_dir), ["2026-03-01", "2026-03-02"], "{side}");
        assert_eq!(
            inode(&task_dir.join("2026-03-01/photos/cat.jpg")),
            inode(&task_dir.join("2026-03-02/photos/cat.jpg")),
            "an unchanged file is one inode in {side}"
        );
        assert_ne!(
            inode(&task_dir.join("2026-03-01/docs/report.txt")),
            inode(&task_dir.join("2026-03-02/docs/report.txt")),
            "a changed file is a new inode in {side}"
        );
        assert_eq!(
            fs::read_to_string(task_dir.join("2026-03-01/docs/report.txt")).unwrap(),
            "quarterly numbers\n"
        );
        assert_eq!(
            fs::read_to_string(task_dir.join("2026-03-02/docs/report.txt")).unwrap(),
            "revised\n"
        );
        assert_eq!(
            self.db_steps(),
            ["backup:1:1", "retention:1:1", "sync:1:1"].repeat(2)
        );
    }
}
