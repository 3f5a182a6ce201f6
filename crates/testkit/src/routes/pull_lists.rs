//! A pull request's changed files and commits (`GET /pulls/{number}/files`, `/commits`),
//! with the counts a single pull request answer carries (`changed_files`, `commits`).
//! GitHub lists at most 3,000 files and 250 commits; the counts are never cut.

use axum::extract::{Path, Query as AxQuery, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::{Query, authorize, list_response, paginate};
use crate::diff::{self, FileChange};
use crate::fault::{Shared, github_error};
use crate::model::{Commit, PullData, State as World, blob_sha};
use crate::render;

/// GitHub lists at most this many files of a pull request.
const MAX_PULL_FILES: usize = 3000;

/// GitHub lists at most this many commits of a pull request.
const MAX_PULL_COMMITS: usize = 250;

/// Installation auth, then the pull request `number` of `owner/name` (its full name and
/// data); the error is the answer to send.
fn authorized_pull(
    world: &mut World,
    headers: &HeaderMap,
    owner: &str,
    name: &str,
    number: u64,
) -> Result<(String, PullData), Response> {
    authorize(world, headers, owner, name)?;
    let repo = world.repo(owner, name).expect("authorized");
    let pull = repo.issues.get(&number).and_then(|i| i.pull.clone());
    match pull {
        Some(pull) => Ok((repo.full_name(), pull)),
        None => Err(github_error(StatusCode::NOT_FOUND, "Not Found")),
    }
}

/// The base commit a pull request is compared with: the base branch's head, or after a
/// merge (when the base has moved on) the base as it was before the merge.
fn compared_base(repo: &crate::model::Repo, pull: &PullData) -> String {
    match &pull.merge_commit_sha {
        Some(m) => repo.commits[m].parents[0].clone(),
        None => repo
            .branches
            .get(&pull.base_ref)
            .cloned()
            .unwrap_or_default(),
    }
}

/// Every file the pull request changes (its head against the merge base), uncut; `None`
/// when its head repository is gone.
fn changed_files(world: &World, full: &str, pull: &PullData) -> Option<Vec<ChangedFile>> {
    let repo = world.repo_by_full_name(full)?;
    let head_repo = world.repo_by_full_name(&pull.head_repo)?;
    let head_files = head_repo.commits.get(&pull.head_sha)?.files.clone();
    let old_files = repo
        .merge_base(&compared_base(repo, pull), &pull.head_sha)
        .map(|mb| repo.commits[&mb].files.clone())
        .unwrap_or_default();
    Some(
        diff::changes(&old_files, &head_files)
            .into_iter()
            .map(ChangedFile::from)
            .collect(),
    )
}

/// A [`FileChange`] that owns its parts, to outlive the trees it came from.
struct ChangedFile {
    path: String,
    previous: Option<String>,
    status: &'static str,
    sha: String,
}

impl From<FileChange<'_>> for ChangedFile {
    fn from(c: FileChange<'_>) -> Self {
        ChangedFile {
            path: c.path.to_owned(),
            previous: c.previous.map(str::to_owned),
            status: c.status,
            sha: blob_sha(c.content),
        }
    }
}

/// Every commit the pull request adds, oldest first, uncut.
fn pull_commits(world: &World, full: &str, pull: &PullData) -> Vec<Commit> {
    let Some(repo) = world.repo_by_full_name(full) else {
        return Vec::new();
    };
    let base_sha = compared_base(repo, pull);
    world.commits_between(full, &base_sha, &pull.head_repo, &pull.head_sha)
}

/// What a single pull request answer counts: `changed_files` and `commits`.
pub fn counts(world: &World, full: &str, pull: &PullData) -> Value {
    let files = changed_files(world, full, pull).map_or(0, |files| files.len());
    let commits = pull_commits(world, full, pull).len();
    json!({ "changed_files": files, "commits": commits })
}

/// `GET /repos/{owner}/{repo}/pulls/{number}/files`: at most 3,000, a renamed file once
/// under its new name with `previous_filename`.
pub async fn files(
    State(state): State<Shared>,
    Path((owner, name, number)): Path<(String, String, u64)>,
    AxQuery(query): AxQuery<Query>,
    headers: HeaderMap,
) -> Response {
    let mut world = crate::fault::lock(&state);
    let (full, pull) = match authorized_pull(&mut world, &headers, &owner, &name, number) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let Some(changed) = changed_files(&world, &full, &pull) else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let base = &world.base_url;
    let head = &pull.head_sha;
    let items = changed
        .into_iter()
        .take(MAX_PULL_FILES)
        .map(|file| {
            let path = &file.path;
            let mut item = json!({
                "sha": file.sha,
                "filename": path,
                "status": file.status,
                "additions": 0,
                "deletions": 0,
                "changes": 0,
                "blob_url": format!("{base}/_html/{full}/blob/{head}/{path}"),
                "raw_url": format!("{base}/_raw/{full}/{head}/{path}"),
                "contents_url": format!("{base}/repos/{full}/contents/{path}?ref={head}"),
            });
            if let Some(previous) = file.previous {
                item["previous_filename"] = json!(previous);
            }
            item
        })
        .collect();
    let url = format!("{base}/repos/{full}/pulls/{number}/files");
    let (page, link) = paginate(items, &query, &url);
    list_response(page, link)
}

/// `GET /repos/{owner}/{repo}/pulls/{number}/commits`: the commits the pull request adds,
/// oldest first, each with the GitHub accounts of its author and committer (`null` when
/// the commit's email belongs to no account), at most 250.
pub async fn commits(
    State(state): State<Shared>,
    Path((owner, name, number)): Path<(String, String, u64)>,
    AxQuery(query): AxQuery<Query>,
    headers: HeaderMap,
) -> Response {
    let mut world = crate::fault::lock(&state);
    let (full, pull) = match authorized_pull(&mut world, &headers, &owner, &name, number) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let base = world.base_url.clone();
    let items: Vec<Value> = pull_commits(&world, &full, &pull)
        .iter()
        .take(MAX_PULL_COMMITS)
        .map(|c| render::commit_entry(&base, &full, c))
        .collect();
    let url = format!("{base}/repos/{full}/pulls/{number}/commits");
    let (page, link) = paginate(items, &query, &url);
    list_response(page, link)
}
