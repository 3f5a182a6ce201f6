//! The buttons of `promptops/plan` check runs (GitHub's check-run `actions`): which are
//! shown, and what a click does. A click runs the comment command the button stands for
//! (see `promptops_commands::Button`), as the person who clicked, through the same path as
//! a comment: the same permission check on them, the answer on the pull request. Unlike a
//! comment from an outsider, a click without the permission is always answered on the pull
//! request: GitHub shows the buttons to people who can write, so a refused click is a
//! repository setting (`permissions.min_permission`) to explain, not noise to suppress.

use anyhow::Context as _;
use promptops_commands::{Button, inert_inline};
use promptops_core::PrNumber;
use promptops_github::client::{CheckRunButton, CheckRunButtons};

use super::commands::{self, CommentJob};
use super::{Handlers, RepoCtx, job_key};
use crate::http::metrics::ClickOutcome;
use crate::pipeline::jobs::{CommentLine, IssueSnapshot};

/// The buttons of a plan check run: re-plan and unlock. No apply button: PromptOps applies
/// only merges, and no repository setting allows an apply before the merge.
pub(super) fn plan_buttons() -> CheckRunButtons {
    let buttons = Button::ALL
        .into_iter()
        .map(|button| {
            CheckRunButton::new(button.label(), button.description(), button.identifier())
                .expect("the buttons' texts fit GitHub's limits (tested)")
        })
        .collect();
    CheckRunButtons::new(buttons).expect("at most three buttons (tested)")
}

/// A click on `button` of pull request `pr`'s plan check run, by `sender`.
pub(super) async fn clicked(
    h: &Handlers,
    repo: RepoCtx,
    job_id: i64,
    pr: PrNumber,
    button: Button,
    sender: &str,
) -> anyhow::Result<()> {
    let result = run_click(h, repo, job_id, pr, button, sender).await;
    let outcome = match &result {
        Ok(outcome) => *outcome,
        Err(_) => ClickOutcome::Failed,
    };
    h.metrics.queue.button_clicked(button, outcome);
    result.map(|_| ())
}

async fn run_click(
    h: &Handlers,
    repo: RepoCtx,
    job_id: i64,
    pr: PrNumber,
    button: Button,
    sender: &str,
) -> anyhow::Result<ClickOutcome> {
    let key = job_key(job_id, "button");
    let Some(config) = commands::settings_or_report(&repo, pr, &key).await? else {
        return Ok(ClickOutcome::Refused);
    };
    let min = config.permissions.min_permission;
    let (allowed, actual) = repo.has_permission(sender, min).await?;
    let command = button.command();
    if !allowed {
        let body = format!(
            "@{} the **{}** button runs `/promptops {}`, which needs **{min}** permission (or higher) on `{}`; you have **{actual}**. Nothing was done. Ask a maintainer to click it or to comment `/promptops {}`.",
            inert_inline(sender),
            button.label(),
            command.name(),
            repo.name(),
            command.name(),
        );
        repo.comment(pr, &key, &body).await?;
        return Ok(ClickOutcome::Refused);
    }
    let info = repo
        .api
        .get_pr(repo.name(), pr)
        .await
        .with_context(|| format!("reading PR #{pr}"))?;
    let issue = IssueSnapshot {
        number: pr.into(),
        title: info.title,
        body: info.body.unwrap_or_default(),
        is_pull_request: true,
    };
    let lines = [CommentLine::Command { command }];
    let job = CommentJob {
        issue: &issue,
        author: sender,
        lines: &lines,
        ignored: &[],
    };
    let repo = repo.gathering_replies(pr.into(), job_id);
    commands::run_comment(h, &repo, job_id, &job).await?;
    Ok(ClickOutcome::Ran)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_button_fits_githubs_limits() {
        let buttons = plan_buttons();
        let identifiers: Vec<&str> = buttons.iter().map(CheckRunButton::identifier).collect();
        assert_eq!(identifiers, ["replan", "unlock"]);
    }
}
