//! Reactions on issue and pull-request comments, and closing or reopening an issue.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::{authorize, validation_failed};
use crate::fault::{Shared, github_error};
use crate::model::Reaction;
use crate::render;

/// The reactions GitHub accepts.
pub const REACTION_CONTENTS: [&str; 8] = [
    "+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes",
];

#[derive(Deserialize)]
pub struct ReactionBody {
    content: String,
}

/// `POST /repos/{owner}/{repo}/issues/comments/{id}/reactions`: 201 with the new
/// reaction, or 200 with the existing one when the same user already reacted so.
pub async fn create_for_comment(
    State(state): State<Shared>,
    Path((owner, name, comment_id)): Path<(String, String, u64)>,
    headers: HeaderMap,
    Json(body): Json<ReactionBody>,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let full = world.repo(&owner, &name).expect("authorized").full_name();
    if !REACTION_CONTENTS.contains(&body.content.as_str()) {
        return validation_failed(json!([{
            "resource": "Reaction", "code": "invalid", "field": "content",
        }]));
    }
    if !world
        .comments
        .iter()
        .any(|c| c.id == comment_id && c.repo == full)
    {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    }
    let user = world.bot_login();
    let base = world.base_url.clone();
    if let Some(existing) = world.reactions.iter().find(|r| {
        r.repo == full && r.comment_id == comment_id && r.user == user && r.content == body.content
    }) {
        return (StatusCode::OK, Json(render::reaction(&base, existing))).into_response();
    }
    let reaction = Reaction {
        id: world.next_id(),
        repo: full,
        comment_id,
        content: body.content,
        user,
        created_at: Utc::now(),
    };
    let json = render::reaction(&base, &reaction);
    world.reactions.push(reaction);
    (StatusCode::CREATED, Json(json)).into_response()
}
