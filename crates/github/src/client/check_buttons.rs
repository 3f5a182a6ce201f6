//! Buttons on a check run (GitHub's `actions`): at most three, each with a label of at most
//! 20 characters, a description of at most 40 and an identifier of at most 20. The limits
//! are GitHub's; a button that breaks one cannot be built, so a request GitHub would refuse
//! is never sent.

use http::Method;
use serde::Serialize;
use serde_json::json;

use promptops_core::RepoName;

use super::{RepoApi, Result, repo_route};

/// GitHub's limits, in characters.
pub const MAX_BUTTONS: usize = 3;
pub const MAX_LABEL_CHARS: usize = 20;
pub const MAX_DESCRIPTION_CHARS: usize = 40;
pub const MAX_IDENTIFIER_CHARS: usize = 20;

/// Why a button (or a set of them) cannot be put on a check run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ButtonError {
    #[error(
        "a check run button's {field} {value:?} is {given} characters; GitHub allows 1 to {max}"
    )]
    Length {
        field: &'static str,
        value: String,
        given: usize,
        max: usize,
    },
    #[error("a check run carries at most {MAX_BUTTONS} buttons; {given} were given")]
    TooMany { given: usize },
    #[error("two check run buttons share the identifier {0:?}; a click could not tell them apart")]
    DuplicateIdentifier(String),
}

/// One button: what it says, what its tooltip says, and the identifier a click sends back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckRunButton {
    label: String,
    description: String,
    identifier: String,
}

fn bounded(
    field: &'static str,
    value: &str,
    max: usize,
) -> std::result::Result<String, ButtonError> {
    let given = value.chars().count();
    if given == 0 || given > max {
        return Err(ButtonError::Length {
            field,
            value: value.to_owned(),
            given,
            max,
        });
    }
    Ok(value.to_owned())
}

impl CheckRunButton {
    pub fn new(
        label: &str,
        description: &str,
        identifier: &str,
    ) -> std::result::Result<Self, ButtonError> {
        Ok(Self {
            label: bounded("label", label, MAX_LABEL_CHARS)?,
            description: bounded("description", description, MAX_DESCRIPTION_CHARS)?,
            identifier: bounded("identifier", identifier, MAX_IDENTIFIER_CHARS)?,
        })
    }

    pub fn identifier(&self) -> &str {
        &self.identifier
    }
}

/// The buttons of one check run: at most [`MAX_BUTTONS`], identifiers distinct.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct CheckRunButtons(Vec<CheckRunButton>);

impl CheckRunButtons {
    pub fn new(buttons: Vec<CheckRunButton>) -> std::result::Result<Self, ButtonError> {
        if buttons.len() > MAX_BUTTONS {
            return Err(ButtonError::TooMany {
                given: buttons.len(),
            });
        }
        for (i, button) in buttons.iter().enumerate() {
            if buttons[..i]
                .iter()
                .any(|other| other.identifier == button.identifier)
            {
                return Err(ButtonError::DuplicateIdentifier(button.identifier.clone()));
            }
        }
        Ok(Self(buttons))
    }

    pub fn iter(&self) -> impl Iterator<Item = &CheckRunButton> {
        self.0.iter()
    }
}

impl RepoApi {
    /// Replaces the buttons of a check run (safe to repeat).
    pub async fn set_check_run_buttons(
        &self,
        repo: &RepoName,
        check_run_id: u64,
        buttons: &CheckRunButtons,
    ) -> Result<()> {
        let op = format!("set the buttons of check run {check_run_id}");
        let route = format!("{}/check-runs/{check_run_id}", repo_route(repo));
        let body = json!({ "actions": buttons });
        self.t
            .send(&op, Method::PATCH, &route, Some(&body))
            .await?
            .success_json::<serde_json::Value>(&op)
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn githubs_limits_are_enforced_when_a_button_is_built() {
        assert!(CheckRunButton::new("Re-plan", "Run terraform plan again", "replan").is_ok());
        let long_label = CheckRunButton::new("A label longer than twenty", "x", "id").unwrap_err();
        assert!(
            matches!(
                long_label,
                ButtonError::Length {
                    field: "label",
                    given: 26,
                    max: 20,
                    ..
                }
            ),
            "{long_label:?}"
        );
        let description = "d".repeat(41);
        assert!(CheckRunButton::new("ok", &description, "id").is_err());
        assert!(CheckRunButton::new("ok", "ok", &"i".repeat(21)).is_err());
        assert!(CheckRunButton::new("", "ok", "id").is_err());
        // Characters, not bytes: twenty non-ASCII letters fit.
        assert!(CheckRunButton::new(&"é".repeat(20), "ok", "id").is_ok());

        let button = |id: &str| CheckRunButton::new("b", "b", id).unwrap();
        let four = vec![button("a"), button("b"), button("c"), button("d")];
        assert_eq!(
            CheckRunButtons::new(four).unwrap_err(),
            ButtonError::TooMany { given: 4 }
        );
        assert!(matches!(
            CheckRunButtons::new(vec![button("a"), button("a")]),
            Err(ButtonError::DuplicateIdentifier(_))
        ));
        let json = serde_json::to_value(CheckRunButtons::new(vec![button("a")]).unwrap()).unwrap();
        assert_eq!(
            json,
            json!([{ "label": "b", "description": "b", "identifier": "a" }])
        );
    }
}
