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

/// An opening code fence: its character and length.
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
    let mut problems = Vec::new();
    let mut fence: Option<(char, usize, usize)> = None;
    let mut details: Vec<usize> = Vec::new();
    let mut summary_open: Option<usize> = None;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if let Some((ch, len, opened_at)) = fence {
            if let Some((close_ch, close_len, info)) = fence_of(line)
                && close_ch == ch
                && close_len >= len
                && info.is_empty()
            {
                fence = None;
            }
            let _ = opened_at;
            continue;
        }
        if let Some((ch, len, info)) = fence_of(line) {
            if ch == '`' && info.contains('`') {
                problems.push(Imbalance {
                    line: number,
                    problem: "backtick fence info string contains a backtick".into(),
                });
            }
            fence = Some((ch, len, number));
            continue;
        }
        let lower = line.to_ascii_lowercase();
        let mut at = 0;
        while let Some(pos) = lower[at..].find('<') {
            let tag_text = &lower[at + pos..];
            if tag_text.starts_with("<details") {
                details.push(number);
            } else if tag_text.starts_with("</details>") {
                if details.pop().is_none() {
                    problems.push(Imbalance {
                        line: number,
                        problem: "</details> without an open <details>".into(),
                    });
                }
                if summary_open.is_some() {
                    problems.push(Imbalance {
                        line: number,
                        problem: "</details> inside an open <summary>".into(),
                    });
                }
            } else if tag_text.starts_with("<summary") {
                if details.is_empty() {
                    problems.push(Imbalance {
                        line: number,
                        problem: "<summary> outside <details>".into(),
                    });
                }
                if summary_open.replace(number).is_some() {
                    problems.push(Imbalance {
                        line: number,
                        problem: "nested <summary>".into(),
                    });
                }
            } else if tag_text.starts_with("</summary>") && summary_open.take().is_none() {
                problems.push(Imbalance {
                    line: number,
                    problem: "</summary> without an open <summary>".into(),
                });
            }
            at += pos + 1;
        }
        if line.chars().filter(|c| *c == '`').count() % 2 != 0 {
            problems.push(Imbalance {
                line: number,
                problem: "odd number of backticks (unclosed inline code)".into(),
            });
        }
    }
    if let Some((_, _, opened_at)) = fence {
        problems.push(Imbalance {
            line: opened_at,
            problem: "code fence never closed".into(),
        });
    }
    for opened_at in details {
        problems.push(Imbalance {
            line: opened_at,
            problem: "<details> never closed".into(),
        });
    }
    if let Some(opened_at) = summary_open {
        problems.push(Imbalance {
            line: opened_at,
            problem: "<summary> never closed".into(),
        });
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
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
