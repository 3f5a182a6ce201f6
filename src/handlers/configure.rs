//! `/promptops configure`: re-runs the AAP job for a deployment without touching its VMs
//! (`terraform apply -invoke=action.aap_job_launch.configure_vm`, Terraform >= 1.14.1), on
//! the default branch's current code and variables, once the variables pass the catalog
//! and policy rules. The job's AppRole secret_id is single-use (the previous job used it
//! up, and the vault provider then drops it from the state, which leaves the action's
//! configuration unknown), so a fresh one is minted first by a targeted replace that must
//! change nothing else.

use promptops_core::CommitSha;
use promptops_store::RequestRecord;
use promptops_terraform::comment::{CommentOptions, render_apply_comments};
use promptops_terraform::{
    ActionAddress, ApplyOutcome, Invocation, ResourceAddress, Runner, RunnerError,
};

use super::comment_key;
use super::deployment_state::linked_request;
use super::terraform_run::{Finish, ReportTo, RunStart, TerraformRun};
use super::terraform_steps as tf;
use super::vars_check::{self, Vars};
use super::{Handlers, RepoCtx};
use crate::http::metrics::RunResult;
use crate::pipeline::jobs::IssueSnapshot;
use crate::repo_config::RepoConfig;
use promptops_store::RunKind;

/// The Terraform action that launches the AAP job (see `terraform/main.tf`).
pub(super) const CONFIGURE_ACTION: &str = "action.aap_job_launch.configure_vm";
/// The response-wrapped secret_id the action hands to the job (see `terraform/aap.tf`).
const JOB_SECRET_ID: &str = "vault_approle_auth_backend_role_secret_id.configure";

/// The action, after a fresh secret_id (when the deployment has one).
fn configure_invocation() -> Result<Invocation, RunnerError> {
    let action = ActionAddress::parse(CONFIGURE_ACTION)?;
    Ok(Invocation::of(action).renewing(ResourceAddress::parse(JOB_SECRET_ID)?))
}

pub(super) async fn configure(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
    issue: &IssueSnapshot,
    key: &str,
) -> anyhow::Result<()> {
    let Some(runner) = h.terraform.as_ref() else {
        return tf::reply_no_runner(repo, issue.number, "configure", key).await;
    };
    let Some(record) = linked_request(h, repo, issue).await? else {
        let body = "There is no PromptOps deployment linked to this conversation, so there is nothing to configure.";
        return repo.comment(issue.number, key, body).await;
    };
    let deployment = record.deployment.as_str();
    if let Some(lock) = h.store.lock(repo.name(), deployment).await? {
        let body = format!(
            "🔒 Deployment `{deployment}` is locked by #{} (a change is under way), so it was not reconfigured. Comment `/promptops configure` again once #{} is merged or closed.",
            lock.pr, lock.pr
        );
        return repo.comment(issue.number, key, &body).await;
    }
    let default_branch = repo.default_branch().await?;
    let sha = repo.default_branch_head(&default_branch).await?;
    // The apply runs with the default branch's variables: they pass the same rules first.
    if let Vars::Invalid(problems) =
        vars_check::read(h, repo, config, deployment, sha.as_str()).await?
    {
        let body = format!(
            "`{}` on `{default_branch}` breaks the rules every deployment's variables must follow, so the deployment was not reconfigured and Terraform was not run:\n\n{}",
            config.terraform.tfvars_path(deployment),
            promptops_commands::inert_block(&problems.to_string())
        );
        return repo.comment(issue.number, key, &body).await;
    }
    reconfigure(h, runner, repo, config, issue, &record, &sha).await
}

/// Runs the configure action for `record`'s deployment at commit `sha` of the default
/// branch, and reports on `issue`.
async fn reconfigure(
    h: &Handlers,
    runner: &Runner,
    repo: &RepoCtx,
    config: &RepoConfig,
    issue: &IssueSnapshot,
    record: &RequestRecord,
    sha: &CommitSha,
) -> anyhow::Result<()> {
    let deployment = record.deployment.as_str();
    // A source over the limit is reported like any run that could not run.
    let source = tf::source_or_refusal(tf::tarball(runner, repo, sha).await, sha)?;
    let start = RunStart {
        kind: RunKind::Configure,
        deployment,
        sha,
        pr: record.pr,
        check: None,
        report: Some(ReportTo {
            issue: issue.number,
            key: comment_key::report(RunKind::Configure, deployment),
        }),
    };
    let run = TerraformRun::start(h, runner, repo, start).await?;
    let report = match source.and_then(|source| tf::spec_for(config, deployment, source, sha)) {
        Ok(spec) => match configure_invocation() {
            Ok(invocation) => runner.invoke_with(&spec, &invocation).await,
            Err(err) => Err(err),
        }
        .map_err(Into::into),
        Err(problem) => Err(problem),
    };
    run.observe(
        report
            .as_ref()
            .map_or(RunResult::CouldNotRun, |report| report.outcome.into()),
    );
    let report = match report {
        Ok(report) => report,
        Err(problem) => return run.fail(&problem, None).await,
    };
    let options = CommentOptions {
        run_url: run.url(),
        configuration_failure: super::configuration_failure::find(h, &report).await,
        ..CommentOptions::default()
    };
    let comments = render_apply_comments(&report, &options);
    let succeeded = matches!(
        report.outcome,
        ApplyOutcome::Applied | ApplyOutcome::NothingToApply
    );
    let summary = match &report.actions_summary {
        Some(actions) => format!("{} {actions}", report.summary),
        None => report.summary.clone(),
    };
    run.finish(Finish {
        succeeded,
        report: comments,
        check: None,
        summary: &summary,
        output: &report.output.text(),
    })
    .await
}
