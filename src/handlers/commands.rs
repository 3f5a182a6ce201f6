//! `/promptops` commands and the trigger label: settings, permission, then the work.

use promptops_commands::help_text;

use super::{Handlers, RepoCtx, configure, destroy, job_key, plan_request, pr_merge, pr_plan};
use crate::jobs::{CommandRequest, IssueSnapshot};
use crate::repo_config::RepoConfig;

pub(super) async fn run(
    h: &Handlers,
    repo: &RepoCtx,
    job_id: i64,
    issue: &IssueSnapshot,
    author: &str,
    command: &CommandRequest,
) -> anyhow::Result<()> {
    let key = job_key(job_id, command.name());
    if *command == CommandRequest::Help {
        return repo.comment(issue.number, &key, &help_text()).await;
    }
    let Some(config) = settings_or_report(repo, issue.number, &key).await? else {
        return Ok(());
    };
    let min = config.permissions.min_permission;
    let (allowed, actual) = repo.has_permission(author, min).await?;
    if !allowed {
        let body = format!(
            "@{author} thanks for the request — `/promptops {}` can only be run by people with **{}** permission (or higher) on `{}`; you have **{actual}**. Ask a maintainer to run it.",
            command.name(),
            min_name(min),
            repo.full_name(),
        );
        return repo.comment(issue.number, &key, &body).await;
    }
    match command {
        // With instructions on a PromptOps PR: re-plan the request; its new commit's
        // `synchronize` event runs the Terraform plan. Otherwise: plan the PR head now.
        CommandRequest::Plan { instructions } if issue.is_pull_request => {
            let is_request = h
                .store
                .request_for_pr(&repo.full_name(), issue.number)
                .await?
                .is_some();
            if h.terraform.is_some() && (instructions.trim().is_empty() || !is_request) {
                pr_plan::plan_pr(
                    h,
                    repo,
                    &config,
                    issue.number,
                    None,
                    pr_plan::Repeat::Always,
                )
                .await
            } else {
                plan_request::replan_from_pr(h, repo, job_id, &config, issue.number, instructions)
                    .await
            }
        }
        CommandRequest::Plan { instructions } => {
            plan_request::run(h, repo, job_id, &config, issue, instructions, issue.number).await
        }
        CommandRequest::Unlock => unlock(h, repo, issue, &key).await,
        CommandRequest::Apply => {
            pr_merge::apply_command(h, repo, &config, issue.number, issue.is_pull_request, &key)
                .await
        }
        CommandRequest::Configure => configure::configure(h, repo, &config, issue, &key).await,
        CommandRequest::Destroy => destroy::open_destroy_pr(h, repo, &config, issue, &key).await,
        // Answered above, before settings and permissions: anyone may ask for help.
        CommandRequest::Help => Ok(()),
    }
}

/// An issue opened or labeled with labels: plans it when one is the configured trigger.
pub(super) async fn run_trigger_label(
    h: &Handlers,
    repo: &RepoCtx,
    job_id: i64,
    issue: &IssueSnapshot,
    author: &str,
    labels: &[String],
) -> anyhow::Result<()> {
    let key = job_key(job_id, "trigger");
    let Some(config) = settings_or_report(repo, issue.number, &key).await? else {
        return Ok(());
    };
    if !labels
        .iter()
        .any(|label| label.eq_ignore_ascii_case(&config.trigger_label))
    {
        return Ok(());
    }
    let min = config.permissions.min_permission;
    let (allowed, actual) = repo.has_permission(author, min).await?;
    if !allowed {
        let body = format!(
            "@{author} the `{}` label starts a PromptOps plan, which needs **{}** permission (or higher) on `{}`; you have **{actual}**. A maintainer can comment `/promptops plan`.",
            config.trigger_label,
            min_name(min),
            repo.full_name(),
        );
        return repo.comment(issue.number, &key, &body).await;
    }
    plan_request::run(h, repo, job_id, &config, issue, "", issue.number).await
}

/// The repository settings, or `None` after telling the user what is wrong with them.
pub(super) async fn settings_or_report(
    repo: &RepoCtx,
    issue: u64,
    key: &str,
) -> anyhow::Result<Option<RepoConfig>> {
    match repo.load_config().await? {
        Ok(config) => Ok(Some(config)),
        Err(err) => {
            let body = format!(
                "PromptOps cannot act on this repository until its settings are fixed:\n\n> {}\n\nEvery key is optional; see the README for the ones that exist.",
                err.to_string().replace('\n', "\n> ")
            );
            repo.comment(issue, key, &body).await?;
            Ok(None)
        }
    }
}

async fn unlock(
    h: &Handlers,
    repo: &RepoCtx,
    issue: &IssueSnapshot,
    key: &str,
) -> anyhow::Result<()> {
    let full_name = repo.full_name();
    let record = if issue.is_pull_request {
        h.store.request_for_pr(&full_name, issue.number).await?
    } else {
        h.store.request_for_issue(&full_name, issue.number).await?
    };
    let body = match record {
        None => "There is no PromptOps deployment linked to this conversation, so there is nothing to unlock.".to_owned(),
        Some(record) => match h.store.force_unlock(&full_name, &record.deployment).await? {
            Some(lock) => format!(
                "Unlocked deployment `{}` (it was held by #{} since {}).",
                record.deployment,
                lock.pr,
                lock.since.format("%Y-%m-%d %H:%M UTC")
            ),
            None => format!("Deployment `{}` was not locked.", record.deployment),
        },
    };
    repo.comment(issue.number, key, &body).await
}

pub(super) fn min_name(min: crate::repo_config::MinPermission) -> &'static str {
    use crate::repo_config::MinPermission as M;
    match min {
        M::Read => "read",
        M::Triage => "triage",
        M::Write => "write",
        M::Maintain => "maintain",
        M::Admin => "admin",
    }
}
