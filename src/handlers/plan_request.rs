//! Issue → pull request: plan the request, render `terraform.tfvars`, commit it on
//! `promptops/issue-<n>`, open or update the one PR for that issue, and say so.
//!
//! Every step is safe to repeat: the branch is created only when missing (and an existing
//! one is built on only when it holds nothing but PromptOps' own work: `bot_branch`), the file is
//! committed only when its content changes, the PR is looked up by its head branch before
//! one is opened, and the comments carry the job's key. Running the same command twice
//! therefore leaves one branch, one PR, and an up-to-date file.

use anyhow::Context as _;
use promptops_core::{
    DeploymentRequest, IssueNumber, PrNumber, RenderContext, is_valid_name, parse_tfvars,
    render_tfvars,
};
use promptops_github::client::{FileChange, PullRequestInfo};
use promptops_planner::{PlanInput, PlanOutcome};
use promptops_store::RequestRecord;
use tracing::info;

use super::bot_branch::{self, Taken};
use super::{Handlers, PrNames, RepoCtx, job_key};
use crate::handlers::pr_text::{self, PrContext};
use crate::pipeline::jobs::IssueSnapshot;
use crate::repo_config::RepoConfig;

pub(super) fn branch_for_issue(issue: IssueNumber) -> String {
    format!("promptops/issue-{issue}")
}

/// `/promptops plan <changes>` on a pull request: re-plans the request behind it.
pub(super) async fn replan_from_pr(
    h: &Handlers,
    repo: &RepoCtx,
    job_id: i64,
    config: &RepoConfig,
    pr: PrNumber,
    instructions: &str,
) -> anyhow::Result<()> {
    let key = job_key(job_id, "plan");
    let Some(record) = h.store.request_for_pr(repo.name(), pr).await? else {
        let body = "This pull request was not opened by PromptOps, so there is no request to re-plan. Comment `/promptops plan` on the issue that asks for the deployment.";
        return repo.comment(pr, &key, body).await;
    };
    let number = record.issue;
    let issue = repo
        .api
        .get_issue(repo.name(), number)
        .await
        .with_context(|| format!("reading issue #{number}"))?;
    let snapshot = IssueSnapshot {
        number: issue.number,
        title: issue.title,
        body: issue.body.unwrap_or_default(),
        is_pull_request: false,
    };
    run(h, repo, job_id, config, &snapshot, instructions, pr.into()).await
}

/// A request planned for an issue, on its way to its pull request.
struct Planned<'a> {
    issue: &'a IssueSnapshot,
    instructions: &'a str,
    outcome: PlanOutcome,
    /// The planned request, under the deployment name it keeps.
    request: DeploymentRequest,
    /// The branch of its pull request, and the branch that pull request goes into.
    branch: String,
    default_branch: String,
    tfvars_path: String,
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
    reply_to: IssueNumber,
) -> anyhow::Result<()> {
    let key = job_key(job_id, "plan");
    let existing = h.store.request_for_issue(repo.name(), issue.number).await?;
    let default_branch = repo.default_branch().await?;
    let asked = Asked {
        issue,
        instructions,
        existing: existing.as_ref(),
        default_branch: &default_branch,
    };
    let outcome = match plan(h, repo, config, &asked).await? {
        Ok(outcome) => outcome,
        Err(body) => return repo.comment(reply_to, &key, &body).await,
    };
    let mut request = outcome.request.clone();
    request.name = match &existing {
        Some(record) => record.deployment.clone(),
        None => {
            let wanted = &request.name;
            free_deployment_name(h, repo, config, wanted, issue.number, &default_branch).await?
        }
    };
    let branch = existing
        .as_ref()
        .map(|record| record.branch.clone())
        .unwrap_or_else(|| branch_for_issue(issue.number));
    let planned = Planned {
        issue,
        instructions,
        outcome,
        tfvars_path: config.terraform.tfvars_path(&request.name),
        request,
        branch,
        default_branch,
    };
    let tfvars = match commit_tfvars(repo, &planned).await? {
        Ok(tfvars) => tfvars,
        Err(taken) => {
            let body = taken.comment("PromptOps did not commit this request", "/promptops plan");
            return repo.comment(reply_to, &key, &body).await;
        }
    };
    let (pr, opened) = open_pr(h, repo, config, &planned).await?;
    record(h, repo, &planned, pr.number, tfvars).await?;
    let body = result_comment(h, &planned, (pr.number, pr.html_url), opened);
    repo.comment(reply_to, &key, &body).await?;
    if reply_to != issue.number && opened {
        repo.comment(issue.number, &job_key(job_id, "plan-issue"), &body)
            .await?;
    }
    Ok(())
}

/// What is asked of the planner: the issue, the instructions of the command, and the
/// request already planned for the issue (if any).
struct Asked<'a> {
    issue: &'a IssueSnapshot,
    instructions: &'a str,
    existing: Option<&'a RequestRecord>,
    default_branch: &'a str,
}

/// The planner's outcome, or the comment saying why the request could not be planned.
async fn plan(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
    asked: &Asked<'_>,
) -> anyhow::Result<Result<PlanOutcome, String>> {
    let current = match asked.existing {
        Some(record) => current_request(repo, config, record, asked.default_branch).await?,
        None => None,
    };
    let input = PlanInput {
        title: asked.issue.title.clone(),
        body: asked.issue.body.clone(),
        instructions: asked.instructions.to_owned(),
        current,
    };
    let outcome = match h.planner.plan(&input, &h.catalog, &config.policy).await {
        Ok(outcome) => outcome,
        Err(err) => {
            return Ok(Err(format!(
                "### PromptOps could not plan this request\n\n{}\n\n<sub>Planned by {}.</sub>",
                promptops_commands::inert_block(&err.to_string()),
                h.planner.describe()
            )));
        }
    };
    if let Err(problem) = super::expiry::check(h, config, outcome.expiry.as_ref()) {
        return Ok(Err(format!(
            "### PromptOps could not plan this request\n\n{}\n\n<sub>Planned by {}.</sub>",
            promptops_commands::inert_block(&problem.to_string()),
            outcome.planned_by
        )));
    }
    if let Some(usage) = outcome.usage {
        info!(
            prompt_tokens = usage.prompt_tokens,
            completion_tokens = usage.completion_tokens,
            "model usage"
        );
    }
    Ok(Ok(outcome))
}

/// Renders the request's `terraform.tfvars` and commits it on its branch (created from the
/// default branch's head when missing); returns the file's text, or the branch when it
/// holds work that is not PromptOps' own (see `bot_branch`).
async fn commit_tfvars(
    repo: &RepoCtx,
    planned: &Planned<'_>,
) -> anyhow::Result<Result<String, Taken>> {
    let (issue, request) = (planned.issue, &planned.request);
    let tfvars = render_tfvars(
        request,
        &RenderContext {
            source: format!("{}#{}", repo.name(), issue.number),
            planner: planned.outcome.planned_by.clone(),
        },
    );
    let base_sha = repo.default_branch_head(&planned.default_branch).await?;
    let path = &planned.tfvars_path;
    let message = format!("PromptOps: plan {} for #{}", request.name, issue.number);
    let change = FileChange::Write(&tfvars);
    if let Err(taken) =
        bot_branch::commit(repo, &planned.branch, &base_sha, path, change, &message).await?
    {
        return Ok(Err(taken));
    }
    Ok(Ok(tfvars))
}

/// Opens the request's pull request, or updates the open one; `true` when opened now.
async fn open_pr(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
    planned: &Planned<'_>,
) -> anyhow::Result<(PullRequestInfo, bool)> {
    let (issue, outcome) = (planned.issue, &planned.outcome);
    let text = pr_text::render(
        &h.catalog,
        &planned.request,
        &PrContext {
            issue: issue.number,
            request_title: &issue.title,
            request_body: &issue.body,
            instructions: planned.instructions,
            planned_by: &outcome.planned_by,
            tfvars_path: &planned.tfvars_path,
            notes: &outcome.notes,
            policy: &config.policy,
            expires: super::expiry::describe(outcome.expiry.as_ref(), config.expiry.max_lifetime),
        },
    );
    let names = PrNames {
        find: "looking for the request's pull request",
        open: "opening the pull request",
    };
    repo.open_or_update_pr(
        &planned.branch,
        &planned.default_branch,
        text.title,
        text.body,
        names,
    )
    .await
}

/// Records the request, its details (for the dashboard's deployment page: request, tfvars,
/// cost) and what it asks of its expiry.
async fn record(
    h: &Handlers,
    repo: &RepoCtx,
    planned: &Planned<'_>,
    pr: PrNumber,
    tfvars: String,
) -> anyhow::Result<()> {
    let repo_name = repo.name();
    let (issue, name) = (planned.issue, &planned.request.name);
    h.store
        .upsert_request(repo_name, issue.number, name, &planned.branch, Some(pr))
        .await?;
    let details = promptops_store::RequestDetails {
        prompt: issue.body.clone(),
        tfvars,
    };
    h.store
        .record_request_details(repo_name, issue.number, &details)
        .await?;
    let expiry = planned.outcome.expiry.as_ref();
    super::expiry::record_request(h, repo, name, issue.number, expiry).await
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
            .get_file(repo.name(), &path, git_ref)
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
    issue: IssueNumber,
    default_branch: &str,
) -> anyhow::Result<String> {
    let taken_by_request = h
        .store
        .request_for_deployment(repo.name(), wanted)
        .await?
        .is_some_and(|record| record.issue != issue);
    let path = config.terraform.tfvars_path(wanted);
    let taken_in_repo = repo
        .api
        .get_file(repo.name(), &path, default_branch)
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
    planned: &Planned<'_>,
    (number, url): (PrNumber, String),
    opened: bool,
) -> String {
    let (request, outcome) = (&planned.request, &planned.outcome);
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
