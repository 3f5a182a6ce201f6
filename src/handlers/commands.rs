//! `/promptops` commands and the trigger label: settings, permission, then the work.
//!
//! A comment is one job (see `ingress`) and gets at most one new comment: its reply —
//! help, unknown commands, ignored lines, a refusal, and what its commands say on the
//! thread — posted after the commands ran (see `bot_comments::ThreadReply`). Plans and
//! applies update the deployment's own comments in place. Unknown commands and refusals
//! are answered only to people who can triage; for anyone else they are logged, so that an
//! outsider cannot make the bot write.

use promptops_commands::{Command, ShaPrefix, help_text, inert_inline};
use promptops_core::IssueNumber;
use promptops_github::client::Permission;
use tracing::info;

use super::plan_gate::Trigger;
use super::{
    Handlers, RepoCtx, configure, destroy, drift, expiry, job_key, plan_request, pr_merge, pr_plan,
};
use crate::pipeline::ingress::MAX_COMMANDS_PER_COMMENT;
use crate::pipeline::jobs::{CommentLine, IssueSnapshot};
use crate::repo_config::RepoConfig;

/// The least role answered when a comment holds unknown commands or is refused.
pub(super) const ANSWERED_FROM: Permission = Permission::Triage;

/// One comment's `/promptops` lines, as queued.
pub(super) struct CommentJob<'a> {
    pub issue: &'a IssueSnapshot,
    pub author: &'a str,
    pub lines: &'a [CommentLine],
    pub ignored: &'a [String],
}

pub(super) async fn run_comment(
    h: &Handlers,
    repo: &RepoCtx,
    job_id: i64,
    job: &CommentJob<'_>,
) -> anyhow::Result<()> {
    let CommentJob {
        issue,
        author,
        lines,
        ignored,
    } = *job;
    let commands: Vec<&Command> = lines
        .iter()
        .filter_map(|line| match line {
            CommentLine::Command { command } if *command != Command::Help => Some(command),
            _ => None,
        })
        .collect();
    let mut reply = Vec::new();
    if lines
        .iter()
        .any(|line| matches!(line, CommentLine::Command { command } if *command == Command::Help))
    {
        reply.push(help_text());
    }
    // Unknown commands, ignored lines, refusals and settings problems: said only to people
    // who can triage.
    let mut for_triagers = complaints(lines, ignored);
    let needs_role = !for_triagers.is_empty() || !commands.is_empty();
    let (actual, loaded) =
        role_and_settings(repo, author, needs_role, !commands.is_empty()).await?;
    let mut config = None;
    if let Some(loaded) = loaded {
        match loaded {
            Err(err) => for_triagers.push(settings_problem(&err)),
            Ok(loaded) if actual < loaded.permissions.min_permission => {
                let min = loaded.permissions.min_permission;
                for_triagers.push(refusal(repo, &commands, min, actual));
            }
            Ok(loaded) => config = Some(loaded),
        }
    }
    if actual >= ANSWERED_FROM {
        reply.extend(for_triagers);
    } else if !for_triagers.is_empty() {
        info!(
            author = ?author,
            issue = issue.number.get(),
            role = %actual,
            "comment not answered (unknown, ignored or refused commands): the author cannot triage"
        );
    }
    if let Some(config) = config {
        for (index, command) in commands.into_iter().enumerate() {
            let key = job_key(job_id, &format!("{}-{}", command.name(), index + 1));
            run_command(h, repo, job_id, &config, issue, command, &key).await?;
        }
    }
    // The commands' own results on this thread, after the help and the complaints.
    reply.extend(repo.take_thread_reply());
    if let Some(body) = addressed(author, &reply) {
        repo.write_comment(issue.number, &job_key(job_id, "reply"), &body)
            .await?;
    }
    Ok(())
}

/// The one reply to `author`: every part, separated by rules; `None` when there is nothing
/// to say.
fn addressed(author: &str, parts: &[String]) -> Option<String> {
    let first = parts.first()?;
    // A sentence continues after the mention; a heading or a list needs its own line.
    let separator = if first.starts_with(char::is_lowercase) {
        " "
    } else {
        "\n\n"
    };
    Some(format!("@{author}{separator}{}", parts.join("\n\n---\n\n")))
}

/// Unknown commands (each once) and the lines past the limit.
fn complaints(lines: &[CommentLine], ignored: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in lines {
        if let CommentLine::Invalid { reply } = line
            && !out.contains(reply)
        {
            out.push(reply.clone());
        }
    }
    if !ignored.is_empty() {
        const SHOWN: usize = 5;
        let mut names: Vec<String> = ignored
            .iter()
            .take(SHOWN)
            .map(|line| format!("- {}", inert_inline(line)))
            .collect();
        if ignored.len() > SHOWN {
            names.push(format!("- and {} more", ignored.len() - SHOWN));
        }
        out.push(format!(
            "A comment runs at most {MAX_COMMANDS_PER_COMMENT} commands; these {} were ignored:\n\n{}",
            ignored.len(),
            names.join("\n")
        ));
    }
    out
}

fn refusal(repo: &RepoCtx, commands: &[&Command], min: Permission, actual: Permission) -> String {
    let names: Vec<String> = commands
        .iter()
        .map(|c| format!("`/promptops {}`", c.name()))
        .collect();
    format!(
        "thanks for the request — {} can only be run by people with **{min}** permission (or higher) on `{}`; you have **{actual}**. Ask a maintainer to run it.",
        names.join(", "),
        repo.name(),
    )
}

/// The author's role (when something needs it) and the repository's settings (when there
/// are commands to run). They do not depend on each other, so both are read at once.
async fn role_and_settings(
    repo: &RepoCtx,
    author: &str,
    needs_role: bool,
    has_commands: bool,
) -> anyhow::Result<(
    Permission,
    Option<Result<RepoConfig, crate::repo_config::RepoConfigError>>,
)> {
    let (actual, loaded) = tokio::join!(
        async {
            if needs_role {
                Ok(repo.has_permission(author, ANSWERED_FROM).await?.1)
            } else {
                anyhow::Ok(Permission::None)
            }
        },
        async {
            if has_commands {
                repo.load_config().await.map(Some)
            } else {
                Ok(None)
            }
        }
    );
    Ok((actual?, loaded?))
}

async fn run_command(
    h: &Handlers,
    repo: &RepoCtx,
    job_id: i64,
    config: &RepoConfig,
    issue: &IssueSnapshot,
    command: &Command,
    key: &str,
) -> anyhow::Result<()> {
    match command {
        // With instructions on a PromptOps PR: re-plan the request; its new commit's
        // `synchronize` event runs the Terraform plan. With a commit SHA: the go-ahead to
        // plan that commit, of someone with the required permission. Otherwise: plan the
        // PR head now where it needs no go-ahead (`plan_gate` says what to type where it
        // does).
        Command::Plan { instructions } if issue.is_pull_request => {
            let approved = ShaPrefix::parse(instructions);
            let is_request = h
                .store
                .request_for_pr(repo.name(), issue.number.as_pr())
                .await?
                .is_some();
            let replan = is_request && approved.is_none() && !instructions.trim().is_empty();
            if replan || (h.terraform.is_none() && approved.is_none()) {
                let pr = issue.number.as_pr();
                plan_request::replan_from_pr(h, repo, job_id, config, pr, instructions).await
            } else {
                let trigger = Trigger::Command {
                    approved: approved.as_ref(),
                    reply_key: key,
                };
                pr_plan::plan_pr(h, repo, config, issue.number.as_pr(), None, trigger).await
            }
        }
        Command::Plan { instructions } => {
            plan_request::run(h, repo, job_id, config, issue, instructions, issue.number).await
        }
        Command::Unlock => unlock(h, repo, issue, key).await,
        Command::Apply => pr_merge::apply_command(h, repo, config, issue, key).await,
        Command::Configure => configure::configure(h, repo, config, issue, key).await,
        Command::Destroy => destroy::open_destroy_pr(h, repo, config, issue, key).await,
        Command::Extend { by } => expiry::extend(h, repo, config, issue, by, key).await,
        Command::Drift => drift::command(h, repo, config, issue, key).await,
        // Answered in the comment's reply.
        Command::Help => Ok(()),
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
            "@{author} the `{}` label starts a PromptOps plan, which needs **{min}** permission (or higher) on `{}`; you have **{actual}**. A maintainer can comment `/promptops plan`.",
            inert_inline(&config.trigger_label),
            repo.name(),
        );
        return repo.comment(issue.number, &key, &body).await;
    }
    plan_request::run(h, repo, job_id, &config, issue, "", issue.number).await
}

/// The repository settings, or `None` after telling the user what is wrong with them.
pub(super) async fn settings_or_report(
    repo: &RepoCtx,
    issue: impl Into<IssueNumber>,
    key: &str,
) -> anyhow::Result<Option<RepoConfig>> {
    match repo.load_config().await? {
        Ok(config) => Ok(Some(config)),
        Err(err) => {
            repo.comment(issue, key, &settings_problem(&err)).await?;
            Ok(None)
        }
    }
}

fn settings_problem(err: &crate::repo_config::RepoConfigError) -> String {
    format!(
        "PromptOps cannot act on this repository until its settings are fixed:\n\n{}\n\nEvery key is optional; see the README for the ones that exist.",
        promptops_commands::inert_block(&err.to_string())
    )
}

async fn unlock(
    h: &Handlers,
    repo: &RepoCtx,
    issue: &IssueSnapshot,
    key: &str,
) -> anyhow::Result<()> {
    let repo_name = repo.name();
    let record = if issue.is_pull_request {
        h.store
            .request_for_pr(repo_name, issue.number.as_pr())
            .await?
    } else {
        h.store.request_for_issue(repo_name, issue.number).await?
    };
    let body = match record {
        // A pull request PromptOps did not open for a request: the locks it holds.
        None if issue.is_pull_request => {
            let released = super::pr_plan::release_locks_of(h, repo, issue.number.as_pr()).await?;
            if released.is_empty() {
                "This pull request holds no deployment lock, so there is nothing to unlock.".to_owned()
            } else {
                let names: Vec<String> = released.iter().map(|d| format!("`{d}`")).collect();
                format!("Unlocked deployment {} (held by this pull request).", names.join(", "))
            }
        }
        None => "There is no PromptOps deployment linked to this conversation, so there is nothing to unlock.".to_owned(),
        Some(record) => match h.store.force_unlock(repo_name, &record.deployment).await? {
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
