//! Issues and their comments.

use axum::Json;
use axum::extract::{Path, Query as AxQuery, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::{Query, authorize, list_response, paginate, validation_failed};
use crate::fault::{Shared, github_error};
use crate::model::Comment;
use crate::render;

/// GitHub's limit on issue and pull-request comment bodies, in characters.
pub use promptops_core::github::COMMENT_LIMIT_CHARS as MAX_COMMENT_CHARS;

/// `GET /repos/{owner}/{repo}/issues/{number}`
pub async fn get_issue(
    State(state): State<Shared>,
    Path((owner, name, number)): Path<(String, String, u64)>,
    headers: HeaderMap,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let repo = world.repo(&owner, &name).expect("authorized");
    let full = repo.full_name();
    let Some(issue) = repo.issues.get(&number) else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let count = world
        .comments
        .iter()
        .filter(|c| c.repo == full && c.issue == number)
        .count();
    Json(render::issue(&world.base_url, repo, issue, count)).into_response()
}

/// `GET /repos/{owner}/{repo}/issues/{number}/comments` (oldest first, paginated)
pub async fn list_comments(
    State(state): State<Shared>,
    Path((owner, name, number)): Path<(String, String, u64)>,
    AxQuery(query): AxQuery<Query>,
    headers: HeaderMap,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let repo = world.repo(&owner, &name).expect("authorized");
    let full = repo.full_name();
    if !repo.issues.contains_key(&number) {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    }
    let items = world
        .comments
        .iter()
        .filter(|c| c.repo == full && c.issue == number)
        .map(|c| render::comment(&world.base_url, c))
        .collect();
    let url = format!("{}/repos/{full}/issues/{number}/comments", world.base_url);
    let (page, link) = paginate(items, &query, &url);
    list_response(page, link)
}

#[derive(Deserialize)]
pub struct CommentBody {
    body: String,
}

fn too_long(body: &str) -> Option<Response> {
    (body.chars().count() > MAX_COMMENT_CHARS).then(|| {
        validation_failed(json!([{
            "resource": "IssueComment", "code": "unprocessable", "field": "data",
            "message": format!("Body is too long (maximum is {MAX_COMMENT_CHARS} characters)"),
        }]))
    })
}

/// `POST /repos/{owner}/{repo}/issues/{number}/comments`
pub async fn create_comment(
    State(state): State<Shared>,
    Path((owner, name, number)): Path<(String, String, u64)>,
    headers: HeaderMap,
    Json(body): Json<CommentBody>,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let repo = world.repo(&owner, &name).expect("authorized");
    let full = repo.full_name();
    if !repo.issues.contains_key(&number) {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    }
    if let Some(r) = too_long(&body.body) {
        return r;
    }
    let author = world.bot_login();
    let id = world.next_id();
    let now = Utc::now();
    let comment = Comment {
        id,
        repo: full,
        issue: number,
        body: body.body,
        author,
        created_at: now,
        updated_at: now,
    };
    let json = render::comment(&world.base_url, &comment);
    world.comments.push(comment);
    (StatusCode::CREATED, Json(json)).into_response()
}

/// `GET /repos/{owner}/{repo}/issues/comments/{id}`
pub async fn get_comment(
    State(state): State<Shared>,
    Path((owner, name, id)): Path<(String, String, u64)>,
    headers: HeaderMap,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let full = world.repo(&owner, &name).expect("authorized").full_name();
    match world.comments.iter().find(|c| c.id == id && c.repo == full) {
        Some(c) => Json(render::comment(&world.base_url, c)).into_response(),
        None => github_error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// `PATCH /repos/{owner}/{repo}/issues/comments/{id}`
pub async fn update_comment(
    State(state): State<Shared>,
    Path((owner, name, id)): Path<(String, String, u64)>,
    headers: HeaderMap,
    Json(body): Json<CommentBody>,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    if let Some(r) = too_long(&body.body) {
        return r;
    }
    let full = world.repo(&owner, &name).expect("authorized").full_name();
    let base = world.base_url.clone();
    match world
        .comments
        .iter_mut()
        .find(|c| c.id == id && c.repo == full)
    {
        Some(c) => {
            c.body = body.body;
            c.updated_at = Utc::now();
            Json(render::comment(&base, c)).into_response()
        }
        None => github_error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// `DELETE /repos/{owner}/{repo}/issues/comments/{id}`
pub async fn delete_comment(
    State(state): State<Shared>,
    Path((owner, name, id)): Path<(String, String, u64)>,
    headers: HeaderMap,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let full = world.repo(&owner, &name).expect("authorized").full_name();
    let before = world.comments.len();
    world.comments.retain(|c| !(c.id == id && c.repo == full));
    if world.comments.len() == before {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    }
    StatusCode::NO_CONTENT.into_response()
}
