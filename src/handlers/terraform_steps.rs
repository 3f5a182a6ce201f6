//! What the Terraform handlers share: which deployments a pull request touches, the run
//! spec for a commit, the comment parts of a report, check runs, and run records (which
//! [`super::terraform_run::TerraformRun`] puts together for one run).

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::Context as _;
use bytes::Bytes;
use promptops_core::{CommitSha, IssueNumber, PrNumber, is_valid_name};
use promptops_github::client::{
    CheckConclusion, CheckOutput, CheckRunUpdate, CheckStatus, GithubError, NewCheckRun,
};
use promptops_store::{NewRun, RunFilter, RunStatus};
use promptops_terraform::{PlanSpec, Runner, RunnerError, Source};

use super::comment_key;
use super::deployment_state::tfvars_exist;
use super::{Handlers, RepoCtx};
use crate::repo_config::{RepoConfig, TerraformSettings};
use promptops_store::RunKind;

/// Check run names on commits (kept stable: branch protection rules refer to them).
pub(super) const PLAN_CHECK: &str = "promptops/plan";
pub(super) const APPLY_CHECK: &str = "promptops/apply";

/// Shown when a Terraform command reaches a server that runs no Terraform.
const NO_RUNNER: &str =
    "this PromptOps server runs no Terraform (no runner is configured), so nothing was done.";

/// Answers `/promptops <command>` on a server that runs no Terraform: nothing was done.
pub(super) async fn reply_no_runner(
    repo: &RepoCtx,
    issue: IssueNumber,
    command: &str,
    key: &str,
) -> anyhow::Result<()> {
    let body = format!("`/promptops {command}`: {NO_RUNNER}");
    repo.comment(issue, key, &body).await
}

/// Deployment names under the deployments dir among `paths`.
pub(super) fn deployments_in(paths: &[String], settings: &TerraformSettings) -> BTreeSet<String> {
    directories_in(paths, settings)
        .filter(|name| is_valid_name(name))
        .map(str::to_owned)
        .collect()
}

/// Directories under the deployments dir among `paths` whose names break the deployment
/// name rule: they are never planned or applied, and the pull request is told why.
pub(super) fn misnamed_in(paths: &[String], settings: &TerraformSettings) -> BTreeSet<String> {
    directories_in(paths, settings)
        .filter(|name| !is_valid_name(name))
        .map(str::to_owned)
        .collect()
}

fn directories_in<'a>(
    paths: &'a [String],
    settings: &TerraformSettings,
) -> impl Iterator<Item = &'a str> {
    let prefix = format!("{}/", settings.deployments_dir.trim_end_matches('/'));
    paths
        .iter()
        .filter_map(move |path| path.strip_prefix(&prefix))
        .filter_map(|rest| rest.split_once('/').map(|(name, _)| name))
}

/// What a pull request touches.
pub(super) struct Touched {
    /// Deployments to plan (and apply on merge).
    pub deployments: BTreeSet<String>,
    /// Directories under the deployments dir whose names break the rule.
    pub misnamed: BTreeSet<String>,
}

/// The deployments a pull request touches: the `files` it changes (as GitHub lists them)
/// under the deployments dir, the request PromptOps opened it for, and — when it changes
/// the Terraform code itself — every deployment PromptOps knows whose variables exist at
/// `sha`. The caller lists the files once and decides on that one list.
pub(super) async fn touched_deployments(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
    (pr, files): (PrNumber, &[String]),
    sha: &CommitSha,
) -> anyhow::Result<Touched> {
    let repo_name = repo.name();
    let misnamed = misnamed_in(files, &config.terraform);
    let mut deployments = deployments_in(files, &config.terraform);
    if let Some(record) = h.store.request_for_pr(repo_name, pr).await? {
        deployments.insert(record.deployment);
    }
    if touches_module_code(files, &config.terraform) {
        for record in h.store.list_requests(Some(repo_name)).await? {
            if !deployments.contains(&record.deployment)
                && tfvars_exist(repo, config, &record.deployment, sha.as_str()).await?
            {
                deployments.insert(record.deployment);
            }
        }
    }
    Ok(Touched {
        deployments,
        misnamed,
    })
}

/// Whether a change touches the root module or its modules (not only deployments).
fn touches_module_code(paths: &[String], settings: &TerraformSettings) -> bool {
    !module_files_in(paths, settings).is_empty()
}

/// The paths among `paths` under the module dir but outside the deployments dir: code.
pub(super) fn module_files_in(paths: &[String], settings: &TerraformSettings) -> BTreeSet<String> {
    let module = format!("{}/", settings.dir.trim_end_matches('/'));
    let deployments = format!("{}/", settings.deployments_dir.trim_end_matches('/'));
    paths
        .iter()
        .filter(|path| path.starts_with(&module) && !path.starts_with(&deployments))
        .cloned()
        .collect()
}

/// Why Terraform could not run for a deployment: the settings cannot express the run, or
/// the runner failed before Terraform reported (no binary, a sandbox or init failure).
#[derive(Debug, thiserror::Error)]
pub(super) enum CouldNotRun {
    #[error(
        "`terraform.deployments_dir` ({deployments_dir}) must be inside `terraform.dir` ({module}), because Terraform reads the var file from the module directory"
    )]
    DeploymentsOutsideModule {
        deployments_dir: String,
        module: String,
    },
    #[error(
        "the source of commit {sha} is larger than {limit_mib} MiB, the most a run takes (PROMPTOPS_MAX_SOURCE_MIB); it was not downloaded further"
    )]
    SourceTooLarge { sha: String, limit_mib: u64 },
    #[error(transparent)]
    Runner(#[from] RunnerError),
}

/// A download of `sha`'s source as a run takes it: the source, or — when it was refused
/// for passing the runner's limit — the problem to report on the thread (waiting or
/// retrying cannot fix it); any other failure is handed back as the job's.
pub(super) fn source_or_refusal(
    downloaded: anyhow::Result<Bytes>,
    sha: &CommitSha,
) -> anyhow::Result<Result<Bytes, CouldNotRun>> {
    let err = match downloaded {
        Ok(source) => return Ok(Ok(source)),
        Err(err) => err,
    };
    let limit = err.chain().find_map(|cause| match cause.downcast_ref() {
        Some(GithubError::TooLarge { limit, .. }) => Some(*limit),
        _ => None,
    });
    match limit {
        Some(limit) => Ok(Err(CouldNotRun::SourceTooLarge {
            sha: sha.to_string(),
            limit_mib: limit.div_ceil(1024 * 1024),
        })),
        None => Err(err),
    }
}

/// The var file relative to the module dir, or why the settings cannot express it.
fn var_file(settings: &TerraformSettings, deployment: &str) -> Result<PathBuf, CouldNotRun> {
    let module = settings.dir.trim_end_matches('/');
    let tfvars = settings.tfvars_path(deployment);
    match tfvars.strip_prefix(&format!("{module}/")) {
        Some(relative) => Ok(PathBuf::from(relative)),
        None => Err(CouldNotRun::DeploymentsOutsideModule {
            deployments_dir: settings.deployments_dir.clone(),
            module: module.to_owned(),
        }),
    }
}

/// The run spec for `deployment` at commit `sha`.
pub(super) fn spec_for(
    config: &RepoConfig,
    deployment: &str,
    tarball: Bytes,
    sha: &CommitSha,
) -> Result<PlanSpec, CouldNotRun> {
    let mut spec = PlanSpec::new(Source::Tarball(tarball), deployment);
    spec.module_dir = PathBuf::from(config.terraform.dir.trim_end_matches('/'));
    spec.var_file = var_file(&config.terraform, deployment)?;
    // The runner substitutes `{deployment}` itself.
    spec.backend_config = config
        .terraform
        .backend_config
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    spec.commit = Some(sha.to_string());
    Ok(spec)
}

/// The source of a commit, as GitHub serves it; refused while it downloads once it is
/// larger than `runner` would extract.
pub(super) async fn tarball(
    runner: &Runner,
    repo: &RepoCtx,
    sha: &CommitSha,
) -> anyhow::Result<Bytes> {
    let limit = runner.config().source_limits.max_archive_bytes;
    repo.api
        .download_tarball(repo.name(), sha, limit)
        .await
        .with_context(|| {
            format!(
                "downloading the source of {sha} (refused over {} MiB: PROMPTOPS_MAX_SOURCE_MIB)",
                limit.div_ceil(1024 * 1024)
            )
        })
}

/// Posts the parts of a report under stable keys `<prefix>:part:<i>`, so that the next
/// report for the same deployment edits these comments; parts left over from a longer
/// earlier report are marked as superseded.
pub(super) async fn post_parts(
    repo: &RepoCtx,
    issue: impl Into<IssueNumber>,
    prefix: &str,
    parts: &[String],
) -> anyhow::Result<()> {
    let issue = issue.into();
    for (i, body) in parts.iter().enumerate() {
        repo.comment(issue, &comment_key::part(prefix, i + 1), body)
            .await?;
    }
    // The store knows every part the App wrote (see `bot_comments`): no listing.
    let part_prefix = comment_key::part_prefix(prefix);
    for (key, _id) in repo.comments_with_prefix(issue, &part_prefix).await? {
        let index = key
            .strip_prefix(&part_prefix)
            .and_then(|n| n.parse::<usize>().ok());
        if let Some(index) = index.filter(|&i| i > parts.len()) {
            let body = "<sub>An earlier, longer report continued here; the report above replaces it.</sub>";
            repo.comment(issue, &comment_key::part(prefix, index), body)
                .await?;
        }
    }
    Ok(())
}

/// A check run on `sha`, started now; a plan check carries the plan buttons.
pub(super) async fn start_check(
    repo: &RepoCtx,
    name: &str,
    sha: &CommitSha,
    deployment: &str,
) -> anyhow::Result<u64> {
    create_check(repo, name, sha, deployment).await
}

async fn create_check(
    repo: &RepoCtx,
    name: &str,
    sha: &CommitSha,
    deployment: &str,
) -> anyhow::Result<u64> {
    repo.api
        .create_check_run(
            repo.name(),
            &NewCheckRun {
                name: name.to_owned(),
                head_sha: sha.clone(),
                status: CheckStatus::InProgress,
                conclusion: None,
                output: Some(CheckOutput {
                    title: format!("Running Terraform for {deployment}"),
                    summary: format!("Terraform is running for deployment `{deployment}`."),
                    text: None,
                }),
                details_url: None,
                external_id: None,
                // The plan buttons come with the plan check's create: one request, not two.
                buttons: (name == PLAN_CHECK).then(super::check_actions::plan_buttons),
            },
        )
        .await
        .with_context(|| format!("creating the {name} check run"))
}

/// Completes a check run with what happened.
pub(super) async fn finish_check(
    repo: &RepoCtx,
    id: u64,
    conclusion: CheckConclusion,
    title: String,
    summary: String,
    text: Option<String>,
) -> anyhow::Result<()> {
    repo.api
        .update_check_run(
            repo.name(),
            id,
            &CheckRunUpdate {
                status: Some(CheckStatus::Completed),
                conclusion: Some(conclusion),
                output: Some(CheckOutput {
                    title,
                    summary,
                    text,
                }),
                details_url: None,
            },
        )
        .await
        .context("completing the check run")
}

/// Records a run as started.
pub(super) async fn start_run(
    h: &Handlers,
    repo: &RepoCtx,
    pr: Option<PrNumber>,
    deployment: &str,
    kind: RunKind,
    sha: &CommitSha,
) -> anyhow::Result<i64> {
    Ok(h.store
        .insert_run(&NewRun {
            repo: repo.name().clone(),
            pr,
            deployment: deployment.to_owned(),
            kind,
            sha: Some(sha.clone()),
        })
        .await?)
}

/// Records the end of a run; `summary` and `output` are masked once more here, so that a
/// value the runner knows as secret never reaches the database whatever produced the text.
pub(super) async fn finish_run(
    h: &Handlers,
    runner: &Runner,
    id: i64,
    status: RunStatus,
    summary: &str,
    output: &str,
) -> anyhow::Result<()> {
    let masker = runner.masker();
    h.store
        .finish_run(
            id,
            status,
            &masker.mask_str(summary),
            &masker.mask_str(output),
        )
        .await?;
    Ok(())
}

/// Whether a finished run of `kind` for this PR, deployment and commit already exists: a
/// redelivered event for the same SHA must not run Terraform again.
pub(super) async fn already_ran(
    h: &Handlers,
    repo: &RepoCtx,
    pr: PrNumber,
    deployment: &str,
    kind: RunKind,
    sha: &CommitSha,
) -> anyhow::Result<bool> {
    let runs = h
        .store
        .list_runs(&RunFilter {
            repo: Some(repo.name().clone()),
            deployment: Some(deployment.to_owned()),
            pr: Some(pr),
            limit: Some(50),
        })
        .await?;
    Ok(runs.iter().any(|run| {
        run.kind == kind
            && run.sha.as_ref() == Some(sha)
            && matches!(run.status, RunStatus::Succeeded | RunStatus::Failed)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployments_are_the_directories_under_the_deployments_dir() {
        let settings = TerraformSettings::default();
        let paths = vec![
            "terraform/deployments/alpha/terraform.tfvars".to_owned(),
            "terraform/deployments/beta/notes.md".to_owned(),
            "terraform/deployments/README.md".to_owned(),
            "terraform/main.tf".to_owned(),
            "terraform/deployments/Bad_Name/terraform.tfvars".to_owned(),
        ];
        let found: Vec<String> = deployments_in(&paths, &settings).into_iter().collect();
        assert_eq!(found, vec!["alpha", "beta"]);
        let misnamed: Vec<String> = misnamed_in(&paths, &settings).into_iter().collect();
        assert_eq!(misnamed, vec!["Bad_Name"]);
    }

    #[test]
    fn module_code_is_what_lies_under_the_module_dir_outside_deployments() {
        let settings = TerraformSettings::default();
        let only_vars = vec!["terraform/deployments/alpha/terraform.tfvars".to_owned()];
        assert!(!touches_module_code(&only_vars, &settings));
        let module = vec!["terraform/modules/compute/main.tf".to_owned()];
        assert!(touches_module_code(&module, &settings));
        let elsewhere = vec!["README.md".to_owned()];
        assert!(!touches_module_code(&elsewhere, &settings));
    }

    #[test]
    fn the_var_file_is_relative_to_the_module_dir() {
        let settings = TerraformSettings::default();
        assert_eq!(
            var_file(&settings, "alpha").unwrap(),
            PathBuf::from("deployments/alpha/terraform.tfvars")
        );
        let outside = TerraformSettings {
            deployments_dir: "deployments".to_owned(),
            ..TerraformSettings::default()
        };
        let err = var_file(&outside, "alpha").unwrap_err().to_string();
        assert!(err.contains("must be inside `terraform.dir`"), "{err}");
    }
}
