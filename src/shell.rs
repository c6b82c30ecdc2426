//! How a word is written for a POSIX shell. The remote side of a task runs its
//! script as `sh -s -- WORDS` under the target user's login shell, whatever that is
//! (dash, busybox ash, bash), so every word sent there is quoted for any of them; a
//! command written into a log is quoted only where a person needs it to read it back.

/// `word` quoted for any POSIX shell: in single quotes, each `'` written as `'\''`.
pub fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// `word`, quoted for a human reading the log only when it needs it.
pub fn for_log(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-=:@+,".contains(c));
    if plain { word.to_string() } else { quote(word) }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    #[test]
    fn words_are_quoted_for_any_posix_shell() {
        assert_eq!(quote("/srv/backup"), "'/srv/backup'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        let dash = Command::new("dash")
            .arg("-c")
            .arg(format!(
                "printf '%s|' {} {}",
                quote("a b$HOME`x`"),
                quote("q'\n\\")
            ))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(dash.stdout).unwrap(),
            "a b$HOME`x`|q'\n\\|"
        );
    }

    #[test]
    fn a_log_quotes_only_words_that_need_it() {
        assert_eq!(for_log("/srv/backup/data"), "/srv/backup/data");
        assert_eq!(for_log("--exclude=*.tmp"), "'--exclude=*.tmp'");
        assert_eq!(for_log(""), "''");
    }
}
