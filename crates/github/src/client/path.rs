//! Percent-encoding of URL path parts, where RFC 3986 requires it and nowhere else:
//! unreserved characters (`A-Z a-z 0-9 - . _ ~`) stay as they are, since a strict server
//! or proxy may refuse (or fail to route) their encoded forms (`octo%2Dorg`).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Encoded in one path segment: everything but the unreserved characters (so `/`, `?`,
/// `#`, `%` and spaces are).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Encoded in a path of several segments: as `SEGMENT`, but `/` separates them.
const PATH: &AsciiSet = &SEGMENT.remove(b'/');

/// Percent-encodes a repository path or branch name for use in a URL path.
pub fn enc_path(p: &str) -> String {
    utf8_percent_encode(p, PATH).to_string()
}

/// Percent-encodes one path segment (no `/` allowed through).
pub fn enc_segment(p: &str) -> String {
    utf8_percent_encode(p, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreserved_characters_stay_and_reserved_ones_are_encoded() {
        for kept in ["octo-org", "a.b", "x_y", "~user", "Hello-World.v2"] {
            assert_eq!(enc_segment(kept), kept);
            assert_eq!(enc_path(kept), kept);
        }
        assert_eq!(enc_segment("a/b"), "a%2Fb");
        assert_eq!(enc_segment("a?b#c"), "a%3Fb%23c");
        assert_eq!(enc_segment("100% sure"), "100%25%20sure");
        assert_eq!(enc_segment("é"), "%C3%A9");
        assert_eq!(
            enc_path("deployments/gpu-1/terraform.tfvars"),
            "deployments/gpu-1/terraform.tfvars"
        );
        assert_eq!(enc_path("feat/a b?#%"), "feat/a%20b%3F%23%25");
    }
}
