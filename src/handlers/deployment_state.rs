//! What is known of a deployment, read from GitHub and the store: whether its variables
//! file exists at a commit, the commit of its last successful apply, and the request linked
//! to an issue or pull request. The Terraform handlers and the destroy command build on it.

use anyhow::Context as _;
use promptops_core::CommitSha;
use promptops_store::{RequestRecord, Run, RunFilter, RunStatus};

use super::{Handlers, RepoCtx};
use crate::pipeline::jobs::IssueSnapshot;
use crate::repo_config::RepoConfig;
use promptops_store::RunKind;

/// The deployment linked to an issue or to the PR PromptOps opened for it.
pub(super) async fn linked_request(
    h: &Handlers,
    repo: &RepoCtx,
    issue: &IssueSnapshot,
) -> anyhow::Result<Option<RequestRecord>> {
    let repo_name = repo.name();
    Ok(if issue.is_pull_request {
        h.store
            .request_for_pr(repo_name, issue.number.as_pr())
            .await?
    } else {
        h.store.request_for_issue(repo_name, issue.number).await?
    })
}

/// Whether the deployment's variables file exists at `git_ref`; a PR that removes it
/// destroys the deployment when merged.
pub(super) async fn tfvars_exist(
    repo: &RepoCtx,
    config: &RepoConfig,
    deployment: &str,
    git_ref: &str,
) -> anyhow::Result<bool> {
    let path = config.terraform.tfvars_path(deployment);
    Ok(repo
        .api
        .get_file(repo.name(), &path, git_ref)
        .await
        .with_context(|| format!("reading {path} at {git_ref}"))?
        .is_some())
}

/// The commit of the deployment's last successful apply, when its resources still exist
/// (no successful destroy since).
pub(super) async fn last_applied_sha(
    h: &Handlers,
    repo: &RepoCtx,
    deployment: &str,
) -> anyhow::Result<Option<CommitSha>> {
    Ok(last_change(h, repo, deployment)
        .await?
        .filter(|run| run.kind == RunKind::Apply)
        .and_then(|run| run.sha))
}

/// The deployment's last successful apply or destroy: the run that decided what exists.
pub(super) async fn last_change(
    h: &Handlers,
    repo: &RepoCtx,
    deployment: &str,
) -> anyhow::Result<Option<Run>> {
    let runs = h
        .store
        .list_runs(&RunFilter {
            repo: Some(repo.name().clone()),
            deployment: Some(deployment.to_owned()),
            ..RunFilter::default()
        })
        .await?;
    Ok(runs.into_iter().find(|run| {
        run.status == RunStatus::Succeeded && matches!(run.kind, RunKind::Apply | RunKind::Destroy)
    }))
}
