//! The `promptops/plan` check on a merge queue's group, so that a required check never
//! stalls the queue: the check run is created on the group's head commit and concluded.
//!
//! Why no `terraform plan` here: every deployment the group changes was planned on its
//! own pull request's head, where that pull request took the deployment's lock; the lock
//! keeps every other pull request from planning (and so from passing this check for) the
//! same deployment, so a group cannot carry two changes to one deployment. A deployment's
//! plan depends only on the module code and its own `terraform.tfvars`, so what the group
//! adds on top of a reviewed plan is exactly a difference in those files. The honest check
//! is therefore that every file the group changes under `terraform.dir` is byte for byte
//! what a reviewed, successfully planned pull request head holds (a deployment's variables:
//! the head of the pull request holding its lock), and that every changed deployment's
//! variables still pass the catalog, the policy and the value rules, as for a PR plan. A
//! full plan per group would spend minutes of Terraform per deployment while the queue
//! waits and would add nothing that merging does not redo: each merged pull request's
//! apply plans its merge commit afresh, once per deployment (see `pr_merge`).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;
use promptops_core::{CommitSha, PrNumber};
use promptops_github::client::{CheckConclusion, CheckOutput, CheckStatus, NewCheckRun, PrState};
use promptops_store::{RunFilter, RunStatus};

use super::terraform_steps::{self as tf, PLAN_CHECK};
use super::vars_check::{self, Vars};
use super::{Handlers, RepoCtx};
use crate::http::metrics::MergeGroupVerdict;
use crate::pipeline::jobs::MergeGroupSnapshot;
use crate::repo_config::RepoConfig;
use promptops_store::RunKind;

/// The commit of a successful plan of the pull request holding a deployment's lock.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Approved {
    pr: PrNumber,
    planned_sha: CommitSha,
}

/// What the check found: a line per thing checked, a line per problem.
#[derive(Default)]
struct Findings {
    checked: Vec<String>,
    problems: Vec<String>,
}

/// Runs the check for `group` and concludes its check run.
pub(super) async fn run(
    h: &Handlers,
    repo: &RepoCtx,
    group: &MergeGroupSnapshot,
) -> anyhow::Result<()> {
    let findings = match repo.load_config().await? {
        Ok(config) => check_group(h, repo, &config, group).await?,
        Err(err) => Findings {
            problems: vec![format!(
                "`{}` is not valid, so nothing can be checked: {}",
                err.path, err.message
            )],
            ..Findings::default()
        },
    };
    let verdict = if findings.problems.is_empty() {
        MergeGroupVerdict::Success
    } else {
        MergeGroupVerdict::Failure
    };
    conclude(repo, group, &findings).await?;
    h.metrics.queue.merge_group_checked(verdict);
    tracing::info!(
        repo = %repo.name(),
        head_sha = %group.head_sha,
        problems = findings.problems.len(),
        "merge group checked"
    );
    Ok(())
}

async fn check_group(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
    group: &MergeGroupSnapshot,
) -> anyhow::Result<Findings> {
    let base = group.base_ref.trim_start_matches("refs/heads/");
    let default_branch = repo.default_branch().await?;
    let mut findings = Findings::default();
    if !config.apply.applies_to(base, &default_branch) {
        findings.checked.push(format!(
            "PromptOps applies nothing merged into `{}`; there is nothing to check.",
            promptops_commands::inert_inline(base)
        ));
        return Ok(findings);
    }
    let files = match repo
        .api
        .changed_files(
            repo.name(),
            group.base_sha.as_str(),
            group.head_sha.as_str(),
        )
        .await
    {
        Ok(files) => files,
        Err(err) if !err.is_transient() => {
            findings.problems.push(format!(
                "the files the group changes cannot be listed: {err}"
            ));
            return Ok(findings);
        }
        Err(err) => return Err(err).context("listing the files the merge group changes"),
    };
    let settings = &config.terraform;
    for name in tf::misnamed_in(&files, settings) {
        findings.problems.push(format!(
            "{}: not a valid deployment name, so PromptOps would never plan or apply it",
            promptops_commands::code_span(&name)
        ));
    }
    let deployments = tf::deployments_in(&files, settings);
    let module_files = tf::module_files_in(&files, settings);
    if deployments.is_empty() && module_files.is_empty() {
        findings
            .checked
            .push("The group changes no deployment and no Terraform code.".to_owned());
        return Ok(findings);
    }
    let approved = approved_heads(h, repo).await?;
    for deployment in &deployments {
        check_deployment(h, repo, config, group, &approved, deployment, &mut findings).await?;
    }
    let heads: BTreeSet<&Approved> = approved.values().collect();
    for path in &module_files {
        check_module_file(repo, group, &heads, path, &mut findings).await?;
    }
    Ok(findings)
}

/// The deployment's variables: valid at the group's head, and what the pull request
/// holding its lock planned.
async fn check_deployment(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
    group: &MergeGroupSnapshot,
    approved: &BTreeMap<String, Approved>,
    deployment: &str,
    findings: &mut Findings,
) -> anyhow::Result<()> {
    if let Vars::Invalid(problems) =
        vars_check::read(h, repo, config, deployment, group.head_sha.as_str()).await?
    {
        findings.problems.push(format!(
            "`{deployment}`: its `terraform.tfvars` breaks {} of the rules every deployment's variables must follow:\n{}",
            problems.len(),
            promptops_commands::inert_block(&problems.to_string())
        ));
        return Ok(());
    }
    let Some(holder) = approved.get(deployment) else {
        findings.problems.push(format!(
            "`{deployment}`: changed, but no open pull request holds its lock with a successful plan. Plan it on its pull request first (push, or comment `/promptops plan`)."
        ));
        return Ok(());
    };
    let path = config.terraform.tfvars_path(deployment);
    if same_file(repo, &path, &group.head_sha, &holder.planned_sha).await? {
        findings.checked.push(format!(
            "`{deployment}`: the variables planned on #{} at `{}`",
            holder.pr,
            holder.planned_sha.short()
        ));
    } else {
        findings.problems.push(format!(
            "`{deployment}`: the group's `terraform.tfvars` is not the one planned on #{} at `{}` (the pull request was pushed to since, or another pull request in the group changes it too). Re-plan #{} and queue it again.",
            holder.pr,
            holder.planned_sha.short(),
            holder.pr
        ));
    }
    Ok(())
}

/// A changed file of the module code: it must be what some planned pull request head holds.
async fn check_module_file(
    repo: &RepoCtx,
    group: &MergeGroupSnapshot,
    heads: &BTreeSet<&Approved>,
    path: &str,
    findings: &mut Findings,
) -> anyhow::Result<()> {
    for head in heads {
        if same_file(repo, path, &group.head_sha, &head.planned_sha).await? {
            findings.checked.push(format!(
                "{}: the code planned on #{} at `{}`",
                promptops_commands::code_span(path),
                head.pr,
                head.planned_sha.short()
            ));
            return Ok(());
        }
    }
    findings.problems.push(format!(
        "{}: Terraform code no successful plan of a pull request holding a deployment lock has seen. Plan the pull request that changes it (`/promptops plan <sha>` after review) and queue it again.",
        promptops_commands::code_span(path)
    ));
    Ok(())
}

/// Whether `path` reads the same at both commits (both absent counts as the same).
async fn same_file(
    repo: &RepoCtx,
    path: &str,
    a: &CommitSha,
    b: &CommitSha,
) -> anyhow::Result<bool> {
    let read = |sha: &CommitSha| {
        let sha = sha.clone();
        async move {
            repo.api
                .get_file(repo.name(), path, sha.as_str())
                .await
                .with_context(|| format!("reading {path} at {sha}"))
                .map(|file| file.map(|f| f.text))
        }
    };
    Ok(read(a).await? == read(b).await?)
}

/// Deployment → the open pull request holding its lock, at the commit of its newest
/// successful plan (which need not be its head: a push that changed nothing under the
/// Terraform directory plans nothing new, and a push that did is caught by comparing
/// the files). A lock whose holder has no successful plan approves nothing.
async fn approved_heads(
    h: &Handlers,
    repo: &RepoCtx,
) -> anyhow::Result<BTreeMap<String, Approved>> {
    let repo_name = repo.name();
    let mut approved = BTreeMap::new();
    for lock in h.store.list_locks(Some(repo_name)).await? {
        let pr = repo
            .api
            .get_pr(repo.name(), lock.pr)
            .await
            .with_context(|| format!("reading PR #{}", lock.pr))?;
        if pr.state != PrState::Open {
            continue;
        }
        // Newest first.
        let runs = h
            .store
            .list_runs(&RunFilter {
                repo: Some(repo_name.clone()),
                deployment: Some(lock.deployment.clone()),
                pr: Some(lock.pr),
                limit: Some(50),
            })
            .await?;
        let planned = runs.into_iter().find_map(|run| {
            (run.kind == RunKind::Plan && run.status == RunStatus::Succeeded)
                .then_some(run.sha)
                .flatten()
        });
        if let Some(planned_sha) = planned {
            approved.insert(
                lock.deployment,
                Approved {
                    pr: lock.pr,
                    planned_sha,
                },
            );
        }
    }
    Ok(approved)
}

/// Where the summary is cut, below GitHub's 65,535 characters.
const MAX_SUMMARY_CHARS: usize = 60_000;

/// The check run on the group's head, created concluded: the check reads a few files and
/// takes seconds, so there is no "in progress" worth showing.
async fn conclude(
    repo: &RepoCtx,
    group: &MergeGroupSnapshot,
    findings: &Findings,
) -> anyhow::Result<()> {
    let (conclusion, title) = if findings.problems.is_empty() {
        (
            CheckConclusion::Success,
            "Merge group: every change was planned on its pull request".to_owned(),
        )
    } else {
        (
            CheckConclusion::Failure,
            format!(
                "Merge group: {} change(s) were not planned as merged",
                findings.problems.len()
            ),
        )
    };
    let mut summary = String::from(
        "PromptOps checks a merge group without running Terraform: every file the group changes under the Terraform directory must be exactly what a successfully planned pull request holds, and every deployment's variables must pass the same rules as a pull request's plan. Each pull request is applied after the merge, once per deployment.\n",
    );
    for problem in &findings.problems {
        summary.push_str(&format!("\n- ❌ {problem}"));
    }
    for line in &findings.checked {
        summary.push_str(&format!("\n- ✅ {line}"));
    }
    if summary.chars().count() > MAX_SUMMARY_CHARS {
        summary = summary.chars().take(MAX_SUMMARY_CHARS).collect();
        summary.push_str("\n\n… (cut: the list is longer than a check run holds)");
    }
    repo.api
        .create_check_run(
            repo.name(),
            &NewCheckRun {
                name: PLAN_CHECK.to_owned(),
                head_sha: group.head_sha.clone(),
                status: CheckStatus::Completed,
                conclusion: Some(conclusion),
                output: Some(CheckOutput {
                    title,
                    summary,
                    text: None,
                }),
                details_url: None,
                external_id: Some(format!("promptops-merge-group-{}", group.head_sha)),
                buttons: None,
            },
        )
        .await
        .context("creating the merge group's check run")?;
    Ok(())
}
