//! The commit a `/promptops plan <sha>` go-ahead names: the code a maintainer reviewed.

use std::fmt;

/// A commit SHA or a prefix of one, as typed after `/promptops plan`: 7 to 40 hex digits,
/// kept in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShaPrefix(String);

/// The shortest prefix accepted (Git's own default abbreviation).
pub const MIN_SHA_PREFIX: usize = 7;

/// A full SHA-1 commit id.
const FULL_SHA: usize = 40;

impl ShaPrefix {
    /// The SHA (prefix) when `text` is one word of 7 to 40 hex digits, else `None`.
    pub fn parse(text: &str) -> Option<ShaPrefix> {
        let word = text.trim();
        let valid = (MIN_SHA_PREFIX..=FULL_SHA).contains(&word.len())
            && word.chars().all(|c| c.is_ascii_hexdigit());
        valid.then(|| ShaPrefix(word.to_ascii_lowercase()))
    }

    /// Whether this names `sha` (a full commit id).
    pub fn names(&self, sha: &str) -> bool {
        sha.len() >= self.0.len() && sha[..self.0.len()].eq_ignore_ascii_case(&self.0)
    }

    /// Whether all 40 digits were given.
    pub fn is_full(&self) -> bool {
        self.0.len() == FULL_SHA
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ShaPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn seven_to_forty_hex_digits_name_a_commit() {
        let full = ShaPrefix::parse(&HEAD.to_ascii_uppercase()).unwrap();
        assert!(full.is_full() && full.names(HEAD));
        let short = ShaPrefix::parse(" 0123456 ").unwrap();
        assert!(!short.is_full() && short.names(HEAD));
        assert!(!ShaPrefix::parse("1123456").unwrap().names(HEAD));
        for not_a_sha in ["012345", "0123456g", "use two T4s", "", &format!("{HEAD}0")] {
            assert_eq!(ShaPrefix::parse(not_a_sha), None, "{not_a_sha:?}");
        }
    }
}
