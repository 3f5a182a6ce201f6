//! The Git Data API's commits and trees: building a commit on a parent of the caller's
//! choosing, which a branch then takes only by a reference update (`git::update_ref`).
//!
//! Trees are flat here (path → bytes, as the fake stores files). A tree entry is given
//! by `content` or deleted by `"sha": null`; entries naming an existing blob by SHA are
//! not modelled and answered 422 saying so, rather than silently misread.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::authorize;
use crate::fault::{Shared, github_error};
use crate::model::{Tree, blob_sha, tree_sha};
use crate::render;

/// `GET /repos/{owner}/{repo}/git/commits/{sha}`
pub async fn get_commit(
    State(state): State<Shared>,
    Path((owner, name, sha)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let repo = world.repo(&owner, &name).expect("authorized");
    match repo.commits.get(&sha) {
        Some(c) => Json(render::commit(
            &world.base_url,
            repo,
            sha.as_str(),
            &c.message,
            &c.parents,
        ))
        .into_response(),
        None => github_error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

#[derive(Deserialize)]
pub struct CreateTree {
    base_tree: Option<String>,
    tree: Vec<TreeEntry>,
}

#[derive(Deserialize)]
struct TreeEntry {
    path: String,
    mode: String,
    #[serde(rename = "type")]
    kind: String,
    /// Absent: the entry gives `content`; `null`: the path is deleted.
    #[serde(default, deserialize_with = "present")]
    sha: Option<Option<String>>,
    content: Option<String>,
}

/// Tells a field given as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

fn invalid_tree(message: &str) -> Response {
    github_error(StatusCode::UNPROCESSABLE_ENTITY, message)
}

/// `POST /repos/{owner}/{repo}/git/trees`
pub async fn create_tree(
    State(state): State<Shared>,
    Path((owner, name)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<CreateTree>,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let base_url = world.base_url.clone();
    let repo = world.repo_mut(&owner, &name).expect("authorized");
    let mut files = match &body.base_tree {
        Some(base) => match repo.trees.get(base) {
            Some(tree) => (**tree).clone(),
            None => return invalid_tree("base_tree is not a valid tree oid"),
        },
        None => Default::default(),
    };
    for entry in body.tree {
        if entry.kind != "blob" || !matches!(entry.mode.as_str(), "100644" | "100755") {
            return invalid_tree(&format!(
                "fake GitHub: only file blobs are modelled, not {} with mode {}",
                entry.kind, entry.mode
            ));
        }
        match (entry.sha, entry.content) {
            (None, Some(content)) => {
                files.insert(entry.path, content.into_bytes());
            }
            (Some(None), None) => {
                if files.remove(&entry.path).is_none() {
                    return invalid_tree("GitRPC::BadObjectState");
                }
            }
            (Some(Some(_)), None) => {
                return invalid_tree(
                    "fake GitHub: tree entries naming a blob by SHA are not modelled; give its content",
                );
            }
            _ => return invalid_tree("Must supply either tree.sha or tree.content, not both"),
        }
    }
    let sha = tree_sha(&files);
    let entries: Vec<Value> = files
        .iter()
        .map(|(path, content)| {
            json!({ "path": path, "mode": "100644", "type": "blob", "sha": blob_sha(content), "size": content.len() })
        })
        .collect();
    let files: Tree = Arc::new(files);
    repo.trees.insert(sha.clone(), files);
    let full = repo.full_name();
    (
        StatusCode::CREATED,
        Json(json!({
            "sha": sha,
            "url": format!("{base_url}/repos/{full}/git/trees/{sha}"),
            "tree": entries,
            "truncated": false,
        })),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct CreateCommit {
    message: String,
    tree: String,
    #[serde(default)]
    parents: Vec<String>,
}

/// `POST /repos/{owner}/{repo}/git/commits`: the commit exists afterwards, on no branch.
pub async fn create_commit(
    State(state): State<Shared>,
    Path((owner, name)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<CreateCommit>,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let repo = world.repo(&owner, &name).expect("authorized");
    let Some(files) = repo.trees.get(&body.tree).cloned() else {
        return invalid_tree("Tree SHA does not exist");
    };
    if let Some(missing) = body.parents.iter().find(|p| !repo.commits.contains_key(*p)) {
        return invalid_tree(&format!(
            "Parent SHA {missing} does not exist or is not a commit object"
        ));
    }
    let full = repo.full_name();
    let sha = world.commit(&full, body.parents.clone(), files, &body.message);
    // A commit made with an installation token is the App's own.
    let bot = world.bot_login();
    world.attribute_commit(&full, &sha, Some(&bot));
    let repo = world.repo(&owner, &name).expect("exists");
    (
        StatusCode::CREATED,
        Json(render::commit(
            &world.base_url,
            repo,
            &sha,
            &body.message,
            &body.parents,
        )),
    )
        .into_response()
}
