//! Pull requests larger than GitHub lists. GitHub lists at most 3,000 of a pull request's
//! files and 250 of its commits, and says so only through the counts on the pull request
//! itself (`changed_files`, `commits`). Deciding on part of a list could miss the one file
//! that removes a deployment or changes Terraform code, or the one commit by someone who
//! may not run code: such a pull request is neither planned nor applied.

use anyhow::Context as _;
use promptops_github::client::{Cut, PullRequestInfo};
use tracing::info;

use super::RepoCtx;
use super::plan_gate::Trigger;
use super::pr_plan::moved_head;

/// The paths `pr` changes (a renamed file under both names), when GitHub lists them all;
/// otherwise `None`, once the pull request was told it is too large to be planned.
pub(super) async fn files_to_plan(
    repo: &RepoCtx,
    pr: &PullRequestInfo,
    trigger: Trigger<'_>,
) -> anyhow::Result<Option<Vec<String>>> {
    let number = pr.number;
    let listed = repo
        .api
        .pr_files(repo.name(), number)
        .await
        .with_context(|| format!("listing the files of #{number}"))?;
    let cut = match listed.paths(pr.changed_files) {
        Ok(paths) => return Ok(Some(paths)),
        Err(cut) => cut,
    };
    // A list shorter than the count read before it can also mean a push in between (the
    // list is the new head's): its own event plans the new head, and says this if needed.
    if moved_head(repo, pr).await?.is_some() {
        info!(
            pr = number.get(),
            "not planned: a commit was pushed while listing its files"
        );
        return Ok(None);
    }
    info!(
        pr = number.get(),
        files = cut.total_text(),
        "not planned: too many files to list"
    );
    let key = match trigger {
        Trigger::Event { .. } => "tf-plan-too-large",
        Trigger::Command { reply_key, .. } => reply_key,
    };
    let body = format!(
        "⏸️ Not planned: {} Nothing was planned, and merging this pull request applies nothing. Split it into pull requests of fewer files to have them planned.",
        files_unlisted(&cut)
    );
    repo.comment(number, key, &body).await?;
    Ok(None)
}

/// What a merge whose files GitHub does not list in full is told: nothing was applied.
pub(super) fn merge_refusal(cut: &Cut) -> String {
    format!(
        "Merged, but nothing was applied: {} Nothing was run. To apply what it changed, open pull requests of fewer files that touch the deployments concerned.",
        files_unlisted(cut)
    )
}

fn files_unlisted(cut: &Cut) -> String {
    format!(
        "this pull request changes {} files, and GitHub lists only the first {} of a pull request's files, so PromptOps cannot check which deployments and which Terraform code it changes.",
        cut.total_text(),
        cut.listed
    )
}

/// The line the plan gate lists among those lacking permission when GitHub does not list
/// every commit of the pull request: whoever made the others cannot be checked.
pub(super) fn commits_unlisted(cut: &Cut) -> String {
    format!(
        "the authors and committers of the commits after the first {}: this pull request has {} commits, and GitHub lists only the first {} of a pull request's commits, so they cannot be checked",
        cut.listed,
        cut.total_text(),
        cut.listed
    )
}
