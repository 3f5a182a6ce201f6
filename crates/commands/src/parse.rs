//! Finds `/promptops` command lines among the visible lines of a comment.

use crate::command::{Command, CommandError};
use crate::help::PREFIX;
use crate::markdown::{VisibleLine, visible_lines};

/// Characters that may end a sub-command word without being part of it ("plan:", "apply.").
const TRAILING_PUNCTUATION: &[char] = &['.', ',', ':', ';', '!', '?'];

/// Every `/promptops` command in a comment body, in the order written.
///
/// A command starts a line (leading whitespace allowed) with `/promptops` in any letter case,
/// followed by whitespace or the end of the line. Code blocks, inline code, HTML comments and
/// `>` quotes are ignored (see the `markdown` module). The text of `plan` is the rest of its
/// line and the following lines up to the next `/promptops` line, trimmed.
pub fn parse_commands(comment_body: &str) -> Vec<Result<Command, CommandError>> {
    if !may_contain_command(comment_body) {
        return Vec::new();
    }
    let lines = visible_lines(comment_body);
    let found: Vec<(usize, CommandLine)> = lines
        .iter()
        .enumerate()
        .filter_map(|(index, line)| command_line(line).map(|found| (index, found)))
        .collect();

    found
        .iter()
        .enumerate()
        .map(|(nth, (index, command))| {
            let next_command = found.get(nth + 1).map_or(lines.len(), |(next, _)| *next);
            let instructions = || {
                let first = lines[*index].text.get(command.rest..).unwrap_or_default();
                let following = lines[index + 1..next_command]
                    .iter()
                    .map(|l| l.text.as_str());
                std::iter::once(first)
                    .chain(following)
                    .map(str::trim_end)
                    .collect::<Vec<_>>()
                    .join("\n")
                    .trim()
                    .to_owned()
            };
            command.resolve(&lines[*index], instructions)
        })
        .collect()
}

/// Most comments hold no command: skip the Markdown pass unless the prefix appears, or an
/// HTML comment does (removing one can join the prefix from its two sides).
fn may_contain_command(body: &str) -> bool {
    let prefix = PREFIX.as_bytes();
    body.contains("<!--")
        || body.match_indices('/').any(|(at, _)| {
            body.as_bytes()
                .get(at..at + prefix.len())
                .is_some_and(|candidate| candidate.eq_ignore_ascii_case(prefix))
        })
}

/// Where the sub-command word sits on a line that starts with the prefix (byte offsets, valid
/// in both the text and the probe of the line).
struct CommandLine {
    word: std::ops::Range<usize>,
    /// Start of the text after the word.
    rest: usize,
}

impl CommandLine {
    fn resolve(
        &self,
        line: &VisibleLine,
        instructions: impl FnOnce() -> String,
    ) -> Result<Command, CommandError> {
        if self.word.is_empty() {
            return Err(CommandError::MissingSubcommand);
        }
        // Matched on the probe, so a word inside a code span never names a command; reported
        // from the text, so the reply shows what the user typed.
        let probed = line.probe.get(self.word.clone()).unwrap_or_default();
        let name = probed
            .trim_end_matches(TRAILING_PUNCTUATION)
            .to_ascii_lowercase();
        let command = Command::from_name(&name, instructions).ok_or_else(|| {
            CommandError::unknown(line.text.get(self.word.clone()).unwrap_or(probed))
        })?;
        // The text, not the probe: a word in a code span after the command counts too.
        command.with_line_rest(line.text.get(self.rest..).unwrap_or_default())
    }
}

/// The command on this line, if the line starts with the prefix as a whole word.
fn command_line(line: &VisibleLine) -> Option<CommandLine> {
    let probe = line.probe.as_str();
    let start = probe.len() - probe.trim_start().len();
    let prefix_end = start + PREFIX.len();
    let candidate = probe.as_bytes().get(start..prefix_end)?;
    if !candidate.eq_ignore_ascii_case(PREFIX.as_bytes()) {
        return None;
    }
    let after_prefix = probe.get(prefix_end..)?;
    if after_prefix
        .chars()
        .next()
        .is_some_and(|c| !c.is_whitespace())
    {
        return None;
    }
    let word_start = probe.len() - after_prefix.trim_start().len();
    let word_len = probe[word_start..]
        .find(char::is_whitespace)
        .unwrap_or(probe.len() - word_start);
    Some(CommandLine {
        word: word_start..word_start + word_len,
        rest: word_start + word_len,
    })
}
