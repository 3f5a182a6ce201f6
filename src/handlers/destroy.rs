//! `/promptops destroy`: a pull request that removes the deployment's directory. Merging
//! it destroys the deployment's resources (see `pr_merge`), with the variables of its last
//! successful apply — the removed file is gone from the merge commit.

use promptops_core::{CommitSha, PrNumber};
use promptops_github::client::FileChange;
use promptops_store::RequestRecord;

use super::bot_branch::{self, Taken};
use super::deployment_state::{linked_request, tfvars_exist};
use super::terraform_steps as tf;
use super::{Handlers, PrNames, RepoCtx};
use crate::pipeline::jobs::IssueSnapshot;
use crate::repo_config::RepoConfig;

fn destroy_branch(deployment: &str) -> String {
    format!("promptops/destroy-{deployment}")
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
        return tf::reply_no_runner(repo, issue.number, "destroy", key).await;
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
        DestroyPr::BranchTaken(taken) => {
            let not_done = format!(
                "PromptOps did not open a pull request to destroy deployment `{}`",
                record.deployment
            );
            repo.comment(
                issue.number,
                key,
                &taken.comment(&not_done, "/promptops destroy"),
            )
            .await
        }
        DestroyPr::Opened { number, url, .. } => {
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
        number: PrNumber,
        url: String,
        /// The branch's head as PromptOps left it: only its own commits of the removal.
        head: CommitSha,
    },
    /// The deployment's variables are not on the default branch: nothing to destroy.
    NotOnDefaultBranch { default_branch: String },
    /// The destroy branch exists and holds work that is not PromptOps' own: nothing done.
    BranchTaken(Taken),
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
    let default_branch = repo.default_branch().await?;
    if !tfvars_exist(repo, config, deployment, &default_branch).await? {
        return Ok(DestroyPr::NotOnDefaultBranch { default_branch });
    }
    let base_sha = repo.default_branch_head(&default_branch).await?;
    let branch = destroy_branch(deployment);
    let path = config.terraform.tfvars_path(deployment);
    let message = format!("PromptOps: destroy {deployment} (#{})", record.issue);
    let change = FileChange::Remove;
    let head = match bot_branch::commit(repo, &branch, &base_sha, &path, change, &message).await? {
        Ok(head) => head,
        Err(taken) => return Ok(DestroyPr::BranchTaken(taken)),
    };
    let title = format!("Destroy deployment {deployment}");
    let body = format!(
        "Removes `{path}`. **Merging this pull request runs `terraform destroy` for deployment `{deployment}`** with the code and variables of its last apply. PromptOps comments the destroy plan (`terraform plan -destroy`) here: the resources it lists are what merging destroys.\n\n{why}"
    );
    let names = PrNames {
        find: "looking for the destroy pull request",
        open: "opening the destroy pull request",
    };
    let (pr, _) = repo
        .open_or_update_pr(&branch, &default_branch, title, body, names)
        .await?;
    h.store
        .upsert_request(
            repo.name(),
            record.issue,
            deployment,
            &branch,
            Some(pr.number),
        )
        .await?;
    Ok(DestroyPr::Opened {
        number: pr.number,
        url: pr.html_url,
        head,
    })
}
