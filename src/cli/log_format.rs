//! How log fields are written in the plain (non-JSON) log: like tracing's default format
//! (`message`, then `name=value` pairs), with control characters escaped in every value.
//!
//! Many logged values come from outside (an OAuth `error_description`, a form's `repo`,
//! request headers): a raw newline in one would start a forged log line, and an escape
//! sequence could rewrite a terminal. Escaping here, once, covers every field of every
//! event and span, whoever logs it. (The JSON log escapes them by its syntax already.)

use std::fmt::{self, Write as _};

use tracing::field::Field;
use tracing_subscriber::field::MakeExt as _;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::{Writer, debug_fn};

/// The plain log's field formatter: every value's control characters escaped.
pub fn escaped_fields() -> impl for<'writer> FormatFields<'writer> + Send + Sync + 'static {
    debug_fn(write_field).delimited(" ")
}

fn write_field(writer: &mut Writer<'_>, field: &Field, value: &dyn fmt::Debug) -> fmt::Result {
    let name = field.name();
    if name != "message" {
        write!(writer, "{}=", name.trim_start_matches("r#"))?;
    }
    write!(EscapeControl(writer), "{value:?}")
}

/// Whether `c` must not reach a log line raw: C0/C1 controls (newline, carriage return,
/// escape...), Unicode line and paragraph separators, and bidirectional overrides (which
/// reorder what a reader sees).
pub fn is_unsafe_in_log(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A writer that passes text on with unsafe characters written as Rust escapes (`\n`,
/// `\r`, `\t`, `\u{1b}`).
pub struct EscapeControl<W>(pub W);

impl<W: fmt::Write> fmt::Write for EscapeControl<W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut rest = text;
        while let Some(at) = rest.find(is_unsafe_in_log) {
            self.0.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().expect("found at a char boundary");
            write!(self.0, "{}", c.escape_default())?;
            rest = &rest[at + c.len_utf8()..];
        }
        self.0.write_str(rest)
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    fn escaped(text: &str) -> String {
        let mut out = String::new();
        EscapeControl(&mut out).write_str(text).unwrap();
        out
    }

    #[test]
    fn control_characters_become_visible_escapes() {
        assert_eq!(escaped("plain text, ünïcode"), "plain text, ünïcode");
        assert_eq!(
            escaped("x\n2026-12-01T00:00:00Z  INFO forged"),
            "x\\n2026-12-01T00:00:00Z  INFO forged"
        );
        assert_eq!(escaped("a\rb\tc\u{1b}[2Jd"), "a\\rb\\tc\\u{1b}[2Jd");
        assert_eq!(escaped("a\u{2028}b\u{202E}c"), "a\\u{2028}b\\u{202e}c");
        assert_eq!(escaped("\u{85}"), "\\u{85}");
    }
}
