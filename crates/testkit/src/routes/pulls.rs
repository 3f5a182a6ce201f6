//! Pull requests: create, list (with `head=owner:branch` and `state`), get, update and
//! merge (their files and commits: [`super::pull_lists`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query as AxQuery, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Query, authorize, list_response, paginate, validation_failed};
use crate::fault::{Shared, github_error};
use crate::model::{Issue, PullData, State as World};
use crate::render;

/// A pull request as lists show it.
fn pull_json(world: &World, full: &str, number: u64) -> Option<Value> {
    let repo = world.repo_by_full_name(full)?;
    let issue = repo.issues.get(&number).filter(|i| i.pull.is_some())?;
    let head_repo = world.repo_by_full_name(&issue.pull.as_ref()?.head_repo);
    Some(render::pull(&world.base_url, repo, head_repo, issue))
}

/// A pull request as a single answer shows it (read, opened, updated): with the counts of
/// its changed files and commits, which lists leave out.
fn full_pull_json(world: &World, full: &str, number: u64) -> Option<Value> {
    let mut answer = pull_json(world, full, number)?;
    let pull = world.repo_by_full_name(full)?.issues[&number]
        .pull
        .as_ref()?;
    let counts = super::pull_lists::counts(world, full, pull);
    if let (Some(answer), Some(counts)) = (answer.as_object_mut(), counts.as_object()) {
        answer.extend(counts.clone());
    }
    Some(answer)
}

#[derive(Deserialize)]
pub struct CreatePull {
    title: Option<String>,
    head: String,
    base: String,
    body: Option<String>,
    #[serde(default)]
    draft: bool,
}

/// What a new pull request is made of.
pub struct NewPull<'a> {
    /// `branch` or `owner:branch`.
    pub head: &'a str,
    pub base: &'a str,
    pub title: &'a str,
    pub body: Option<String>,
    pub draft: bool,
    pub author: &'a str,
}

/// Opens a pull request; the error is GitHub's answer. Shared with the setup API.
pub fn open_pull(world: &mut World, full: &str, new: NewPull<'_>) -> Result<u64, Response> {
    let head = PullHead::find(world, full, new.head)?;
    let repo = world.repo_by_full_name(full).expect("repository exists");
    let Some(base_sha) = repo.branches.get(new.base).cloned() else {
        return Err(invalid_field("base"));
    };
    let duplicate = repo.issues.values().any(|i| {
        i.open
            && i.pull.as_ref().is_some_and(|p| {
                p.head_ref == head.branch && p.head_repo.eq_ignore_ascii_case(&head.repo)
            })
    });
    if duplicate {
        return Err(custom_error(format!(
            "A pull request already exists for {}:{}.",
            head.owner, head.branch
        )));
    }
    if head.sha == base_sha
        || (head.repo.eq_ignore_ascii_case(full) && repo.is_ancestor(&head.sha, &base_sha))
    {
        return Err(custom_error(format!(
            "No commits between {} and {}",
            new.base, head.branch
        )));
    }
    Ok(insert_pull(world, full, new, head))
}

/// The head a new pull request names (`branch` or `owner:branch`), found.
struct PullHead {
    owner: String,
    branch: String,
    /// The full name of the repository holding the branch (a fork's for `owner:branch`).
    repo: String,
    sha: String,
}

impl PullHead {
    fn find(world: &World, full: &str, head: &str) -> Result<PullHead, Response> {
        let repo = world.repo_by_full_name(full).expect("repository exists");
        let (owner, branch) = match head.split_once(':') {
            Some((o, b)) => (o.to_string(), b.to_string()),
            None => (repo.owner.clone(), head.to_string()),
        };
        let head_repo = world
            .repo_by_full_name(&format!("{owner}/{}", repo.name))
            .ok_or_else(|| invalid_field("head"))?;
        let sha = head_repo
            .branches
            .get(&branch)
            .cloned()
            .ok_or_else(|| invalid_field("head"))?;
        Ok(PullHead {
            owner,
            branch,
            repo: head_repo.full_name(),
            sha,
        })
    }
}

/// Records the new pull request (an issue with pull data); returns its number.
fn insert_pull(world: &mut World, full: &str, new: NewPull<'_>, head: PullHead) -> u64 {
    let id = world.next_id();
    let now = Utc::now();
    let repo = world
        .repo_by_full_name_mut(full)
        .expect("repository exists");
    let number = repo.next_number;
    repo.next_number += 1;
    repo.issues.insert(
        number,
        Issue {
            id,
            number,
            title: new.title.to_string(),
            body: new.body,
            author: new.author.to_string(),
            open: true,
            labels: Vec::new(),
            created_at: now,
            updated_at: now,
            pull: Some(PullData {
                head_ref: head.branch,
                head_sha: head.sha,
                head_repo: head.repo,
                base_ref: new.base.to_string(),
                merged: false,
                merge_commit_sha: None,
                merged_by: None,
                draft: new.draft,
            }),
        },
    );
    number
}

/// GitHub's 422 for a pull request `field` that names nothing usable.
fn invalid_field(field: &str) -> Response {
    validation_failed(json!([{ "resource": "PullRequest", "field": field, "code": "invalid" }]))
}

/// GitHub's 422 for a pull request refused with a sentence.
fn custom_error(message: String) -> Response {
    validation_failed(json!([{
        "resource": "PullRequest", "code": "custom", "message": message,
    }]))
}

/// `POST /repos/{owner}/{repo}/pulls`
pub async fn create(
    State(state): State<Shared>,
    Path((owner, name)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<CreatePull>,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let full = world.repo(&owner, &name).expect("authorized").full_name();
    let author = world.bot_login();
    let title = body.title.unwrap_or_default();
    let new = NewPull {
        head: &body.head,
        base: &body.base,
        title: &title,
        body: body.body,
        draft: body.draft,
        author: &author,
    };
    match open_pull(&mut world, &full, new) {
        Ok(number) => (
            StatusCode::CREATED,
            Json(full_pull_json(&world, &full, number).expect("just created")),
        )
            .into_response(),
        Err(r) => r,
    }
}

/// `GET /repos/{owner}/{repo}/pulls?state=&head=owner:branch&base=`
pub async fn list(
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
    let full = repo.full_name();
    let state_filter = query.get("state").map(String::as_str).unwrap_or("open");
    let head_filter = query.get("head").map(|h| match h.split_once(':') {
        Some((o, b)) => (format!("{o}/{}", repo.name), b.to_string()),
        None => (full.clone(), h.clone()),
    });
    let mut numbers: Vec<u64> = repo
        .issues
        .values()
        .filter(|i| {
            let Some(p) = &i.pull else { return false };
            let state_ok = match state_filter {
                "all" => true,
                "closed" => !i.open,
                _ => i.open,
            };
            let head_ok = head_filter
                .as_ref()
                .is_none_or(|(hr, hb)| p.head_repo.eq_ignore_ascii_case(hr) && &p.head_ref == hb);
            let base_ok = query.get("base").is_none_or(|b| &p.base_ref == b);
            state_ok && head_ok && base_ok
        })
        .map(|i| i.number)
        .collect();
    numbers.reverse();
    let items = numbers
        .into_iter()
        .filter_map(|n| pull_json(&world, &full, n))
        .collect();
    let url = format!("{}/repos/{full}/pulls", world.base_url);
    let (page, link) = paginate(items, &query, &url);
    list_response(page, link)
}

/// `GET /repos/{owner}/{repo}/pulls/{number}`
pub async fn get(
    State(state): State<Shared>,
    Path((owner, name, number)): Path<(String, String, u64)>,
    headers: HeaderMap,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let full = world.repo(&owner, &name).expect("authorized").full_name();
    match full_pull_json(&world, &full, number) {
        Some(v) => Json(v).into_response(),
        None => github_error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

#[derive(Deserialize)]
pub struct UpdatePull {
    title: Option<String>,
    body: Option<String>,
    state: Option<String>,
    base: Option<String>,
}

/// `PATCH /repos/{owner}/{repo}/pulls/{number}`
pub async fn update(
    State(state): State<Shared>,
    Path((owner, name, number)): Path<(String, String, u64)>,
    headers: HeaderMap,
    Json(body): Json<UpdatePull>,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let repo = world.repo_mut(&owner, &name).expect("authorized");
    let full = repo.full_name();
    let Some(issue) = repo.issues.get_mut(&number).filter(|i| i.pull.is_some()) else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    if let Some(t) = body.title {
        issue.title = t;
    }
    if let Some(b) = body.body {
        issue.body = Some(b);
    }
    match body.state.as_deref() {
        Some("open") => issue.open = true,
        Some("closed") => issue.open = false,
        Some(other) => {
            return validation_failed(json!([{
                "resource": "PullRequest", "field": "state", "code": "invalid", "value": other,
            }]));
        }
        None => {}
    }
    if let (Some(b), Some(p)) = (body.base, issue.pull.as_mut()) {
        p.base_ref = b;
    }
    issue.updated_at = Utc::now();
    Json(full_pull_json(&world, &full, number).expect("exists")).into_response()
}

/// The tree of `onto` with the pull request's changes (its head against the merge base)
/// applied: what merging it on top of `onto` holds.
pub fn merged_tree(
    world: &World,
    full: &str,
    onto: &str,
    pull: &PullData,
) -> Result<crate::model::Tree, String> {
    let head_repo = world
        .repo_by_full_name(&pull.head_repo)
        .ok_or_else(|| format!("head repository {} is gone", pull.head_repo))?;
    let head_files = head_repo.commits[&pull.head_sha].files.clone();
    let repo = world
        .repo_by_full_name(full)
        .ok_or_else(|| format!("no repository {full}"))?;
    let old_files = repo
        .merge_base(onto, &pull.head_sha)
        .map(|mb| repo.commits[&mb].files.clone())
        .unwrap_or_default();
    let mut merged: BTreeMap<String, Vec<u8>> = (*repo.commits[onto].files).clone();
    for (path, content) in head_files.iter() {
        if old_files.get(path) != Some(content) {
            merged.insert(path.clone(), content.clone());
        }
    }
    for path in old_files.keys() {
        if !head_files.contains_key(path) {
            merged.remove(path);
        }
    }
    Ok(Arc::new(merged))
}

/// Who presses the merge button in [`crate::FakeGithub::merge_pr`]; their role is whatever
/// the test sets (`none` until then, like any login).
pub const DEFAULT_MERGER: &str = "merger";

/// Merges an open pull request as `merged_by`: a merge commit on the base branch whose
/// tree is the base with the head's changes (since the merge base) applied. Returns the
/// merge commit SHA.
pub fn merge_pull(
    world: &mut World,
    full: &str,
    number: u64,
    merged_by: &str,
) -> Result<String, String> {
    let repo = world
        .repo_by_full_name(full)
        .ok_or_else(|| format!("no repository {full}"))?;
    let issue = repo
        .issues
        .get(&number)
        .ok_or_else(|| format!("{full}#{number} does not exist"))?;
    let pull = issue
        .pull
        .clone()
        .ok_or_else(|| format!("{full}#{number} is an issue, not a pull request"))?;
    if !issue.open {
        return Err(format!("{full}#{number} is not open"));
    }
    let title = issue.title.clone();
    let base_sha = repo.branches[&pull.base_ref].clone();
    let merged = merged_tree(world, full, &base_sha, &pull)?;
    let message = format!("Merge pull request #{number}\n\n{title}");
    let sha = world.commit(
        full,
        vec![base_sha, pull.head_sha.clone()],
        merged,
        &message,
    );
    world.set_branch_head(full, &pull.base_ref, &sha);
    let repo = world.repo_by_full_name_mut(full).expect("checked");
    let issue = repo.issues.get_mut(&number).expect("checked");
    issue.open = false;
    issue.updated_at = Utc::now();
    let p = issue.pull.as_mut().expect("checked");
    p.merged = true;
    p.merge_commit_sha = Some(sha.clone());
    p.merged_by = Some(merged_by.to_owned());
    Ok(sha)
}

#[derive(Default, Deserialize)]
struct MergeBody {
    sha: Option<String>,
}

/// `PUT /repos/{owner}/{repo}/pulls/{number}/merge`
pub async fn merge(
    State(state): State<Shared>,
    Path((owner, name, number)): Path<(String, String, u64)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(r) = authorize(&mut world, &headers, &owner, &name) {
        return r;
    }
    let repo = world.repo(&owner, &name).expect("authorized");
    let full = repo.full_name();
    // `sha`: the head the caller reviewed; GitHub refuses when the branch has moved since.
    let expected: MergeBody = match body.is_empty() {
        true => MergeBody::default(),
        false => match serde_json::from_slice(&body) {
            Ok(parsed) => parsed,
            Err(err) => {
                return github_error(
                    StatusCode::BAD_REQUEST,
                    &format!("Problems parsing JSON: {err}"),
                );
            }
        },
    };
    let head = repo
        .issues
        .get(&number)
        .and_then(|issue| issue.pull.as_ref())
        .map(|pull| pull.head_sha.clone());
    if let (Some(want), Some(head)) = (&expected.sha, head)
        && *want != head
    {
        return github_error(
            StatusCode::CONFLICT,
            "Head branch was modified. Review and try the merge again.",
        );
    }
    // An installation token acts as the App's bot account.
    let app = format!("{}[bot]", world.app_slug);
    match merge_pull(&mut world, &full, number, &app) {
        Ok(sha) => Json(
            json!({ "sha": sha, "merged": true, "message": "Pull Request successfully merged" }),
        )
        .into_response(),
        Err(msg) => github_error(StatusCode::METHOD_NOT_ALLOWED, &msg),
    }
}
