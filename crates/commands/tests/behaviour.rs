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

#[test]
fn a_word_after_a_command_that_takes_none_is_refused_not_dropped() {
    // `destroy` acts on the conversation it is written in: read as a plain `destroy`, this
    // would remove this conversation's deployment, not `llm-train`.
    let parsed = parse_commands("/promptops destroy llm-train");
    assert_eq!(
        parsed,
        vec![Err(CommandError::UnexpectedWords {
            command: "destroy",
            given: "llm-train".into()
        })]
    );
    let reply = parsed[0].clone().unwrap_err().to_string();
    assert!(
        reply.contains("`/promptops destroy` takes nothing after it"),
        "{reply}"
    );
    assert!(
        reply.contains("`llm-train` was not used and nothing was done"),
        "{reply}"
    );
    for name in ["apply", "configure", "unlock", "drift"] {
        let parsed = parse_commands(&format!("/promptops {name} now please"));
        assert_eq!(
            parsed,
            vec![Err(CommandError::UnexpectedWords {
                command: name,
                given: "now please".into()
            })],
            "{name}"
        );
    }
}

#[test]
fn extend_takes_one_duration_and_a_second_is_refused() {
    assert_eq!(
        parse_commands("/promptops extend 3d"),
        vec![Ok(Command::Extend { by: "3d".into() })]
    );
    let parsed = parse_commands("/promptops extend 3d 12h");
    assert_eq!(
        parsed,
        vec![Err(CommandError::UnexpectedWords {
            command: "extend",
            given: "12h".into()
        })]
    );
    let reply = parsed[0].clone().unwrap_err().to_string();
    assert!(reply.contains("takes one duration"), "{reply}");
}

#[test]
fn what_follows_on_later_lines_and_after_plan_or_help_is_not_an_argument() {
    assert_eq!(
        parse_commands("/promptops apply\nThanks, this looks right."),
        vec![Ok(Command::Apply)]
    );
    assert_eq!(
        parse_commands("/promptops help me"),
        vec![Ok(Command::Help)]
    );
    assert_eq!(
        parse_commands("/promptops unlock."),
        vec![Ok(Command::Unlock)],
        "trailing punctuation is part of the word, not an argument"
    );
}
