//! Deployments that expire. A request that says how long it is needed ("for 2 days",
//! "until Friday") is checked against the repository's `expiry.max_lifetime` when it is
//! planned, and recorded in the store; the apply sets the date and queues two jobs with a
//! `run_after` — a warning a day before, and at the date the pull request that destroys
//! the deployment (merged by the bot only with `expiry.auto_merge: true`). The jobs live
//! in the queue, so they survive restarts and run once across replicas; each carries the
//! date it was queued for and does nothing when `/promptops extend` has moved it since.

use anyhow::Context as _;
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use promptops_core::{ExpiryRequest, IssueNumber, Lifetime, ValidationError};
use promptops_store::{ExpiryRecord, NewJob};
use serde_json::Value;
use tracing::info;

use super::destroy::{self, DestroyPr};
use super::{Handlers, RepoCtx};
use crate::pipeline::jobs::{ExpiryStage, IssueSnapshot, JobPayload};
use crate::repo_config::RepoConfig;

/// How long before the date the issue is warned.
const WARNING_AHEAD: TimeDelta = TimeDelta::days(1);

/// How dates are written in comments and the pull request body.
pub(crate) fn format_date(at: DateTime<Utc>) -> String {
    at.format("%a %Y-%m-%d %H:%M UTC").to_string()
}

/// Checks what the request asks for against the settings and the time; the error is the
/// reason to tell the user.
pub(super) fn check(
    h: &Handlers,
    config: &RepoConfig,
    expiry: Option<&ExpiryRequest>,
) -> Result<(), ValidationError> {
    match expiry {
        Some(expiry) => expiry.check(h.clock.now(), config.expiry.max_lifetime),
        None => Ok(()),
    }
}

/// The pull request body's line for the request's expiry.
pub(crate) fn describe(expiry: Option<&ExpiryRequest>, max: Option<Lifetime>) -> String {
    let limit = max
        .map(|max| format!("; this repository allows at most {max}"))
        .unwrap_or_default();
    match expiry {
        Some(expiry) => format!(
            "{expiry}: a day before, PromptOps comments on the issue; at the date it opens a pull request that destroys the deployment. `/promptops extend 3d` moves the date{limit}"
        ),
        None => format!(
            "never (say \"for 3 days\" or \"until Friday\" in the request to set a date{limit})"
        ),
    }
}

/// Records what the request asks for when its pull request is opened or updated. A
/// request that no longer asks for an expiry is recorded as `null` (when there was one), so
/// that the date already set stands until the change is applied.
pub(super) async fn record_request(
    h: &Handlers,
    repo: &RepoCtx,
    deployment: &str,
    issue: IssueNumber,
    expiry: Option<&ExpiryRequest>,
) -> anyhow::Result<()> {
    let repo_name = repo.name();
    let value = match expiry {
        Some(expiry) => serde_json::to_value(expiry).context("storing the expiry")?,
        None if h.store.expiry(repo_name, deployment).await?.is_some() => Value::Null,
        None => return Ok(()),
    };
    h.store
        .set_expiry_request(repo_name, deployment, issue, &value)
        .await?;
    Ok(())
}

/// After a successful apply: sets the date the request asked for and queues its jobs.
pub(super) async fn on_applied(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
    deployment: &str,
) -> anyhow::Result<()> {
    let repo_name = repo.name();
    let Some(record) = h.store.expiry(repo_name, deployment).await? else {
        return Ok(());
    };
    if record.requested.is_null() {
        // The applied change no longer asks for an expiry.
        h.store.clear_expiry(repo_name, deployment).await?;
        return Ok(());
    }
    let Ok(requested) = serde_json::from_value::<ExpiryRequest>(record.requested.clone()) else {
        anyhow::bail!("the stored expiry of {deployment} cannot be read; plan the request again");
    };
    let now = h.clock.now();
    let mut date = requested.date(record.planned_at, now);
    // A date asked for when the PR was opened cannot outlive the maximum counted from now.
    if let Some(max) = config.expiry.max_lifetime {
        date = date.min(now + max.as_delta());
    }
    // The store keeps microseconds; the jobs compare the date they carry with it.
    let date = date.trunc_subsecs(6);
    h.store.set_expires_at(repo_name, deployment, date).await?;
    schedule(h, repo, deployment, date).await?;
    let body = format!(
        "⏳ Deployment `{deployment}` expires on **{}** ({requested}). A day before, PromptOps comments here; at the date it opens a pull request that destroys it{}. Comment `/promptops extend 3d` here to keep it longer.",
        format_date(date),
        if config.expiry.auto_merge {
            " and merges it (`expiry.auto_merge`)"
        } else {
            ""
        }
    );
    repo.comment(
        record.issue,
        &date_key("expiry-set", deployment, date),
        &body,
    )
    .await
}

/// After a successful destroy: nothing is left to expire.
pub(super) async fn on_destroyed(
    h: &Handlers,
    repo: &RepoCtx,
    deployment: &str,
) -> anyhow::Result<()> {
    h.store.clear_expiry(repo.name(), deployment).await?;
    Ok(())
}

/// A comment key for what is said about one date of one deployment.
fn date_key(purpose: &str, deployment: &str, date: DateTime<Utc>) -> String {
    format!("{purpose}:{deployment}:{}", date.timestamp())
}

/// Queues the warning (unless the date is less than a day away) and the expiry itself.
async fn schedule(
    h: &Handlers,
    repo: &RepoCtx,
    deployment: &str,
    expires_at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let warn_at = expires_at - WARNING_AHEAD;
    let mut stages = vec![(ExpiryStage::Due, expires_at)];
    if warn_at > h.clock.now() {
        stages.push((ExpiryStage::Warning, warn_at));
    }
    for (stage, run_at) in stages {
        let payload = JobPayload::Expiry {
            repo: repo.target.clone(),
            deployment: deployment.to_owned(),
            expires_at,
            stage,
        };
        let key = format!(
            "{}:{}:{deployment}:{}",
            payload.kind(),
            repo.name(),
            expires_at.timestamp()
        );
        let job = NewJob::new(
            payload.kind(),
            repo.name().clone(),
            serde_json::to_value(&payload).context("encoding the expiry job")?,
        )
        .with_dedupe_key(key)
        .with_run_after(run_at);
        h.store.enqueue(job).await?;
    }
    Ok(())
}

/// An expiry job: warns, or opens the destroy pull request; nothing when the date moved.
pub(super) async fn run(
    h: &Handlers,
    repo: &RepoCtx,
    deployment: &str,
    expires_at: DateTime<Utc>,
    stage: ExpiryStage,
) -> anyhow::Result<()> {
    let repo_name = repo.name();
    let record = h.store.expiry(repo_name, deployment).await?;
    let Some(record) = record.filter(|r| r.expires_at == Some(expires_at)) else {
        info!(repo = %repo_name, deployment, ?stage, "expiry job for a date that has moved or was cleared: nothing to do");
        return Ok(());
    };
    match stage {
        ExpiryStage::Warning => warn(h, repo, &record, expires_at).await,
        ExpiryStage::Due => expire(h, repo, &record, expires_at).await,
    }
}

async fn warn(
    h: &Handlers,
    repo: &RepoCtx,
    record: &ExpiryRecord,
    expires_at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let deployment = &record.deployment;
    let body = format!(
        "⏳ Deployment `{deployment}` expires on **{}**, in about a day. PromptOps will then open a pull request that destroys it. To keep it longer, comment `/promptops extend 3d` (hours, days or weeks) here.",
        format_date(expires_at)
    );
    repo.comment(
        record.issue,
        &date_key("expiry-warning", deployment, expires_at),
        &body,
    )
    .await?;
    h.store
        .mark_expiry_warned(repo.name(), deployment, expires_at)
        .await?;
    Ok(())
}

async fn expire(
    h: &Handlers,
    repo: &RepoCtx,
    record: &ExpiryRecord,
    expires_at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let deployment = &record.deployment;
    let key = date_key("expiry-due", deployment, expires_at);
    let config = match repo.load_config().await? {
        Ok(config) => config,
        Err(err) => {
            let body = format!(
                "⌛ Deployment `{deployment}` expired on {}, but PromptOps cannot read this repository's settings, so it opened no destroy pull request:\n\n{}\n\nFix the settings, then comment `/promptops destroy` here.",
                format_date(expires_at),
                promptops_commands::inert_block(&err.to_string())
            );
            return repo.comment(record.issue, &key, &body).await;
        }
    };
    let Some(request) = h
        .store
        .request_for_deployment(repo.name(), deployment)
        .await?
    else {
        return Ok(());
    };
    let why = format!(
        "Deployment `{deployment}` expired on {} (requested in #{}); PromptOps opened this pull request at the date.",
        format_date(expires_at),
        record.issue
    );
    let (number, url, head) = match destroy::destroy_pr_for(h, repo, &config, &request, &why)
        .await?
    {
        DestroyPr::Opened { number, url, head } => (number, url, head),
        DestroyPr::NotOnDefaultBranch { .. } => {
            h.store.clear_expiry(repo.name(), deployment).await?;
            return Ok(());
        }
        DestroyPr::BranchTaken(taken) => {
            let not_done = format!(
                "⌛ Deployment `{deployment}` expired on {}, but PromptOps opened no pull request to destroy it",
                format_date(expires_at)
            );
            let body = taken.comment(&not_done, "/promptops destroy");
            return repo.comment(record.issue, &key, &body).await;
        }
    };
    h.store
        .set_expiry_destroy_pr(repo.name(), deployment, expires_at, number)
        .await?;
    // Merged only at the head PromptOps made, so that no commit pushed since goes in
    // unreviewed (GitHub answers 409 then).
    let merge = match config.expiry.auto_merge {
        true => Some(repo.merge_pr(number, &head).await),
        false => None,
    };
    if let Some(Err(err)) = &merge {
        info!(pr = number.get(), error = %err, "auto-merge of the expiry's destroy PR refused");
    }
    let next = if let Some(Ok(_)) = merge {
        "and merged it (`expiry.auto_merge`): the deployment is being destroyed.".to_owned()
    } else if let Some(Err(err)) = merge
        && err.status() == Some(409)
    {
        format!(
            "but did not merge it: its branch has commits PromptOps did not make (pushed after PromptOps' commit `{}`). Review it and merge it to destroy the deployment.",
            head.short()
        )
    } else if config.expiry.auto_merge {
        "but GitHub refused to merge it (a required review or check?): review and merge it to destroy the deployment.".to_owned()
    } else {
        "Review and merge it to destroy the deployment; to keep it instead, close it and comment `/promptops extend 3d` here.".to_owned()
    };
    let body = format!(
        "⌛ Deployment `{deployment}` expired on {}: opened #{number} to destroy it, {next}\n\n{url}",
        format_date(expires_at)
    );
    repo.comment(record.issue, &key, &body).await
}

/// `/promptops extend <lifetime>`: moves the date of the linked deployment later.
pub(super) async fn extend(
    h: &Handlers,
    repo: &RepoCtx,
    config: &RepoConfig,
    issue: &IssueSnapshot,
    by: &str,
    key: &str,
) -> anyhow::Result<()> {
    let lifetime = match by.parse::<Lifetime>() {
        Ok(lifetime) => lifetime,
        Err(err) => {
            let body = format!(
                "`/promptops extend` needs how much longer: {}",
                promptops_commands::inert_inline(&err.to_string())
            );
            return repo.comment(issue.number, key, &body).await;
        }
    };
    let repo_name = repo.name();
    let Some(request) = super::deployment_state::linked_request(h, repo, issue).await? else {
        let body = "There is no PromptOps deployment linked to this conversation, so there is nothing to extend.";
        return repo.comment(issue.number, key, body).await;
    };
    let deployment = &request.deployment;
    let current = h
        .store
        .expiry(repo_name, deployment)
        .await?
        .and_then(|record| record.expires_at);
    let Some(current) = current else {
        let body = format!(
            "Deployment `{deployment}` has no expiry date (it does not expire, or it is not applied yet), so there is nothing to extend."
        );
        return repo.comment(issue.number, key, &body).await;
    };
    let now = h.clock.now();
    let moved = (current.max(now) + lifetime.as_delta()).trunc_subsecs(6);
    if let Some(max) = config.expiry.max_lifetime
        && moved > now + max.as_delta()
    {
        let latest = now + max.as_delta();
        let body = format!(
            "Not extended: deployment `{deployment}` would then expire on {}, later than this repository allows (`expiry.max_lifetime: {max}` from now, i.e. {}). It still expires on {}.",
            format_date(moved),
            format_date(latest),
            format_date(current)
        );
        return repo.comment(issue.number, key, &body).await;
    }
    h.store.set_expires_at(repo_name, deployment, moved).await?;
    schedule(h, repo, deployment, moved).await?;
    let body = format!(
        "⏳ Extended: deployment `{deployment}` now expires on **{}** (was {}).",
        format_date(moved),
        format_date(current)
    );
    repo.comment(issue.number, key, &body).await
}
