//! Terraform outputs as a reader wants them: a list item per output, lists as lists,
//! maps as `key: value`, web addresses as links, sensitive values hidden. A table of JSON
//! overflows the page and cuts the addresses off.

use std::fmt::Write as _;

use serde_json::Value;

use super::{code, inline};
use crate::report::OutputValue;

/// Outputs shown (keeps the header bounded).
const MAX_OUTPUTS: usize = 30;
/// Items of one list or map shown.
const MAX_ITEMS: usize = 20;
/// Longest value shown whole (an SSH public key fits).
const MAX_VALUE_CHARS: usize = 600;
/// Scalars of a short list shown on one line instead of one per line.
const INLINE_ITEMS: usize = 4;

/// The `**Outputs**` section, or nothing when there are none.
pub fn write_outputs(out: &mut String, outputs: &[OutputValue]) {
    if outputs.is_empty() {
        return;
    }
    out.push_str("**Outputs**\n\n");
    for output in outputs.iter().take(MAX_OUTPUTS) {
        let name = format!("`{}`", code(&output.name));
        if output.sensitive {
            let _ = writeln!(out, "- {name}: *(sensitive)*");
            continue;
        }
        write_value(out, &name, &output.value, 0);
    }
    if outputs.len() > MAX_OUTPUTS {
        let _ = writeln!(out, "- and {} more", outputs.len() - MAX_OUTPUTS);
    }
    out.push('\n');
}

fn write_value(out: &mut String, label: &str, value: &Value, depth: usize) {
    let indent = "  ".repeat(depth);
    match value {
        Value::Array(items) if items.is_empty() => {
            let _ = writeln!(out, "{indent}- {label}: *(none)*");
        }
        Value::Array(items)
            if items.len() <= INLINE_ITEMS && items.iter().all(is_short_plain_scalar) =>
        {
            let shown: Vec<String> = items.iter().map(scalar).collect();
            let _ = writeln!(out, "{indent}- {label}: {}", shown.join(", "));
        }
        Value::Array(items) => {
            let _ = writeln!(out, "{indent}- {label}:");
            for item in items.iter().take(MAX_ITEMS) {
                write_item(out, item, depth + 1);
            }
            more(out, items.len(), depth + 1);
        }
        Value::Object(map) if map.is_empty() => {
            let _ = writeln!(out, "{indent}- {label}: *(none)*");
        }
        Value::Object(map) => {
            let _ = writeln!(out, "{indent}- {label}:");
            for (key, item) in map.iter().take(MAX_ITEMS) {
                write_value(out, &format!("`{}`", code(key)), item, depth + 1);
            }
            more(out, map.len(), depth + 1);
        }
        scalar_value => {
            let _ = writeln!(out, "{indent}- {label}: {}", scalar(scalar_value));
        }
    }
}

/// An item of a list: scalars on their own line, nested values as JSON in code.
fn write_item(out: &mut String, item: &Value, depth: usize) {
    let indent = "  ".repeat(depth);
    let shown = match item {
        Value::Array(_) | Value::Object(_) => {
            format!("`{}`", code(&cut(&item.to_string())))
        }
        other => scalar(other),
    };
    let _ = writeln!(out, "{indent}- {shown}");
}

fn more(out: &mut String, total: usize, depth: usize) {
    if total > MAX_ITEMS {
        let indent = "  ".repeat(depth);
        let _ = writeln!(out, "{indent}- and {} more", total - MAX_ITEMS);
    }
}

/// Short strings and numbers (not links) read well side by side.
fn is_short_plain_scalar(value: &Value) -> bool {
    match value {
        Value::String(text) => text.len() <= 40 && link(text).is_none(),
        Value::Number(_) | Value::Bool(_) => true,
        _ => false,
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => match link(text) {
            Some(url) => format!("<{url}>"),
            None if text.is_empty() => "*(empty)*".to_owned(),
            None => format!("`{}`", code(&cut(text))),
        },
        Value::Null => "*(null)*".to_owned(),
        other => format!("`{}`", inline(&other.to_string())),
    }
}

/// `text` when it is a plain web address that can be shown as an autolink (`<…>`): no
/// spaces, brackets, quotes or backticks that could end the link early.
pub(super) fn link(text: &str) -> Option<&str> {
    let plain = (text.starts_with("https://") || text.starts_with("http://"))
        && text.len() <= MAX_VALUE_CHARS
        && !text.contains(|c: char| {
            c.is_whitespace() || c.is_control() || "<>\"'`()[]{}|\\".contains(c)
        });
    plain.then_some(text)
}

fn cut(text: &str) -> String {
    if text.chars().count() <= MAX_VALUE_CHARS {
        return text.to_owned();
    }
    let kept: String = text.chars().take(MAX_VALUE_CHARS).collect();
    format!("{kept}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn output(name: &str, value: Value) -> OutputValue {
        OutputValue {
            name: name.into(),
            value,
            sensitive: false,
        }
    }

    #[test]
    fn addresses_are_links_and_short_lists_one_line() {
        let mut out = String::new();
        write_outputs(
            &mut out,
            &[
                output(
                    "app_urls",
                    json!(["http://34.1.2.3:8501", "http://34.1.2.4:8501"]),
                ),
                output("vm_names", json!(["a-0", "a-1"])),
                output("odd", json!(["http://x.example/a b"])),
            ],
        );
        assert!(
            out.contains("- `app_urls`:\n  - <http://34.1.2.3:8501>\n  - <http://34.1.2.4:8501>\n"),
            "{out}"
        );
        assert!(out.contains("- `vm_names`: `a-0`, `a-1`\n"), "{out}");
        assert!(out.contains("- `odd`: `http://x.example/a b`\n"), "{out}");
    }
}
