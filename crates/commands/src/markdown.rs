//! Reduces a comment body to the lines a reader sees as prose, so that commands written inside
//! code, quotes or HTML comments never fire.
//!
//! This follows CommonMark where it matters for that question and errs on the side of hiding
//! text when a construct is ambiguous (an unclosed fence hides the rest of the comment, as it
//! does when GitHub renders it):
//! - fenced code blocks (```` ``` ```` and `~~~`, at any indentation) are removed;
//! - indented code blocks (4+ columns after a blank line or the start) are removed;
//! - `>` quote lines are removed;
//! - HTML comments are removed, also across lines;
//! - inline code spans stay in the text (plan instructions quote them) but are masked out of the
//!   probe that command detection reads.

use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::Range;

/// One line of the comment after block-level stripping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VisibleLine {
    /// The line's text without HTML comments; code spans kept as written.
    pub text: String,
    /// `text` with every byte of a code span (backticks included) replaced by a backtick: the
    /// same byte length and whitespace positions, but no command can be read inside code.
    pub probe: String,
}

/// A line after the block pass: prose the reader sees, or a line that belongs to a removed block.
enum BlockLine {
    Text(String),
    Removed,
}

/// An open fenced code block: its marker character and how many of them opened it.
struct Fence {
    marker: char,
    len: usize,
}

/// The visible lines of `body`, in order. Lines of removed blocks are left out.
pub(crate) fn visible_lines(body: &str) -> Vec<VisibleLine> {
    // GitHub sends comment bodies with CRLF line ends; a lone CR is treated as a line end too.
    let normalized = if body.contains('\r') {
        Cow::Owned(body.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(body)
    };
    let blocks = strip_blocks(&normalized);

    let mut visible = Vec::with_capacity(blocks.len());
    let mut paragraph: Vec<String> = Vec::new();
    for line in blocks {
        match line {
            BlockLine::Text(text) if !text.trim().is_empty() => paragraph.push(text),
            BlockLine::Text(blank) => {
                flush_paragraph(&mut paragraph, &mut visible);
                visible.push(VisibleLine {
                    probe: blank.clone(),
                    text: blank,
                });
            }
            BlockLine::Removed => flush_paragraph(&mut paragraph, &mut visible),
        }
    }
    flush_paragraph(&mut paragraph, &mut visible);
    visible
}

/// Classifies each line, removing fenced and indented code, quotes and HTML comments.
fn strip_blocks(body: &str) -> Vec<BlockLine> {
    let mut lines = Vec::new();
    let mut fence: Option<Fence> = None;
    let mut in_html_comment = false;
    // An indented code block can start at the beginning, after a blank line or after another
    // block, but not in the middle of a paragraph (there the indentation is a continuation).
    let mut code_may_start = true;

    for line in body.split('\n') {
        if let Some(open) = &fence {
            if closes_fence(line, open) {
                fence = None;
                code_may_start = true;
            }
            lines.push(BlockLine::Removed);
            continue;
        }
        if !in_html_comment {
            // Checked first: four columns of indentation make even "```" or "> x" code.
            if code_may_start && indent_columns(line) >= 4 && !line.trim().is_empty() {
                lines.push(BlockLine::Removed);
                continue;
            }
            if line.trim_start().starts_with('>') {
                lines.push(BlockLine::Removed);
                code_may_start = false;
                continue;
            }
            if let Some(open) = opens_fence(line) {
                fence = Some(open);
                lines.push(BlockLine::Removed);
                continue;
            }
        }
        let text = strip_html_comments(line, &mut in_html_comment);
        code_may_start = text.trim().is_empty();
        lines.push(BlockLine::Text(text));
    }
    lines
}

/// The fence a line opens, if it is a fence line (3+ backticks or tildes; a backtick fence's
/// info string may not contain a backtick, or the line is inline code instead).
fn opens_fence(line: &str) -> Option<Fence> {
    let trimmed = line.trim_start();
    let marker = trimmed.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = trimmed.chars().take_while(|c| *c == marker).count();
    let info = &trimmed[len * marker.len_utf8()..];
    (len >= 3 && !(marker == '`' && info.contains('`'))).then_some(Fence { marker, len })
}

/// Whether a line closes the open fence: at least as many of the same marker, nothing after.
fn closes_fence(line: &str, open: &Fence) -> bool {
    let trimmed = line.trim_start();
    let len = trimmed.chars().take_while(|c| *c == open.marker).count();
    len >= open.len && trimmed[len * open.marker.len_utf8()..].trim().is_empty()
}

/// Leading indentation in columns, a tab advancing to the next multiple of four.
fn indent_columns(line: &str) -> usize {
    let mut columns = 0;
    for c in line.chars() {
        match c {
            ' ' => columns += 1,
            '\t' => columns += 4 - columns % 4,
            _ => break,
        }
    }
    columns
}

/// `line` without the parts inside `<!-- ... -->`; `in_comment` carries an open comment
/// from one line to the next.
fn strip_html_comments(line: &str, in_comment: &mut bool) -> String {
    let mut kept = String::with_capacity(line.len());
    let mut rest = line;
    loop {
        if *in_comment {
            match rest.find("-->") {
                Some(end) => {
                    rest = &rest[end + 3..];
                    *in_comment = false;
                }
                None => return kept,
            }
        }
        match rest.find("<!--") {
            Some(start) => {
                kept.push_str(&rest[..start]);
                rest = &rest[start + 4..];
                *in_comment = true;
            }
            None => {
                kept.push_str(rest);
                return kept;
            }
        }
    }
}

/// Emits the buffered paragraph's lines with code spans masked in their probes.
fn flush_paragraph(paragraph: &mut Vec<String>, visible: &mut Vec<VisibleLine>) {
    if paragraph.is_empty() {
        return;
    }
    // Code spans may run across the lines of one paragraph, so mask the paragraph as a whole.
    let text = paragraph.join("\n");
    paragraph.clear();
    let spans = code_spans(&text);
    let mut probe = String::with_capacity(text.len());
    // Spans are sorted and disjoint: walk them alongside the characters.
    let mut spans = spans.iter().peekable();
    for (index, c) in text.char_indices() {
        while spans.next_if(|span| span.end <= index).is_some() {}
        let in_span = spans.peek().is_some_and(|span| span.contains(&index));
        let masked = c != '\n' && in_span;
        if masked {
            probe.extend(std::iter::repeat_n('`', c.len_utf8()));
        } else {
            probe.push(c);
        }
    }
    for (text, probe) in text.split('\n').zip(probe.split('\n')) {
        visible.push(VisibleLine {
            text: text.to_owned(),
            probe: probe.to_owned(),
        });
    }
}

/// Byte ranges of the code spans in a paragraph, backticks included: a run of N backticks up
/// to the next run of exactly N. A run without a closing run is literal text; a backslash
/// escapes the character after it outside code.
fn code_spans(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    // Run lengths known to have no closing run further on: a later opener of the same length
    // cannot have one either, which keeps long runs of unmatched backticks linear.
    let mut unclosed: HashSet<usize> = HashSet::new();
    let run_end = |from: usize| {
        let mut end = from;
        while bytes.get(end) == Some(&b'`') {
            end += 1;
        }
        end
    };

    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            b'`' => {
                let open_end = run_end(at);
                let len = open_end - at;
                let mut close = None;
                if !unclosed.contains(&len) {
                    let mut search = open_end;
                    while search < bytes.len() {
                        if bytes[search] == b'`' {
                            let end = run_end(search);
                            if end - search == len {
                                close = Some(end);
                                break;
                            }
                            search = end;
                        } else {
                            search += 1;
                        }
                    }
                }
                match close {
                    Some(end) => {
                        spans.push(at..end);
                        at = end;
                    }
                    None => {
                        unclosed.insert(len);
                        at = open_end;
                    }
                }
            }
            _ => at += 1,
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probes(body: &str) -> Vec<String> {
        visible_lines(body).into_iter().map(|l| l.probe).collect()
    }

    #[test]
    fn code_spans_pair_runs_of_equal_length() {
        assert_eq!(code_spans("a `b` c"), vec![2..5]);
        assert_eq!(code_spans("``a`b`` `c`"), vec![0..7, 8..11]);
        assert_eq!(code_spans("`open only"), Vec::<Range<usize>>::new());
        assert_eq!(code_spans(r"\`not code` x"), Vec::<Range<usize>>::new());
    }

    #[test]
    fn probe_masks_code_but_keeps_length_and_line_breaks() {
        let lines = visible_lines("say `/promptops\napply` é `ü`");
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].text, "say `/promptops");
        assert_eq!(lines[0].probe, "say ```````````");
        assert_eq!(lines[1].text, "apply` é `ü`");
        assert_eq!(lines[1].probe, "`````` é ````");
        for line in &lines {
            assert_eq!(line.text.len(), line.probe.len());
        }
    }

    #[test]
    fn blocks_are_removed() {
        let body = "a\n```sh\nin fence\n```\nb\n~~~~\n~~~\nstill in\n~~~~\n> quoted\nc <!-- x\ny --> d\n\n    indented\ne";
        assert_eq!(probes(body), vec!["a", "b", "c ", " d", "", "e"]);
    }

    #[test]
    fn indentation_inside_a_paragraph_is_not_code() {
        assert_eq!(probes("a\n    b"), vec!["a", "    b"]);
        assert_eq!(probes("\t\tcode\n\nx"), vec!["", "x"]);
    }

    #[test]
    fn backtick_fence_with_backtick_in_info_is_inline_code() {
        assert_eq!(probes("```a`b```\nnext"), vec!["`````````", "next"]);
    }

    #[test]
    fn crlf_is_a_line_end() {
        assert_eq!(probes("a\r\nb\rc"), vec!["a", "b", "c"]);
    }
}
