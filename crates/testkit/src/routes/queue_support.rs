//! What a merge queue and keyed issues need of the API: comparing two commits
//! (`GET /compare/{base}...{head}`) and listing a repository's issues
//! (`GET /issues?state=&labels=`), as GitHub answers them.

use axum::Json;
use axum::extract::{Path, Query as AxQuery, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde_json::json;

use super::{Query, authorize, list_response, paginate};
use crate::diff;
use crate::fault::{Shared, github_error};
use crate::model::blob_sha;
use crate::render;

/// GitHub lists at most this many files of a comparison.
const MAX_COMPARED_FILES: usize = 300;

/// A comparison asked without pagination lists at most this many commits.
const MAX_COMPARED_COMMITS: usize = 250;

/// `GET /repos/{owner}/{repo}/compare/{base}...{head}`: the commits `head` has beyond
/// `base` (oldest first, at most 250) and the files changed from the merge base of the two
/// commits to `head` (three dots: GitHub's default comparison), at most 300.
pub async fn compare(
    State(state): State<Shared>,
    Path((owner, name, basehead)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let repo = world.repo(&owner, &name).expect("authorized");
    let Some((base, head)) = basehead.split_once("...") else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let (Some(base), Some(head)) = (repo.resolve(base), repo.resolve(head)) else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let Some(merge_base) = repo.merge_base(&base.sha, &head.sha) else {
        return github_error(
            StatusCode::NOT_FOUND,
            &format!("No common ancestor between {} and {}.", base.sha, head.sha),
        );
    };
    let (old, new) = (&repo.commits[&merge_base].files, &head.files);
    let mut files = Vec::new();
    for change in diff::changes(old, new) {
        let mut file = json!({
            "sha": blob_sha(change.content),
            "filename": change.path,
            "status": change.status,
        });
        if let Some(previous) = change.previous {
            file["previous_filename"] = json!(previous);
        }
        files.push(file);
    }
    files.truncate(MAX_COMPARED_FILES);
    // As GitHub counts them: commits only `head` has, and commits only `base` has.
    let (head_ancestors, base_ancestors) = (repo.ancestors(&head.sha), repo.ancestors(&base.sha));
    let ahead = head_ancestors.difference(&base_ancestors).count();
    let behind = base_ancestors.difference(&head_ancestors).count();
    let status = match (ahead, behind) {
        (0, 0) => "identical",
        (_, 0) => "ahead",
        (0, _) => "behind",
        _ => "diverged",
    };
    let full = repo.full_name();
    let commits: Vec<_> = world
        .commits_between(&full, &base.sha, &full, &head.sha)
        .iter()
        .take(MAX_COMPARED_COMMITS)
        .map(|c| render::commit_entry(&world.base_url, &full, c))
        .collect();
    Json(json!({
        "status": status,
        "ahead_by": ahead,
        "behind_by": behind,
        "total_commits": ahead,
        "commits": commits,
        "merge_base_commit": { "sha": merge_base },
        "files": files,
    }))
    .into_response()
}

/// `GET /repos/{owner}/{repo}/issues`: issues and pull requests, newest first, filtered by
/// `state` (`open` unless given; `closed`, `all`) and `labels` (comma-separated, all of
/// them), paginated.
pub async fn list_issues(
    State(state): State<Shared>,
    Path((owner, name)): Path<(String, String)>,
    AxQuery(query): AxQuery<Query>,
    headers: HeaderMap,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let repo = world.repo(&owner, &name).expect("authorized");
    let wanted_state = query.get("state").map_or("open", String::as_str);
    let labels: Vec<&str> = query
        .get("labels")
        .map(|l| {
            l.split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let mut issues: Vec<_> = repo
        .issues
        .values()
        .filter(|issue| match wanted_state {
            "closed" => !issue.open,
            "all" => true,
            _ => issue.open,
        })
        .filter(|issue| {
            labels
                .iter()
                .all(|wanted| issue.labels.iter().any(|l| l.eq_ignore_ascii_case(wanted)))
        })
        .collect();
    issues.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then(b.number.cmp(&a.number))
    });
    let full = repo.full_name();
    let items = issues
        .into_iter()
        .map(|issue| {
            let comments = world
                .comments
                .iter()
                .filter(|c| c.repo == full && c.issue == issue.number)
                .count();
            render::issue(&world.base_url, repo, issue, comments)
        })
        .collect();
    let url = format!("{}/repos/{full}/issues", world.base_url);
    let (page, link) = paginate(items, &query, &url);
    list_response(page, link)
}
