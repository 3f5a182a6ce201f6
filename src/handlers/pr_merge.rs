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
use promptops_core::{CommitSha, IssueNumber, PrNumber, ValidationErrors};
use promptops_github::client::{CheckOutput, PullRequestInfo};
use promptops_store::{LockOutcome, RunFilter};
use promptops_terraform::comment::{
    CommentOptions, IssueNote, render_apply_comments, render_issue_note,
};
use promptops_terraform::{
    ApplyOutcome, ApplyReport, PlanMode, PlanSpec, Reservation, RunEnd, RunPurpose, Runner,
};

use super::apply_guard::{superseded, unauthorised_merge};
use super::comment_key;
use super::pr_plan::release_locks_of;
use super::terraform_run::{Finish, ReportTo, RunStart, TerraformRun};
use super::terraform_steps::{self as tf, APPLY_CHECK, CouldNotRun};
use super::vars_check::{self, Refusal, Vars};
use super::{Handlers, RepoCtx, deployment_state, too_large};
use crate::http::metrics::RunResult;
use crate::pipeline::jobs::{IssueSnapshot, PrSnapshot};
use crate::repo_config::RepoConfig;
use promptops_store::RunKind;

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

/// A merge whose repository settings cannot be read: nothing is applied, and the pull
/// request is told in a comment of its own (not the settings reply edited in place, which
/// notifies nobody) what to fix and that `/promptops apply` then applies the merge.
pub(super) async fn settings_stop_apply(
    repo: &RepoCtx,
    pr: PrNumber,
    err: &crate::repo_config::RepoConfigError,
) -> anyhow::Result<()> {
    let body = format!(
        "Merged, but nothing was applied: PromptOps cannot act on this repository until its settings are fixed:\n\n{}\n\nFix `{}` on the default branch, then comment `/promptops apply` here to apply this merge.",
        promptops_commands::inert_block(&err.to_string()),
        err.path,
    );
    repo.comment(pr, "tf-apply-settings", &body).await
}

/// Releases every lock the PR holds and says which.
pub(super) async fn release_locks(
    h: &Handlers,
    repo: &RepoCtx,
    pr: PrNumber,
) -> anyhow::Result<()> {
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
    pr: PrNumber,
    sha: &CommitSha,
    retry: Retry,
) -> anyhow::Result<()> {
    let Some(runner) = h.terraform.as_ref() else {
        if retry == Retry::Yes {
            tf::reply_no_runner(repo, pr.into(), "apply", "tf-apply-refused").await?;
        }
        return Ok(());
    };
    // The base check and the PR's files are read at once: both only read, and the files
    // are used only when the base is one that applies.
    let (refusal, files) = tokio::join!(
        wrong_base(repo, config, pr),
        repo.api.pr_files(repo.name(), pr)
    );
    let (refusal, info) = refusal?;
    if let Some(refusal) = refusal {
        release_locks_of(h, repo, pr).await?;
        return repo.comment(pr, "tf-apply-refused", &refusal).await;
    }
    // `/promptops apply` comes from someone whose permission the command already checked.
    if retry == Retry::No
        && let Some(problem) = unauthorised_merge(repo, config, &info).await?
    {
        return repo.comment(pr, "tf-apply-refused", &problem).await;
    }
    let files = files.with_context(|| format!("listing the files of #{pr}"))?;
    let files = match files.paths(info.changed_files) {
        Ok(files) => files,
        Err(cut) => {
            let refusal = too_large::merge_refusal(&cut);
            return repo.comment(pr, "tf-apply-refused", &refusal).await;
        }
    };
    let deployments = merged_deployments(h, repo, config, (pr, &files), sha).await?;
    let merge = Merge { pr, sha };
    for deployment in &deployments {
        if retry == Retry::No
            && (tf::already_ran(h, repo, pr, deployment, RunKind::Apply, sha).await?
                || tf::already_ran(h, repo, pr, deployment, RunKind::Destroy, sha).await?)
        {
            continue;
        }
        if retry == Retry::Yes
            && let Some(problem) = superseded(h, repo, deployment, sha).await?
        {
            let key = format!("tf-apply-superseded:{deployment}");
            repo.comment(pr, &key, &problem).await?;
            continue;
        }
        apply_deployment(h, runner, repo, config, merge, deployment).await?;
    }
    Ok(())
}

/// Why a merge into this PR's base branch is not applied (`None` when it is), and the
/// pull request as read for it.
async fn wrong_base(
    repo: &RepoCtx,
    config: &RepoConfig,
    pr: PrNumber,
) -> anyhow::Result<(Option<String>, PullRequestInfo)> {
    let info = async {
        repo.api
            .get_pr(repo.name(), pr)
            .await
            .with_context(|| format!("reading PR #{pr}"))
    };
    let (info, default_branch) = tokio::join!(info, repo.default_branch());
    let (info, default_branch) = (info?, default_branch?);
    if config.apply.applies_to(&info.base_ref, &default_branch) {
        return Ok((None, info));
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
    let refusal = format!(
        "Not applied: this pull request was merged into {}, and PromptOps applies only reviewed merges into the default branch `{default_branch}`{named} (setting `apply.branches` in `.github/promptops.yml`). Nothing was run. Open a pull request into `{default_branch}` to apply the change.",
        promptops_commands::inert_inline(&info.base_ref),
    );
    Ok((Some(refusal), info))
}

/// The deployments a merged PR applies: those it locked or planned, its request's, and
/// those of the `files` it changed (GitHub still lists them after the merge).
async fn merged_deployments(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
    (pr, files): (PrNumber, &[String]),
    sha: &CommitSha,
) -> anyhow::Result<BTreeSet<String>> {
    let repo_name = repo.name();
    let mut deployments = tf::touched_deployments(h, repo, config, (pr, files), sha)
        .await?
        .deployments;
    for lock in h.store.list_locks(Some(repo_name)).await? {
        if lock.pr == pr {
            deployments.insert(lock.deployment);
        }
    }
    let runs = h
        .store
        .list_runs(&RunFilter {
            repo: Some(repo_name.clone()),
            pr: Some(pr),
            ..RunFilter::default()
        })
        .await?;
    deployments.extend(runs.into_iter().map(|run| run.deployment));
    Ok(deployments)
}

/// A merged pull request and its merge commit.
#[derive(Clone, Copy)]
struct Merge<'a> {
    pr: PrNumber,
    sha: &'a CommitSha,
}

/// Applies one deployment at the merge commit: its variables checked, its lock taken;
/// destroyed when the merge removed its variables.
async fn apply_deployment(
    h: &Handlers,
    runner: &Runner,
    repo: &RepoCtx,
    config: &RepoConfig,
    merge: Merge<'_>,
    deployment: &str,
) -> anyhow::Result<()> {
    let Merge { pr, sha } = merge;
    // The merge commit's source is downloaded while its variables are read: it is what
    // an apply runs (a destroy runs its last apply's commit instead, fetched below).
    let (vars, merge_source) = tokio::join!(
        vars_check::read(h, repo, config, deployment, sha.as_str()),
        tf::tarball(runner, repo, sha)
    );
    let vars = vars?;
    if let Vars::Invalid(problems) = &vars {
        return refuse_vars(h, repo, config, (merge, deployment), problems).await;
    }
    if !take_lock(h, repo, pr, deployment).await? {
        return Ok(());
    }
    let Some((kind, source_sha)) = apply_source(h, repo, merge, deployment, &vars).await? else {
        return Ok(());
    };
    // The run's sandboxes start while the source is at hand and the run is recorded (a
    // reservation that fails is left to the apply below, which reports it).
    let mode = plan_mode(kind);
    let reservation = runner
        .reserve(deployment, RunPurpose::applying(mode))
        .await
        .ok();
    let source = match source_sha == *sha {
        true => merge_source,
        false => tf::tarball(runner, repo, &source_sha).await,
    };
    // A source over the limit is reported like any run that could not run.
    let source = tf::source_or_refusal(source, &source_sha)?;
    let start = RunStart {
        kind,
        deployment,
        sha,
        pr: Some(pr),
        check: Some(APPLY_CHECK),
        report: Some(ReportTo {
            issue: pr.into(),
            key: comment_key::report(RunKind::Apply, deployment),
        }),
    };
    let run = TerraformRun::start(h, runner, repo, start).await?;
    let (report, end) =
        match source.and_then(|source| tf::spec_for(config, deployment, source, &source_sha)) {
            Ok(spec) => run_apply(runner, reservation, spec.with_mode(mode)).await,
            Err(problem) => (Err(problem), RunEnd::default()),
        };
    run.observe(
        report
            .as_ref()
            .map_or(RunResult::CouldNotRun, |report| report.outcome.into()),
    );
    let reported = match report {
        Ok(report) => {
            let applied = Applied {
                kind,
                deployment,
                merge,
                report: &report,
            };
            report_apply(h, repo, config, run, applied).await
        }
        Err(problem) => {
            let advice = "The deployment stays locked by this pull request. Fix the problem, then comment `/promptops apply` here to retry.";
            run.fail(&problem, Some(advice)).await
        }
    };
    end.finish().await;
    reported
}

/// Refuses to apply `deployment`'s variables that break the rules: nothing is applied on
/// top of them, and the lock goes, so that the pull request fixing them can be planned.
async fn refuse_vars(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
    (merge, deployment): (Merge<'_>, &str),
    problems: &ValidationErrors,
) -> anyhow::Result<()> {
    let Merge { pr, sha } = merge;
    h.store.release_lock(repo.name(), deployment, pr).await?;
    let refusal = Refusal {
        kind: RunKind::Apply,
        check_name: APPLY_CHECK,
        deployment,
        pr,
        sha,
    };
    vars_check::refuse(h, repo, config, &refusal, problems).await
}

/// How Terraform plans a run of `kind` (an apply's `apply_source` chose).
fn plan_mode(kind: RunKind) -> PlanMode {
    match kind {
        RunKind::Destroy => PlanMode::Destroy,
        _ => PlanMode::Normal,
    }
}

/// Applies `spec` (destroys, in [`PlanMode::Destroy`]) in the run reserved for it, if any;
/// the run ends (its work dir removed, the next run's sandboxes started) when the caller
/// finishes it, after the report.
async fn run_apply(
    runner: &Runner,
    reservation: Option<Reservation>,
    spec: PlanSpec,
) -> (Result<ApplyReport, CouldNotRun>, RunEnd) {
    let (applied, end) = match reservation {
        Some(reservation) => runner.apply_reserved_then_end(reservation, &spec).await,
        None => (runner.apply(&spec).await, RunEnd::default()),
    };
    (applied.map_err(Into::into), end)
}

/// Takes the deployment's lock for the merged `pr`; when another pull request holds it,
/// says so and returns `false`.
async fn take_lock(
    h: &Handlers,
    repo: &RepoCtx,
    pr: PrNumber,
    deployment: &str,
) -> anyhow::Result<bool> {
    let outcome = h.store.acquire_lock(repo.name(), deployment, pr).await?;
    let LockOutcome::HeldBy { pr: holder, .. } = outcome else {
        return Ok(true);
    };
    let body = format!(
        "🔒 #{pr} was merged, but deployment `{deployment}` is locked by #{holder}, so it was not applied. Once #{holder} is merged or closed (or after `/promptops unlock` on it), comment `/promptops apply` here."
    );
    repo.comment(pr, &comment_key::lock(deployment), &body)
        .await?;
    Ok(false)
}

/// What the merge runs for the deployment, and from which commit: an apply of the merge
/// commit, or — when the merge removed its variables — a destroy with the code and
/// variables of its last successful apply. `None` when there is nothing to destroy (said
/// on the pull request, and its lock released).
async fn apply_source(
    h: &Handlers,
    repo: &RepoCtx,
    Merge { pr, sha }: Merge<'_>,
    deployment: &str,
    vars: &Vars,
) -> anyhow::Result<Option<(RunKind, CommitSha)>> {
    if matches!(vars, Vars::Valid(_)) {
        return Ok(Some((RunKind::Apply, sha.clone())));
    }
    if let Some(applied) = deployment_state::last_applied_sha(h, repo, deployment).await? {
        return Ok(Some((RunKind::Destroy, applied)));
    }
    h.store.release_lock(repo.name(), deployment, pr).await?;
    let body = format!(
        "Deployment `{deployment}` was removed and PromptOps has no record of a successful apply of it, so nothing was destroyed. Its lock is released."
    );
    let key = comment_key::report(RunKind::Apply, deployment);
    tf::post_parts(repo, pr, &key, &[body]).await?;
    Ok(None)
}

/// An apply (or destroy) Terraform reported on.
struct Applied<'a> {
    kind: RunKind,
    deployment: &'a str,
    merge: Merge<'a>,
    report: &'a ApplyReport,
}

/// The report on the pull request (and a note on the request's issue); after a success,
/// the lock released and the deployment's expiry and drift schedule kept; then the check
/// run and the run's record.
async fn report_apply(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
    run: TerraformRun<'_>,
    applied: Applied<'_>,
) -> anyhow::Result<()> {
    let Applied {
        kind,
        deployment,
        merge: Merge { pr, sha },
        report,
    } = applied;
    let configuration = super::configuration_failure::find(h, report).await;
    let options = CommentOptions {
        run_url: run.url(),
        configuration_failure: configuration.clone(),
        ..CommentOptions::default()
    };
    let comments = render_apply_comments(report, &options);
    let succeeded = matches!(
        report.outcome,
        ApplyOutcome::Applied | ApplyOutcome::NothingToApply
    );
    let output = if report.output.total_bytes > 0 {
        report.output.text()
    } else {
        report.plan.output.text()
    };
    let summary = match &report.actions_summary {
        Some(actions) => format!("{} {actions}", report.summary),
        None => report.summary.clone(),
    };
    let check = CheckOutput {
        title: format!("{deployment}: {}", report.summary),
        summary: super::configuration_failure::with_block(
            format!(
                "Terraform {kind} for deployment `{deployment}` at `{}` (merge of #{pr}): **{summary}**",
                sha.short()
            ),
            configuration.as_ref(),
        ),
        text: Some(promptops_commands::inert_block(output.trim_end())),
    };
    // The report, the check run and the run's record first: they say what Terraform did
    // whatever fails after them.
    run.finish(Finish {
        succeeded,
        report: comments,
        check: Some(check),
        summary: &summary,
        output: &output,
    })
    .await?;
    let repo_name = repo.name();
    if let Some(record) = h.store.request_for_pr(repo_name, pr).await?
        && record.issue != IssueNumber::from(pr)
    {
        let closes_issue = succeeded && kind == RunKind::Apply;
        let report_key = comment_key::report(RunKind::Apply, deployment);
        let issue = record.issue;
        note_on_issue(repo, issue, pr, &report_key, report, closes_issue).await?;
    }
    if succeeded {
        h.store
            .release_lock(repo_name, deployment, pr)
            .await
            .context("releasing the lock after the apply")?;
        if kind == RunKind::Destroy {
            super::expiry::on_destroyed(h, repo, deployment).await?;
        } else {
            super::expiry::on_applied(h, repo, config, deployment).await?;
            super::drift::ensure_schedule(h, repo, config).await?;
        }
    }
    Ok(())
}

/// A short note on the issue that asked for the deployment, linking the full report on
/// the pull request; after a successful apply the issue is closed (the pull request's body
/// links it without a closing keyword, so that merging alone does not close it).
async fn note_on_issue(
    repo: &RepoCtx,
    issue: IssueNumber,
    pr: PrNumber,
    report_key: &str,
    report: &ApplyReport,
    closes_issue: bool,
) -> anyhow::Result<()> {
    let first_part = comment_key::part(report_key, 1);
    let report_comment = repo
        .api
        .find_comment(repo.name(), pr.into(), &first_part)
        .await
        .with_context(|| format!("finding the apply report on #{pr}"))?;
    let note = IssueNote {
        pr: pr.get(),
        report_url: report_comment.as_ref().map(|c| c.html_url.as_str()),
        closes_issue,
    };
    let body = render_issue_note(report, &note);
    repo.comment(issue, &first_part, &body).await?;
    if closes_issue {
        repo.api
            .close_issue(repo.name(), issue)
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
    issue: &IssueSnapshot,
    key: &str,
) -> anyhow::Result<()> {
    if !issue.is_pull_request {
        let body = "`/promptops apply` retries the apply of a merged pull request: comment it on that pull request.";
        return repo.comment(issue.number, key, body).await;
    }
    let number = issue.number.as_pr();
    let pr = repo
        .api
        .get_pr(repo.name(), number)
        .await
        .with_context(|| format!("reading PR #{number}"))?;
    match (&pr.merge_commit_sha, pr.merged) {
        (Some(sha), true) => apply_merged(h, repo, config, number, sha, Retry::Yes).await,
        _ => {
            let body = "This pull request is not merged: merging it applies its plan. `/promptops apply` retries a failed apply after the merge.";
            repo.comment(issue.number, key, body).await
        }
    }
}
