//! Which jobs merge-queue and check-run events imply (see `ingress`): a group asking for
//! checks is one `merge_group_check` job; a click on a button of a `promptops/plan` check
//! run is one `check_button` job, limited like jobs from comments. What is not acted on is
//! logged, so an operator can see why nothing happened.

use promptops_commands::Button;
use promptops_github::webhook::{CheckRunActionEvent, MergeGroupAction, MergeGroupEvent};

use crate::pipeline::ingress::{IngressSettings, repo_target};
use crate::pipeline::jobs::{JobPayload, MergeGroupSnapshot};

/// The check run whose buttons PromptOps answers.
pub const PLAN_CHECK_NAME: &str = "promptops/plan";

pub(super) fn merge_group_jobs(event: &MergeGroupEvent) -> Vec<JobPayload> {
    if event.action != MergeGroupAction::ChecksRequested {
        // The repository's name was checked when the payload was read; the ref is logged
        // with Debug formatting, so control characters in it are escaped.
        tracing::info!(
            repo = %event.repo.full_name,
            action = %event.action,
            head_ref = ?event.head_ref,
            "merge_group event ignored: only checks_requested needs a check"
        );
        return Vec::new();
    }
    let Some(repo) = repo_target(&event.repo, event.installation_id) else {
        return Vec::new();
    };
    vec![JobPayload::MergeGroupCheck {
        repo,
        group: MergeGroupSnapshot {
            head_sha: event.head_sha.clone(),
            head_ref: event.head_ref.clone(),
            base_sha: event.base_sha.clone(),
            base_ref: event.base_ref.clone(),
        },
    }]
}

pub(super) fn check_button_jobs(
    event: &CheckRunActionEvent,
    settings: &IngressSettings,
) -> Vec<JobPayload> {
    let ignored = |why: &str| {
        tracing::info!(
            repo = %event.repo.full_name,
            check_run = event.check_run.id,
            identifier = ?event.identifier,
            sender = ?event.sender.login,
            "check run button ignored: {why}"
        );
        Vec::new()
    };
    if event.check_run.name != PLAN_CHECK_NAME {
        return ignored("not a promptops/plan check run");
    }
    let Some(button) = Button::from_identifier(&event.identifier) else {
        return ignored("not a button PromptOps set");
    };
    let Some(&pr) = event.check_run.pull_requests.first() else {
        return ignored("the check run belongs to no pull request of this repository");
    };
    if event.sender.is_bot() {
        return ignored("bots do not run commands");
    }
    let Some(repo) = repo_target(&event.repo, event.installation_id) else {
        return Vec::new();
    };
    if !settings
        .comment_jobs
        .allow(&repo.repo.to_string(), &event.sender.login)
    {
        return ignored("the sender's rate limit on jobs from people is reached");
    }
    vec![JobPayload::CheckButton {
        repo,
        pr,
        button,
        sender: event.sender.login.clone(),
    }]
}
