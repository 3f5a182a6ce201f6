//! Issue → pull request: plan the request, render `terraform.tfvars`, commit it on
//! `promptops/issue-<n>`, open or update the one PR for that issue, and say so.
//!
//! Every step is safe to repeat: the branch is created only when missing, the file is
//! committed only when its content changes, the PR is looked up by its head branch before
//! one is opened, and the comments carry the job's key. Running the same command twice
//! therefore leaves one branch, one PR, and an up-to-date file.

use anyhow::Context as _;
use promptops_core::{
    DeploymentRequest, RenderContext, is_valid_name, parse_tfvars, render_tfvars,
};
use promptops_planner::{PlanInput, PlanOutcome};
use promptops_store::RequestRecord;
use tracing::info;

use super::{Handlers, PrNames, RepoCtx, job_key};
use crate::handlers::pr_text::{self, PrContext};
use crate::pipeline::jobs::IssueSnapshot;
use crate::repo_config::RepoConfig;

pub(super) fn branch_for_issue(issue: u64) -> String {
    format!("promptops/issue-{issue}")
}

/// `/promptops plan <changes>` on a pull request: re-plans the request behind it.
pub(super) async fn replan_from_pr(
    h: &Handlers,
    repo: &RepoCtx,
    job_id: i64,
    config: &RepoConfig,
    pr: u64,
    instructions: &str,
) -> anyhow::Result<()> {
    let key = job_key(job_id, "plan");
    let Some(record) = h.store.request_for_pr(&repo.full_name(), pr).await? else {
        let body = "This pull request was not opened by PromptOps, so there is no request to re-plan. Comment `/promptops plan` on the issue that asks for the deployment.";
        return repo.comment(pr, &key, body).await;
    };
    let issue = repo
        .api
        .get_issue(repo.owner(), repo.name(), record.issue)
        .await
        .with_context(|| format!("reading issue #{}", record.issue))?;
    let snapshot = IssueSnapshot {
        number: issue.number,
        title: issue.title,
        body: issue.body.unwrap_or_default(),
        is_pull_request: false,
    };
    run(h, repo, job_id, config, &snapshot, instructions, pr).await
}

/// Plans the request of `issue` and opens or updates its PR; the outcome is commented on
/// `reply_to` (the issue, or the PR the command came from).
pub(super) async fn run(
    h: &Handlers,
    repo: &RepoCtx,
    job_id: i64,
    config: &RepoConfig,
    issue: &IssueSnapshot,
    instructions: &str,
    reply_to: u64,
) -> anyhow::Result<()> {
    let key = job_key(job_id, "plan");
    let full_name = repo.full_name();
    let existing = h.store.request_for_issue(&full_name, issue.number).await?;
    let default_branch = repo.default_branch().await?;
    let current = match &existing {
        Some(record) => current_request(repo, config, record, &default_branch).await?,
        None => None,
    };
    let input = PlanInput {
        title: issue.title.clone(),
        body: issue.body.clone(),
        instructions: instructions.to_owned(),
        current,
    };
    let outcome = match h.planner.plan(&input, &h.catalog, &config.policy).await {
        Ok(outcome) => outcome,
        Err(err) => {
            let body = format!(
                "### PromptOps could not plan this request\n\n{}\n\n<sub>Planned by {}.</sub>",
                promptops_commands::inert_block(&err.to_string()),
                h.planner.describe()
            );
            return repo.comment(reply_to, &key, &body).await;
        }
    };
    if let Err(problem) = super::expiry::check(h, config, outcome.expiry.as_ref()) {
        let body = format!(
            "### PromptOps could not plan this request\n\n{}\n\n<sub>Planned by {}.</sub>",
            promptops_commands::inert_block(&problem.to_string()),
            outcome.planned_by
        );
        return repo.comment(reply_to, &key, &body).await;
    }
    if let Some(usage) = outcome.usage {
        info!(
            prompt_tokens = usage.prompt_tokens,
            completion_tokens = usage.completion_tokens,
            "model usage"
        );
    }
    let mut request = outcome.request.clone();
    request.name = match &existing {
        Some(record) => record.deployment.clone(),
        None => {
            free_deployment_name(
                h,
                repo,
                config,
                &request.name,
                issue.number,
                &default_branch,
            )
            .await?
        }
    };
    let branch = existing
        .as_ref()
        .map(|record| record.branch.clone())
        .unwrap_or_else(|| branch_for_issue(issue.number));
    let path = config.terraform.tfvars_path(&request.name);
    let tfvars = render_tfvars(
        &request,
        &RenderContext {
            source: format!("{full_name}#{}", issue.number),
            planner: outcome.planned_by.clone(),
        },
    );

    let base_sha = repo.default_branch_head(&default_branch).await?;
    repo.ensure_branch(&branch, &base_sha).await?;
    repo.api
        .put_file(
            repo.owner(),
            repo.name(),
            &branch,
            &path,
            &tfvars,
            &format!("PromptOps: plan {} for #{}", request.name, issue.number),
        )
        .await
        .with_context(|| format!("committing {path}"))?;

    let text = pr_text::render(
        &h.catalog,
        &request,
        &PrContext {
            issue: issue.number,
            request_title: &issue.title,
            request_body: &issue.body,
            instructions,
            planned_by: &outcome.planned_by,
            tfvars_path: &path,
            notes: &outcome.notes,
            policy: &config.policy,
            expires: super::expiry::describe(outcome.expiry.as_ref(), config.expiry.max_lifetime),
        },
    );
    let names = PrNames {
        find: "looking for the request's pull request",
        open: "opening the pull request",
    };
    let (pr, opened) = repo
        .open_or_update_pr(&branch, &default_branch, text.title, text.body, names)
        .await?;
    let pr = (pr.number, pr.html_url);
    h.store
        .upsert_request(&full_name, issue.number, &request.name, &branch, Some(pr.0))
        .await?;
    // For the dashboard's deployment page (request, tfvars, cost).
    let details = promptops_store::RequestDetails {
        prompt: issue.body.clone(),
        tfvars: tfvars.clone(),
    };
    h.store
        .record_request_details(&full_name, issue.number, &details)
        .await?;
    super::expiry::record_request(
        h,
        repo,
        &request.name,
        issue.number,
        outcome.expiry.as_ref(),
    )
    .await?;
    let body = result_comment(h, &request, &outcome, pr, opened);
    repo.comment(reply_to, &key, &body).await?;
    if reply_to != issue.number && opened {
        repo.comment(issue.number, &job_key(job_id, "plan-issue"), &body)
            .await?;
    }
    Ok(())
}

/// The deployment's values as committed on its branch (or, once merged, on the default
/// branch), for an edit. `None` when the file is gone or unreadable: then the request is
/// planned afresh from the issue.
async fn current_request(
    repo: &RepoCtx,
    config: &RepoConfig,
    record: &RequestRecord,
    default_branch: &str,
) -> anyhow::Result<Option<DeploymentRequest>> {
    let path = config.terraform.tfvars_path(&record.deployment);
    for git_ref in [record.branch.as_str(), default_branch] {
        let file = repo
            .api
            .get_file(repo.owner(), repo.name(), &path, git_ref)
            .await
            .with_context(|| format!("reading {path} at {git_ref}"))?;
        if let Some(file) = file {
            return Ok(parse_tfvars(&file.text).ok().map(DeploymentRequest::from));
        }
    }
    Ok(None)
}

/// `wanted`, unless another issue's deployment or an existing directory already uses it;
/// then `wanted-<issue>` (shortened to stay a valid name).
async fn free_deployment_name(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
    wanted: &str,
    issue: u64,
    default_branch: &str,
) -> anyhow::Result<String> {
    let taken_by_request = h
        .store
        .request_for_deployment(&repo.full_name(), wanted)
        .await?
        .is_some_and(|record| record.issue != issue);
    let path = config.terraform.tfvars_path(wanted);
    let taken_in_repo = repo
        .api
        .get_file(repo.owner(), repo.name(), &path, default_branch)
        .await
        .with_context(|| format!("reading {path}"))?
        .is_some();
    if !taken_by_request && !taken_in_repo {
        return Ok(wanted.to_owned());
    }
    let suffix = format!("-{issue}");
    let keep = promptops_core::MAX_NAME_CHARS.saturating_sub(suffix.len());
    let stem: String = wanted.chars().take(keep).collect();
    let candidate = format!("{}{suffix}", stem.trim_end_matches('-'));
    anyhow::ensure!(
        is_valid_name(&candidate),
        "no free deployment name for {wanted}"
    );
    Ok(candidate)
}

fn result_comment(
    h: &Handlers,
    request: &DeploymentRequest,
    outcome: &PlanOutcome,
    (number, url): (u64, String),
    opened: bool,
) -> String {
    let cost = h.catalog.estimate(request);
    let verb = if opened { "Opened" } else { "Updated" };
    format!(
        "{verb} #{number} for deployment `{}`: {} — about {}/hour ({}/month).\n\n{url}\n\n<sub>Planned by {}. Comment `/promptops plan <what to change>` to revise it.</sub>",
        request.name,
        pr_text::summary(&h.catalog, request),
        pr_text::usd(cost.hourly_usd, 2),
        pr_text::usd(cost.monthly_usd, 0),
        outcome.planned_by,
    )
}
