//! Text the bot did not write (issue and comment text, model output, rejected values,
//! hand-written files), made inert for GitHub Markdown: it cannot link, embed images,
//! mention people or teams, or reference issues and pull requests.
//!
//! Two forms: a fenced code block for text shown as it is (nothing inside a fence is
//! rendered, so the fence only has to be longer than any backtick run in the text), and an
//! escaped inline form for short text that sits in prose or a table cell.

/// A zero-width space: breaks what GitHub would turn into a mention, a reference or an
/// autolink, without a visible change.
const BREAK: char = '\u{200b}';

/// `text` in a fenced code block whose fence is longer than any backtick run inside it
/// (at least three), so that the text cannot close the block early.
pub fn inert_block(text: &str) -> String {
    let fence = "`".repeat(longest_backtick_run(text).max(2) + 1);
    let body = text.trim_end_matches(['\n', '\r']);
    format!("{fence}text\n{body}\n{fence}")
}

/// The longest run of consecutive backticks in `text`.
pub fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// `text` on one line, with Markdown and HTML syntax escaped and mentions (`@user`,
/// `@org/team`), references (`#12`, `GH-12`, `owner/repo#12`) and autolinks (`https://…`,
/// `www.…`) broken, so that it reads as written and does nothing.
pub fn inert_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {}
            '\n' => out.push(' '),
            c if c.is_control() => out.push(' '),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '@' | '#' => {
                out.push(c);
                out.push(BREAK);
            }
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '!' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            ':' if chars.peek() == Some(&'/') => {
                out.push(':');
                out.push(BREAK);
            }
            '.' if out.to_ascii_lowercase().ends_with("www") => {
                out.push(BREAK);
                out.push('.');
            }
            '-' if out.to_ascii_lowercase().ends_with("gh") => {
                out.push(BREAK);
                out.push('-');
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fence_is_longer_than_any_backtick_run_inside() {
        assert_eq!(inert_block("plain"), "```text\nplain\n```");
        let hostile = "a\n`````\n@team [x](https://e.example) ![i](https://e.example/i.png)";
        let block = inert_block(hostile);
        assert!(block.starts_with("``````text\n"), "{block}");
        assert!(block.ends_with("\n``````"), "{block}");
        assert_eq!(longest_backtick_run(&block), 6);
    }

    #[test]
    fn inline_text_cannot_mention_reference_link_or_embed() {
        let text = "@octocat @org/team #12 GH-7 octo/repo#3 [x](https://e.example) ![i](y) www.e.example <img src=x>";
        let inert = inert_inline(text);
        for live in [
            "@octocat", "@org", "#12", "GH-7", "repo#3", "](", "https://", "www.", "<img", "![",
        ] {
            assert!(!inert.contains(live), "{live} is still live in {inert}");
        }
        let visible: String = inert
            .chars()
            .filter(|c| *c != BREAK && *c != '\\')
            .collect();
        assert!(visible.contains("octo/repo#3"), "{visible}");
        assert!(!inert.contains('\n'));
    }
}
