//! The documentation keeps its word: every relative link and `#anchor` in README.md and
//! docs/*.md leads somewhere, and every `backup-server` command and option the pages show
//! (in code blocks and inline code) is one the built binary's `--help` lists. A page that
//! drifts from the command line fails here, naming the page, the line and what is wrong;
//! nothing is skipped.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::COMMANDS;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const BIN: &str = env!("CARGO_BIN_EXE_backup-server");

/// Options the pages show for the other programs they name (rsync, nix, systemd-inhibit,
/// sqlite3 and nginx), so that a bare `--option` in inline code is either one of these or
/// one of backup-server's, never a typo.
const OTHER_TOOLS_OPTIONS: [&str; 23] = [
    "--fake-super",      // rsync
    "--acls",            // rsync
    "--xattrs",          // rsync
    "--sparse",          // rsync
    "--modify-window",   // rsync
    "--remote-option",   // rsync
    "--link-dest",       // rsync
    "--checksum",        // rsync
    "--delete",          // rsync
    "--delete-excluded", // rsync
    "--files-from",      // rsync
    "--exclude-from",    // rsync
    "--one-file-system", // rsync
    "--info",            // rsync
    "--itemize-changes", // rsync
    "--numeric-ids",     // rsync
    "--stats",           // rsync
    "--protect-args",    // rsync
    "--override-input",  // nix
    "--no-build",        // nix
    "--all-systems",     // nix
    "--mode",            // systemd-inhibit
    "--what",            // systemd-inhibit
];

/// A page: where it is and what it says.
struct Page {
    path: PathBuf,
    text: String,
}

impl Page {
    fn name(&self) -> String {
        self.path
            .strip_prefix(ROOT)
            .unwrap_or(&self.path)
            .display()
            .to_string()
    }
}

fn pages() -> Vec<Page> {
    let mut paths = vec![Path::new(ROOT).join("README.md")];
    let mut docs: Vec<PathBuf> = fs::read_dir(Path::new(ROOT).join("docs"))
        .expect("docs/ is there")
        .map(|e| e.expect("docs/ can be listed").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    paths.extend(docs);
    paths
        .into_iter()
        .map(|path| Page {
            text: fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
            path,
        })
        .collect()
}

/// A piece of a page: prose (with its code taken out) or code (a fenced block's content
/// or an inline span), and the line it starts on.
enum Piece {
    Prose(usize, String),
    /// The line, the code, and whether it is an inline span.
    Code(usize, String, bool),
}

/// Splits Markdown into prose and code. Fences are lines starting with ``` (their info
/// string dropped); an inline span opens with a run of backticks and closes with a run of
/// the same length, across line breaks as CommonMark allows.
fn pieces(text: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    let mut paragraph = String::new();
    let mut paragraph_line = 1;
    let flush = |paragraph: &mut String, line: usize, out: &mut Vec<Piece>| {
        inline(paragraph, line, out);
        paragraph.clear();
    };
    while let Some((n, line)) = lines.next() {
        if line.trim_start().starts_with("```") {
            flush(&mut paragraph, paragraph_line, &mut out);
            let mut block = String::new();
            let start = n + 2;
            for (_, inner) in lines.by_ref() {
                if inner.trim_start().starts_with("```") {
                    break;
                }
                block.push_str(inner);
                block.push('\n');
            }
            out.push(Piece::Code(start, block, false));
            continue;
        }
        if line.trim().is_empty() {
            flush(&mut paragraph, paragraph_line, &mut out);
            continue;
        }
        if paragraph.is_empty() {
            paragraph_line = n + 1;
        }
        paragraph.push_str(line);
        paragraph.push('\n');
    }
    flush(&mut paragraph, paragraph_line, &mut out);
    out
}

/// The inline code spans of a paragraph, and its prose with them taken out.
fn inline(paragraph: &str, first_line: usize, out: &mut Vec<Piece>) {
    let bytes = paragraph.as_bytes();
    let mut prose = String::new();
    let mut i = 0;
    let line_at = |i: usize| first_line + paragraph[..i].matches('\n').count();
    while i < bytes.len() {
        if bytes[i] == b'`' {
            let run = bytes[i..].iter().take_while(|&&b| b == b'`').count();
            let fence = "`".repeat(run);
            let start = i + run;
            // The closing run has exactly `run` backticks.
            let mut j = start;
            let close = loop {
                match paragraph[j..].find(&fence) {
                    None => break None,
                    Some(k) => {
                        let at = j + k;
                        let len = bytes[at..].iter().take_while(|&&b| b == b'`').count();
                        if len == run {
                            break Some(at);
                        }
                        j = at + len;
                    }
                }
            };
            match close {
                Some(end) => {
                    let span = paragraph[start..end].replace('\n', " ");
                    out.push(Piece::Code(line_at(i), span.trim().to_string(), true));
                    prose.push_str(" CODE ");
                    i = end + run;
                }
                None => {
                    prose.push_str(&fence);
                    i = start;
                }
            }
        } else {
            let c = paragraph[i..].chars().next().unwrap();
            prose.push(c);
            i += c.len_utf8();
        }
    }
    out.push(Piece::Prose(first_line, prose));
}

/// A heading's anchor as GitHub renders it: lowercased, spaces to `-`, every other
/// character but letters, digits, `-` and `_` dropped (backticks and a link's brackets
/// and target with them).
fn anchor(heading: &str) -> String {
    let mut text = String::new();
    let mut rest = heading;
    // [text](target) keeps its text only.
    while let Some(open) = rest.find('[') {
        match (rest[open..].find("]("), rest[open..].find(')')) {
            (Some(mid), Some(close)) if mid < close => {
                text.push_str(&rest[..open]);
                text.push_str(&rest[open + 1..open + mid]);
                rest = &rest[open + close + 1..];
            }
            _ => break,
        }
    }
    text.push_str(rest);
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a page's headings, a repeated one numbered as GitHub numbers it.
fn anchors(page: &Page) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    let mut in_fence = false;
    for line in page.text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if (1..=6).contains(&hashes) && line[hashes..].starts_with(' ') {
            let base = anchor(&line[hashes + 1..]);
            let n = seen.entry(base.clone()).or_insert(0);
            out.insert(if *n == 0 {
                base.clone()
            } else {
                format!("{base}-{n}")
            });
            *n += 1;
        }
    }
    out
}

/// The targets of `[text](target)` and `![alt](target)` in prose.
fn link_targets(prose: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = prose;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let end = after.find(')').unwrap_or(after.len());
        out.push(after[..end].trim().to_string());
        rest = &after[end..];
    }
    out
}

#[test]
fn every_relative_link_and_anchor_in_the_readme_and_docs_resolves() {
    let pages = pages();
    assert!(
        pages.len() >= 8,
        "expected README.md and the seven pages of docs/, found {}",
        pages.len()
    );
    let anchors: BTreeMap<PathBuf, BTreeSet<String>> =
        pages.iter().map(|p| (p.path.clone(), anchors(p))).collect();
    let mut problems = Vec::new();
    let mut checked = 0;
    for page in &pages {
        for piece in pieces(&page.text) {
            let Piece::Prose(line, prose) = piece else {
                continue;
            };
            for target in link_targets(&prose) {
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                checked += 1;
                let (file, fragment) = match target.split_once('#') {
                    Some((file, fragment)) => (file, Some(fragment)),
                    None => (target.as_str(), None),
                };
                let path = if file.is_empty() {
                    page.path.clone()
                } else {
                    page.path.parent().unwrap().join(file)
                };
                let at = format!("{} (paragraph at line {line})", page.name());
                if !path.exists() {
                    problems.push(format!("{at}: {target}: {} does not exist", path.display()));
                    continue;
                }
                if let Some(fragment) = fragment {
                    let canonical = path.canonicalize().unwrap();
                    let known = anchors
                        .iter()
                        .find(|(p, _)| p.canonicalize().unwrap() == canonical)
                        .map(|(_, a)| a);
                    match known {
                        None => problems.push(format!(
                            "{at}: {target}: an anchor into a file that is not one of the pages"
                        )),
                        Some(known) if !known.contains(fragment) => problems.push(format!(
                            "{at}: {target}: no heading there has the anchor #{fragment} (it has: {})",
                            known.iter().cloned().collect::<Vec<_>>().join(", ")
                        )),
                        Some(_) => {}
                    }
                }
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} links found: is the parser blind?"
    );
    assert!(
        problems.is_empty(),
        "{} broken links:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// What `--help` lists: each option's names, and whether it takes a value.
#[derive(Default, Debug)]
struct Options(BTreeMap<String, bool>);

fn help(args: &[&str]) -> Options {
    let out = Command::new(BIN)
        .args(args)
        .arg("--help")
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "backup-server {} --help failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("help is UTF-8");
    let mut options = Options::default();
    for line in text.lines() {
        let line = line.trim_start();
        if !line.starts_with('-') {
            continue;
        }
        // "-q, --quiet    Print only…" or "--config <FILE>": the part before the description.
        let head = line.split("  ").next().unwrap();
        let words: Vec<&str> = head.split([' ', ',']).filter(|w| !w.is_empty()).collect();
        let takes_value = words.iter().any(|w| w.starts_with('<'));
        for word in words.iter().filter(|w| w.starts_with('-')) {
            options.0.insert(word.to_string(), takes_value);
        }
    }
    assert!(
        options.0.contains_key("--help"),
        "backup-server {} --help lists no --help: the parser is wrong",
        args.join(" ")
    );
    options
}

/// A word of a command line as the pages write it, without the brackets and quotes of a
/// synopsis (`[--date DATE|latest]`).
fn word(raw: &str) -> &str {
    raw.trim_matches(|c| matches!(c, '[' | ']' | '(' | ')' | '"' | '\'' | ',' | ':' | '.'))
}

#[test]
fn every_command_and_option_the_docs_show_is_in_the_binarys_help() {
    let global = {
        let mut options = help(&[]);
        // Hidden from --help, documented for tests and the demo.
        options.0.insert("--today".into(), true);
        options
    };
    let commands: BTreeMap<&str, Options> = COMMANDS
        .iter()
        .map(|&c| {
            let mut options = help(&[c]);
            options.0.insert("--today".into(), true);
            (c, options)
        })
        .collect();
    let every: BTreeSet<&String> = commands
        .values()
        .chain([&global])
        .flat_map(|o| o.0.keys())
        .collect();
    let mut problems = Vec::new();
    let mut invocations = 0;
    let mut seen_commands = BTreeSet::new();
    for page in pages() {
        for piece in pieces(&page.text) {
            let Piece::Code(first_line, code, is_inline) = piece else {
                continue;
            };
            for (n, line) in code.lines().enumerate() {
                let at = format!("{}:{}", page.name(), first_line + n);
                let words: Vec<&str> = line.split_whitespace().collect();
                // backup-server COMMAND [OPTIONS…], up to the end of the shell command.
                for start in (0..words.len()).filter(|&i| words[i] == "backup-server") {
                    invocations += 1;
                    let mut command: Option<&str> = None;
                    let mut options = &global;
                    let mut rest = words[start + 1..].iter();
                    while let Some(&raw) = rest.next() {
                        if matches!(raw, "|" | "||" | "&&" | ";" | "\\")
                            || raw.starts_with('#')
                            || raw.starts_with('>')
                        {
                            break;
                        }
                        let w = word(raw);
                        if w.starts_with('-') && w.len() > 1 {
                            let name = w.split('=').next().unwrap();
                            match options.0.get(name) {
                                None => problems.push(format!(
                                    "{at}: `{line}`: {name} is not an option of backup-server{} (see its --help)",
                                    command.map(|c| format!(" {c}")).unwrap_or_default()
                                )),
                                Some(&takes_value) => {
                                    if takes_value && !w.contains('=') {
                                        rest.next();
                                    }
                                }
                            }
                        } else if command.is_none() {
                            if w.chars().all(|c| c.is_ascii_uppercase()) {
                                // A placeholder: `backup-server COMMAND --help`.
                                command = Some(w);
                            } else if let Some(found) = commands.get(w) {
                                seen_commands.insert(w.to_string());
                                command = Some(w);
                                options = found;
                            } else {
                                problems.push(format!(
                                    "{at}: `{line}`: {w} is not a command of backup-server (it has {})",
                                    COMMANDS.join(", ")
                                ));
                                break;
                            }
                        }
                    }
                }
                // A bare option in inline code (`--overwrite`): backup-server's or a named
                // other tool's, never a typo.
                if is_inline {
                    let Some(first) = words.first() else { continue };
                    let w = word(first);
                    let short = words.len() == 1 && w.len() == 2 && w.starts_with('-');
                    let bare = w.starts_with("--") || short;
                    if bare {
                        for option in words
                            .iter()
                            .map(|w| word(w))
                            .filter(|w| w.starts_with("--"))
                        {
                            let name = option.split('=').next().unwrap();
                            if !every.contains(&name.to_string())
                                && !OTHER_TOOLS_OPTIONS.contains(&name)
                            {
                                problems.push(format!(
                                    "{at}: `{line}`: {name} is neither an option of backup-server (--help) nor one of the other tools' this test knows"
                                ));
                            }
                        }
                        if short && !every.contains(&w.to_string()) {
                            problems.push(format!(
                                "{at}: `{line}`: {w} is not an option of backup-server (--help)"
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(
        invocations > 30,
        "only {invocations} backup-server command lines found: is the parser blind?"
    );
    let unshown: Vec<&str> = COMMANDS
        .iter()
        .copied()
        .filter(|c| !seen_commands.contains(*c))
        .collect();
    assert!(
        unshown.is_empty(),
        "the docs never show these commands: {}",
        unshown.join(", ")
    );
    assert!(
        problems.is_empty(),
        "{} commands or options the docs show are not in --help:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn anchors_are_made_as_github_makes_them() {
    assert_eq!(
        anchor("Checking a setup: doctor"),
        "checking-a-setup-doctor"
    );
    assert_eq!(anchor("The flake's outputs"), "the-flakes-outputs");
    assert_eq!(anchor("`status.json`"), "statusjson");
    assert_eq!(
        anchor("Pings: knowing at once when backups stop"),
        "pings-knowing-at-once-when-backups-stop"
    );
    assert_eq!(anchor("A [link](x.md) and_under"), "a-link-and_under");
}
