//! `/promptops destroy`: a pull request that removes the deployment's directory. Merging
//! it destroys the deployment's resources (see `pr_merge`), with the variables of its last
//! successful apply — the removed file is gone from the merge commit.

use anyhow::Context as _;
use promptops_github::client::{NewPullRequest, PullRequestUpdate};
use promptops_store::{RequestRecord, RunFilter, RunStatus};

use super::configure::linked_request;
use super::terraform as tf;
use super::{Handlers, RepoCtx};
use crate::jobs::IssueSnapshot;
use crate::repo_config::RepoConfig;

fn destroy_branch(deployment: &str) -> String {
    format!("promptops/destroy-{deployment}")
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
        .get_file(repo.owner(), repo.name(), &path, git_ref)
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
) -> anyhow::Result<Option<String>> {
    let runs = h
        .store
        .list_runs(&RunFilter {
            repo: Some(repo.full_name()),
            deployment: Some(deployment.to_owned()),
            ..RunFilter::default()
        })
        .await?;
    Ok(runs
        .into_iter()
        .filter(|run| run.status == RunStatus::Succeeded)
        .find(|run| run.kind == "apply" || run.kind == "destroy")
        .filter(|run| run.kind == "apply")
        .and_then(|run| run.sha))
}

/// Opens (or updates) the pull request that removes the linked deployment.
pub(super) async fn open_destroy_pr(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
    issue: &IssueSnapshot,
    key: &str,
) -> anyhow::Result<()> {
    if h.terraform.is_none() {
        let body = format!("`/promptops destroy`: {}", tf::NO_RUNNER);
        return repo.comment(issue.number, key, &body).await;
    }
    let Some(record) = linked_request(h, repo, issue).await? else {
        let body = "There is no PromptOps deployment linked to this conversation, so there is nothing to destroy.";
        return repo.comment(issue.number, key, body).await;
    };
    match destroy_pr_for(
        h,
        repo,
        config,
        &record,
        &format!("Requested in #{}.", record.issue),
    )
    .await?
    {
        DestroyPr::NotOnDefaultBranch { default_branch } => {
            let body = format!(
                "Deployment `{}` is not on `{default_branch}` (its pull request is not merged, or it was already removed), so there is nothing to destroy. Close its pull request instead.",
                record.deployment
            );
            repo.comment(issue.number, key, &body).await
        }
        DestroyPr::Opened { number, url } => {
            let reply = format!(
                "Opened #{number} to destroy deployment `{}`: review it; merging it destroys the deployment's resources.\n\n{url}",
                record.deployment
            );
            repo.comment(issue.number, key, &reply).await
        }
    }
}

/// What [`destroy_pr_for`] did.
pub(super) enum DestroyPr {
    Opened {
        number: u64,
        url: String,
    },
    /// The deployment's variables are not on the default branch: nothing to destroy.
    NotOnDefaultBranch {
        default_branch: String,
    },
}

/// Opens (or updates) the pull request that removes `record`'s deployment; `why` ends its
/// body (who asked, or that the deployment expired).
pub(super) async fn destroy_pr_for(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
    record: &RequestRecord,
    why: &str,
) -> anyhow::Result<DestroyPr> {
    let deployment = record.deployment.as_str();
    let default_branch = repo
        .api
        .default_branch(repo.owner(), repo.name())
        .await
        .context("reading the default branch")?;
    if !tfvars_exist(repo, config, deployment, &default_branch).await? {
        return Ok(DestroyPr::NotOnDefaultBranch { default_branch });
    }
    let base_sha = repo
        .api
        .branch_head(repo.owner(), repo.name(), &default_branch)
        .await
        .context("reading the default branch head")?
        .with_context(|| format!("the default branch {default_branch} has no head commit"))?;
    let branch = destroy_branch(deployment);
    repo.api
        .ensure_branch(repo.owner(), repo.name(), &branch, &base_sha)
        .await
        .with_context(|| format!("creating branch {branch}"))?;
    let path = config.terraform.tfvars_path(deployment);
    repo.api
        .delete_file(
            repo.owner(),
            repo.name(),
            &branch,
            &path,
            &format!("PromptOps: destroy {deployment} (#{})", record.issue),
        )
        .await
        .with_context(|| format!("removing {path} on {branch}"))?;
    let title = format!("Destroy deployment {deployment}");
    let body = format!(
        "Removes `{path}`. **Merging this pull request runs `terraform destroy` for deployment `{deployment}`** with the code and variables of its last apply. PromptOps comments the destroy plan (`terraform plan -destroy`) here: the resources it lists are what merging destroys.\n\n{why}"
    );
    let found = repo
        .api
        .find_open_pr(repo.owner(), repo.name(), &branch)
        .await
        .context("looking for the destroy pull request")?;
    let pr = match found {
        Some(pr) => {
            repo.api
                .update_pr(
                    repo.owner(),
                    repo.name(),
                    pr.number,
                    &PullRequestUpdate {
                        title: Some(title),
                        body: Some(body),
                        state: None,
                    },
                )
                .await
                .with_context(|| format!("updating PR #{}", pr.number))?;
            pr
        }
        None => repo
            .api
            .create_pr(
                repo.owner(),
                repo.name(),
                &NewPullRequest {
                    head: branch.clone(),
                    base: default_branch,
                    title,
                    body,
                },
            )
            .await
            .context("opening the destroy pull request")?,
    };
    h.store
        .upsert_request(
            &repo.full_name(),
            record.issue,
            deployment,
            &branch,
            Some(pr.number),
        )
        .await?;
    Ok(DestroyPr::Opened {
        number: pr.number,
        url: pr.html_url,
    })
}
