//! Direct assertions on the behaviours other components rely on.

use promptops_commands::{Command, CommandError, SUBCOMMANDS, help_text, parse_commands};

#[test]
fn every_subcommand_parses_to_its_command() {
    for name in SUBCOMMANDS {
        let parsed = parse_commands(&format!("/promptops {name}"));
        assert_eq!(parsed.len(), 1, "{name}");
        let command = parsed[0].clone().expect(name);
        assert_eq!(command.name(), name);
    }
}

#[test]
fn quoted_reply_does_not_fire_but_the_reply_does() {
    let body = "> /promptops destroy\n> please?\n\nNo, but:\n/promptops plan keep it";
    assert_eq!(
        parse_commands(body),
        vec![Ok(Command::Plan {
            instructions: "keep it".into()
        })]
    );
}

#[test]
fn unknown_reply_lists_every_command_and_suggests() {
    let parsed = parse_commands("/promptops destory");
    let Some(Err(error)) = parsed.first() else {
        panic!("expected an error, got {parsed:?}");
    };
    assert_eq!(
        error,
        &CommandError::Unknown {
            given: "destory".into(),
            suggestion: Some("destroy")
        }
    );
    let reply = error.to_string();
    assert!(
        reply.contains("Did you mean `/promptops destroy`?"),
        "{reply}"
    );
    for name in SUBCOMMANDS {
        assert!(
            reply.contains(&format!("`/promptops {name}")),
            "{name} missing from {reply}"
        );
    }
}

#[test]
fn help_text_documents_every_command() {
    let help = help_text();
    for name in SUBCOMMANDS {
        assert!(
            help.contains(&format!("`/promptops {name}")),
            "{name} missing from {help}"
        );
    }
}

#[test]
fn huge_unknown_word_is_shortened_in_the_error() {
    let body = format!("/promptops {}", "x".repeat(100_000));
    let parsed = parse_commands(&body);
    let Some(Err(CommandError::Unknown { given, suggestion })) = parsed.first() else {
        panic!("expected Unknown");
    };
    assert!(given.chars().count() <= promptops_commands::MAX_GIVEN_CHARS + 1);
    assert_eq!(suggestion, &None);
}

#[test]
fn display_of_plan_round_trips() {
    let plan = Command::Plan {
        instructions: "two T4s".into(),
    };
    assert_eq!(parse_commands(&plan.to_string()), vec![Ok(plan)]);
    assert_eq!(Command::Apply.to_string(), "/promptops apply");
}

#[test]
fn a_prefix_joined_across_an_html_comment_fires_as_rendered() {
    // GitHub renders "/prompt<!-- -->ops" as "/promptops": the reader sees a command.
    assert_eq!(
        parse_commands("/prompt<!-- note -->ops apply"),
        vec![Ok(Command::Apply)]
    );
}
