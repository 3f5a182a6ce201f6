//! A checker for the Markdown structure comments rely on: fenced code blocks closed,
//! `<details>`/`<summary>` balanced outside code, inline code spans closed on their line.

/// A structural problem, with the 1-based line where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imbalance {
    pub line: usize,
    pub problem: String,
}

impl std::fmt::Display for Imbalance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)
    }
}

/// A code fence line: its character, its length and the info string after it.
fn fence_of(line: &str) -> Option<(char, usize, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let ch = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = rest.chars().take_while(|c| *c == ch).count();
    (len >= 3).then(|| (ch, len, rest[len..].trim()))
}

/// Checks `text`; returns every problem found.
pub fn check_balance(text: &str) -> Result<(), Vec<Imbalance>> {
    let mut checker = Checker::default();
    for (index, line) in text.lines().enumerate() {
        checker.line(index + 1, line);
    }
    checker.finish()
}

/// A code fence not closed yet.
struct OpenFence {
    ch: char,
    len: usize,
    opened_at: usize,
}

impl OpenFence {
    /// CommonMark: a closing fence is of the same character, at least as long, with no
    /// info string.
    fn closed_by(&self, line: &str) -> bool {
        fence_of(line)
            .is_some_and(|(ch, len, info)| ch == self.ch && len >= self.len && info.is_empty())
    }
}

/// What is open at the line being read (each with the line it was opened at), and the
/// problems found so far.
#[derive(Default)]
struct Checker {
    problems: Vec<Imbalance>,
    fence: Option<OpenFence>,
    details: Vec<usize>,
    summary_open: Option<usize>,
}

impl Checker {
    fn problem(&mut self, line: usize, problem: &str) {
        self.problems.push(Imbalance {
            line,
            problem: problem.into(),
        });
    }

    fn line(&mut self, number: usize, line: &str) {
        // Inside a code block nothing is Markdown until the fence closes.
        if let Some(fence) = &self.fence {
            if fence.closed_by(line) {
                self.fence = None;
            }
            return;
        }
        if let Some((ch, len, info)) = fence_of(line) {
            if ch == '`' && info.contains('`') {
                self.problem(number, "backtick fence info string contains a backtick");
            }
            self.fence = Some(OpenFence {
                ch,
                len,
                opened_at: number,
            });
            return;
        }
        let lower = line.to_ascii_lowercase();
        let mut at = 0;
        while let Some(pos) = lower[at..].find('<') {
            self.tag(number, &lower[at + pos..]);
            at += pos + 1;
        }
        if line.chars().filter(|c| *c == '`').count() % 2 != 0 {
            self.problem(number, "odd number of backticks (unclosed inline code)");
        }
    }

    /// `tag_text`: the lowercased rest of a line from a `<`.
    fn tag(&mut self, number: usize, tag_text: &str) {
        if tag_text.starts_with("<details") {
            self.details.push(number);
        } else if tag_text.starts_with("</details>") {
            if self.details.pop().is_none() {
                self.problem(number, "</details> without an open <details>");
            }
            if self.summary_open.is_some() {
                self.problem(number, "</details> inside an open <summary>");
            }
        } else if tag_text.starts_with("<summary") {
            if self.details.is_empty() {
                self.problem(number, "<summary> outside <details>");
            }
            if self.summary_open.replace(number).is_some() {
                self.problem(number, "nested <summary>");
            }
        } else if tag_text.starts_with("</summary>") && self.summary_open.take().is_none() {
            self.problem(number, "</summary> without an open <summary>");
        }
    }

    /// The problems, with what is still open at the end of the text.
    fn finish(mut self) -> Result<(), Vec<Imbalance>> {
        if let Some(fence) = self.fence.take() {
            self.problem(fence.opened_at, "code fence never closed");
        }
        for opened_at in std::mem::take(&mut self.details) {
            self.problem(opened_at, "<details> never closed");
        }
        if let Some(opened_at) = self.summary_open.take() {
            self.problem(opened_at, "<summary> never closed");
        }
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(self.problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_balanced_markdown() {
        let text = "# t\n<details><summary>Out</summary>\n\n```diff\n+ a\n</details>\n`x`\n```\n</details>\n";
        check_balance(text).unwrap();
        check_balance("````diff\n```\n````\n").unwrap();
    }

    #[test]
    fn reports_each_kind_of_imbalance() {
        let cases = [
            ("```diff\n+ a\n", "never closed"),
            ("<details><summary>x</summary>\n", "<details> never closed"),
            ("</details>\n", "without an open"),
            ("a `b\n", "odd number of backticks"),
            (
                "<details><summary>x\n</details>",
                "inside an open <summary>",
            ),
            ("````\n```\n", "never closed"),
        ];
        for (text, expected) in cases {
            let problems = check_balance(text).unwrap_err();
            assert!(
                problems.iter().any(|p| p.problem.contains(expected)),
                "{text:?}: {problems:?}"
            );
        }
    }
}
