//! A plan error worded for where the user reads it. On an issue (`PlanError`'s Display) the
//! user edits the issue or comments `/promptops plan`, and policy limits live in the
//! repository's `.github/promptops.yml`. On the command line and the dashboard's try page
//! there is no repository: the limits are the default policy or the `--policy` file, and the
//! next step is to run the command again.

use promptops_core::{Policy, ValidationErrors};

use crate::PlanError;

/// Where the message is read.
#[derive(Debug, Clone, Copy)]
pub enum Audience<'a> {
    /// An issue or pull-request comment.
    Issue,
    /// `promptops render` (and the try page, which plans like it): the policy in force and
    /// the file it came from (`None`: the default policy).
    CommandLine {
        policy: &'a Policy,
        policy_file: Option<&'a str>,
    },
}

/// Whether a problem is a policy limit (its message names the policy).
fn names_policy(errors: &ValidationErrors) -> bool {
    errors
        .iter()
        .any(|e| e.message.contains("the policy") || e.message.contains("policy allows"))
}

/// Where the policy limits live, for the issue.
pub const ISSUE_POLICY_HINT: &str = "Policy limits come from the `policy:` section of `.github/promptops.yml` on the repository's default branch (defaults: max_vms 20, max_gpus_per_vm 8, max_hourly_usd 100); a maintainer can raise a limit there.";

/// Where the policy limits live, for the command line.
pub fn command_line_policy_hint(policy: &Policy, policy_file: Option<&str>) -> String {
    let limits = format!(
        "max_vms {}, max_gpus_per_vm {}, max_hourly_usd {}",
        policy.max_vms, policy.max_gpus_per_vm, policy.max_hourly_usd
    );
    match policy_file {
        None => format!(
            "These limits are the default policy ({limits}): no --policy file was given. To plan with other limits, pass --policy FILE, a YAML file with a `policy:` section like `.github/promptops.yml` (e.g. `policy: {{max_hourly_usd: 250}}`); in a repository, set them in its `.github/promptops.yml`."
        ),
        Some(file) => format!(
            "These limits come from the `policy:` section of {file} ({limits}); raise them there or pass another --policy file."
        ),
    }
}

/// The error as the user should read it in `audience`.
pub fn explain(err: &PlanError, audience: Audience<'_>) -> String {
    let Audience::CommandLine {
        policy,
        policy_file,
    } = audience
    else {
        return err.to_string();
    };
    let (head, errors) = match err {
        PlanError::Rejected(errors) => (
            "The request could not be turned into a valid deployment. Problems:",
            errors,
        ),
        PlanError::UnknownMention(errors) => (
            "The request states something that cannot be planned as written:",
            errors,
        ),
        PlanError::AmbiguousMention(errors) => {
            ("The request is ambiguous; say which one you want:", errors)
        }
        PlanError::MismatchWithRequest(errors) => (
            "The plan does not match what the request asks for explicitly, so it was not used:",
            errors,
        ),
        PlanError::NotARequest(refusal) => return refusal.message.clone(),
        other => return other.to_string(),
    };
    let mut text = format!("{head}\n{errors}\n");
    if names_policy(errors) {
        text.push_str(&command_line_policy_hint(policy, policy_file));
        text.push('\n');
    }
    text.push_str("Change the request and plan it again.");
    text
}

/// The issue's wording of a list of problems with the policy hint when a limit is involved.
pub(crate) fn issue_problems(errors: &ValidationErrors) -> String {
    if names_policy(errors) {
        format!("{errors}\n{ISSUE_POLICY_HINT}")
    } else {
        errors.to_string()
    }
}
