//! The commands the bot understands and the errors a `/promptops` line can produce.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::help::{PREFIX, command_list};

/// A recognised `/promptops` command. Queued jobs carry it serialised as
/// `{"command": "<name>", ...fields}` (the names of [`Command::name`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Plan (or re-plan) the deployment. `instructions` is the rest of the command line and the
    /// lines that follow it up to the next `/promptops` line, trimmed; empty when none were given.
    Plan { instructions: String },
    /// Retry the apply of a merged pull request.
    Apply,
    /// Re-run the configuration job (the Terraform action) without changing infrastructure.
    Configure,
    /// Open a pull request that removes the deployment.
    Destroy,
    /// Release the deployment lock held by a pull request.
    Unlock,
    /// Reply with the list of commands.
    Help,
    /// Move the deployment's expiry date; `by` is the text after the word (e.g. `3d`).
    Extend { by: String },
    /// Plan the applied deployment read-only now and report drift.
    Drift,
}

/// Every sub-command name, in the order the help text lists them.
pub const SUBCOMMANDS: [&str; 8] = [
    "plan",
    "apply",
    "configure",
    "destroy",
    "unlock",
    "extend",
    "drift",
    "help",
];

impl Command {
    /// The sub-command name as typed after `/promptops`.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Plan { .. } => "plan",
            Command::Apply => "apply",
            Command::Configure => "configure",
            Command::Destroy => "destroy",
            Command::Unlock => "unlock",
            Command::Help => "help",
            Command::Extend { .. } => "extend",
            Command::Drift => "drift",
        }
    }

    /// Builds the command for a sub-command name (already lower-cased), with the plan's text.
    pub(crate) fn from_name(name: &str, instructions: impl FnOnce() -> String) -> Option<Command> {
        Some(match name {
            "plan" => Command::Plan {
                instructions: instructions(),
            },
            "apply" => Command::Apply,
            "configure" => Command::Configure,
            "destroy" => Command::Destroy,
            "unlock" => Command::Unlock,
            "help" => Command::Help,
            "extend" => Command::Extend {
                by: instructions()
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            },
            "drift" => Command::Drift,
            _ => return None,
        })
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Plan { instructions } if !instructions.is_empty() => {
                write!(f, "{PREFIX} plan {instructions}")
            }
            Command::Extend { by } if !by.is_empty() => write!(f, "{PREFIX} extend {by}"),
            other => write!(f, "{PREFIX} {}", other.name()),
        }
    }
}

/// A `/promptops` line that is not a valid command. `Display` is the text of the reply comment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CommandError {
    /// The word after `/promptops` is not a command. `given` is the word as typed (shortened
    /// to [`MAX_GIVEN_CHARS`] characters); `suggestion` is the closest command, if one is close.
    Unknown {
        given: String,
        suggestion: Option<&'static str>,
    },
    /// `/promptops` alone on its line.
    MissingSubcommand,
    /// Words after a command that takes none (or, for `extend`, after its one duration).
    /// These commands act on the conversation they are written in, so a word after one (a
    /// deployment's name, a second duration) would otherwise be dropped without a word and
    /// the command would act on something the author did not mean. `given` is the extra
    /// text, shortened like an unknown word.
    UnexpectedWords {
        command: &'static str,
        given: String,
    },
}

/// The longest unknown sub-command echoed back in a reply; longer words are cut with "…".
pub const MAX_GIVEN_CHARS: usize = 64;

impl CommandError {
    /// The error for an unrecognised sub-command word, with a "did you mean" when one is close.
    pub(crate) fn unknown(given: &str) -> CommandError {
        CommandError::Unknown {
            given: shorten(given),
            suggestion: suggest(given),
        }
    }
}

fn shorten(given: &str) -> String {
    let mut shortened: String = given.chars().take(MAX_GIVEN_CHARS).collect();
    if shortened.len() < given.len() {
        shortened.push('…');
    }
    shortened
}

impl Command {
    /// `self` when the rest of its line (`rest`, the text after the sub-command word) holds
    /// what the command takes: nothing for the commands that act on their conversation,
    /// one duration for `extend`, anything for `plan` (its instructions) and `help`.
    pub(crate) fn with_line_rest(self, rest: &str) -> Result<Command, CommandError> {
        let words: Vec<&str> = rest.split_whitespace().collect();
        let allowed = match self {
            Command::Plan { .. } | Command::Help => usize::MAX,
            Command::Extend { .. } => 1,
            Command::Apply
            | Command::Configure
            | Command::Destroy
            | Command::Unlock
            | Command::Drift => 0,
        };
        if words.len() <= allowed {
            return Ok(self);
        }
        Err(CommandError::UnexpectedWords {
            command: self.name(),
            given: shorten(&words[allowed..].join(" ")),
        })
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Unknown { given, suggestion } => {
                let typed = format!("{PREFIX} {given}");
                write!(f, "Unknown command {}.", code_span(&typed))?;
                if let Some(name) = suggestion {
                    write!(f, " Did you mean `{PREFIX} {name}`?")?;
                }
            }
            CommandError::MissingSubcommand => {
                write!(f, "`{PREFIX}` needs a command after it.")?;
            }
            CommandError::UnexpectedWords { command, given } => {
                let typed = format!("{PREFIX} {command}");
                let takes = if *command == "extend" {
                    "takes one duration (`36h`, `3d`, `1w`)"
                } else {
                    "takes nothing after it: it acts on the deployment of the issue or pull request it is written on"
                };
                return write!(
                    f,
                    "{} {takes}, so {} was not used and nothing was done. Write the command again without it, in the conversation of the deployment you mean.",
                    code_span(&typed),
                    code_span(given),
                );
            }
        }
        write!(f, "\n\nAvailable commands:\n\n{}", command_list())
    }
}

impl std::error::Error for CommandError {}

/// The closest sub-command to `given`, if it is plausibly a typo or an abbreviation of it.
fn suggest(given: &str) -> Option<&'static str> {
    // Backticks and trailing punctuation are formatting, not part of what the user meant.
    let word = given
        .trim_matches(|c: char| c == '`' || c.is_ascii_punctuation())
        .to_lowercase();
    if word.is_empty() {
        return None;
    }
    // An abbreviation ("config", "dest") names exactly one command.
    let mut prefixed = SUBCOMMANDS
        .iter()
        .filter(|name| word.len() >= 2 && name.starts_with(word.as_str()));
    if let (Some(only), None) = (prefixed.next(), prefixed.next()) {
        return Some(only);
    }
    // Otherwise the nearest by edit distance (transpositions count once: "destory"),
    // accepted when at most two edits and no more than half the word changed.
    let (distance, best) = SUBCOMMANDS
        .iter()
        .map(|name| (strsim::osa_distance(&word, name), *name))
        .min_by_key(|(distance, _)| *distance)?;
    let close_enough = distance <= 2 && distance * 2 <= word.chars().count();
    close_enough.then_some(best)
}

/// `text` as a Markdown code span, whatever backticks it contains: inside it nothing links,
/// mentions or references.
pub fn code_span(text: &str) -> String {
    let fence = "`".repeat(crate::longest_backtick_run(text) + 1);
    // A span that starts or ends with a backtick needs a space so the fence stays separate.
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The queue stores commands in this form; jobs queued by earlier releases (whose
    /// payload type had its own copy of the enum) must still read.
    #[test]
    fn serialised_form_is_the_queued_one() {
        let plan = Command::Plan {
            instructions: "2 more".to_owned(),
        };
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"command": "plan", "instructions": "2 more"})
        );
        for command in [
            Command::Apply,
            Command::Configure,
            Command::Destroy,
            Command::Unlock,
            Command::Help,
        ] {
            let json = serde_json::to_value(&command).unwrap();
            assert_eq!(json, serde_json::json!({"command": command.name()}));
            assert_eq!(serde_json::from_value::<Command>(json).unwrap(), command);
        }
        let stored = r#"{"command":"plan","instructions":"in us-east1"}"#;
        assert_eq!(
            serde_json::from_str::<Command>(stored).unwrap(),
            Command::Plan {
                instructions: "in us-east1".to_owned()
            }
        );
    }

    #[test]
    fn suggestions_for_typos_and_abbreviations() {
        assert_eq!(suggest("aply"), Some("apply"));
        assert_eq!(suggest("destory"), Some("destroy"));
        assert_eq!(suggest("PLN"), Some("plan"));
        assert_eq!(suggest("config"), Some("configure"));
        assert_eq!(suggest("hlep"), Some("help"));
        assert_eq!(suggest("`apply`"), Some("apply"));
        assert_eq!(suggest("status"), None);
        assert_eq!(suggest("x"), None);
        assert_eq!(suggest("deploy"), None);
    }

    #[test]
    fn code_span_survives_backticks() {
        assert_eq!(code_span("/promptops x"), "`/promptops x`");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("`x`"), "`` `x` ``");
    }

    #[test]
    fn long_unknown_words_are_shortened() {
        let long = "z".repeat(500);
        let CommandError::Unknown { given, .. } = CommandError::unknown(&long) else {
            panic!("expected Unknown");
        };
        assert_eq!(given.chars().count(), MAX_GIVEN_CHARS + 1);
        assert!(given.ends_with('…'));
    }
}
