//! The history site as the tests make it: `render-site` into a directory of the
//! test's choosing (which `World::cli` cannot give), a run that renders it as it
//! goes, and its metrics file checked by the real promtool before anything reads it.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use super::{World, show};

impl World {
    /// `backup-server --site-dir SITE render-site` with this world's config and state,
    /// on the real today.
    pub fn render_site(&self, site: &Path) -> Output {
        self.site_command(site).arg("render-site").output().unwrap()
    }

    /// Like `render_site`, insisting on exit status `code`.
    pub fn render_site_expecting(&self, site: &Path, code: i32) -> Output {
        let out = self.render_site(site);
        assert_eq!(
            out.status.code(),
            Some(code),
            "render-site:\n{}",
            show(&out)
        );
        out
    }

    /// The binary with this world's config and state and `--site-dir SITE`; the
    /// command (and the day, if any) are the caller's.
    pub fn site_command(&self, site: &Path) -> Command {
        let mut command = self.binary();
        command.arg("--site-dir").arg(site);
        command
    }

    /// `backup-server run --no-email --site-dir SITE` as if today were `today`.
    pub fn run_rendering(&self, today: &str, site: &Path) -> Output {
        self.command(today)
            .arg("--site-dir")
            .arg(site)
            .output()
            .unwrap()
    }
}

/// The site's `metrics.prom`, once `promtool check metrics` has found it well formed.
pub fn checked_metrics(site: &Path) -> String {
    let path = site.join("metrics.prom");
    let metrics = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(fs::File::open(&path).unwrap())
        .output()
        .expect("promtool runs (apt-get install prometheus)");
    assert!(promtool.status.success(), "{}\n{metrics}", show(&promtool));
    metrics
}
