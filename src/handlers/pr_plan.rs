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

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;
use promptops_core::{CommitSha, PrNumber};
use promptops_github::client::{CheckConclusion, PrState, PullRequestInfo};
use promptops_store::{LockOutcome, RunStatus};
use promptops_terraform::{PlanMode, RunPurpose, Runner};
use tracing::info;

use super::comment_key;
use super::plan_gate::{self, Gate, Trigger};
use super::pr_plan_run::{ToPlan, run_plan};
use super::terraform_steps::{self as tf, PLAN_CHECK};
use super::vars_check::{self, Refusal, Vars};
use super::{Handlers, RepoCtx, commands, deployment_state, too_large};
use crate::repo_config::RepoConfig;
use promptops_store::RunKind;

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
    number: PrNumber,
    expected_sha: Option<&CommitSha>,
    trigger: Trigger<'_>,
) -> anyhow::Result<()> {
    if h.terraform.is_none() {
        if let Trigger::Command { reply_key, .. } = trigger {
            tf::reply_no_runner(repo, number.into(), "plan", reply_key).await?;
        }
        return Ok(());
    }
    let pr = read_pr(repo, number).await;
    plan_read_pr(h, repo, config, pr, expected_sha, trigger).await
}

/// A pull request event's plan (`head_sha` is the head the event saw): the repository's
/// settings and the pull request do not depend on each other, so both are read at once.
pub(super) async fn plan_pr_event(
    h: &Handlers,
    repo: &RepoCtx,
    number: PrNumber,
    head_sha: &CommitSha,
    sender: Option<&str>,
) -> anyhow::Result<()> {
    let (config, pr) = tokio::join!(
        commands::settings_or_report(repo, number, "tf-settings"),
        read_pr(repo, number)
    );
    let Some(config) = config? else {
        return Ok(());
    };
    let trigger = Trigger::Event { sender };
    plan_read_pr(h, repo, &config, pr, Some(head_sha), trigger).await
}

async fn read_pr(repo: &RepoCtx, number: PrNumber) -> anyhow::Result<PullRequestInfo> {
    repo.api
        .get_pr(repo.name(), number)
        .await
        .with_context(|| format!("reading PR #{number}"))
}

/// [`plan_pr`] once the pull request was read (`pr`, or why it could not be).
async fn plan_read_pr(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
    pr: anyhow::Result<PullRequestInfo>,
    expected_sha: Option<&CommitSha>,
    trigger: Trigger<'_>,
) -> anyhow::Result<()> {
    let repeat = match trigger {
        Trigger::Event { .. } => Repeat::OncePerSha,
        Trigger::Command { .. } => Repeat::Always,
    };
    let Some(runner) = h.terraform.as_ref() else {
        return Ok(());
    };
    let Some(pr) = open_pr_at(h, repo, pr?, expected_sha).await? else {
        return Ok(());
    };
    let number = pr.number;
    // Listed only after the head was read: the gate's check that the head has not moved
    // since (see `gate_opens`) is what ties these files to that head.
    let Some(files) = too_large::files_to_plan(repo, &pr, trigger).await? else {
        return Ok(());
    };
    // A pull request that changes nothing under the module has nothing to plan: the gate
    // is not asked, so a fork's or an outsider's unrelated pull request gets no comment.
    if matches!(trigger, Trigger::Event { .. }) && !touches_module_dir(&files, config) {
        return Ok(());
    }
    // A fork's head is never planned, so nothing of it is read while the gate says so.
    let prefetched = async {
        match plan_gate::from_fork(repo, &pr) {
            true => Fetched {
                head_source: None,
                vars: BTreeMap::new(),
            },
            false => prefetch(h, runner, repo, config, &pr, &files).await,
        }
    };
    let (opens, mut fetched) =
        tokio::join!(gate_opens(repo, config, &pr, &files, trigger), prefetched);
    if !opens? {
        return Ok(());
    }
    let deployments = deployments_to_plan(h, repo, config, &pr, &files).await?;
    if deployments.is_empty() {
        return Ok(());
    }
    for deployment in &deployments {
        if repeat == Repeat::OncePerSha
            && tf::already_ran(h, repo, number, deployment, RunKind::Plan, &pr.head_sha).await?
        {
            continue;
        }
        let fetched = Fetched {
            head_source: fetched.head_source.clone(),
            vars: fetched.vars.remove(deployment),
        };
        plan_deployment(h, runner, repo, config, &pr, (deployment, fetched)).await?;
    }
    // Closed while planning: the close handler may have run before the lock was taken.
    let after = repo
        .api
        .get_pr(repo.name(), number)
        .await
        .with_context(|| format!("reading PR #{number}"))?;
    if after.state != PrState::Open && !after.merged {
        for deployment in &deployments {
            h.store
                .release_lock(repo.name(), deployment, number)
                .await?;
        }
    }
    Ok(())
}

/// The pull request as it was just read (`pr`), when it is open and `expected_sha` (if
/// any) is still its head; `None` when there is nothing to plan.
async fn open_pr_at(
    h: &Handlers,
    repo: &RepoCtx,
    pr: PullRequestInfo,
    expected_sha: Option<&CommitSha>,
) -> anyhow::Result<Option<PullRequestInfo>> {
    let number = pr.number;
    if pr.state != PrState::Open {
        info!(pr = number.get(), "not planned: the pull request is closed");
        if !pr.merged {
            // A retry of a plan that took a lock and then failed: the close event may have
            // been handled in between, so nobody else would free the lock.
            release_locks_of(h, repo, number).await?;
        }
        return Ok(None);
    }
    if expected_sha.is_some_and(|sha| *sha != pr.head_sha) {
        info!(
            pr = number.get(),
            "not planned: a newer commit was pushed; its event plans it"
        );
        return Ok(None);
    }
    Ok(Some(pr))
}

/// Whether the head of `pr` (with its changed `files`) may be planned now; when it may
/// not, what to do was said.
async fn gate_opens(
    repo: &RepoCtx,
    config: &RepoConfig,
    pr: &PullRequestInfo,
    files: &[String],
    trigger: Trigger<'_>,
) -> anyhow::Result<bool> {
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
    // The gate only reads (commits, permissions): it is asked while the head is read
    // again, and its answer counts only when the head has not moved.
    let moved = async {
        match sha_bound {
            true => Ok(None),
            false => moved_head(repo, pr).await,
        }
    };
    let (moved, gate) = tokio::join!(moved, plan_gate::check(repo, config, pr, files, trigger));
    if let Some(newer) = moved? {
        info!(
            pr = pr.number.get(),
            "not planned: a commit was pushed while checking"
        );
        if let Trigger::Command { reply_key, .. } = trigger {
            let body = format!(
                "`/promptops plan`: commit `{}` was pushed while this pull request was checked, so nothing was planned. Comment `/promptops plan` again.",
                newer.short()
            );
            repo.comment(pr.number, reply_key, &body).await?;
        }
        return Ok(false);
    }
    if let Gate::Closed { key, comment } = gate? {
        info!(pr = pr.number.get(), "not planned: waiting for a go-ahead");
        repo.comment(pr.number, &key, &comment).await?;
        return Ok(false);
    }
    Ok(true)
}

/// The deployments `pr` touches (its changed `files` are those the gate decided on);
/// directories it touches that break the name rule are named on the pull request.
async fn deployments_to_plan(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
    pr: &PullRequestInfo,
    files: &[String],
) -> anyhow::Result<BTreeSet<String>> {
    let tf::Touched {
        deployments,
        misnamed,
    } = tf::touched_deployments(h, repo, config, (pr.number, files), &pr.head_sha).await?;
    if !misnamed.is_empty() {
        repo.comment(
            pr.number,
            "tf-misnamed",
            &misnamed_comment(&misnamed, &config.terraform.deployments_dir),
        )
        .await?;
    }
    if deployments.is_empty() {
        info!(
            pr = pr.number.get(),
            "not planned: the pull request touches no deployment"
        );
    }
    Ok(deployments)
}

/// How many deployments' variables are read before the gate's answer, at most.
const PREFETCHED_VARS: usize = 8;

/// What was read for the plans before the gate answered (`V`: one deployment's variables,
/// or all that were read); what is missing is read when it is needed.
struct Fetched<V> {
    head_source: Option<bytes::Bytes>,
    vars: V,
}

/// Reads, while the gate decides, what the plans of `pr`'s head will need: its source
/// (once for every deployment) and the variables of the deployments its `files` name.
/// Reading runs nothing, and what the gate keeps from planning is dropped. A failed read
/// is left out, to be read again (and reported) when needed.
async fn prefetch(
    h: &Handlers,
    runner: &Runner,
    repo: &RepoCtx,
    config: &RepoConfig,
    pr: &PullRequestInfo,
    files: &[String],
) -> Fetched<BTreeMap<String, Vars>> {
    let sha = &pr.head_sha;
    let source = async {
        match touches_terraform(config, files) {
            true => tf::tarball(runner, repo, sha).await.ok(),
            false => None,
        }
    };
    let named = tf::deployments_in(files, &config.terraform);
    let vars = named
        .into_iter()
        .take(PREFETCHED_VARS)
        .map(|deployment| async move {
            let vars = vars_check::read(h, repo, config, &deployment, sha.as_str()).await;
            vars.ok().map(|vars| (deployment, vars))
        });
    let (head_source, vars) = tokio::join!(source, futures::future::join_all(vars));
    Fetched {
        head_source,
        vars: vars.into_iter().flatten().collect(),
    }
}

/// Whether any of `files` is under the root module or the deployments (what a plan runs).
fn touches_terraform(config: &RepoConfig, files: &[String]) -> bool {
    let settings = &config.terraform;
    let dirs = [&settings.dir, &settings.deployments_dir]
        .map(|dir| format!("{}/", dir.trim_end_matches('/')));
    files
        .iter()
        .any(|file| dirs.iter().any(|dir| file.starts_with(dir.as_str())))
}

/// The head of `pr` now, when it is no longer the one read before.
pub(super) async fn moved_head(
    repo: &RepoCtx,
    pr: &PullRequestInfo,
) -> anyhow::Result<Option<CommitSha>> {
    let now = repo
        .api
        .get_pr(repo.name(), pr.number)
        .await
        .with_context(|| format!("reading PR #{}", pr.number))?;
    Ok((now.head_sha != pr.head_sha).then_some(now.head_sha))
}

/// Tells the pull request which directories are not deployments PromptOps will plan.
fn misnamed_comment(misnamed: &BTreeSet<String>, deployments_dir: &str) -> String {
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
    pr: PrNumber,
) -> anyhow::Result<Vec<String>> {
    let repo_name = repo.name();
    let mut released = Vec::new();
    for lock in h.store.list_locks(Some(repo_name)).await? {
        if lock.pr == pr
            && h.store
                .release_lock(repo_name, &lock.deployment, pr)
                .await?
        {
            released.push(lock.deployment);
        }
    }
    Ok(released)
}

/// Plans one deployment at the head of `pr`: its variables checked, its lock taken, from
/// the head (or, for a destroy, from the commit of its last apply).
async fn plan_deployment(
    h: &Handlers,
    runner: &Runner,
    repo: &RepoCtx,
    config: &RepoConfig,
    pr: &PullRequestInfo,
    (deployment, fetched): (&str, Fetched<Option<Vars>>),
) -> anyhow::Result<()> {
    let sha = &pr.head_sha;
    // The run's sandboxes start while GitHub is asked for what was not fetched already:
    // the variables and the head's source (unused when the variables are refused or the
    // plan is a destroy). A reservation that fails is left to the plan below, which
    // reports it on the PR.
    let reservation = runner.reserve(deployment, RunPurpose::Plan).await.ok();
    let vars = async {
        match fetched.vars {
            Some(vars) => Ok(vars),
            None => vars_check::read(h, repo, config, deployment, sha.as_str()).await,
        }
    };
    let head_source = async {
        match fetched.head_source {
            Some(source) => Ok(source),
            None => tf::tarball(runner, repo, sha).await,
        }
    };
    let (vars, head_source) = tokio::join!(vars, head_source);
    let vars = vars?;
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
    if !take_lock(h, repo, pr, deployment).await? {
        return Ok(());
    }
    let Some((mode, source_sha)) = what_to_plan(h, repo, pr, deployment, &vars).await? else {
        return Ok(());
    };
    // A source over the limit is reported like any run that could not run.
    let source = source_at(runner, repo, (sha, head_source), &source_sha).await;
    let source = tf::source_or_refusal(source, &source_sha)?;
    let to_plan = ToPlan {
        deployment,
        mode,
        source_sha,
        source,
        reservation,
        vars,
    };
    run_plan(h, runner, repo, config, pr, to_plan).await
}

/// The plan's mode and the commit it is made from; `None` when there is nothing to plan
/// (a destroy of a deployment never applied: said on the pull request).
///
/// A PR that removes the deployment's variables destroys it on merge, with the code and
/// variables of its last successful apply (see `pr_merge`): the plan shown is made from
/// that same commit, so that reviewers see exactly what merging destroys.
async fn what_to_plan(
    h: &Handlers,
    repo: &RepoCtx,
    pr: &PullRequestInfo,
    deployment: &str,
    vars: &Vars,
) -> anyhow::Result<Option<(PlanMode, CommitSha)>> {
    if matches!(vars, Vars::Valid(_)) {
        return Ok(Some((PlanMode::Normal, pr.head_sha.clone())));
    }
    match deployment_state::last_applied_sha(h, repo, deployment).await? {
        Some(applied) => Ok(Some((PlanMode::Destroy, applied))),
        None => nothing_to_destroy(h, repo, pr, deployment)
            .await
            .map(|()| None),
    }
}

/// The source of `wanted`: the head's, fetched already, when it is the head.
async fn source_at(
    runner: &Runner,
    repo: &RepoCtx,
    (head, head_source): (&CommitSha, anyhow::Result<bytes::Bytes>),
    wanted: &CommitSha,
) -> anyhow::Result<bytes::Bytes> {
    if wanted == head {
        head_source
    } else {
        tf::tarball(runner, repo, wanted).await
    }
}

/// Takes the deployment's lock for `pr`; when another pull request holds it, says so on
/// the pull request and in a failed check run, and returns `false`.
async fn take_lock(
    h: &Handlers,
    repo: &RepoCtx,
    pr: &PullRequestInfo,
    deployment: &str,
) -> anyhow::Result<bool> {
    let lock_key = comment_key::lock(deployment);
    let outcome = h
        .store
        .acquire_lock(repo.name(), deployment, pr.number)
        .await?;
    if let LockOutcome::HeldBy { pr: holder, since } = outcome {
        let body = format!(
            "🔒 Deployment `{deployment}` is locked by #{holder} (since {}), so this pull request was not planned. It can be planned once #{holder} is merged or closed, or after a maintainer comments `/promptops unlock` on #{holder}.",
            since.format("%Y-%m-%d %H:%M UTC")
        );
        repo.comment(pr.number, &lock_key, &body).await?;
        let check = tf::start_check(repo, PLAN_CHECK, &pr.head_sha, deployment).await?;
        let title = format!("{deployment}: locked by #{holder}");
        tf::finish_check(repo, check, CheckConclusion::Failure, title, body, None).await?;
        return Ok(false);
    }
    // This PR was told earlier that another one held the lock: say that it holds it now.
    if repo.has_comment(pr.number, &lock_key).await? {
        let body = format!(
            "🔒 Deployment `{deployment}` is now locked by this pull request (until it is merged or closed); its plan follows."
        );
        repo.comment(pr.number, &lock_key, &body).await?;
    }
    Ok(true)
}

/// A PR that removes the variables of a deployment PromptOps never applied: merging it
/// destroys nothing.
async fn nothing_to_destroy(
    h: &Handlers,
    repo: &RepoCtx,
    pr: &PullRequestInfo,
    deployment: &str,
) -> anyhow::Result<()> {
    let sha = &pr.head_sha;
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

/// Whether any of `files` is under `terraform.dir` or `terraform.deployments_dir` (which
/// belongs inside it; one outside is reported when a plan tries to use it).
fn touches_module_dir(files: &[String], config: &RepoConfig) -> bool {
    let dirs = [&config.terraform.dir, &config.terraform.deployments_dir]
        .map(|dir| format!("{}/", dir.trim_end_matches('/')));
    files
        .iter()
        .any(|path| dirs.iter().any(|dir| path.starts_with(dir.as_str())))
}
