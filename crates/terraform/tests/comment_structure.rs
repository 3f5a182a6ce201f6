//! Properties of the two building blocks every comment goes through: `split` (each part
//! within the limits and balanced, the parts together holding the end of the output in
//! order) and `check_balance` (balanced Markdown accepted, each kind of imbalance named at
//! its line).

use promptops_terraform::comment::markdown::{Imbalance, check_balance};
use promptops_terraform::comment::split::{Document, MAX_LINE_BYTES, split};
use promptops_terraform::comment::{CommentOptions, marker};
use proptest::prelude::*;

const HEADER: &str = "### 📝 Terraform plan for `gpu-box`\n\n<details><summary>Facts</summary>\n\n- a\n</details>\n\n";

fn document(output: &str) -> Document<'_> {
    Document {
        kind: "plan",
        deployment: "gpu-box",
        header: HEADER.to_owned(),
        title: "Terraform plan for `gpu-box`".to_owned(),
        output_label: "Terraform plan output".to_owned(),
        output,
    }
}

/// The output lines a comment carries: those between its `diff` fence and the closing one.
fn posted_lines(comment: &str) -> Vec<&str> {
    let mut lines = comment.lines();
    let Some(opening) = lines
        .by_ref()
        .find(|line| line.starts_with("``") && line.ends_with("diff"))
    else {
        return Vec::new();
    };
    let fence = opening.trim_end_matches("diff");
    lines.take_while(|line| *line != fence).collect()
}

/// Whether `posted` is `source` as `split` shows it: a two-byte diff sign, then the line
/// (cut when too long, backticks swapped when the line holds a run no fence can close).
fn shows(posted: &str, source: &str) -> bool {
    let Some(shown) = posted.get(2..) else {
        return false;
    };
    let source = if format!("  {source}").contains(&"`".repeat(16)) {
        source.replace('`', "'")
    } else {
        source.to_owned()
    };
    match shown.strip_suffix(" [... line cut]") {
        Some(kept) if posted.len() <= MAX_LINE_BYTES && source.len() + 2 > MAX_LINE_BYTES => {
            source.starts_with(kept)
        }
        _ => shown == source,
    }
}

fn output_line() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[ a-z0-9=\"{}]{0,60}",
        2 => "  [+~-] [a-z ]{0,40}",
        1 => Just("```".to_owned()),
        1 => Just("`".repeat(20)),
        1 => Just("</details>".to_owned()),
        1 => Just("<summary>".to_owned()),
        1 => "[é漢`|<>]{0,30}",
        1 => "[xé]{1500,2100}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn split_parts_fit_are_balanced_and_hold_the_end_of_the_output_in_order(
        lines in proptest::collection::vec(output_line(), 0..300),
        max_chars in 6_000usize..16_000,
        max_comments in 0usize..5,
    ) {
        let output = lines.join("\n");
        let opts = CommentOptions { max_chars, max_comments, ..CommentOptions::default() };
        let parts = split(document(&output), &opts);
        let total = parts.len();
        prop_assert!(total >= 1 && total <= max_comments.max(1), "{total} parts");
        for (index, part) in parts.iter().enumerate() {
            prop_assert!(part.len() <= max_chars, "part {index}: {} bytes", part.len());
            let expected_marker = format!("{}\n", marker("plan", "gpu-box", index + 1, total));
            prop_assert!(part.starts_with(&expected_marker), "part {index} marker");
            if let Err(problems) = check_balance(part) {
                return Err(TestCaseError::fail(format!("part {index}: {problems:?}\n{part}")));
            }
        }
        prop_assert!(parts[0][parts[0].find('\n').unwrap() + 1..].starts_with(HEADER));
        let posted: Vec<&str> = parts.iter().flat_map(|part| posted_lines(part)).collect();
        let source: Vec<&str> = output.lines().collect();
        prop_assert!(posted.len() <= source.len());
        let dropped = source.len() - posted.len();
        for (shown, line) in posted.iter().zip(&source[dropped..]) {
            prop_assert!(shows(shown, line), "{shown:?} does not show {line:?}");
        }
        let note = parts[0].contains("> [!NOTE]\n> The output is too long");
        prop_assert_eq!(note, dropped > 0, "a note exactly when lines are left out");
        if dropped > 0 {
            let said = format!("its first {dropped} lines");
            prop_assert!(parts[0].contains(&said), "the note counts {} lines", dropped);
        }
    }

    #[test]
    fn a_short_output_is_kept_whole_in_one_part(
        lines in proptest::collection::vec("[ a-z0-9+~-]{0,60}", 0..40),
    ) {
        let output = lines.join("\n");
        let parts = split(document(&output), &CommentOptions::default());
        prop_assert_eq!(parts.len(), 1);
        let posted = posted_lines(&parts[0]);
        prop_assert_eq!(posted.len(), output.lines().count());
        for (shown, line) in posted.iter().zip(output.lines()) {
            prop_assert!(shows(shown, line));
        }
    }
}

#[test]
fn continuation_parts_carry_their_heading_and_numbered_label() {
    let output: String =
        std::iter::once("Terraform will perform the following actions:\n".to_owned())
            .chain((0..2_000).map(|i| format!("  + line {i}\n")))
            .collect();
    let opts = CommentOptions {
        max_chars: 6_000,
        max_comments: 3,
        ..CommentOptions::default()
    };
    let parts = split(document(&output), &opts);
    assert_eq!(parts.len(), 3);
    assert!(
        parts[0].contains(
            "\n<details><summary>Terraform plan output (part 1/3)</summary>\n\n```diff\n"
        )
    );
    assert!(parts[2].starts_with(
        "<!-- promptops:plan deployment=gpu-box part=3/3 -->\n**Terraform plan for `gpu-box` — output continued (part 3/3)**\n\n\n<details><summary>Terraform plan output (part 3/3)</summary>\n\n```diff\n"
    ));
    assert!(parts[2].ends_with("+   + line 1999\n```\n</details>\n"));
    let empty = split(document(""), &opts);
    assert_eq!(
        empty,
        [format!(
            "<!-- promptops:plan deployment=gpu-box part=1/1 -->\n{HEADER}"
        )]
    );
}

/// Balanced Markdown of the kinds comments hold, one line per element.
fn balanced() -> impl Strategy<Value = Vec<String>> {
    let leaf = prop_oneof![
        "[a-zA-Z0-9 .,:|#*-]{0,40}".prop_map(|line| vec![line]),
        "[a-z ]{0,10}`[a-c <>/]{0,10}`[a-z ]{0,10}".prop_map(|line| vec![line]),
        fenced(),
    ];
    leaf.prop_recursive(4, 40, 5, |inner| {
        (
            any::<bool>(),
            "[a-z ]{0,12}",
            proptest::collection::vec(inner, 0..5),
        )
            .prop_map(|(one_line, summary, children)| {
                let mut lines = if one_line {
                    vec![format!("<details><summary>{summary}</summary>")]
                } else {
                    vec![
                        "<details>".to_owned(),
                        format!("<SUMMARY>{summary}"),
                        "</summary>".to_owned(),
                    ]
                };
                lines.extend(children.into_iter().flatten());
                lines.push("</Details>".to_owned());
                lines
            })
    })
    .prop_map(|lines| lines)
}

/// A fenced block whose body holds lines that look like tags, odd backticks and fences that
/// cannot close it (another character, or shorter).
fn fenced() -> impl Strategy<Value = Vec<String>> {
    (
        prop_oneof![Just('`'), Just('~')],
        3usize..7,
        0usize..3,
        "[a-z]{0,6}",
        proptest::collection::vec(
            prop_oneof![
                "x[a-z <>/`~]{0,30}".prop_map(Some),
                Just(Some("</details>".to_owned())),
                Just(None),
            ],
            0..6,
        ),
    )
        .prop_map(|(ch, len, longer, info, body)| {
            let other = if ch == '`' { '~' } else { '`' };
            let mut lines = vec![format!("{}{info}", ch.to_string().repeat(len))];
            lines.extend(body.into_iter().map(|line| {
                line.unwrap_or_else(|| {
                    if len > 3 {
                        ch.to_string().repeat(len - 1)
                    } else {
                        other.to_string().repeat(len + 2)
                    }
                })
            }));
            lines.push(format!("   {}", ch.to_string().repeat(len + longer)));
            lines
        })
}

fn problems(text: &str) -> Vec<Imbalance> {
    check_balance(text).err().unwrap_or_default()
}

fn at(line: usize, problem: &str) -> Imbalance {
    Imbalance {
        line,
        problem: problem.to_owned(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn balanced_markdown_is_accepted(blocks in proptest::collection::vec(balanced(), 0..6)) {
        let text = blocks.concat().join("\n");
        prop_assert_eq!(problems(&text), Vec::<Imbalance>::new(), "{}", text);
    }

    #[test]
    fn each_kind_of_imbalance_is_named_at_its_line(
        blocks in proptest::collection::vec(balanced(), 0..4),
        kind in 0usize..8,
    ) {
        let mut lines = blocks.concat();
        let n = lines.len() + 1;
        let (added, expected): (&[&str], Vec<Imbalance>) = match kind {
            0 => (&["<details>"], vec![at(n, "<details> never closed")]),
            1 => (&["</details>"], vec![at(n, "</details> without an open <details>")]),
            2 => (&["a `b"], vec![at(n, "odd number of backticks (unclosed inline code)")]),
            3 => (&["````diff", "```"], vec![at(n, "code fence never closed")]),
            4 => (
                &["<summary>x"],
                vec![at(n, "<summary> outside <details>"), at(n, "<summary> never closed")],
            ),
            5 => (
                &["<details><summary>x", "</details>"],
                vec![
                    at(n + 1, "</details> inside an open <summary>"),
                    at(n, "<summary> never closed"),
                ],
            ),
            6 => (
                &["<details><summary>a<summary>b</summary></details>"],
                vec![at(n, "nested <summary>")],
            ),
            _ => (
                &["</summary>", "```a`b", "```"],
                vec![
                    at(n, "</summary> without an open <summary>"),
                    at(n + 1, "backtick fence info string contains a backtick"),
                ],
            ),
        };
        lines.extend(added.iter().map(|line| (*line).to_owned()));
        let text = lines.join("\n");
        prop_assert_eq!(problems(&text), expected, "{}", text);
    }
}
