//! The encoded forms of a secret value that Terraform can print: a configuration can pass
//! any value through `base64encode`, `filebase64`, `textencodebase64` (also as UTF-16),
//! `urlencode`, `jsonencode` or a hex encoding, so masking only the raw value would let
//! every copy through.

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
/// of its UTF-8, UTF-16 (both byte orders) and JSON-escaped text at each of the three
/// alignments the value can have inside a longer encoded text, hex in lower and upper
/// case, percent-encoding (upper and lower case hex digits, space as `%20` or `+`) and the
/// JSON string escapes (serde's, and Go's — Terraform's `jsonencode` — which also writes
/// `<`, `>` and `&` as `\u003c`, `\u003e`, `\u0026`). Forms equal to the value are left out.
pub(super) fn encoded_forms(value: &str) -> Vec<String> {
    let bytes = value.as_bytes();
    let go_json = go_json_escape(value);
    let utf16_le: Vec<u8> = value.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let utf16_be: Vec<u8> = value.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let mut forms = Vec::new();
    for text in [bytes, &utf16_le, &utf16_be, go_json.as_bytes()] {
        for offset in 0..3 {
            forms.extend(aligned_base64(text, offset));
        }
    }
    // Escaped twice: a JSON string inside JSON (a plan's JSON, `jsonencode` of a
    // `jsonencode`), or an escaped value as a plan shows it, in quotes.
    forms.push(go_json_escape(&go_json));
    forms.push(go_json);
    forms.push(hex::encode(bytes));
    forms.push(hex::encode_upper(bytes));
    let percent = utf8_percent_encode(value, URL_UNRESERVED).to_string();
    forms.push(percent.replace("%20", "+"));
    forms.push(lower_hex_escapes(&percent));
    forms.push(percent);
    let json = json_escape(value);
    forms.push(json_escape(&json));
    forms.push(json);
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

/// The inside of the JSON string Go's `encoding/json` (so Terraform's `jsonencode`)
/// writes for `text`: `\"`, `\\`, `\n`, `\r`, `\t`, every other control character and
/// `<`, `>`, `&`, U+2028, U+2029 as `\u00XX`-style escapes.
fn go_json_escape(text: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}') => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// The inside of the JSON string serde writes for `text`.
fn json_escape(text: &str) -> String {
    let quoted = serde_json::Value::String(text.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
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
    fn utf16_base64_of_any_surrounding_text_holds_one_of_the_forms() {
        let secret = "vault-t0ken/é<>";
        for prefix in ["", "a", "ab", "abc"] {
            let text = format!("{prefix}{secret}!");
            for little_endian in [true, false] {
                let bytes: Vec<u8> = text
                    .encode_utf16()
                    .flat_map(|unit| {
                        if little_endian {
                            unit.to_le_bytes()
                        } else {
                            unit.to_be_bytes()
                        }
                    })
                    .collect();
                let encoded = STANDARD.encode(&bytes);
                assert!(
                    found(secret, &encoded),
                    "{prefix:?} {little_endian}: {encoded}"
                );
            }
        }
    }

    #[test]
    fn go_json_escapes_are_a_form() {
        let forms = encoded_forms("pa<ss>&w\"rd\u{1}");
        let expected = "pa\\u003css\\u003e\\u0026w\\\"rd\\u0001";
        assert!(forms.iter().any(|f| f == expected), "{forms:?}");
        // base64 of the escaped text, as `base64encode(jsonencode(x))` prints it.
        let json = format!("{{\"k\":\"{expected}\"}}");
        assert!(found("pa<ss>&w\"rd\u{1}", &STANDARD.encode(&json)));
        // The JSON text as a string inside JSON, or as a plan shows it in quotes.
        let twice = serde_json::Value::String(json).to_string();
        assert!(found("pa<ss>&w\"rd\u{1}", &twice), "{twice}");
    }

    #[test]
    fn forms_equal_to_the_value_are_left_out() {
        // Letters and digits are their own percent and JSON form.
        let forms = encoded_forms("abcdef12");
        assert!(!forms.iter().any(|f| f == "abcdef12"));
    }
}
