//! Screening of short textual values that come from a model or an issue before they are
//! looked up in the catalog or matched against a pattern. A hostile value (an HCL
//! fragment, an interpolation, quotes, line breaks) is rejected with a message that
//! names what it contains, rather than a bare "unknown value".

use crate::ValidationError;

/// Longest accepted closed-set value (catalog names are far shorter).
pub const MAX_TOKEN_CHARS: usize = 64;

/// Fragments that are rejected by name, checked in this order.
const NAMED_FRAGMENTS: &[(&str, &str)] = &[
    ("${", "a Terraform interpolation `${`"),
    ("%{", "a Terraform template directive `%{`"),
    ("<<", "a heredoc marker `<<`"),
    ("//", "a comment marker `//`"),
    ("/*", "a comment marker `/*`"),
    ("\"", "a double quote"),
    ("'", "a single quote"),
    ("`", "a backtick"),
    ("\\", "a backslash"),
    ("\n", "a line break"),
    ("\r", "a carriage return"),
    ("=", "an HCL assignment `=`"),
    ("{", "an HCL brace `{`"),
    ("}", "an HCL brace `}`"),
    ("#", "a comment marker `#`"),
];

/// Checks a value meant to be a catalog name or identifier: only ASCII letters, digits,
/// `-`, `_`, `.` and single spaces, at most `MAX_TOKEN_CHARS` long.
/// `allowed` describes what the field accepts, for the error message.
pub fn check_token(field: &str, value: &str, allowed: &str) -> Result<(), ValidationError> {
    if let Some(what) = hostile_fragment(value) {
        return Err(ValidationError::new(
            field,
            value,
            format!("contains {what}; only {allowed} is allowed"),
        ));
    }
    if value.trim().is_empty() {
        return Err(ValidationError::new(
            field,
            value,
            format!("is empty; {allowed} is required"),
        ));
    }
    if value.chars().count() > MAX_TOKEN_CHARS {
        return Err(ValidationError::new(
            field,
            value,
            format!("is longer than {MAX_TOKEN_CHARS} characters; only {allowed} is allowed"),
        ));
    }
    Ok(())
}

/// What makes a value unacceptable as a token, if anything.
pub fn hostile_fragment(value: &str) -> Option<String> {
    if let Some((_, what)) = NAMED_FRAGMENTS
        .iter()
        .find(|(frag, _)| value.contains(frag))
    {
        return Some((*what).to_string());
    }
    value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ')))
        .map(|c| {
            if c.is_control() {
                format!("a control character (U+{:04X})", u32::from(c))
            } else {
                format!("the character {c:?}")
            }
        })
}
