//! Packing a header and a long output into comments under a size limit: the header goes
//! first, the output follows in a collapsible `diff` block that is closed at the end of
//! each comment and reopened in the next, and the START of the output is what gets cut.

use super::{CommentOptions, marker};

/// Longest output line kept whole; longer lines are cut (so one line always fits).
pub const MAX_LINE_BYTES: usize = 2_000;
/// Room kept for the marker's part numbers and the note about cut output.
const RESERVE_BYTES: usize = 600;

/// One document to split.
pub struct Document<'a> {
    /// `plan`, `apply`, ... (the marker kind).
    pub kind: &'a str,
    pub deployment: &'a str,
    /// Balanced Markdown shown at the top of the first comment.
    pub header: String,
    /// Heading for continuation comments, e.g. "Terraform plan for `x`".
    pub title: String,
    /// The `<summary>` text of the output block.
    pub output_label: String,
    /// The output; lines are prefixed for `diff` highlighting while splitting (only the
    /// resource and output changes get a sign), and only the lines posted are copied.
    pub output: &'a str,
}

/// Splits `doc` into at most `opts.max_comments` comments of at most `opts.max_chars`
/// bytes each (bytes ≥ characters, so the character limit holds too).
pub fn split(doc: Document<'_>, opts: &CommentOptions) -> Vec<String> {
    let max_comments = opts.max_comments.max(1);
    let rooms = Rooms::of(&doc, opts.max_chars, max_comments);
    let kept = KeptOutput::end_of(doc.output, rooms.capacity(max_comments));
    let chunks = rooms.pack(&kept.lines);
    let total = chunks.len().max(1);
    let fence = "`".repeat(longest_backtick_run(&kept.lines).clamp(2, 15) + 1);
    (0..total)
        .map(|part| {
            let mut body = marker(doc.kind, doc.deployment, part + 1, total);
            body.push('\n');
            if part == 0 {
                body.push_str(&doc.header);
                if kept.dropped_lines > 0 {
                    body.push_str(&kept.note(max_comments));
                }
            } else {
                body.push_str(&continuation_heading(&doc.title, part + 1, total));
            }
            if let Some(chunk) = chunks.get(part) {
                let label = if total > 1 {
                    format!("{} (part {}/{})", doc.output_label, part + 1, total)
                } else {
                    doc.output_label.clone()
                };
                body.push('\n');
                write_output_block(&mut body, &label, &fence, chunk);
            }
            body
        })
        .collect()
}

/// Bytes of output lines a comment can hold: the first (under the header) and each
/// continuation, plus the longest line as a spare.
struct Rooms {
    first: usize,
    other: usize,
    spare: usize,
}

impl Rooms {
    fn of(doc: &Document<'_>, max_chars: usize, max_comments: usize) -> Rooms {
        let marker_len = marker(doc.kind, doc.deployment, max_comments, max_comments).len() + 1;
        // The fence is at least one backtick longer than any run in the output; room for up
        // to 16 backticks is budgeted below.
        let widest_fence = "`".repeat(16);
        let wrapper = output_block_opening(&doc.output_label, &widest_fence).len()
            + widest_fence.len()
            + "\n</details>\n (continued)".len();
        let heading = continuation_heading(&doc.title, 99, 99).len();
        // Greedy packing can leave a comment short by one line: budget the longest line.
        let spare = doc
            .output
            .lines()
            .map(|line| line.len() + 2)
            .max()
            .unwrap_or(0)
            .min(MAX_LINE_BYTES)
            + 1;
        let budget = |fixed: usize| max_chars.saturating_sub(fixed + RESERVE_BYTES + spare);
        Rooms {
            first: budget(marker_len + doc.header.len() + wrapper + 2),
            other: budget(marker_len + heading + wrapper),
            spare,
        }
    }

    /// What `max_comments` comments hold at their budget.
    fn capacity(&self, max_comments: usize) -> usize {
        self.first + self.other * (max_comments - 1)
    }

    /// Packs forwards into rooms one longest line larger than the budget: every full
    /// comment then holds more than its budget, so no more comments are needed than
    /// [`Rooms::capacity`] counted. (`diff_line` adds 2 bytes; `cut_line` only shortens;
    /// the backtick swap keeps the length.)
    fn pack<'k>(&self, kept: &'k [String]) -> Vec<&'k [String]> {
        let mut chunks: Vec<&[String]> = Vec::new();
        let mut start = 0;
        while start < kept.len() {
            let room = if chunks.is_empty() {
                self.first
            } else {
                self.other
            } + self.spare;
            let mut size = 0;
            let mut end = start;
            while end < kept.len() && size + kept[end].len() < room {
                size += kept[end].len() + 1;
                end += 1;
            }
            chunks.push(&kept[start..end]);
            start = end;
        }
        chunks
    }
}

/// The end of the output that fits, as posted, and how much of its start is left out.
struct KeptOutput {
    lines: Vec<String>,
    dropped_lines: usize,
    dropped_bytes: usize,
}

impl KeptOutput {
    /// Keeps the end: walks backwards while the lines fit in `capacity`.
    fn end_of(output: &str, capacity: usize) -> KeptOutput {
        let mut used = 0usize;
        let mut kept_source_bytes = 0usize;
        let mut lines: Vec<String> = Vec::new();
        let signs = super::transcript::change_signs(output);
        for (source, sign) in output.lines().rev().zip(signs.into_iter().rev()) {
            let line = posted_line(sign, source);
            if used + line.len() >= capacity {
                break;
            }
            used += line.len() + 1;
            kept_source_bytes += source.len() + 1;
            lines.push(line);
        }
        lines.reverse();
        // The line that did not fit (if any) and everything before it are left out.
        KeptOutput {
            dropped_lines: output.lines().count() - lines.len(),
            dropped_bytes: output.len().saturating_sub(kept_source_bytes),
            lines,
        }
    }

    fn note(&self, max_comments: usize) -> String {
        format!(
            "\n> [!NOTE]\n> The output is too long for {max_comments} comments: its first {} lines (about {} bytes) are left out below; the end is kept. The full output is in the run log.\n",
            self.dropped_lines, self.dropped_bytes
        )
    }
}

/// An output line as posted: its diff sign, cut to [`MAX_LINE_BYTES`], and with its
/// backticks swapped when it holds a run longer than any fence may be.
fn posted_line(sign: char, source: &str) -> String {
    let line = cut_line(format!("{sign} {source}"));
    if line.contains(&"`".repeat(16)) {
        line.replace('`', "'")
    } else {
        line
    }
}

fn continuation_heading(title: &str, part: usize, total: usize) -> String {
    format!("**{title} — output continued (part {part}/{total})**\n\n")
}

fn output_block_opening(label: &str, fence: &str) -> String {
    format!("<details><summary>{label}</summary>\n\n{fence}diff\n")
}

fn write_output_block(body: &mut String, label: &str, fence: &str, lines: &[String]) {
    body.push_str(&output_block_opening(label, fence));
    for line in lines {
        body.push_str(line);
        body.push('\n');
    }
    body.push_str(fence);
    body.push_str("\n</details>\n");
}

/// Cuts a line to [`MAX_LINE_BYTES`] at a character boundary.
fn cut_line(line: String) -> String {
    if line.len() <= MAX_LINE_BYTES {
        return line;
    }
    let note = " [... line cut]";
    let mut end = MAX_LINE_BYTES - note.len();
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{note}", &line[..end])
}

fn longest_backtick_run(lines: &[String]) -> usize {
    lines
        .iter()
        .map(|line| line.split(|c| c != '`').map(str::len).max().unwrap_or(0))
        .max()
        .unwrap_or(0)
}

/// Prefixes Terraform's plan lines so that a `diff` block colours them: `+` create,
/// `-` destroy, `!` update/replace (`~`, `-/+`); other lines get two spaces.
pub fn diff_line(line: &str) -> String {
    let trimmed = line.trim_start();
    let sign = if trimmed.starts_with("-/+ ")
        || trimmed.starts_with("+/- ")
        || trimmed.starts_with("~ ")
        || trimmed == "~"
    {
        '!'
    } else if trimmed.starts_with("+ ") || trimmed == "+" {
        '+'
    } else if trimmed.starts_with("- ") || trimmed == "-" {
        '-'
    } else {
        ' '
    };
    format!("{sign} {line}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_lines_get_their_sign_in_column_zero() {
        assert_eq!(diff_line("  + resource \"x\" {"), "+   + resource \"x\" {");
        assert_eq!(diff_line("  - id = 1"), "-   - id = 1");
        assert_eq!(diff_line("  ~ input = 1 -> 2"), "!   ~ input = 1 -> 2");
        assert_eq!(diff_line("-/+ resource \"x\""), "! -/+ resource \"x\"");
        assert_eq!(diff_line("Plan: 1 to add"), "  Plan: 1 to add");
    }

    #[test]
    fn long_lines_are_cut_at_a_character_boundary() {
        let line = "é".repeat(MAX_LINE_BYTES);
        let cut = cut_line(line);
        assert!(cut.len() <= MAX_LINE_BYTES);
        assert!(cut.ends_with("[... line cut]"));
    }
}
