//! Drift detection: every applied deployment on the default branch is planned read-only —
//! the same runner, sandbox and masking as any plan, never an apply — on the repository's
//! schedule (`drift: {every: 24h}`, off by default) and on `/promptops drift`. A plan with
//! changes opens (or updates in place, reopening it) one issue per deployment with the
//! masked plan and what to do; a later check without changes closes it.
//!
//! The plan keeps Terraform's state lock: a plan writes no state, and holding the lock
//! means it never reads a state half-written by an apply on another replica (a check that
//! finds the state locked reports an error and the next one tries again).
//!
//! The schedule is a queued job per due time; the job first claims its slot in the store
//! (`claim_drift_slot`), so replicas holding jobs for the same slot check once.

use anyhow::Context as _;
use chrono::{DateTime, SubsecRound, Utc};
use promptops_core::{CommitSha, IssueNumber};
use promptops_store::{NewJob, RunFilter, RunStatus};
use promptops_terraform::comment::{CommentOptions, render_plan_comments};
use promptops_terraform::{PlanOutcome, PlanReport, Runner};
use tracing::{info, warn};

use super::terraform_run::{Finish, RunStart, TerraformRun};
use super::terraform_steps::{self as tf, CouldNotRun};
use super::vars_check::{self, Vars};
use super::{Handlers, RepoCtx, deployment_state};
use crate::pipeline::jobs::{IssueSnapshot, JobPayload};
use crate::repo_config::RepoConfig;
use promptops_store::RunKind;

/// What a drift check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriftResult {
    NoDrift,
    Drift,
    /// The check could not run (or Terraform failed): nothing is known.
    Error,
}

impl DriftResult {
    pub fn as_str(self) -> &'static str {
        match self {
            DriftResult::NoDrift => "no_drift",
            DriftResult::Drift => "drift",
            DriftResult::Error => "error",
        }
    }
}

/// One deployment's check, as a line saying what it found.
struct Checked {
    line: String,
}

/// `/promptops drift` on a deployment's issue or pull request: checks it now.
pub(super) async fn command(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
    issue: &IssueSnapshot,
    key: &str,
) -> anyhow::Result<()> {
    let Some(runner) = h.terraform.as_ref() else {
        return tf::reply_no_runner(repo, issue.number, "drift", key).await;
    };
    let Some(record) = super::deployment_state::linked_request(h, repo, issue).await? else {
        let body = "There is no PromptOps deployment linked to this conversation, so there is nothing to check for drift.";
        return repo.comment(issue.number, key, body).await;
    };
    let checked = check_deployment(h, runner, repo, config, &record.deployment).await?;
    repo.comment(issue.number, key, &checked.line).await?;
    ensure_schedule(h, repo, config).await
}

/// Keeps the repository's schedule alive when drift checks are on: records the next due
/// time unless one is recorded and queues its job (a job already queued for it is kept).
pub(super) async fn ensure_schedule(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
) -> anyhow::Result<()> {
    let Some(every) = config.drift.every else {
        return Ok(());
    };
    let wanted = (h.clock.now() + every.as_delta()).trunc_subsecs(6);
    let due = h.store.ensure_drift_schedule(repo.name(), wanted).await?;
    enqueue_check(h, repo, due).await
}

async fn enqueue_check(h: &Handlers, repo: &RepoCtx, due: DateTime<Utc>) -> anyhow::Result<()> {
    let payload = JobPayload::DriftCheck {
        repo: repo.target.clone(),
        due,
    };
    let key = format!(
        "{}:{}:{}",
        payload.kind(),
        repo.name(),
        due.timestamp_micros()
    );
    let job = NewJob::new(
        payload.kind(),
        repo.name().clone(),
        serde_json::to_value(&payload).context("encoding the drift job")?,
    )
    .with_dedupe_key(key)
    .with_run_after(due);
    h.store.enqueue(job).await?;
    Ok(())
}

/// The scheduled check due at `due`: claims the slot, queues the next one, checks every
/// applied deployment.
pub(super) async fn run_scheduled(
    h: &Handlers,
    repo: &RepoCtx,
    due: DateTime<Utc>,
) -> anyhow::Result<()> {
    let repo_name = repo.name();
    let config = match repo.load_config().await? {
        Ok(config) => config,
        Err(err) => {
            // No conversation to tell: the next apply or `/promptops drift` restarts it.
            warn!(repo = %repo_name, error = %err, "scheduled drift check skipped: the settings cannot be read");
            return Ok(());
        }
    };
    let Some(every) = config.drift.every else {
        info!(repo = %repo_name, "drift checks are off: the schedule ends");
        return h
            .store
            .clear_drift_schedule(repo_name)
            .await
            .map_err(Into::into);
    };
    // The store keeps microseconds; the next job's `due` must equal what it stores.
    let next = (h.clock.now().max(due) + every.as_delta()).trunc_subsecs(6);
    if !h.store.claim_drift_slot(repo_name, due, next).await? {
        info!(repo = %repo_name, %due, "drift check already run for this slot");
        return Ok(());
    }
    // Queued before checking, so that a crash mid-way keeps the schedule.
    enqueue_check(h, repo, next).await?;
    let Some(runner) = h.terraform.as_ref() else {
        return Ok(());
    };
    for deployment in applied_deployments(h, repo, &config).await? {
        check_deployment(h, runner, repo, &config, &deployment).await?;
    }
    Ok(())
}

/// Deployments with a successful apply (and no destroy since) whose variables are on the
/// default branch.
async fn applied_deployments(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
) -> anyhow::Result<Vec<String>> {
    let runs = h
        .store
        .list_runs(&RunFilter {
            repo: Some(repo.name().clone()),
            ..RunFilter::default()
        })
        .await?;
    let mut names: Vec<String> = runs
        .into_iter()
        .filter(|run| run.kind == RunKind::Apply && run.status == RunStatus::Succeeded)
        .map(|run| run.deployment)
        .collect();
    names.sort();
    names.dedup();
    let default_branch = repo.default_branch().await?;
    let mut applied = Vec::new();
    for name in names {
        if deployment_state::last_applied_sha(h, repo, &name)
            .await?
            .is_some()
            && deployment_state::tfvars_exist(repo, config, &name, &default_branch).await?
        {
            applied.push(name);
        }
    }
    Ok(applied)
}

/// Plans `deployment` at the default branch's head, read-only, and reports the result.
async fn check_deployment(
    h: &Handlers,
    runner: &Runner,
    repo: &RepoCtx,
    config: &RepoConfig,
    deployment: &str,
) -> anyhow::Result<Checked> {
    let default_branch = repo.default_branch().await?;
    let sha = repo.default_branch_head(&default_branch).await?;
    let vars = vars_check::read(h, repo, config, deployment, sha.as_str()).await?;
    let problem = match &vars {
        Vars::Valid(_) => None,
        Vars::Missing => Some(format!(
            "its variables are not on `{default_branch}`, so it is not applied there"
        )),
        Vars::Invalid(problems) => Some(format!(
            "its variables on `{default_branch}` break the rules ({} problems); fix them by pull request",
            problems.len()
        )),
    };
    let requested = vars.request();
    let report = match problem {
        Some(problem) => Err(problem),
        None => plan_read_only(h, runner, repo, config, deployment, &sha).await?,
    };
    let report = match report {
        Ok(report) => report,
        Err(problem) => {
            let line = format!("⚠️ Drift check of `{deployment}` did not run: {problem}");
            let result = DriftResult::Error;
            return record(h, repo, deployment, result, &problem, None, line).await;
        }
    };
    let result = match report.outcome {
        PlanOutcome::NoChanges => DriftResult::NoDrift,
        PlanOutcome::Changes => DriftResult::Drift,
        PlanOutcome::Failed => DriftResult::Error,
    };
    let before = super::plan_explain::applied(h, repo, config, deployment).await;
    let options = CommentOptions {
        max_comments: 1,
        next_steps: Some(what_to_do(h, repo, deployment).await?),
        explanation: super::plan_explain::explain(h, &report, requested, before).await,
        ..CommentOptions::default()
    };
    let plan = render_plan_comments(&report, &options).join("\n\n");
    let now = h.clock.now();
    let issue = super::drift_issue::report(h, repo, deployment, result, &sha, now, &plan).await?;
    let short = sha.short();
    let summary = &report.summary;
    let line = match (result, issue) {
        (DriftResult::Drift, Some(issue)) => format!(
            "🔀 Drift in `{deployment}`: the infrastructure no longer matches `{default_branch}` at `{short}` ({summary}). Details and what to do: #{issue}."
        ),
        (DriftResult::NoDrift, _) => format!(
            "✅ No drift in `{deployment}`: the infrastructure matches `{default_branch}` at `{short}`."
        ),
        _ => format!("⚠️ Drift check of `{deployment}` failed: {summary}"),
    };
    record(h, repo, deployment, result, summary, issue, line).await
}

/// `terraform plan` of the deployment at `sha` (recorded as a run of kind `drift`); the
/// inner error is why it could not run, masked.
async fn plan_read_only(
    h: &Handlers,
    runner: &Runner,
    repo: &RepoCtx,
    config: &RepoConfig,
    deployment: &str,
    sha: &CommitSha,
) -> anyhow::Result<Result<PlanReport, String>> {
    // A source over the limit is reported like any run that could not run.
    let source = tf::source_or_refusal(tf::tarball(runner, repo, sha).await, sha)?;
    let start = RunStart {
        kind: RunKind::Drift,
        deployment,
        sha,
        pr: None,
        check: None,
        // The drift issue reports it (see `drift_issue`).
        report: None,
    };
    let run = TerraformRun::start(h, runner, repo, start).await?;
    let planned = match source.and_then(|source| tf::spec_for(config, deployment, source, sha)) {
        Ok(spec) => runner.plan(&spec).await.map_err(CouldNotRun::from),
        Err(problem) => Err(problem),
    };
    match planned {
        Ok(report) => {
            let finish = Finish {
                succeeded: report.outcome != PlanOutcome::Failed,
                report: Vec::new(),
                check: None,
                summary: &report.summary,
                output: &report.output.text(),
            };
            run.finish(finish).await?;
            Ok(Ok(report))
        }
        Err(problem) => {
            // Said in the drift line: masked like the run's record.
            let said = runner.masker().mask_str(&problem.to_string());
            run.fail(&problem, None).await?;
            Ok(Err(said))
        }
    }
}

async fn record(
    h: &Handlers,
    repo: &RepoCtx,
    deployment: &str,
    result: DriftResult,
    summary: &str,
    issue: Option<IssueNumber>,
    line: String,
) -> anyhow::Result<Checked> {
    h.store
        .record_drift_check(repo.name(), deployment, result.as_str(), summary, issue)
        .await?;
    Ok(Checked { line })
}

/// What to do about drift, as the plan comment's next steps.
async fn what_to_do(h: &Handlers, repo: &RepoCtx, deployment: &str) -> anyhow::Result<Vec<String>> {
    let request = h
        .store
        .request_for_deployment(repo.name(), deployment)
        .await?;
    let on = request
        .map(|r| format!(" on #{}", r.issue))
        .unwrap_or_default();
    Ok(vec![
        "PromptOps never applies drift away by itself.".to_owned(),
        format!(
            "To put the deployment back as configured, re-apply it by pull request: comment `/promptops plan`{on} (or push a change to its `terraform.tfvars`) and merge."
        ),
        format!(
            "If the change was intended, make the configuration say so in a pull request; if the deployment is no longer needed, comment `/promptops destroy`{on}."
        ),
        format!(
            "Comment `/promptops drift`{on} to check again; this issue closes when a check finds no drift."
        ),
    ])
}
