//! The one issue per deployment that reports drift: opened at the first drift, edited in
//! place (and reopened) at each later one, closed with a comment when a check finds none.
//!
//! Opening is made idempotent: the issue carries the label [`DRIFT_LABEL`] and a hidden
//! marker keyed by the deployment, and the open issues with the label are searched for it
//! before one is opened — so a check retried after GitHub created the issue but its answer
//! was lost (the number never reached the store) finds that issue instead of opening a
//! second one.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use promptops_core::{CommitSha, IssueNumber};
use promptops_github::client::marker::with_marker;
use promptops_github::client::{IssueState, KeyedIssue};

/// The label on every drift issue.
pub(super) const DRIFT_LABEL: &str = "promptops-drift";

/// The hidden marker key of a deployment's drift issue.
fn issue_key(deployment: &str) -> String {
    format!("drift:{deployment}")
}

use super::drift::DriftResult;
use super::{Handlers, RepoCtx};

/// Brings the deployment's drift issue in line with `result`; returns its number when
/// there is one.
pub(super) async fn report(
    h: &Handlers,
    repo: &RepoCtx,
    deployment: &str,
    result: DriftResult,
    sha: &CommitSha,
    checked_at: DateTime<Utc>,
    plan: &str,
) -> anyhow::Result<Option<IssueNumber>> {
    let when = checked_at.format("%Y-%m-%d %H:%M UTC").to_string();
    let when = when.as_str();
    let known = h
        .store
        .drift_check(repo.name(), deployment)
        .await?
        .and_then(|check| check.issue);
    match (result, known) {
        (DriftResult::Drift, Some(number)) => {
            let body = with_marker(&body(deployment, sha, when, plan), &issue_key(deployment));
            repo.api
                .update_issue(repo.name(), number, Some(&body), Some(IssueState::Open))
                .await
                .with_context(|| format!("updating drift issue #{number}"))?;
            Ok(Some(number))
        }
        (DriftResult::Drift, None) => {
            let title = format!("Drift in deployment {deployment}");
            let body = body(deployment, sha, when, plan);
            let key = issue_key(deployment);
            let issue = repo
                .api
                .open_keyed_issue(
                    repo.name(),
                    &KeyedIssue {
                        title: &title,
                        body: &body,
                        label: DRIFT_LABEL,
                        key: &key,
                    },
                )
                .await
                .context("opening the drift issue")?;
            Ok(Some(issue.number))
        }
        (DriftResult::NoDrift, Some(number)) => {
            let state = repo
                .api
                .get_issue(repo.name(), number)
                .await
                .with_context(|| format!("reading drift issue #{number}"))?
                .state;
            if state == IssueState::Open {
                let note = format!(
                    "✅ The drift check of {when} found no drift in `{deployment}` (`{}`): closing.",
                    sha.short()
                );
                let key = format!("drift-resolved:{}", checked_at.timestamp());
                repo.comment(number, &key, &note).await?;
                repo.api
                    .update_issue(repo.name(), number, None, Some(IssueState::Closed))
                    .await
                    .with_context(|| format!("closing drift issue #{number}"))?;
            }
            Ok(Some(number))
        }
        (_, known) => Ok(known),
    }
}

fn body(deployment: &str, sha: &CommitSha, when: &str, plan: &str) -> String {
    format!(
        "### 🔀 Drift in deployment `{deployment}`\n\nA read-only plan of the default branch at `{}` ({when}) shows changes: the real infrastructure no longer matches what was applied. Someone (or something) changed it outside PromptOps, or an applied resource changed by itself. This issue is updated in place by each check that finds drift, and closed by the first that finds none.\n\n{plan}",
        sha.short()
    )
}
