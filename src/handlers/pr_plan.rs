//! `terraform plan` for a pull request: on open / push / reopen, and on `/promptops plan`.
//!
//! The PR is re-read from GitHub first: a job that waited behind a newer push, or whose PR
//! was closed meanwhile, does nothing. A plan runs the head's code, so `plan_gate` decides
//! whether it runs now (forks never; code changes after a maintainer's go-ahead). Each
//! deployment's variables are checked against the catalog and the policy, then the
//! deployment is locked by the PR before it is planned; one held by another PR is named,
//! not planned.
//!
//! A PR that removes a deployment's variables (a destroy PR) gets `terraform plan -destroy`
//! made from the commit of the deployment's last successful apply: merging destroys with
//! that commit's code and variables (the removed file is gone from the head), so the plan
//! reviewers see is the one merging carries out.

use anyhow::Context as _;
use promptops_github::client::{CheckConclusion, PrState, PullRequestInfo};
use promptops_store::{LockOutcome, RunStatus};
use promptops_terraform::comment::{CommentOptions, render_plan_comments};
use promptops_terraform::{PlanMode, PlanOutcome, Runner};
use tracing::info;

use super::comment_key;
use super::plan_gate::{self, Gate, Trigger};
use super::terraform_steps::{self as tf, PLAN_CHECK};
use super::vars_check::{self, Refusal, Vars};
use super::{Handlers, RepoCtx, deployment_state};
use crate::http::metrics::RunResult;
use crate::pipeline::run_kind::RunKind;
use crate::repo_config::RepoConfig;

/// Whether a plan for an already planned head SHA runs again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Repeat {
    /// Events: one plan per head SHA, however often GitHub delivers.
    OncePerSha,
    /// `/promptops plan`: the user asked for a fresh plan.
    Always,
}

/// Plans every deployment the PR touches at its current head, when `expected_sha` (the
/// head the event saw) is still the head and the gate lets it.
pub(super) async fn plan_pr(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
    number: u64,
    expected_sha: Option<&str>,
    trigger: Trigger<'_>,
) -> anyhow::Result<()> {
    let repeat = match trigger {
        Trigger::Event { .. } => Repeat::OncePerSha,
        Trigger::Command { .. } => Repeat::Always,
    };
    let Some(runner) = h.terraform.as_ref() else {
        if let Trigger::Command { reply_key, .. } = trigger {
            tf::reply_no_runner(repo, number, "plan", reply_key).await?;
        }
        return Ok(());
    };
    let pr = repo
        .api
        .get_pr(repo.owner(), repo.name(), number)
        .await
        .with_context(|| format!("reading PR #{number}"))?;
    if pr.state != PrState::Open {
        info!(pr = number, "not planned: the pull request is closed");
        if !pr.merged {
            // A retry of a plan that took a lock and then failed: the close event may have
            // been handled in between, so nobody else would free the lock.
            release_locks_of(h, repo, number).await?;
        }
        return Ok(());
    }
    if expected_sha.is_some_and(|sha| sha != pr.head_sha) {
        info!(
            pr = number,
            "not planned: a newer commit was pushed; its event plans it"
        );
        return Ok(());
    }
    let files = repo
        .api
        .pr_files(repo.owner(), repo.name(), number)
        .await
        .with_context(|| format!("listing the files of #{number}"))?;
    // Unless a go-ahead names the commit, the gate decides on the files, which GitHub
    // lists at the current head: they may be a newer head's, and deciding on them could
    // plan the head read above without its go-ahead. The newer head's event plans it.
    let sha_bound = matches!(
        trigger,
        Trigger::Command {
            approved: Some(_),
            ..
        }
    );
    if !sha_bound && let Some(newer) = moved_head(repo, &pr).await? {
        info!(
            pr = number,
            "not planned: a commit was pushed while checking"
        );
        if let Trigger::Command { reply_key, .. } = trigger {
            let body = format!(
                "`/promptops plan`: commit `{}` was pushed while this pull request was checked, so nothing was planned. Comment `/promptops plan` again.",
                tf::short(&newer)
            );
            repo.comment(number, reply_key, &body).await?;
        }
        return Ok(());
    }
    if let Gate::Closed { key, comment } =
        plan_gate::check(repo, config, &pr, &files, trigger).await?
    {
        info!(pr = number, "not planned: waiting for a go-ahead");
        return repo.comment(number, &key, &comment).await;
    }
    let tf::Touched {
        deployments,
        misnamed,
    } = tf::touched_deployments(h, repo, config, number, &pr.head_sha).await?;
    if !misnamed.is_empty() {
        repo.comment(
            number,
            "tf-misnamed",
            &misnamed_comment(&misnamed, &config.terraform.deployments_dir),
        )
        .await?;
    }
    if deployments.is_empty() {
        info!(
            pr = number,
            "not planned: the pull request touches no deployment"
        );
        return Ok(());
    }
    for deployment in &deployments {
        if repeat == Repeat::OncePerSha
            && tf::already_ran(h, repo, number, deployment, RunKind::Plan, &pr.head_sha).await?
        {
            continue;
        }
        plan_deployment(h, runner, repo, config, &pr, deployment).await?;
    }
    // Closed while planning: the close handler may have run before the lock was taken.
    let after = repo
        .api
        .get_pr(repo.owner(), repo.name(), number)
        .await
        .with_context(|| format!("reading PR #{number}"))?;
    if after.state != PrState::Open && !after.merged {
        for deployment in &deployments {
            h.store
                .release_lock(&repo.full_name(), deployment, number)
                .await?;
        }
    }
    Ok(())
}

/// The head of `pr` now, when it is no longer the one read before.
async fn moved_head(repo: &RepoCtx, pr: &PullRequestInfo) -> anyhow::Result<Option<String>> {
    let now = repo
        .api
        .get_pr(repo.owner(), repo.name(), pr.number)
        .await
        .with_context(|| format!("reading PR #{}", pr.number))?;
    Ok((now.head_sha != pr.head_sha).then_some(now.head_sha))
}

/// Tells the pull request which directories are not deployments PromptOps will plan.
fn misnamed_comment(
    misnamed: &std::collections::BTreeSet<String>,
    deployments_dir: &str,
) -> String {
    let list: Vec<String> = misnamed
        .iter()
        .map(|name| {
            // Directory names come from the pull request: a code span they cannot close.
            let path = format!("{}/{name}", deployments_dir.trim_end_matches('/'));
            format!("- {}", promptops_commands::code_span(&path))
        })
        .collect();
    format!(
        "These directories are not planned or applied: their names are not valid deployment names.\n\n{}\n\nA deployment name {}. Rename the directory (and `deployment_name` in its `terraform.tfvars`) to plan it.",
        list.join("\n"),
        promptops_core::NAME_RULE
    )
}

/// Releases every deployment lock `pr` holds in the repository, without a comment; returns
/// the deployments whose lock this call released.
pub(super) async fn release_locks_of(
    h: &Handlers,
    repo: &RepoCtx,
    pr: u64,
) -> anyhow::Result<Vec<String>> {
    let full_name = repo.full_name();
    let mut released = Vec::new();
    for lock in h.store.list_locks(Some(&full_name)).await? {
        if lock.pr == pr
            && h.store
                .release_lock(&full_name, &lock.deployment, pr)
                .await?
        {
            released.push(lock.deployment);
        }
    }
    Ok(released)
}

async fn plan_deployment(
    h: &Handlers,
    runner: &Runner,
    repo: &RepoCtx,
    config: &RepoConfig,
    pr: &PullRequestInfo,
    deployment: &str,
) -> anyhow::Result<()> {
    let full_name = repo.full_name();
    let sha = pr.head_sha.as_str();
    let vars = vars_check::read(h, repo, config, deployment, sha).await?;
    if let Vars::Invalid(problems) = &vars {
        let refusal = Refusal {
            kind: RunKind::Plan,
            check_name: PLAN_CHECK,
            deployment,
            pr: pr.number,
            sha,
        };
        return vars_check::refuse(h, repo, config, &refusal, problems).await;
    }
    let lock_key = comment_key::lock(deployment);
    if let LockOutcome::HeldBy { pr: holder, since } = h
        .store
        .acquire_lock(&full_name, deployment, pr.number)
        .await?
    {
        let body = format!(
            "🔒 Deployment `{deployment}` is locked by #{holder} (since {}), so this pull request was not planned. It can be planned once #{holder} is merged or closed, or after a maintainer comments `/promptops unlock` on #{holder}.",
            since.format("%Y-%m-%d %H:%M UTC")
        );
        repo.comment(pr.number, &lock_key, &body).await?;
        let check = tf::start_check(repo, PLAN_CHECK, sha, deployment).await?;
        return tf::finish_check(
            repo,
            check,
            CheckConclusion::Failure,
            format!("{deployment}: locked by #{holder}"),
            body,
            None,
        )
        .await;
    }
    // This PR was told earlier that another one held the lock: say that it holds it now.
    if repo.has_comment(pr.number, &lock_key).await? {
        let body = format!(
            "🔒 Deployment `{deployment}` is now locked by this pull request (until it is merged or closed); its plan follows."
        );
        repo.comment(pr.number, &lock_key, &body).await?;
    }
    // A PR that removes the deployment's variables destroys it on merge, with the code and
    // variables of its last successful apply (see `pr_merge`): the plan shown is made from
    // that same commit, so that reviewers see exactly what merging destroys.
    let (mode, source_sha) = if matches!(vars, Vars::Valid) {
        (PlanMode::Normal, sha.to_owned())
    } else {
        match deployment_state::last_applied_sha(h, repo, deployment).await? {
            Some(applied) => (PlanMode::Destroy, applied),
            None => return nothing_to_destroy(h, repo, pr, deployment).await,
        }
    };
    let source = tf::tarball(repo, &source_sha).await?;
    let check = tf::start_check(repo, PLAN_CHECK, sha, deployment).await?;
    let run = tf::start_run(h, repo, Some(pr.number), deployment, RunKind::Plan, sha).await?;
    let spec = match tf::spec_for(config, deployment, source, &source_sha) {
        Ok(spec) => spec.with_mode(mode),
        Err(problem) => {
            return could_not_plan(
                h,
                runner,
                repo,
                pr.number,
                deployment,
                (check, run),
                &problem,
            )
            .await;
        }
    };
    let started = std::time::Instant::now();
    let report = match runner.plan(&spec).await {
        Ok(report) => report,
        Err(err) => {
            h.metrics
                .terraform_run(RunKind::Plan, RunResult::CouldNotRun, started.elapsed());
            let problem = err.to_string();
            return could_not_plan(
                h,
                runner,
                repo,
                pr.number,
                deployment,
                (check, run),
                &problem,
            )
            .await;
        }
    };
    h.metrics
        .terraform_run(RunKind::Plan, report.outcome.into(), started.elapsed());
    let options = CommentOptions {
        next_steps: mode
            .is_destroy()
            .then(|| destroy_steps(report.outcome, &source_sha)),
        run_url: h.links.run(run),
        // The lock was taken above: this pull request holds it while the plan is shown.
        locked_here: true,
        explanation: super::plan_explain::explain(h, repo, config, &report).await,
        ..CommentOptions::default()
    };
    let parts = render_plan_comments(&report, &options);
    tf::post_parts(
        repo,
        pr.number,
        &comment_key::report(RunKind::Plan, deployment),
        &parts,
    )
    .await?;
    let (conclusion, status) = match report.outcome {
        PlanOutcome::Changes | PlanOutcome::NoChanges => {
            (CheckConclusion::Success, RunStatus::Succeeded)
        }
        PlanOutcome::Failed => (CheckConclusion::Failure, RunStatus::Failed),
    };
    let what = if mode.is_destroy() {
        format!(
            "Terraform destroy plan for deployment `{deployment}` (the code and variables of its last apply, `{}`)",
            tf::short(&source_sha)
        )
    } else {
        format!("Terraform plan for deployment `{deployment}`")
    };
    let output = report.output.text();
    tf::finish_check(
        repo,
        check,
        conclusion,
        format!("{deployment}: {}", report.summary),
        format!(
            "{what} at `{}`: **{}**\n\n{} to create · {} to update · {} to replace · {} to delete",
            tf::short(sha),
            report.summary,
            report.counts.create,
            report.counts.update,
            report.counts.replace,
            report.counts.delete
        ),
        Some(promptops_commands::inert_block(output.trim_end())),
    )
    .await?;
    tf::finish_run(h, runner, run, status, &report.summary, &output).await
}

/// A plan that could not start: said on the PR and the check, recorded as failed.
async fn could_not_plan(
    h: &Handlers,
    runner: &Runner,
    repo: &RepoCtx,
    pr: u64,
    deployment: &str,
    (check, run): (u64, i64),
    problem: &str,
) -> anyhow::Result<()> {
    let failed = tf::CouldNotRun {
        kind: RunKind::Plan,
        deployment,
        issue: pr,
        report_key: comment_key::report(RunKind::Plan, deployment),
        check: Some(check),
        run,
        advice: Some("Fix it and push, or comment `/promptops plan` to retry."),
    };
    tf::report_could_not_run(h, runner, repo, failed, problem).await
}

/// Next steps under a destroy plan: merging destroys with the commit the plan used.
fn destroy_steps(outcome: PlanOutcome, applied: &str) -> Vec<String> {
    let applied = tf::short(applied);
    match outcome {
        PlanOutcome::Changes => vec![
            format!("Review the resources above: **merging this pull request destroys them**, with the code and variables of the deployment's last apply (commit `{applied}`), as planned here."),
            "The deployment is locked by this pull request until it is merged or closed. Comment `/promptops plan` to plan again.".into(),
        ],
        PlanOutcome::NoChanges => vec![format!(
            "Nothing to destroy: the deployment's state holds no resources (last apply: commit `{applied}`). Merging removes its variables only."
        )],
        PlanOutcome::Failed => vec![
            format!("Read the error in the output below. A destroy plan uses the code and variables of the deployment's last apply (commit `{applied}`), not this pull request's head."),
            "Comment `/promptops plan` to retry.".into(),
        ],
    }
}

/// A PR that removes the variables of a deployment PromptOps never applied: merging it
/// destroys nothing.
async fn nothing_to_destroy(
    h: &Handlers,
    repo: &RepoCtx,
    pr: &PullRequestInfo,
    deployment: &str,
) -> anyhow::Result<()> {
    let sha = pr.head_sha.as_str();
    let body = format!(
        "### Deployment `{deployment}` removed\n\nThis pull request removes the deployment's variables. PromptOps has no record of a successful apply of `{deployment}`, so merging it destroys nothing."
    );
    let title = format!("{deployment}: removed, nothing applied to destroy");
    tf::post_parts(
        repo,
        pr.number,
        &comment_key::report(RunKind::Plan, deployment),
        std::slice::from_ref(&body),
    )
    .await?;
    let check = tf::start_check(repo, PLAN_CHECK, sha, deployment).await?;
    tf::finish_check(repo, check, CheckConclusion::Success, title, body, None).await?;
    let run = tf::start_run(h, repo, Some(pr.number), deployment, RunKind::Plan, sha).await?;
    h.store
        .finish_run(run, RunStatus::Succeeded, "nothing to destroy", "")
        .await?;
    Ok(())
}
