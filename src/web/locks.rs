//! Locks: the list, a confirmation page per lock, and the unlock itself (a POST that
//! `csrf::protect` checked for its origin and form token). Someone signed in sees the
//! locks of the repositories they can read, and unlocks only with the repository's
//! `min_permission` (see `repo_access`).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use chrono::Utc;
use promptops_core::RepoName;
use serde::Deserialize;

use super::Dashboard;
use super::access::Viewer;
use super::csrf::FormToken;
use super::deployments::url_component;
use super::html::{escape, page, table, time_tag, unavailable};
use super::repo_access::{refused, unchecked};

/// The action an unlock is, as a refusal names it.
const UNLOCKING: &str = "unlocking a deployment";

pub async fn locks(
    State(dash): State<Dashboard>,
    Extension(viewer): Extension<Viewer>,
) -> Response {
    locks_page(&dash, &viewer, None).await
}

async fn locks_page(dash: &Dashboard, viewer: &Viewer, notice: Option<String>) -> Response {
    let mut locks = match dash.store.list_locks(None).await {
        Ok(locks) => locks,
        Err(err) => return unavailable("the locks", err),
    };
    match dash
        .scope(viewer, locks.iter().map(|lock| &lock.repo))
        .await
    {
        Ok(scope) => locks.retain(|lock| scope.includes(&lock.repo)),
        Err(err) => return unchecked(&err),
    }
    let now = Utc::now();
    let rows: String = locks
        .iter()
        .map(|lock| {
            format!(
                "<tr><td>{repo}</td><td><a href=\"/dashboard/deployments/{repo}/{deployment_path}\">{deployment}</a></td>\
                 <td><a href=\"{pr_url}\">#{pr}</a></td><td>{since}</td>\
                 <td><a class=\"unlock\" href=\"/dashboard/locks/unlock?repo={repo_query}&amp;deployment={deployment_query}\">Unlock…</a></td></tr>\n",
                repo = escape(&lock.repo.to_string()),
                deployment = escape(&lock.deployment),
                deployment_path = escape(&url_component(&lock.deployment)),
                pr_url = escape(&dash.pr_url(&lock.repo, lock.pr)),
                pr = lock.pr,
                since = time_tag(lock.since, now),
                repo_query = escape(&url_component(&lock.repo.to_string())),
                deployment_query = escape(&url_component(&lock.deployment)),
            )
        })
        .collect();
    let notice = notice
        .map(|text| format!("<p id=\"notice\" class=\"banner\">{}</p>", escape(&text)))
        .unwrap_or_default();
    let body = if locks.is_empty() {
        format!("{notice}<p>No deployment is locked.</p>")
    } else {
        format!(
            "{notice}<p class=\"muted\">A plan locks its deployment to its pull request; merging \
             (after the apply) or closing the pull request releases it.</p>{}",
            table(
                "locks",
                &["Repository", "Deployment", "Held by", "Since", ""],
                &rows
            )
        )
    };
    page("Locks", &body).into_response()
}

/// Which lock an unlock (or its confirmation page) is about.
#[derive(Debug, Deserialize)]
pub struct UnlockForm {
    pub repo: String,
    pub deployment: String,
}

/// `GET /dashboard/locks/unlock?repo=..&deployment=..`: what unlocking would do, and the
/// form that does it. Changes nothing.
pub async fn confirm(
    State(dash): State<Dashboard>,
    Extension(viewer): Extension<Viewer>,
    Extension(form_token): Extension<FormToken>,
    Query(form): Query<UnlockForm>,
) -> Response {
    let lock = match form.repo.parse::<RepoName>() {
        Ok(repo) => {
            // Asked before the form is offered, so that nobody fills in one bound to fail.
            if let Err(refusal) = dash.may_act(&viewer, &repo, UNLOCKING).await {
                return refused(&refusal, "/dashboard/locks");
            }
            match dash.store.list_locks(Some(&repo)).await {
                Ok(locks) => locks
                    .into_iter()
                    .find(|lock| lock.deployment == form.deployment),
                Err(err) => return unavailable("the locks", err),
            }
        }
        // A name GitHub could not give holds no lock either.
        Err(_) => None,
    };
    let Some(lock) = lock else {
        let body = format!(
            "<p id=\"notice\">{}/{} is not locked (any more).</p><p><a href=\"/dashboard/locks\">All locks</a></p>",
            escape(&form.repo.to_string()),
            escape(&form.deployment)
        );
        return (StatusCode::NOT_FOUND, page("Not locked", &body)).into_response();
    };
    let body = format!(
        "<p id=\"confirm\">Pull request <a href=\"{pr_url}\">#{pr}</a> holds the lock of \
         <strong>{repo}/{deployment}</strong> since {since}. Unlocking lets another pull request \
         plan and apply this deployment; a later plan of #{pr} takes the lock again.</p>\
         <form method=\"post\" action=\"/dashboard/locks/unlock\">\
         <input type=\"hidden\" name=\"repo\" value=\"{repo}\">\
         <input type=\"hidden\" name=\"deployment\" value=\"{deployment}\">{csrf}\
         <button type=\"submit\" class=\"danger\">Unlock {deployment}</button> \
         <a href=\"/dashboard/locks\">Cancel</a></form>",
        pr_url = escape(&dash.pr_url(&lock.repo, lock.pr)),
        pr = lock.pr,
        repo = escape(&lock.repo.to_string()),
        deployment = escape(&lock.deployment),
        since = time_tag(lock.since, Utc::now()),
        csrf = form_token.field(),
    );
    page("Unlock a deployment?", &body).into_response()
}

pub async fn unlock(
    State(dash): State<Dashboard>,
    Extension(viewer): Extension<Viewer>,
    Form(form): Form<UnlockForm>,
) -> Response {
    let who = viewer.who();
    let removed = match form.repo.parse::<RepoName>() {
        Ok(repo) => {
            if let Err(refusal) = dash.may_act(&viewer, &repo, UNLOCKING).await {
                tracing::info!(repo = %repo, deployment = %form.deployment, by = %who, %refusal, "unlock refused on the dashboard");
                return refused(&refusal, "/dashboard/locks");
            }
            dash.store.force_unlock(&repo, &form.deployment).await
        }
        // A name GitHub could not give holds no lock either.
        Err(_) => Ok(None),
    };
    let notice = match removed {
        Ok(Some(lock)) => format!(
            "Unlocked {}/{} (was held by pull request #{}), by {who}.",
            lock.repo, lock.deployment, lock.pr
        ),
        Ok(None) => format!(
            "{}/{} was not locked (any more).",
            form.repo, form.deployment
        ),
        Err(err) => return unavailable("the lock", err),
    };
    tracing::info!(repo = %form.repo, deployment = %form.deployment, by = %who, "lock removed from the dashboard");
    locks_page(&dash, &viewer, Some(notice)).await
}
