//! Git references (branches) and the tarball download with its codeload-style redirect.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, Query as AxQuery, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use flate2::Compression;
use flate2::write::GzEncoder;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::{Query, authorize};
use crate::fault::{Shared, github_error};
use crate::model::{Commit, TokenGrant};
use crate::render;

/// `GET /repos/{owner}/{repo}/git/ref/{ref}` (only `heads/<branch>` exists in the fake).
pub async fn get_ref(
    State(state): State<Shared>,
    Path((owner, name, git_ref)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let repo = world.repo(&owner, &name).expect("authorized");
    let found = git_ref
        .strip_prefix("heads/")
        .and_then(|b| repo.branches.get(b).map(|sha| (b, sha)));
    match found {
        Some((branch, sha)) => {
            Json(render::git_ref(&world.base_url, repo, branch, sha)).into_response()
        }
        None => github_error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

#[derive(Deserialize)]
pub struct CreateRef {
    #[serde(rename = "ref")]
    git_ref: String,
    sha: String,
}

/// `POST /repos/{owner}/{repo}/git/refs`
pub async fn create_ref(
    State(state): State<Shared>,
    Path((owner, name)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<CreateRef>,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let repo = world.repo(&owner, &name).expect("authorized");
    let Some(branch) = body
        .git_ref
        .strip_prefix("refs/heads/")
        .filter(|b| !b.is_empty() && !b.ends_with('/'))
    else {
        return github_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("{} is not a valid ref name.", body.git_ref),
        );
    };
    if repo.branches.contains_key(branch) {
        return github_error(StatusCode::UNPROCESSABLE_ENTITY, "Reference already exists");
    }
    if !repo.commits.contains_key(&body.sha) {
        return github_error(StatusCode::UNPROCESSABLE_ENTITY, "Object does not exist");
    }
    let full = repo.full_name();
    let branch = branch.to_string();
    world.set_branch_head(&full, &branch, &body.sha);
    let repo = world.repo(&owner, &name).expect("exists");
    (
        StatusCode::CREATED,
        Json(render::git_ref(&world.base_url, repo, &branch, &body.sha)),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct UpdateRef {
    sha: String,
    #[serde(default)]
    force: bool,
}

/// `PATCH /repos/{owner}/{repo}/git/refs/{ref}`
pub async fn update_ref(
    State(state): State<Shared>,
    Path((owner, name, git_ref)): Path<(String, String, String)>,
    headers: HeaderMap,
    Json(body): Json<UpdateRef>,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let repo = world.repo(&owner, &name).expect("authorized");
    let Some((branch, old)) = git_ref
        .strip_prefix("heads/")
        .and_then(|b| repo.branches.get(b).map(|sha| (b.to_string(), sha.clone())))
    else {
        return github_error(StatusCode::UNPROCESSABLE_ENTITY, "Reference does not exist");
    };
    if !repo.commits.contains_key(&body.sha) {
        return github_error(StatusCode::UNPROCESSABLE_ENTITY, "Object does not exist");
    }
    if !body.force && !repo.is_ancestor(&old, &body.sha) {
        return github_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Update is not a fast forward",
        );
    }
    let full = repo.full_name();
    world.set_branch_head(&full, &branch, &body.sha);
    let repo = world.repo(&owner, &name).expect("exists");
    Json(render::git_ref(&world.base_url, repo, &branch, &body.sha)).into_response()
}

/// `DELETE /repos/{owner}/{repo}/git/refs/{ref}`
pub async fn delete_ref(
    State(state): State<Shared>,
    Path((owner, name, git_ref)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let repo = world.repo_mut(&owner, &name).expect("authorized");
    let removed = git_ref
        .strip_prefix("heads/")
        .and_then(|b| repo.branches.remove(b));
    match removed {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => github_error(StatusCode::UNPROCESSABLE_ENTITY, "Reference does not exist"),
    }
}

/// `GET /repos/{owner}/{repo}/tarball/{ref}`: a 302 to a codeload-like URL on this server
/// carrying a short-lived token, as GitHub answers.
pub async fn tarball(
    State(state): State<Shared>,
    Path((owner, name, git_ref)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut world = crate::fault::lock(&state);
    let installation_id = match authorize(&mut world, &headers, &owner, &name) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let repo = world.repo(&owner, &name).expect("authorized");
    let git_ref = if git_ref.is_empty() {
        repo.default_branch.clone()
    } else {
        git_ref
    };
    let Some(commit) = repo.resolve(&git_ref) else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let sha = commit.sha.clone();
    let (o, n) = (repo.owner.clone(), repo.name.clone());
    let token = format!("dl_{}", world.fresh_sha("download"));
    world.tokens.insert(
        token.clone(),
        TokenGrant {
            installation_id,
            expires_at: Utc::now() + chrono::Duration::minutes(5),
        },
    );
    let location = format!(
        "{}/_codeload/{o}/{n}/legacy.tar.gz/{sha}?token={token}",
        world.base_url
    );
    (StatusCode::FOUND, [(http::header::LOCATION, location)]).into_response()
}

/// `GET /repos/{owner}/{repo}/tarball` (default branch)
pub async fn tarball_default(
    state: State<Shared>,
    Path((owner, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    tarball(state, Path((owner, name, String::new())), headers).await
}

/// The codeload side: the gzip'd tar with a top-level `<owner>-<repo>-<short sha>/` dir.
pub async fn codeload(
    State(state): State<Shared>,
    Path((owner, name, sha)): Path<(String, String, String)>,
    AxQuery(query): AxQuery<Query>,
) -> Response {
    let world = crate::fault::lock(&state);
    let token_ok = query.get("token").is_some_and(|t| {
        world
            .check_token(t)
            .is_ok_and(|id| world.installation_reaches(id, &owner))
    });
    if !token_ok {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    }
    let Some(repo) = world.repo(&owner, &name) else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let Some(commit) = repo.commits.get(&sha) else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let top = format!("{}-{}-{}", repo.owner, repo.name, &commit.sha[..7]);
    match build_tarball(&top, commit) {
        Ok(bytes) => (
            StatusCode::OK,
            [
                (http::header::CONTENT_TYPE, "application/x-gzip".to_string()),
                (
                    http::header::CONTENT_DISPOSITION,
                    format!("attachment; filename={top}.tar.gz"),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => github_error(StatusCode::INTERNAL_SERVER_ERROR, &format!("tarball: {e}")),
    }
}

/// Like `git archive`: a pax global header carrying the commit id, then the top dir, every
/// directory, and every file.
pub fn build_tarball(top: &str, commit: &Commit) -> std::io::Result<Vec<u8>> {
    let mtime = commit.date.timestamp().max(0) as u64;
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));

    let record = format!("comment={}\n", commit.sha);
    let pax = format!("{} {record}", record.len() + 3);
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::XGlobalHeader);
    header.set_path("pax_global_header")?;
    header.set_size(pax.len() as u64);
    header.set_mode(0o666);
    header.set_mtime(mtime);
    header.set_cksum();
    builder.append(&header, pax.as_bytes())?;

    let mut dirs = BTreeSet::new();
    dirs.insert(String::new());
    for path in commit.files.keys() {
        let mut acc = String::new();
        let parts: Vec<&str> = path.split('/').collect();
        for part in &parts[..parts.len() - 1] {
            acc = if acc.is_empty() {
                part.to_string()
            } else {
                format!("{acc}/{part}")
            };
            dirs.insert(acc.clone());
        }
    }
    for dir in &dirs {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o775);
        h.set_mtime(mtime);
        h.set_size(0);
        let p = if dir.is_empty() {
            format!("{top}/")
        } else {
            format!("{top}/{dir}/")
        };
        builder.append_data(&mut h, p, std::io::empty())?;
    }
    for (path, bytes) in commit.files.iter() {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o664);
        h.set_mtime(mtime);
        h.set_size(bytes.len() as u64);
        builder.append_data(&mut h, format!("{top}/{path}"), bytes.as_slice())?;
    }
    builder.into_inner()?.finish()
}

/// `GET /repos/{owner}/{repo}/branches/{branch}` (name and head commit only).
pub async fn get_branch(
    State(state): State<Shared>,
    Path((owner, name, branch)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let repo = world.repo(&owner, &name).expect("authorized");
    match repo.branches.get(&branch) {
        Some(sha) => {
            let c = &repo.commits[sha];
            Json(json!({
                "name": branch,
                "commit": render::commit(&world.base_url, repo, sha, &c.message, &c.parents),
                "protected": false,
            }))
            .into_response()
        }
        None => github_error(StatusCode::NOT_FOUND, "Branch not found"),
    }
}
