//! What `--json` prints for `check-config`, `doctor` and `verify`: one versioned shape
//! per command, built by each command from the same values its words are made of, so
//! that a script reads what a person reads. Each shape carries `"version": 1`; a
//! change that removes or renames a field raises it (docs/monitoring.md documents
//! them). `list --json` keeps its own shape, beside the listing it mirrors.

use serde_json::Value;

/// The version of every shape here.
pub const VERSION: u32 = 1;

/// Prints a shape on stdout, pretty, with a final newline.
pub fn print(value: &Value) {
    crate::journal::print_out(&format!(
        "{}\n",
        serde_json::to_string_pretty(value).expect("a JSON value serializes")
    ));
}
