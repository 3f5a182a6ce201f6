//! `GET /repos/{o}/{r}`, the contents API, and collaborator permissions.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, Query as AxQuery, State};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Query, authorize, validation_failed};
use crate::fault::{Shared, github_error};
use crate::model::blob_sha;
use crate::render;

/// `GET /repos/{owner}/{repo}`
pub async fn get_repo(
    State(state): State<Shared>,
    Path((owner, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let repo = world.repo(&owner, &name).expect("authorized");
    Json(render::repo(&world.base_url, repo)).into_response()
}

/// `GET /repos/{owner}/{repo}/contents/{path}?ref=`
pub async fn get_contents(
    State(state): State<Shared>,
    Path((owner, name, path)): Path<(String, String, String)>,
    AxQuery(query): AxQuery<Query>,
    headers: HeaderMap,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let base = world.base_url.clone();
    let repo = world.repo(&owner, &name).expect("authorized");
    let git_ref = query
        .get("ref")
        .cloned()
        .unwrap_or_else(|| repo.default_branch.clone());
    let Some(commit) = repo.resolve(&git_ref) else {
        return github_error(
            StatusCode::NOT_FOUND,
            &format!("No commit found for the ref {git_ref}"),
        );
    };
    let path = path.trim_matches('/').to_string();
    if let Some(bytes) = commit.files.get(&path) {
        return Json(render::content_file(
            &base, repo, &path, bytes, &git_ref, true,
        ))
        .into_response();
    }
    let prefix = format!("{path}/");
    let mut files = Vec::new();
    let mut dirs = BTreeSet::new();
    for (p, bytes) in commit.files.iter() {
        if let Some(rest) = p.strip_prefix(&prefix) {
            match rest.split_once('/') {
                Some((dir, _)) => {
                    dirs.insert(format!("{prefix}{dir}"));
                }
                None => files.push(render::content_file(&base, repo, p, bytes, &git_ref, false)),
            }
        }
    }
    if files.is_empty() && dirs.is_empty() {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    }
    let mut entries: Vec<Value> = dirs
        .iter()
        .map(|d| render::content_dir(&base, repo, d, &git_ref))
        .collect();
    entries.extend(files);
    entries.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    Json(Value::Array(entries)).into_response()
}

#[derive(Deserialize)]
pub struct PutBody {
    message: String,
    content: String,
    sha: Option<String>,
    branch: Option<String>,
}

#[derive(Deserialize)]
pub struct DeleteBody {
    message: String,
    sha: Option<String>,
    branch: Option<String>,
}

/// Checks the `sha` of an update/delete against the file on the branch, as GitHub does.
fn check_sha(current: Option<&Vec<u8>>, given: Option<&str>, path: &str) -> Result<(), Response> {
    match (current, given) {
        (Some(_), None) => Err(github_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid request.\n\n\"sha\" wasn't supplied.",
        )),
        (Some(bytes), Some(sha)) if blob_sha(bytes) != sha => Err(github_error(
            StatusCode::CONFLICT,
            &format!("{path} does not match {sha}"),
        )),
        _ => Ok(()),
    }
}

/// `PUT /repos/{owner}/{repo}/contents/{path}`
pub async fn put_contents(
    State(state): State<Shared>,
    Path((owner, name, path)): Path<(String, String, String)>,
    headers: HeaderMap,
    Json(body): Json<PutBody>,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let cleaned: String = body.content.split_whitespace().collect();
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(cleaned) else {
        return validation_failed(json!([{
            "resource": "Commit", "field": "content", "code": "invalid",
            "message": "content is not valid Base64",
        }]));
    };
    let repo = world.repo(&owner, &name).expect("authorized");
    let full = repo.full_name();
    let branch = body.branch.unwrap_or_else(|| repo.default_branch.clone());
    let Some(files) = repo.branch_files(&branch) else {
        return github_error(StatusCode::NOT_FOUND, &format!("Branch {branch} not found"));
    };
    let path = path.trim_matches('/').to_string();
    let existed = files.get(&path).cloned();
    if let Err(r) = check_sha(existed.as_ref(), body.sha.as_deref(), &path) {
        return r;
    }
    let sha = world.commit_on_branch(
        &full,
        &branch,
        &[(path.clone(), Some(bytes.clone()))],
        &body.message,
    );
    // Commits made with an installation token are the App's own.
    let bot = world.bot_login();
    world.attribute_commit(&full, &sha, Some(&bot));
    let base = world.base_url.clone();
    let repo = world.repo(&owner, &name).expect("exists");
    let parents = repo.commits[&sha].parents.clone();
    let status = if existed.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    (
        status,
        Json(json!({
            "content": render::content_file(&base, repo, &path, &bytes, &branch, false),
            "commit": render::commit(&base, repo, &sha, &body.message, &parents),
        })),
    )
        .into_response()
}

/// `DELETE /repos/{owner}/{repo}/contents/{path}`
pub async fn delete_contents(
    State(state): State<Shared>,
    Path((owner, name, path)): Path<(String, String, String)>,
    headers: HeaderMap,
    Json(body): Json<DeleteBody>,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let repo = world.repo(&owner, &name).expect("authorized");
    let full = repo.full_name();
    let branch = body.branch.unwrap_or_else(|| repo.default_branch.clone());
    let Some(files) = repo.branch_files(&branch) else {
        return github_error(StatusCode::NOT_FOUND, &format!("Branch {branch} not found"));
    };
    let path = path.trim_matches('/').to_string();
    let Some(existing) = files.get(&path).cloned() else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    if let Err(r) = check_sha(Some(&existing), body.sha.as_deref(), &path) {
        return r;
    }
    let sha = world.commit_on_branch(&full, &branch, &[(path, None)], &body.message);
    let bot = world.bot_login();
    world.attribute_commit(&full, &sha, Some(&bot));
    let base = world.base_url.clone();
    let repo = world.repo(&owner, &name).expect("exists");
    let parents = repo.commits[&sha].parents.clone();
    Json(json!({
        "content": null,
        "commit": render::commit(&base, repo, &sha, &body.message, &parents),
    }))
    .into_response()
}

/// `GET /repos/{owner}/{repo}/collaborators/{user}/permission`
///
/// `permission` carries the legacy base role (maintain → write, triage → read) and
/// `role_name` the precise one, as on GitHub.
pub async fn collaborator_permission(
    State(state): State<Shared>,
    Path((owner, name, user)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let repo = world.repo(&owner, &name).expect("authorized");
    let role = repo
        .permissions
        .get(&user.to_ascii_lowercase())
        .cloned()
        .unwrap_or_else(|| "none".to_string());
    let legacy = match role.as_str() {
        "admin" => "admin",
        "maintain" | "write" => "write",
        "triage" | "read" => "read",
        _ => "none",
    };
    let mut user_json = render::user(&world.base_url, &user);
    user_json["permissions"] = json!({
        "admin": legacy == "admin",
        "maintain": role == "maintain" || legacy == "admin",
        "push": legacy == "write" || legacy == "admin",
        "triage": legacy != "none",
        "pull": legacy != "none",
    });
    user_json["role_name"] = json!(role);
    Json(json!({ "permission": legacy, "role_name": role, "user": user_json })).into_response()
}
