//! A deployment's `terraform.tfvars` at a commit, checked before Terraform sees it. Every
//! file — rendered by PromptOps or written by hand — passes the same catalog, policy and
//! hostile-string rules as a planned request; one that fails is answered with every
//! problem, its check run fails, and nothing runs.

use anyhow::Context as _;
use promptops_core::{CommitSha, DeploymentRequest, PrNumber, ValidationErrors, check_tfvars};
use promptops_github::client::CheckConclusion;
use promptops_store::RunStatus;

use super::comment_key;
use super::terraform_steps as tf;
use super::{Handlers, RepoCtx};
use crate::repo_config::RepoConfig;
use promptops_store::RunKind;

/// The deployment's variables at `git_ref`.
pub(super) enum Vars {
    /// The file passes every rule; what it requests.
    Valid(Box<DeploymentRequest>),
    /// The file is gone (a destroy).
    Missing,
    /// The file breaks these rules.
    Invalid(ValidationErrors),
}

impl Vars {
    /// What the file requests, when it passes every rule.
    pub(super) fn request(&self) -> Option<&DeploymentRequest> {
        match self {
            Vars::Valid(request) => Some(request),
            Vars::Missing | Vars::Invalid(_) => None,
        }
    }
}

/// Reads and checks `deployment`'s variables at `git_ref`.
pub(super) async fn read(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
    deployment: &str,
    git_ref: &str,
) -> anyhow::Result<Vars> {
    let path = config.terraform.tfvars_path(deployment);
    let file = repo
        .api
        .get_file(repo.name(), &path, git_ref)
        .await
        .with_context(|| format!("reading {path} at {git_ref}"))?;
    Ok(match file {
        None => Vars::Missing,
        Some(file) => match check_tfvars(&file.text, deployment, &h.catalog, &config.policy) {
            Ok(request) => Vars::Valid(Box::new(request)),
            Err(problems) => Vars::Invalid(problems),
        },
    })
}

/// What was refused, for the comment and the check run.
pub(super) struct Refusal<'a> {
    /// `plan` or `apply`.
    pub kind: RunKind,
    pub check_name: &'a str,
    pub deployment: &'a str,
    pub pr: PrNumber,
    pub sha: &'a CommitSha,
}

/// Says on the pull request and in a failed check run why nothing ran, and records the
/// run as failed (without Terraform).
pub(super) async fn refuse(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
    refusal: &Refusal<'_>,
    problems: &ValidationErrors,
) -> anyhow::Result<()> {
    let Refusal {
        kind,
        check_name,
        deployment,
        pr,
        sha,
    } = *refusal;
    let path = config.terraform.tfvars_path(deployment);
    let list = problems.to_string();
    let body = format!(
        "### ❌ Terraform {kind} for `{deployment}`: refused\n\n`{path}` at `{}` breaks {} of the rules every deployment's variables must follow (the catalog, this repository's policy, and plain values only), so Terraform was not run:\n\n{}\n\nFix the file and push; {}.",
        sha.short(),
        problems.len(),
        promptops_commands::inert_block(&list),
        if kind == RunKind::Apply {
            "a merge of the fix applies it"
        } else {
            "the new head is checked again"
        }
    );
    tf::post_parts(
        repo,
        pr,
        &comment_key::report(kind, deployment),
        std::slice::from_ref(&body),
    )
    .await?;
    let check = tf::start_check(repo, check_name, sha, deployment).await?;
    tf::finish_check(
        repo,
        check,
        CheckConclusion::Failure,
        format!("{deployment}: terraform.tfvars breaks the rules"),
        body,
        None,
    )
    .await?;
    let run = tf::start_run(h, repo, Some(pr), deployment, kind, sha).await?;
    h.store
        .finish_run(
            run,
            RunStatus::Failed,
            "terraform.tfvars breaks the rules; Terraform was not run",
            &list,
        )
        .await?;
    Ok(())
}
