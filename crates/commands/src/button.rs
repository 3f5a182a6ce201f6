//! The buttons PromptOps puts on its `promptops/plan` check runs. Each stands for a comment
//! command and is answered exactly like it: a click runs that command as the person who
//! clicked, with the same permission check.
//!
//! There is no apply button: PromptOps applies only what is merged into the default branch
//! (or `apply.branches`), and no repository setting allows an apply before the merge.

use serde::{Deserialize, Serialize};

use crate::Command;

/// A check-run button, by what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Button {
    /// `/promptops plan`: plans the pull request's head again.
    Replan,
    /// `/promptops unlock`: releases the pull request's deployment lock.
    Unlock,
}

impl Button {
    /// Every button, in the order they are shown.
    pub const ALL: [Button; 2] = [Button::Replan, Button::Unlock];

    /// The identifier a click sends back (GitHub allows 20 characters).
    pub fn identifier(self) -> &'static str {
        match self {
            Button::Replan => "replan",
            Button::Unlock => "unlock",
        }
    }

    /// The button's text (GitHub allows 20 characters).
    pub fn label(self) -> &'static str {
        match self {
            Button::Replan => "Re-plan",
            Button::Unlock => "Unlock",
        }
    }

    /// Its tooltip (GitHub allows 40 characters).
    pub fn description(self) -> &'static str {
        match self {
            Button::Replan => "Plan the head again (/promptops plan)",
            Button::Unlock => "Release the lock (/promptops unlock)",
        }
    }

    /// The button for a clicked identifier; `None` for one PromptOps never set.
    pub fn from_identifier(identifier: &str) -> Option<Button> {
        Button::ALL
            .into_iter()
            .find(|button| button.identifier() == identifier)
    }

    /// The comment command a click stands for.
    pub fn command(self) -> Command {
        match self {
            Button::Replan => Command::Plan {
                instructions: String::new(),
            },
            Button::Unlock => Command::Unlock,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_round_trip_and_stand_for_their_commands() {
        for button in Button::ALL {
            assert_eq!(Button::from_identifier(button.identifier()), Some(button));
        }
        assert_eq!(Button::from_identifier("apply"), None);
        assert_eq!(Button::Unlock.command(), Command::Unlock);
        assert_eq!(Button::Replan.command().name(), "plan");
    }
}
