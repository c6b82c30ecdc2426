//! Telling rsync's tolerable warnings from real failures, as the seed's
//! `_stderr_has_error()` does.
//!
//! rsync exits 23 ("some files/attrs were not transferred") or 24 ("some files
//! vanished") for a backup that is complete but for files it could not read or that
//! disappeared while it ran. That is a warning worth reporting, not a failed backup.
//! Any other stderr line with a non-zero exit is a failure.

/// What the stderr lines of one script run add up to. Fed one line at a time, so the
/// output is never held in memory.
#[derive(Debug, Default)]
pub struct StderrScan {
    pub warnings: usize,
    pub first_warning: Option<String>,
    pub errors: usize,
    pub first_error: Option<String>,
}

/// How a script run ended.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Success,
    /// Complete, but rsync could not read or found vanished `count` files.
    Warnings {
        count: usize,
        example: String,
    },
    Failure(String),
}

const WARNINGS: &[&str] = &[
    "Permission denied (13)",
    "file has vanished: ",
    "rsync error: some files/attrs were not transferred",
    "rsync warning: some files vanished before they could be transferred",
    "IO error encountered -- skipping file deletion",
];

/// Lines that are noise whatever the exit status.
const BENIGN: &[&str] = &["Warning: Permanently added"];

impl StderrScan {
    pub fn observe(&mut self, line: &str) {
        let line = line.trim_end();
        if line.is_empty() || BENIGN.iter().any(|b| line.starts_with(b)) {
            return;
        }
        let (count, first) = if WARNINGS.iter().any(|w| line.contains(w)) {
            (&mut self.warnings, &mut self.first_warning)
        } else {
            (&mut self.errors, &mut self.first_error)
        };
        *count += 1;
        first.get_or_insert_with(|| line.chars().take(500).collect());
    }

    /// The outcome of a run that exited with `code` (None: killed by a signal).
    pub fn outcome(&self, command: &str, code: Option<i32>) -> Outcome {
        match code {
            Some(0) => Outcome::Success,
            Some(23 | 24) if self.errors == 0 => {
                // Exit 23/24 with nothing but known warnings on stderr.
                let example = self.first_warning.clone().unwrap_or_default();
                Outcome::Warnings {
                    count: self.warnings,
                    example,
                }
            }
            Some(code) => Outcome::Failure(match &self.first_error {
                Some(line) => format!("{command} exited with status {code}: {line}"),
                None => format!("{command} exited with status {code}"),
            }),
            None => Outcome::Failure(format!("{command} was killed by a signal")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(lines: &[&str]) -> StderrScan {
        let mut scan = StderrScan::default();
        lines.iter().for_each(|l| scan.observe(l));
        scan
    }

    #[test]
    fn unreadable_files_are_a_warning() {
        let s = scan(&[
            "rsync: [sender] send_files failed to open \"/data/secret\": Permission denied (13)",
            "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1338) [sender=3.2.7]",
        ]);
        assert!(matches!(
            s.outcome("backup.sh", Some(23)),
            Outcome::Warnings { count: 2, .. }
        ));
    }

    #[test]
    fn vanished_files_are_a_warning() {
        let s = scan(&[
            "file has vanished: \"/data/tmp/x\"",
            "rsync warning: some files vanished before they could be transferred (code 24)",
        ]);
        assert!(matches!(
            s.outcome("backup.sh", Some(24)),
            Outcome::Warnings { .. }
        ));
    }

    #[test]
    fn anything_else_fails_and_names_the_first_error() {
        let s = scan(&[
            "Warning: Permanently added '[127.0.0.1]:2222' (ED25519) to the list of known hosts.",
            "rsync: [sender] change_dir \"/nope\" failed: No such file or directory (2)",
            "rsync error: some files/attrs were not transferred (code 23)",
        ]);
        assert_eq!(
            s.outcome("backup.sh", Some(23)),
            Outcome::Failure("backup.sh exited with status 23: rsync: [sender] change_dir \"/nope\" failed: No such file or directory (2)".into())
        );
        assert!(matches!(
            scan(&[]).outcome("x", Some(12)),
            Outcome::Failure(_)
        ));
        assert!(matches!(scan(&[]).outcome("x", None), Outcome::Failure(_)));
        assert_eq!(scan(&["noise"]).outcome("x", Some(0)), Outcome::Success);
    }
}
