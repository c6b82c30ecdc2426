//! tools/module-cycles.py, the check CI runs on src/: it finds imports in a cycle
//! however they are written, ignores what only looks like a path, and passes the
//! crate as it is.

use std::path::Path;
use std::process::Command;

mod support;
use support::write;

fn cycles(root: &Path) -> (i32, String) {
    let out = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/module-cycles.py"))
        .arg("src")
        .current_dir(root)
        .output()
        .expect("python3 runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn imports_in_a_cycle_are_named_with_the_paths_that_make_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = |path: &str, text: &str| write(&dir.path().join("src").join(path), text);
    file("lib.rs", "mod a;\nmod b;\nmod c;\nmod quiet;\n");
    // A `use` tree with a rename one way, an inline path the other.
    file(
        "a.rs",
        "use crate::b::{Thing as Renamed, other};\npub fn g() {}\n",
    );
    file(
        "b.rs",
        "pub struct Thing;\npub fn other() {\n    crate::a::g()\n}\n",
    );
    // Siblings through `super::`; a child naming its parent is containment, not an import.
    file(
        "c/mod.rs",
        "mod d;\nmod e;\npub use d::Y;\npub struct Shared;\n",
    );
    file(
        "c/d.rs",
        "use super::e::Z;\nuse super::Shared;\npub struct Y;\n",
    );
    file(
        "c/e.rs",
        "pub struct Z;\nfn h() -> super::d::Y {\n    super::d::Y\n}\n",
    );
    // Paths in comments and strings are no imports.
    file(
        "quiet.rs",
        "//! Mentions [`crate::a::g`] only in a comment.\n/* and crate::b::other */\nconst TEXT: &str = \"crate::c::Y\";\n",
    );
    assert_eq!(
        cycles(dir.path()),
        (
            1,
            "module-cycles: 2 group(s) of modules that import each other, in src:
  1. in the crate root: crate::a, crate::b
     cycle crate::a -> crate::b -> crate::a
       crate::a -> crate::b  (src/a.rs: crate::b::Thing)
       crate::b -> crate::a  (src/b.rs: crate::a::g)
  2. in crate::c: crate::c::d, crate::c::e
     cycle crate::c::d -> crate::c::e -> crate::c::d
       crate::c::d -> crate::c::e  (src/c/d.rs: super::e::Z)
       crate::c::e -> crate::c::d  (src/c/e.rs: super::d::Y)
"
            .to_string()
        )
    );
    // Break both and it passes.
    file("b.rs", "pub struct Thing;\npub fn other() {}\n");
    file("c/e.rs", "pub struct Z;\n");
    let (code, text) = cycles(dir.path());
    assert_eq!(
        (code, text.as_str()),
        (
            0,
            "module-cycles: 7 modules, 4 imports between them, no cycle\n"
        )
    );
}

#[test]
fn the_crate_has_no_cycle() {
    let (code, text) = cycles(Path::new(env!("CARGO_MANIFEST_DIR")));
    assert_eq!(code, 0, "{text}");
}
