//! Snapshot tests: each input comment next to the debug output of its parse. Review a changed
//! snapshot as a behaviour change.

use promptops_commands::{CommandError, help_text, parse_commands};

/// Named comment bodies covering commands, arguments, typos and every Markdown construct
/// that must hide a command.
const CASES: &[(&str, &str)] = &[
    ("plan_bare", "/promptops plan"),
    (
        "plan_with_text",
        "/promptops plan 5 T4 GPUs in us-west1 for inference",
    ),
    (
        "plan_multiline_until_next_command",
        "/promptops plan use 2 VMs\nwith L4 GPUs\n\nand 200 GB disks   \n/promptops help\ntext after help is not an argument",
    ),
    (
        "plan_text_on_following_lines_only",
        "/promptops plan\n  three A100 machines  \n\n",
    ),
    ("case_insensitive", "/PromptOps PLAN Use An A100"),
    (
        "leading_whitespace",
        "   /promptops apply\n\t/promptops unlock",
    ),
    (
        "every_simple_command",
        "/promptops apply\n/promptops configure\n/promptops destroy\n/promptops unlock\n/promptops help",
    ),
    (
        "several_commands_in_order",
        "Thanks!\n/promptops unlock\nsome prose\n/promptops plan smaller please\n/promptops apply",
    ),
    ("bare_prefix", "/promptops"),
    ("bare_prefix_with_spaces", "/promptops   \nthen prose"),
    ("unknown_typo", "/promptops aply"),
    ("unknown_transposition", "/promptops destory"),
    ("unknown_abbreviation", "/promptops config"),
    ("unknown_far_from_everything", "/promptops status"),
    ("unknown_keeps_case_as_typed", "/promptops Hepl me"),
    (
        "not_at_line_start",
        "please run /promptops apply now\n- /promptops destroy",
    ),
    (
        "prefix_glued_to_word",
        "/promptopsplan\n/promptops-apply\n/promptops/apply",
    ),
    (
        "trailing_punctuation",
        "/promptops apply.\n/promptops plan: use T4\n/promptops help!",
    ),
    ("word_with_other_punctuation", "/promptops plan/now"),
    (
        "fenced_backticks",
        "```\n/promptops apply\n```\n/promptops help",
    ),
    ("fenced_with_info_string", "```sh\n/promptops destroy\n```"),
    (
        "fenced_tildes",
        "~~~\n/promptops destroy\n~~~\n/promptops unlock",
    ),
    (
        "fence_closed_only_by_a_long_enough_run",
        "````\n```\n/promptops apply\n```\n/promptops destroy\n````\n/promptops help",
    ),
    (
        "unclosed_fence_hides_the_rest",
        "```\n/promptops apply\n\n/promptops destroy",
    ),
    (
        "indented_fence_in_a_list",
        "- step:\n  ```\n  /promptops apply\n  ```\n/promptops help",
    ),
    (
        "indented_code_block",
        "Example:\n\n    /promptops destroy\n\n\t/promptops apply\n\n/promptops help",
    ),
    (
        "indented_line_continuing_a_paragraph",
        "/promptops plan two VMs\n    /promptops apply",
    ),
    (
        "inline_code_span",
        "`/promptops apply` runs the apply\nType `` /promptops destroy `` to remove it",
    ),
    (
        "code_span_across_lines",
        "see `the command\n/promptops apply` above\n\n/promptops help",
    ),
    ("word_in_code_span", "/promptops `apply`"),
    ("escaped_backtick_is_not_code", "\\`\n/promptops apply\n`x`"),
    (
        "html_comments",
        "<!-- /promptops apply -->\n<!--\n/promptops destroy\n-->\n/promptops unlock",
    ),
    (
        "html_comment_before_command",
        "<!-- template note --> /promptops apply",
    ),
    (
        "quoted_reply",
        "> /promptops apply\n\nSure, will do.\n/promptops plan",
    ),
    (
        "nested_and_indented_quotes",
        ">> /promptops apply\n  > /promptops destroy\n>/promptops unlock",
    ),
    (
        "quoted_fence_does_not_open_a_fence",
        "> ```\n/promptops help",
    ),
    (
        "crlf_line_ends",
        "/promptops plan two T4s\r\nin europe-west4\r\n/promptops help\r\n",
    ),
    (
        "plan_keeps_inline_code",
        "/promptops plan use `n1-standard-8` machines",
    ),
    (
        "plan_text_skips_code_blocks_and_comments",
        "/promptops plan\nadd these:\n```\n/promptops apply\n```\n<!-- hidden -->\nthanks\n> quoted",
    ),
    ("unicode", "/promptops plán\n/promptops plan für 2 GPUs 🚀"),
    ("empty_comment", ""),
    ("prose_only", "LGTM, ship it."),
];

#[test]
fn parses_match_snapshots() {
    for (name, body) in CASES {
        let parsed = parse_commands(body);
        insta::assert_snapshot!(*name, format!("{body:?}\n---\n{parsed:#?}"));
    }
}

#[test]
fn error_replies_match_snapshots() {
    let with_suggestion = CommandError::Unknown {
        given: "aply".into(),
        suggestion: Some("apply"),
    };
    let without_suggestion = CommandError::Unknown {
        given: "st`at`us".into(),
        suggestion: None,
    };
    insta::assert_snapshot!("reply_unknown_with_suggestion", with_suggestion.to_string());
    insta::assert_snapshot!(
        "reply_unknown_without_suggestion",
        without_suggestion.to_string()
    );
    insta::assert_snapshot!(
        "reply_missing_subcommand",
        CommandError::MissingSubcommand.to_string()
    );
}

#[test]
fn help_text_matches_snapshot() {
    insta::assert_snapshot!("help_text", help_text());
}
