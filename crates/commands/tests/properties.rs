//! Property tests: the parser never panics, and text inside code, quotes or comments never
//! yields a command whatever it contains.

use promptops_commands::{Command, CommandError, parse_commands};
use proptest::prelude::*;

/// Fragments that exercise every branch of the Markdown stripping and the command matcher.
fn markdown_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/promptops ".to_owned()),
        Just("/PROMPTOPS".to_owned()),
        prop::sample::select(vec!["plan", "apply", "destroy", "aply", "help", "unlock"])
            .prop_map(str::to_owned),
        Just("```".to_owned()),
        Just("~~~".to_owned()),
        Just("`".to_owned()),
        Just("``".to_owned()),
        Just("> ".to_owned()),
        Just("<!--".to_owned()),
        Just("-->".to_owned()),
        Just("    ".to_owned()),
        Just("\t".to_owned()),
        Just("\\".to_owned()),
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("\r".to_owned()),
        "[a-zA-Z0-9 .:é🚀]{0,8}",
    ]
}

fn markdown_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(markdown_fragment(), 0..60).prop_map(|parts| parts.concat())
}

/// One line of arbitrary content (no line break), often command-like.
fn content_line() -> impl Strategy<Value = String> {
    prop_oneof![
        markdown_soup().prop_map(|s| s.replace(['\n', '\r'], " ")),
        "[^\n\r]{0,40}",
        "/promptops [a-z]{0,10}( [^\n\r]{0,20})?",
    ]
}

fn assert_well_formed(results: &[Result<Command, CommandError>]) {
    for result in results {
        match result {
            Ok(Command::Plan { instructions }) => {
                assert_eq!(
                    instructions.trim(),
                    instructions,
                    "instructions not trimmed"
                );
            }
            Err(CommandError::Unknown { given, .. }) => {
                assert!(!given.is_empty(), "unknown command with an empty word");
            }
            _ => {}
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_on_any_text(body in any::<String>()) {
        assert_well_formed(&parse_commands(&body));
    }

    #[test]
    fn never_panics_on_markdown_soup(body in markdown_soup()) {
        assert_well_formed(&parse_commands(&body));
    }

    #[test]
    fn fenced_code_never_yields_a_command(
        lines in prop::collection::vec(content_line(), 0..12),
        marker in prop::sample::select(vec!["```", "~~~", "````", "~~~~~"]),
        info in "[a-z]{0,6}",
    ) {
        let marker_char = marker.chars().next().unwrap_or('`');
        // A content line that is itself a closing fence would end the block early.
        let inside: Vec<&str> = lines
            .iter()
            .map(String::as_str)
            .filter(|line| !line.trim_start().starts_with(marker_char))
            .collect();
        let block = format!("{marker}{info}\n{}\n{marker}", inside.join("\n"));
        prop_assert_eq!(parse_commands(&block), vec![]);
        // Whatever was inside, a command after the block still fires.
        let followed = format!("{block}\n/promptops help");
        prop_assert_eq!(parse_commands(&followed), vec![Ok(Command::Help)]);
    }

    #[test]
    fn indented_code_never_yields_a_command(
        lines in prop::collection::vec(content_line(), 1..12),
    ) {
        let code: Vec<String> = lines
            .iter()
            .filter(|line| !line.trim().is_empty())
            .map(|line| format!("    {line}"))
            .collect();
        let body = format!("Example:\n\n{}\n\n/promptops help", code.join("\n"));
        prop_assert_eq!(parse_commands(&body), vec![Ok(Command::Help)]);
    }

    #[test]
    fn quoted_lines_never_yield_a_command(
        lines in prop::collection::vec(content_line(), 1..12),
        indent in " {0,3}",
    ) {
        let quoted: Vec<String> = lines.iter().map(|line| format!("{indent}> {line}")).collect();
        let body = format!("{}\n\n/promptops apply", quoted.join("\n"));
        prop_assert_eq!(parse_commands(&body), vec![Ok(Command::Apply)]);
    }

    #[test]
    fn inline_code_never_yields_a_command(
        code in "[^`\n\r<]{0,40}",
        before in "[^`\n\r<]{0,10}",
    ) {
        let body = format!("`{code}` {before}\n`` {code} ``");
        prop_assert_eq!(parse_commands(&body), vec![]);
    }

    #[test]
    fn html_comments_never_yield_a_command(
        lines in prop::collection::vec(content_line(), 0..8),
    ) {
        // Without '>' no "-->" can close the comment early.
        let inside: Vec<String> = lines.iter().map(|line| line.replace('>', "")).collect();
        let body = format!("<!--\n{}\n-->\n/promptops unlock", inside.join("\n"));
        prop_assert_eq!(parse_commands(&body), vec![Ok(Command::Unlock)]);
    }

    #[test]
    fn plan_text_is_the_rest_of_the_line(text in "[a-zA-Z0-9 ,.]{0,60}") {
        let parsed = parse_commands(&format!("/promptops plan {text}"));
        prop_assert_eq!(parsed, vec![Ok(Command::Plan { instructions: text.trim().to_owned() })]);
    }
}
