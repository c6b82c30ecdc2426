//! rsync reading a side, and what it says it would change item by item: what
//! `restore` and `verify` share.
//!
//! Reading a target's copy must use what the sync used to write it (the run's
//! ssh_config, compression, the bandwidth limit), or a restore from a target would
//! not give back what the sync stored. rsync names each entry it would change with
//! `--out-format`; those lines are read here into items.

use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::process::Command;

use super::rsync::Rsync;
use super::scan::{Scan, Transfer};
use crate::outcome::{StepError, TransferStats};
use crate::sides::{Listing, Side};
use crate::step_log::StepLog;

/// An rsync that reads from `side` (or writes, for a dry run against it) with the
/// sync's settings: for a target its compression, bandwidth limit and SSH settings.
/// Arguments on the remote side are passed by rsync itself (`--protect-args`), never
/// through the target's shell. `listing` is this side's: a target whose user is not
/// root holds owners, groups and device files in rsync's fake-super xattrs, which
/// its rsync reads back only with `--fake-super`, as the sync wrote them.
pub fn rsync_with(side: &Side, listing: &Listing) -> Command {
    let mut rsync = Rsync::snapshot();
    if let Some(target) = side.target {
        rsync = rsync
            .paced(target.compress, target.bwlimit_kib)
            .fake_super(listing.uid, false);
    }
    if side.is_remote() {
        rsync = rsync.with("--protect-args").ssh(side.ssh_config());
    }
    rsync.command()
}

/// One line of `--out-format=ITEM`: what rsync would do to one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// rsync's `%i`: `YXcstpoguax`, or `*deleting`.
    pub flags: String,
    /// The entry, relative to the transfer's destination, without a trailing `/`:
    /// its bytes as on disk, whatever they are.
    pub name: PathBuf,
    /// For a hard link (`h`), the entry it is linked to.
    pub linked_to: Option<PathBuf>,
}

/// The `--out-format` whose lines `Item::parse` reads.
///
/// Names are bytes, and the line must give them back exactly: under `LC_ALL=C`
/// (every program of a step runs so) rsync writes each byte of a name that is not
/// printable ASCII as `\#ooo`, and a `\` before `#` too, so the line is ASCII and
/// `unescape` gives back the name's own bytes (a Latin-1 `café` included). A name
/// may hold ` -> ` or ` => `, which `%L` also writes (before a symlink's or a hard
/// link's target), so the line is never split there: the name is written twice,
/// `%n//%n%L`. rsync never puts `//` inside a name, so the name is the text before
/// the first `//` that is followed by that same text.
pub const ITEM: &str = "--out-format=item %i %n//%n%L";

impl Item {
    pub fn parse(line: &str) -> Option<Item> {
        let rest = line.strip_prefix("item ")?;
        let (flags, named) = if let Some(padded) = rest.strip_prefix("*deleting") {
            // `%i` is padded to 11 characters, then the format's own space: exactly
            // three, since a name may start with a space of its own.
            ("*deleting", padded.strip_prefix("   ")?)
        } else {
            let (flags, named) = rest.split_at_checked(11)?;
            (flags, named.strip_prefix(' ')?)
        };
        // Every `//`, overlapping ones too (a directory's `d/` gives `d///d/`).
        let (name, tail) = (0..named.len())
            .filter(|at| named.get(*at..*at + 2) == Some("//"))
            .find_map(|at| {
                let (name, after) = (&named[..at], &named[at + 2..]);
                after.strip_prefix(name).map(|tail| (name, tail))
            })?;
        let linked_to = match flags.chars().next() {
            Some('h') => tail
                .strip_prefix(" => ")
                .map(|to| PathBuf::from(std::ffi::OsString::from_vec(unescape(to)))),
            _ => None,
        };
        let mut name = unescape(name);
        if name.len() > 1 && name.last() == Some(&b'/') {
            name.pop();
        }
        Some(Item {
            flags: flags.to_string(),
            name: PathBuf::from(std::ffi::OsString::from_vec(name)),
            linked_to,
        })
    }

    /// The entry does not exist where rsync would write it.
    pub fn is_new(&self) -> bool {
        self.flags
            .get(2..)
            .is_some_and(|f| f.chars().all(|c| c == '+'))
    }

    /// rsync's letter for the kind of entry: `f` file, `d` directory, `L` symlink,
    /// `D` device, `S` special file.
    pub fn kind(&self) -> char {
        self.flags.chars().nth(1).unwrap_or(' ')
    }

    /// Whether attribute `flag` (`c`, `s`, `t`, `p`, `o`, `g`, `u`, `a`, `x`) differs.
    pub fn has(&self, flag: char) -> bool {
        let at = match flag {
            'c' => 2,
            's' => 3,
            't' | 'T' => 4,
            'p' => 5,
            'o' => 6,
            'g' => 7,
            'u' | 'n' | 'b' => 8,
            'a' => 9,
            'x' => 10,
            _ => return false,
        };
        self.flags
            .chars()
            .nth(at)
            .is_some_and(|c| c != '.' && c != ' ' && c != '+')
    }
}

/// A name as rsync prints it, with `\#ooo` (an octal byte) turned back into the byte.
pub fn unescape(name: &str) -> Vec<u8> {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = bytes.get(i..i + 5).filter(|e| {
            e[0] == b'\\' && e[1] == b'#' && e[2..].iter().all(|b| (b'0'..=b'7').contains(b))
        });
        match escape {
            Some(e) => {
                let value = e[2..].iter().fold(0u32, |v, b| v * 8 + u32::from(b - b'0'));
                out.push(value as u8);
                i += 5;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

/// Runs `command` (an rsync with `ITEM` and `--stats`), its output through the log
/// and a scan that allows nothing to go missing: the items it printed, the
/// warnings (metadata a file system could not hold), the figures, or why it failed.
pub fn run(
    command: &mut Command,
    log: &mut StepLog,
    destination: &str,
) -> Result<(Vec<Item>, Vec<String>, TransferStats), StepError> {
    let mut items = Vec::new();
    let (warnings, stats) = Scan::new(Transfer::Sync, destination).run(command, log, |line| {
        Item::parse(line).map(|item| items.push(item)).is_some()
    })?;
    Ok((items, warnings, stats))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn items_are_read_with_their_names_as_they_are_on_disk() {
        let item = |line: &str| Item::parse(line).unwrap();
        let name = |line: &str| item(line).name;
        assert_eq!(
            item("item >f+++++++++ docs/a b.txt//docs/a b.txt"),
            Item {
                flags: ">f+++++++++".into(),
                name: "docs/a b.txt".into(),
                linked_to: None,
            }
        );
        assert_eq!(
            name("item cL+++++++++ docs/link//docs/link -> ../x"),
            Path::new("docs/link")
        );
        assert_eq!(
            name("item cL+++++++++ a -> b//a -> b -> c -> d"),
            Path::new("a -> b"),
            "a name holding ' -> ' is not split there"
        );
        assert_eq!(name("item >f+++++++++ a -> b//a -> b"), Path::new("a -> b"));
        let hard = item("item hf          docs/copy => x//docs/copy => x => docs/original");
        assert_eq!(
            (hard.name.as_path(), hard.linked_to.as_deref()),
            (
                Path::new("docs/copy => x"),
                Some(Path::new("docs/original"))
            )
        );
        assert!(item("item >f+++++++++ x//x").is_new());
        assert!(item("item cd+++++++++ docs///docs/").is_new());
        assert_eq!(name("item cd+++++++++ docs///docs/"), Path::new("docs"));
        assert_eq!(name("item .d..t...... .///./"), Path::new("."));
        let changed = item("item .f...p..... photos/cat.jpg//photos/cat.jpg");
        assert!(!changed.is_new() && changed.has('p') && !changed.has('c'));
        assert!(item("item >fcs....... x//x").has('s'));
        assert_eq!(
            name("item *deleting   old/file//old/file"),
            Path::new("old/file")
        );
        assert_eq!(
            item("item *deleting   old/file//old/file").flags,
            "*deleting"
        );
        assert_eq!(
            name("item *deleting    lead// lead"),
            Path::new(" lead"),
            "a name's own leading space is kept"
        );
        assert_eq!(name("item >f+++++++++  lead// lead"), Path::new(" lead"));
        assert_eq!(
            name("item >f+++++++++ new\\#012line//new\\#012line"),
            Path::new("new\nline")
        );
        assert_eq!(
            name("item >f+++++++++ caf\\#351//caf\\#351")
                .as_os_str()
                .as_encoded_bytes(),
            b"caf\xe9",
            "Latin-1 stays the byte it is"
        );
        assert_eq!(Item::parse("Number of files: 3"), None);
    }
}
