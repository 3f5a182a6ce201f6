//! Opening and editing issues, as the App does for drift reports: `POST /issues` and
//! `PATCH /issues/{number}` (title, body, state, labels), authored by the App's bot.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::issues::MAX_COMMENT_CHARS;
use super::{authorize, validation_failed};
use crate::fault::{Shared, github_error};
use crate::model::Issue;
use crate::render;

#[derive(Deserialize)]
pub struct NewIssueBody {
    title: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
}

#[derive(Deserialize)]
pub struct IssueUpdateBody {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    state: Option<String>,
}

fn invalid(field: &str, message: String) -> Response {
    validation_failed(json!([{
        "resource": "Issue", "code": "invalid", "field": field, "message": message,
    }]))
}

fn body_too_long(body: Option<&str>) -> Option<Response> {
    body.filter(|b| b.chars().count() > MAX_COMMENT_CHARS)
        .map(|_| {
            invalid(
                "body",
                format!("body is too long (maximum is {MAX_COMMENT_CHARS} characters)"),
            )
        })
}

/// `POST /repos/{owner}/{repo}/issues`
pub async fn create(
    State(state): State<Shared>,
    Path((owner, name)): Path<(String, String)>,
    headers: HeaderMap,
    Json(new): Json<NewIssueBody>,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    if new.title.trim().is_empty() {
        return invalid("title", "title can't be blank".to_owned());
    }
    if let Some(r) = body_too_long(new.body.as_deref()) {
        return r;
    }
    let author = world.bot_login();
    let id = world.next_id();
    let base_url = world.base_url.clone();
    let repo = world.repo_mut(&owner, &name).expect("authorized");
    let number = repo.next_number;
    repo.next_number += 1;
    let now = Utc::now();
    let issue = Issue {
        id,
        number,
        title: new.title,
        body: new.body,
        author,
        open: true,
        labels: new.labels,
        created_at: now,
        updated_at: now,
        pull: None,
    };
    let json = render::issue(&base_url, repo, &issue, 0);
    repo.issues.insert(number, issue);
    (StatusCode::CREATED, Json(json)).into_response()
}

/// `PATCH /repos/{owner}/{repo}/issues/{number}`
pub async fn update(
    State(state): State<Shared>,
    Path((owner, name, number)): Path<(String, String, u64)>,
    headers: HeaderMap,
    Json(update): Json<IssueUpdateBody>,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    if let Some(r) = body_too_long(update.body.as_deref()) {
        return r;
    }
    let open = match update.state.as_deref() {
        None => None,
        Some("open") => Some(true),
        Some("closed") => Some(false),
        Some(other) => {
            return invalid(
                "state",
                format!("{other} is not a valid state: open or closed"),
            );
        }
    };
    let base_url = world.base_url.clone();
    let repo = world.repo_mut(&owner, &name).expect("authorized");
    let Some(mut issue) = repo.issues.get(&number).cloned() else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    if let Some(title) = update.title {
        issue.title = title;
    }
    if let Some(body) = update.body {
        issue.body = Some(body);
    }
    if let Some(open) = open {
        issue.open = open;
    }
    issue.updated_at = Utc::now();
    let json = render::issue(&base_url, repo, &issue, 0);
    repo.issues.insert(number, issue);
    Json(json).into_response()
}
