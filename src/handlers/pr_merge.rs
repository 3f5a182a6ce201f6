//! A pull request closed: merged → plan the merge commit and apply exactly that plan;
//! closed unmerged → release its locks. `/promptops apply` on a merged PR retries.
//!
//! Only merges into the default branch (or a branch `apply.branches` names) are applied:
//! a merge into any other branch was not reviewed for what runs. Each deployment's
//! variables at the merge commit are checked against the catalog and the policy first;
//! variables that break a rule are named and nothing runs.
//!
//! The lock is released only after a successful apply: a failed one keeps the deployment
//! locked by its PR, so that nothing else is applied on top of a half-applied state.

use std::collections::BTreeSet;

use anyhow::Context as _;
use promptops_github::client::CheckConclusion;
use promptops_store::{LockOutcome, RunFilter, RunStatus};
use promptops_terraform::comment::{
    CommentOptions, IssueNote, render_apply_comments, render_issue_note,
};
use promptops_terraform::{ApplyOutcome, ApplyReport, Runner};

use super::comment_key;
use super::pr_plan::release_locks_of;
use super::terraform_steps::{self as tf, APPLY_CHECK};
use super::vars_check::{self, Refusal, Vars};
use super::{Handlers, RepoCtx, deployment_state};
use crate::http::metrics::RunResult;
use crate::pipeline::jobs::PrSnapshot;
use crate::pipeline::run_kind::RunKind;
use crate::repo_config::RepoConfig;

/// Whether an apply for an already applied merge commit runs again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Retry {
    /// The `closed` event: once per merge commit, however often GitHub delivers it.
    No,
    /// `/promptops apply`: the user asked to try again.
    Yes,
}

/// `pull_request.closed`.
pub(super) async fn pr_closed(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
    pr: &PrSnapshot,
) -> anyhow::Result<()> {
    match (&pr.merge_commit_sha, pr.merged) {
        (Some(sha), true) => apply_merged(h, repo, config, pr.number, sha, Retry::No).await,
        _ => release_locks(h, repo, pr.number).await,
    }
}

/// Releases every lock the PR holds and says which.
async fn release_locks(h: &Handlers, repo: &RepoCtx, pr: u64) -> anyhow::Result<()> {
    let released = release_locks_of(h, repo, pr).await?;
    if released.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = released.iter().map(|d| format!("`{d}`")).collect();
    let body = format!(
        "🔓 Closed without merging: released the lock on {}. Nothing was applied.",
        names.join(", ")
    );
    repo.comment(pr, "lock-released", &body).await
}

/// Plans and applies the merge commit `sha` of PR `pr` for each deployment it holds or
/// touched.
pub(super) async fn apply_merged(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
    pr: u64,
    sha: &str,
    retry: Retry,
) -> anyhow::Result<()> {
    let Some(runner) = h.terraform.as_ref() else {
        if retry == Retry::Yes {
            tf::reply_no_runner(repo, pr, "apply", "tf-apply-refused").await?;
        }
        return Ok(());
    };
    if let Some(refusal) = wrong_base(repo, config, pr).await? {
        release_locks_of(h, repo, pr).await?;
        return repo.comment(pr, "tf-apply-refused", &refusal).await;
    }
    let deployments = merged_deployments(h, repo, config, pr, sha).await?;
    for deployment in &deployments {
        if retry == Retry::No
            && (tf::already_ran(h, repo, pr, deployment, RunKind::Apply, sha).await?
                || tf::already_ran(h, repo, pr, deployment, RunKind::Destroy, sha).await?)
        {
            continue;
        }
        apply_deployment(h, runner, repo, config, pr, sha, deployment).await?;
    }
    Ok(())
}

/// Why a merge into this PR's base branch is not applied; `None` when it is.
async fn wrong_base(
    repo: &RepoCtx,
    config: &RepoConfig,
    pr: u64,
) -> anyhow::Result<Option<String>> {
    let info = repo
        .api
        .get_pr(repo.owner(), repo.name(), pr)
        .await
        .with_context(|| format!("reading PR #{pr}"))?;
    let default_branch = repo.default_branch().await?;
    if config.apply.applies_to(&info.base_ref, &default_branch) {
        return Ok(None);
    }
    let named = if config.apply.branches.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = config
            .apply
            .branches
            .iter()
            .map(|b| promptops_commands::inert_inline(b))
            .collect();
        format!(" or into {}", list.join(", "))
    };
    Ok(Some(format!(
        "Not applied: this pull request was merged into {}, and PromptOps applies only reviewed merges into the default branch `{default_branch}`{named} (setting `apply.branches` in `.github/promptops.yml`). Nothing was run. Open a pull request into `{default_branch}` to apply the change.",
        promptops_commands::inert_inline(&info.base_ref),
    )))
}

/// The deployments a merged PR applies: those it locked or planned, its request's, and
/// the files it changed (GitHub still lists them after the merge).
async fn merged_deployments(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
    pr: u64,
    sha: &str,
) -> anyhow::Result<BTreeSet<String>> {
    let full_name = repo.full_name();
    let mut deployments = tf::touched_deployments(h, repo, config, pr, sha)
        .await?
        .deployments;
    for lock in h.store.list_locks(Some(&full_name)).await? {
        if lock.pr == pr {
            deployments.insert(lock.deployment);
        }
    }
    let runs = h
        .store
        .list_runs(&RunFilter {
            repo: Some(full_name),
            pr: Some(pr),
            ..RunFilter::default()
        })
        .await?;
    deployments.extend(runs.into_iter().map(|run| run.deployment));
    Ok(deployments)
}

async fn apply_deployment(
    h: &Handlers,
    runner: &Runner,
    repo: &RepoCtx,
    config: &RepoConfig,
    pr: u64,
    sha: &str,
    deployment: &str,
) -> anyhow::Result<()> {
    let full_name = repo.full_name();
    let vars = vars_check::read(h, repo, config, deployment, sha).await?;
    if let Vars::Invalid(problems) = &vars {
        // Nothing is applied on top of variables that break the rules; the lock goes, so
        // that the pull request fixing them can be planned.
        h.store.release_lock(&full_name, deployment, pr).await?;
        let refusal = Refusal {
            kind: RunKind::Apply,
            check_name: APPLY_CHECK,
            deployment,
            pr,
            sha,
        };
        return vars_check::refuse(h, repo, config, &refusal, problems).await;
    }
    if let LockOutcome::HeldBy { pr: holder, .. } =
        h.store.acquire_lock(&full_name, deployment, pr).await?
    {
        let body = format!(
            "🔒 #{pr} was merged, but deployment `{deployment}` is locked by #{holder}, so it was not applied. Once #{holder} is merged or closed (or after `/promptops unlock` on it), comment `/promptops apply` here."
        );
        return repo
            .comment(pr, &comment_key::lock(deployment), &body)
            .await;
    }
    // A merge that removed the deployment's variables destroys it, with the variables
    // (and code) of its last successful apply.
    let (kind, source_sha) = if matches!(vars, Vars::Valid) {
        (RunKind::Apply, sha.to_owned())
    } else {
        match deployment_state::last_applied_sha(h, repo, deployment).await? {
            Some(applied) => (RunKind::Destroy, applied),
            None => {
                h.store.release_lock(&full_name, deployment, pr).await?;
                let body = format!(
                    "Deployment `{deployment}` was removed and PromptOps has no record of a successful apply of it, so nothing was destroyed. Its lock is released."
                );
                return tf::post_parts(
                    repo,
                    pr,
                    &comment_key::report(RunKind::Apply, deployment),
                    &[body],
                )
                .await;
            }
        }
    };
    let source = tf::tarball(repo, &source_sha).await?;
    let check = tf::start_check(repo, APPLY_CHECK, sha, deployment).await?;
    let run = tf::start_run(h, repo, Some(pr), deployment, kind, sha).await?;
    let started = std::time::Instant::now();
    let report = match tf::spec_for(config, deployment, source, &source_sha) {
        Ok(spec) if kind == RunKind::Destroy => {
            runner.destroy(&spec).await.map_err(|err| err.to_string())
        }
        Ok(spec) => runner.apply(&spec).await.map_err(|err| err.to_string()),
        Err(problem) => Err(problem),
    };
    let result = report
        .as_ref()
        .map_or(RunResult::CouldNotRun, |report| report.outcome.into());
    h.metrics.terraform_run(kind, result, started.elapsed());
    let report = match report {
        Ok(report) => report,
        Err(problem) => {
            let failed = tf::CouldNotRun {
                kind,
                deployment,
                issue: pr,
                report_key: comment_key::report(RunKind::Apply, deployment),
                check: Some(check),
                run,
                advice: Some(
                    "The deployment stays locked by this pull request. Fix the problem, then comment `/promptops apply` here to retry.",
                ),
            };
            return tf::report_could_not_run(h, runner, repo, failed, &problem).await;
        }
    };
    let configuration = super::configuration_failure::find(h, &report).await;
    let options = CommentOptions {
        run_url: h.links.run(run),
        configuration_failure: configuration.clone(),
        ..CommentOptions::default()
    };
    let parts = render_apply_comments(&report, &options);
    let report_key = comment_key::report(RunKind::Apply, deployment);
    tf::post_parts(repo, pr, &report_key, &parts).await?;
    let succeeded = matches!(
        report.outcome,
        ApplyOutcome::Applied | ApplyOutcome::NothingToApply
    );
    if let Some(record) = h.store.request_for_pr(&full_name, pr).await?
        && record.issue != pr
    {
        let closes_issue = succeeded && kind == RunKind::Apply;
        note_on_issue(repo, record.issue, pr, &report_key, &report, closes_issue).await?;
    }
    let output = if report.output.total_bytes > 0 {
        report.output.text()
    } else {
        report.plan.output.text()
    };
    let summary = match &report.actions_summary {
        Some(actions) => format!("{} {actions}", report.summary),
        None => report.summary.clone(),
    };
    tf::finish_check(
        repo,
        check,
        if succeeded {
            CheckConclusion::Success
        } else {
            CheckConclusion::Failure
        },
        format!("{deployment}: {}", report.summary),
        super::configuration_failure::with_block(
            format!(
                "Terraform {kind} for deployment `{deployment}` at `{}` (merge of #{pr}): **{summary}**",
                tf::short(sha)
            ),
            configuration.as_ref(),
        ),
        Some(promptops_commands::inert_block(output.trim_end())),
    )
    .await?;
    let status = if succeeded {
        h.store
            .release_lock(&full_name, deployment, pr)
            .await
            .context("releasing the lock after the apply")?;
        if kind == RunKind::Destroy {
            super::expiry::on_destroyed(h, repo, deployment).await?;
        } else {
            super::expiry::on_applied(h, repo, config, deployment).await?;
            super::drift::ensure_schedule(h, repo, config).await?;
        }
        RunStatus::Succeeded
    } else {
        RunStatus::Failed
    };
    tf::finish_run(h, runner, run, status, &summary, &output).await
}

/// A short note on the issue that asked for the deployment, linking the full report on
/// the pull request; after a successful apply the issue is closed (the pull request's body
/// links it without a closing keyword, so that merging alone does not close it).
async fn note_on_issue(
    repo: &RepoCtx,
    issue: u64,
    pr: u64,
    report_key: &str,
    report: &ApplyReport,
    closes_issue: bool,
) -> anyhow::Result<()> {
    let first_part = comment_key::part(report_key, 1);
    let report_comment = repo
        .api
        .find_comment(repo.owner(), repo.name(), pr, &first_part)
        .await
        .with_context(|| format!("finding the apply report on #{pr}"))?;
    let note = IssueNote {
        pr,
        report_url: report_comment.as_ref().map(|c| c.html_url.as_str()),
        closes_issue,
    };
    let body = render_issue_note(report, &note);
    repo.comment(issue, &first_part, &body).await?;
    if closes_issue {
        repo.api
            .close_issue(repo.owner(), repo.name(), issue)
            .await
            .with_context(|| format!("closing issue #{issue} after the apply"))?;
    }
    Ok(())
}

/// `/promptops apply` on a conversation: retries the apply of a merged PR.
pub(super) async fn apply_command(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
    issue: u64,
    is_pull_request: bool,
    key: &str,
) -> anyhow::Result<()> {
    if !is_pull_request {
        let body = "`/promptops apply` retries the apply of a merged pull request: comment it on that pull request.";
        return repo.comment(issue, key, body).await;
    }
    let pr = repo
        .api
        .get_pr(repo.owner(), repo.name(), issue)
        .await
        .with_context(|| format!("reading PR #{issue}"))?;
    match (&pr.merge_commit_sha, pr.merged) {
        (Some(sha), true) => apply_merged(h, repo, config, issue, sha, Retry::Yes).await,
        _ => {
            let body = "This pull request is not merged: merging it applies its plan. `/promptops apply` retries a failed apply after the merge.";
            repo.comment(issue, key, body).await
        }
    }
}
