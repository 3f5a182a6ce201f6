//! Hidden comment markers: `<!-- promptops:key=KEY -->` at the end of every comment the bot
//! writes. They let the bot find its own comment again: after a create whose answer was lost
//! (so a retry does not post twice), and to update a comment in place (one plan comment per
//! deployment rather than a pile).

const PREFIX: &str = "<!-- promptops:key=";
const SUFFIX: &str = " -->";

/// Longest key accepted.
pub const MAX_KEY_CHARS: usize = 64;

/// Characters the marker adds to a body at most ("\n\n" + marker); comment bodies given to
/// the client must leave this much room under GitHub's 65,536-character limit.
pub const MARKER_RESERVE_CHARS: usize = 2 + PREFIX.len() + MAX_KEY_CHARS + SUFFIX.len();

/// GitHub's limit on a comment body, in characters.
pub use promptops_core::github::COMMENT_LIMIT_CHARS as GITHUB_COMMENT_LIMIT_CHARS;

/// The longest body (before the marker) the client will post.
pub const MAX_COMMENT_BODY_CHARS: usize = GITHUB_COMMENT_LIMIT_CHARS - MARKER_RESERVE_CHARS;

/// A comment key the marker cannot carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "comment key {key:?} must be 1 to {MAX_KEY_CHARS} characters of A-Z a-z 0-9 . _ : / - without \"--\""
)]
pub struct CommentKeyError {
    pub key: String,
}

/// Keys are 1..=64 of `[A-Za-z0-9._:/-]` without `--` (which would end an HTML comment).
pub fn check_key(key: &str) -> Result<(), CommentKeyError> {
    let ok_chars = key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '/' | '-'));
    if key.is_empty() || key.len() > MAX_KEY_CHARS || !ok_chars || key.contains("--") {
        return Err(CommentKeyError {
            key: key.to_owned(),
        });
    }
    Ok(())
}

/// A random key for a comment that has no natural one.
pub fn fresh_key() -> String {
    format!("c-{:016x}", fastrand::u64(..))
}

/// The hidden marker for `key`. Callers check keys with `check_key` first; should a key
/// with `--` get here anyway, its dashes are written as `&#45;` so that it cannot end the
/// HTML comment early and spill the rest into the visible comment. Such a marker is then
/// not recognised by `key_of`, which is the safe failure (a new comment, not a wrong one).
pub fn marker(key: &str) -> String {
    if key.contains("--") {
        let escaped = key.replace('-', "&#45;");
        format!("{PREFIX}{escaped}{SUFFIX}")
    } else {
        format!("{PREFIX}{key}{SUFFIX}")
    }
}

/// The key of the last marker in `body`, if any.
pub fn key_of(body: &str) -> Option<&str> {
    let start = body.rfind(PREFIX)? + PREFIX.len();
    let end = body[start..].find(SUFFIX)? + start;
    let key = &body[start..end];
    check_key(key).ok().map(|_| key)
}

/// `body` ending with the marker for `key` (replacing a different trailing marker).
pub fn with_marker(body: &str, key: &str) -> String {
    let trimmed = match body.rfind(PREFIX) {
        Some(i) if key_of(body).is_some() && body[i..].trim_end().ends_with(SUFFIX.trim()) => {
            body[..i].trim_end()
        }
        _ => body.trim_end(),
    };
    format!("{trimmed}\n\n{}", marker(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_round_trips_and_replaces_an_old_one() {
        let b = with_marker("Plan for **web**", "plan:web");
        assert_eq!(key_of(&b), Some("plan:web"));
        assert!(b.starts_with("Plan for **web**\n\n<!-- promptops:key=plan:web -->"));
        let b2 = with_marker(&b, "plan:db");
        assert_eq!(key_of(&b2), Some("plan:db"));
        assert_eq!(b2.matches("promptops:key=").count(), 1, "{b2}");
    }

    #[test]
    fn bad_keys_are_refused_with_the_rule() {
        for bad in ["", "a--b", "with space", "x>y", &"k".repeat(65)] {
            let err = check_key(bad).unwrap_err();
            assert!(err.to_string().contains("1 to 64"), "{err}");
        }
        assert!(check_key(&fresh_key()).is_ok());
        assert!(with_marker("x", &"k".repeat(64)).chars().count() <= 1 + MARKER_RESERVE_CHARS);
    }

    /// The text between `<!--` and `-->` of the last marker in `body`.
    fn comment_body(body: &str) -> &str {
        let start = body.rfind("<!--").expect("a marker") + "<!--".len();
        let end = body[start..].find("-->").expect("a closed marker") + start;
        &body[start..end]
    }

    #[test]
    fn a_key_with_a_double_dash_cannot_break_out_of_the_marker() {
        for key in [
            "plan:web--db:part:0",
            "a--",
            "--> <b>shown</b> <!--",
            "x---y",
        ] {
            let body = with_marker("Plan", key);
            let inner = comment_body(&body);
            assert!(!inner.contains("--"), "{key:?} gave {body:?}");
            // The whole key stays inside the one comment: nothing follows its end.
            assert!(body.ends_with(" -->"), "{body:?}");
            assert_eq!(body.matches("-->").count(), 1, "{body:?}");
            assert_eq!(
                key_of(&body),
                None,
                "an escaped key is not read back: {body:?}"
            );
        }
        assert_eq!(
            marker("plan:web--db"),
            "<!-- promptops:key=plan:web&#45;&#45;db -->"
        );
        // Keys without `--` are written as they are.
        assert_eq!(
            marker("plan:web-db:part:1"),
            "<!-- promptops:key=plan:web-db:part:1 -->"
        );
    }
}
