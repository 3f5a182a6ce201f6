//! The encoded forms of a secret value that Terraform can print: a configuration can pass
//! any value through `base64encode`, `filebase64`, `textencodebase64`, `urlencode` or a hex
//! encoding, so masking only the raw value would let every copy through.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Characters `urlencode` (Go's `url.QueryEscape`) and `encodeURIComponent` leave as they
/// are; everything else becomes `%XX`.
const URL_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Every form of `value` to mask besides the value itself: base64 (standard and URL-safe)
/// at each of the three alignments the value can have inside a longer encoded text, hex in
/// lower and upper case, percent-encoding (upper and lower case hex digits, space as `%20`
/// or `+`) and the JSON string escape. Forms equal to the value are left out.
pub(super) fn encoded_forms(value: &str) -> Vec<String> {
    let bytes = value.as_bytes();
    let mut forms = Vec::new();
    for offset in 0..3 {
        forms.extend(aligned_base64(bytes, offset));
    }
    forms.push(hex::encode(bytes));
    forms.push(hex::encode_upper(bytes));
    let percent = utf8_percent_encode(value, URL_UNRESERVED).to_string();
    forms.push(percent.replace("%20", "+"));
    forms.push(lower_hex_escapes(&percent));
    forms.push(percent);
    if let Ok(json) = serde_json::to_string(value) {
        forms.push(json[1..json.len() - 1].to_owned());
    }
    forms.retain(|form| form != value && !form.is_empty());
    forms.sort();
    forms.dedup();
    forms
}

/// The base64 characters that depend only on `bytes` when they sit `offset` bytes after a
/// 3-byte boundary of a longer encoded text: the characters that also cover a byte before
/// or after them are dropped, so the form matches whatever surrounds the value.
fn aligned_base64(bytes: &[u8], offset: usize) -> Vec<String> {
    let mut shifted = vec![0u8; offset];
    shifted.extend_from_slice(bytes);
    // Character j holds bits [6j, 6j + 6) of the input.
    let first = (8 * offset).div_ceil(6);
    let end = 8 * (offset + bytes.len()) / 6;
    if end <= first {
        return Vec::new();
    }
    [STANDARD_NO_PAD, URL_SAFE_NO_PAD]
        .iter()
        .map(|engine| engine.encode(&shifted)[first..end].to_owned())
        .collect()
}

/// `%2F` → `%2f`: some encoders write the hex digits in lower case.
fn lower_hex_escapes(percent: &str) -> String {
    let mut out = String::with_capacity(percent.len());
    let mut rest = percent;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let escape = rest.get(at..at + 3).unwrap_or(&rest[at..]);
        out.push_str(&escape.to_ascii_lowercase());
        rest = &rest[at + escape.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};

    /// Whether some form of `secret` occurs in `text`.
    fn found(secret: &str, text: &str) -> bool {
        encoded_forms(secret).iter().any(|form| text.contains(form))
    }

    #[test]
    fn base64_of_any_surrounding_text_holds_one_of_the_forms() {
        let secret = "whsec-Zq9/+?~ é";
        for prefix_len in 0..7 {
            for suffix_len in 0..4 {
                let text = format!(
                    "{}{secret}{}",
                    "p".repeat(prefix_len),
                    "s".repeat(suffix_len)
                );
                for engine in [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
                    let encoded = engine.encode(text.as_bytes());
                    assert!(
                        found(secret, &encoded),
                        "prefix {prefix_len}, suffix {suffix_len}: {encoded}"
                    );
                }
            }
        }
    }

    #[test]
    fn hex_and_percent_forms_are_present() {
        let secret = "a b/c+d";
        let forms = encoded_forms(secret);
        for expected in [
            "6120622f632b64",
            "6120622F632B64",
            "a%20b%2Fc%2Bd",
            "a+b%2Fc%2Bd",
            "a%20b%2fc%2bd",
        ] {
            assert!(
                forms.iter().any(|f| f == expected),
                "{expected} missing from {forms:?}"
            );
        }
    }

    #[test]
    fn json_escaped_form_covers_a_multi_line_value() {
        let forms = encoded_forms("line one\nline \"two\"");
        assert!(forms.iter().any(|f| f == "line one\\nline \\\"two\\\""));
    }

    #[test]
    fn forms_equal_to_the_value_are_left_out() {
        // Letters and digits are their own percent and JSON form.
        let forms = encoded_forms("abcdef12");
        assert!(!forms.iter().any(|f| f == "abcdef12"));
    }
}
