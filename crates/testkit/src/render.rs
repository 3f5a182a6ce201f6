//! The fake's objects in the JSON shapes of GitHub's REST API (v2022-11-28), with the
//! fields octocrab's models require, so clients can deserialize them as they would GitHub's.

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::model::{CheckRun, Comment, Commit, Issue, Repo, blob_sha, tree_sha};

/// A stable numeric id for a login.
pub fn user_id(login: &str) -> u64 {
    let d = Sha256::digest(login.to_ascii_lowercase());
    u64::from_be_bytes([0, 0, 0, d[0], d[1], d[2], d[3], d[4]])
}

pub fn user(base: &str, login: &str) -> Value {
    let id = user_id(login);
    let kind = if login.ends_with("[bot]") {
        "Bot"
    } else {
        "User"
    };
    let u = format!("{base}/users/{login}");
    json!({
        "login": login,
        "id": id,
        "node_id": format!("U_{id}"),
        "avatar_url": format!("{base}/_avatars/{id}"),
        "gravatar_id": "",
        "url": u,
        "html_url": format!("{base}/_html/{login}"),
        "followers_url": format!("{u}/followers"),
        "following_url": format!("{u}/following{{/other_user}}"),
        "gists_url": format!("{u}/gists{{/gist_id}}"),
        "starred_url": format!("{u}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{u}/subscriptions"),
        "organizations_url": format!("{u}/orgs"),
        "repos_url": format!("{u}/repos"),
        "events_url": format!("{u}/events{{/privacy}}"),
        "received_events_url": format!("{u}/received_events"),
        "type": kind,
        "site_admin": false,
    })
}

pub fn repo(base: &str, r: &Repo) -> Value {
    let full = r.full_name();
    let url = format!("{base}/repos/{full}");
    json!({
        "id": r.id,
        "node_id": format!("R_{}", r.id),
        "name": r.name,
        "full_name": full,
        "private": true,
        "owner": user(base, &r.owner),
        "html_url": format!("{base}/_html/{full}"),
        "description": null,
        "fork": false,
        "url": url,
        "contents_url": format!("{url}/contents/{{+path}}"),
        "pulls_url": format!("{url}/pulls{{/number}}"),
        "issues_url": format!("{url}/issues{{/number}}"),
        "default_branch": r.default_branch,
        "visibility": "private",
        "archived": false,
        "disabled": false,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "pushed_at": "2026-01-01T00:00:00Z",
    })
}

fn labels(base: &str, r: &Repo, names: &[String]) -> Value {
    Value::Array(
        names
            .iter()
            .map(|n| {
                let id = user_id(&format!("label:{n}"));
                json!({
                    "id": id,
                    "node_id": format!("LA_{id}"),
                    "url": format!("{base}/repos/{}/labels/{n}", r.full_name()),
                    "name": n,
                    "color": "ededed",
                    "default": false,
                    "description": null,
                })
            })
            .collect(),
    )
}

pub fn issue(base: &str, r: &Repo, i: &Issue, comments: usize) -> Value {
    let full = r.full_name();
    let url = format!("{base}/repos/{full}/issues/{}", i.number);
    let mut v = json!({
        "id": i.id,
        "node_id": format!("I_{}", i.id),
        "url": url,
        "repository_url": format!("{base}/repos/{full}"),
        "labels_url": format!("{url}/labels{{/name}}"),
        "comments_url": format!("{url}/comments"),
        "events_url": format!("{url}/events"),
        "html_url": format!("{base}/_html/{full}/issues/{}", i.number),
        "number": i.number,
        "state": if i.open { "open" } else { "closed" },
        "title": i.title,
        "body": i.body,
        "user": user(base, &i.author),
        "labels": labels(base, r, &i.labels),
        "assignee": null,
        "assignees": [],
        "locked": false,
        "comments": comments,
        "created_at": i.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "updated_at": i.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "closed_at": null,
        "author_association": "MEMBER",
    });
    if i.pull.is_some() {
        v["pull_request"] = json!({
            "url": format!("{base}/repos/{full}/pulls/{}", i.number),
            "html_url": format!("{base}/_html/{full}/pull/{}", i.number),
            "diff_url": format!("{base}/_html/{full}/pull/{}.diff", i.number),
            "patch_url": format!("{base}/_html/{full}/pull/{}.patch", i.number),
        });
    }
    v
}

fn branch_end(base: &str, r: &Repo, branch: &str, sha: &str, repo_json: Value) -> Value {
    json!({
        "label": format!("{}:{branch}", r.owner),
        "ref": branch,
        "sha": sha,
        "user": user(base, &r.owner),
        "repo": repo_json,
    })
}

pub fn pull(base: &str, r: &Repo, head_repo: Option<&Repo>, i: &Issue) -> Value {
    let p = i.pull.as_ref().expect("pull() is given a pull request");
    let full = r.full_name();
    let url = format!("{base}/repos/{full}/pulls/{}", i.number);
    let base_sha = r.branches.get(&p.base_ref).cloned().unwrap_or_default();
    let head = match head_repo {
        Some(h) => branch_end(base, h, &p.head_ref, &p.head_sha, repo(base, h)),
        None => json!({ "label": p.head_ref, "ref": p.head_ref, "sha": p.head_sha, "repo": null }),
    };
    let state = if i.open { "open" } else { "closed" };
    json!({
        "url": url,
        "id": i.id,
        "node_id": format!("PR_{}", i.id),
        "html_url": format!("{base}/_html/{full}/pull/{}", i.number),
        "diff_url": format!("{base}/_html/{full}/pull/{}.diff", i.number),
        "patch_url": format!("{base}/_html/{full}/pull/{}.patch", i.number),
        "issue_url": format!("{base}/repos/{full}/issues/{}", i.number),
        "commits_url": format!("{url}/commits"),
        "review_comments_url": format!("{url}/comments"),
        "comments_url": format!("{base}/repos/{full}/issues/{}/comments", i.number),
        "statuses_url": format!("{base}/repos/{full}/statuses/{}", p.head_sha),
        "number": i.number,
        "state": state,
        "locked": false,
        "title": i.title,
        "user": user(base, &i.author),
        "body": i.body,
        "labels": labels(base, r, &i.labels),
        "created_at": i.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "updated_at": i.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "closed_at": null,
        "merged_at": if p.merged { Some(i.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) } else { None },
        "merge_commit_sha": p.merge_commit_sha,
        "merged_by": p.merged_by.as_deref().map(|login| user(base, login)),
        "assignee": null,
        "assignees": [],
        "requested_reviewers": [],
        "draft": p.draft,
        "head": head,
        "base": branch_end(base, r, &p.base_ref, &base_sha, repo(base, r)),
        "author_association": "MEMBER",
        "merged": p.merged,
        "mergeable": if i.open { Some(true) } else { None },
        "maintainer_can_modify": false,
    })
}

/// A commit as pull request commit lists and comparisons show it, with the GitHub accounts
/// of its author and committer (`null` when the commit's email belongs to no account).
pub fn commit_entry(base: &str, full: &str, c: &Commit) -> Value {
    let account = |login: &Option<String>| match login {
        Some(login) => user(base, login),
        None => Value::Null,
    };
    let person = |login: &Option<String>| {
        let name = login.clone().unwrap_or_else(|| "Someone".to_owned());
        json!({ "name": name, "email": format!("{name}@example.com"), "date": c.date.to_rfc3339() })
    };
    json!({
        "sha": c.sha,
        "node_id": format!("C_{}", c.sha),
        "url": format!("{base}/repos/{full}/commits/{}", c.sha),
        "html_url": format!("{base}/_html/{full}/commit/{}", c.sha),
        "commit": {
            "message": c.message,
            "author": person(&c.author),
            "committer": person(&c.committer),
        },
        "author": account(&c.author),
        "committer": account(&c.committer),
        "parents": c.parents.iter().map(|p| json!({ "sha": p })).collect::<Vec<_>>(),
    })
}

pub fn comment(base: &str, c: &Comment) -> Value {
    json!({
        "id": c.id,
        "node_id": format!("IC_{}", c.id),
        "url": format!("{base}/repos/{}/issues/comments/{}", c.repo, c.id),
        "html_url": format!("{base}/_html/{}/issues/{}#issuecomment-{}", c.repo, c.issue, c.id),
        "issue_url": format!("{base}/repos/{}/issues/{}", c.repo, c.issue),
        "body": c.body,
        "user": user(base, &c.author),
        "created_at": c.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "updated_at": c.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "author_association": if c.author.ends_with("[bot]") { "NONE" } else { "MEMBER" },
    })
}

pub fn reaction(base: &str, r: &crate::model::Reaction) -> Value {
    json!({
        "id": r.id,
        "node_id": format!("REA_{}", r.id),
        "user": user(base, &r.user),
        "content": r.content,
        "created_at": r.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
}

pub fn check_run(base: &str, c: &CheckRun) -> Value {
    json!({
        "id": c.id,
        "node_id": format!("CR_{}", c.id),
        "head_sha": c.head_sha,
        "external_id": c.external_id,
        "url": format!("{base}/repos/{}/check-runs/{}", c.repo, c.id),
        "html_url": format!("{base}/_html/{}/runs/{}", c.repo, c.id),
        "details_url": c.details_url,
        "status": c.status,
        "conclusion": c.conclusion,
        "started_at": c.started_at,
        "completed_at": c.completed_at,
        "output": {
            "title": c.title,
            "summary": c.summary,
            "text": c.text,
            "annotations_count": 0,
            "annotations_url": format!("{base}/repos/{}/check-runs/{}/annotations", c.repo, c.id),
        },
        "name": c.name,
        "actions": c.actions,
        "pull_requests": [],
    })
}

fn content_links(base: &str, r: &Repo, path: &str, git_ref: &str, sha: &str) -> Value {
    let full = r.full_name();
    json!({
        "self": format!("{base}/repos/{full}/contents/{path}?ref={git_ref}"),
        "git": format!("{base}/repos/{full}/git/blobs/{sha}"),
        "html": format!("{base}/_html/{full}/blob/{git_ref}/{path}"),
    })
}

/// A file entry; with `content` for a single-file GET, without it in directory listings.
pub fn content_file(
    base: &str,
    r: &Repo,
    path: &str,
    bytes: &[u8],
    git_ref: &str,
    with_content: bool,
) -> Value {
    let sha = blob_sha(bytes);
    let full = r.full_name();
    let name = path.rsplit('/').next().unwrap_or(path);
    let mut v = json!({
        "type": "file",
        "size": bytes.len(),
        "name": name,
        "path": path,
        "sha": sha,
        "url": format!("{base}/repos/{full}/contents/{path}?ref={git_ref}"),
        "git_url": format!("{base}/repos/{full}/git/blobs/{sha}"),
        "html_url": format!("{base}/_html/{full}/blob/{git_ref}/{path}"),
        "download_url": format!("{base}/_raw/{full}/{git_ref}/{path}"),
        "_links": content_links(base, r, path, git_ref, &sha),
    });
    if with_content {
        v["encoding"] = json!("base64");
        v["content"] = json!(wrapped_base64(bytes));
    }
    v
}

pub fn content_dir(base: &str, r: &Repo, path: &str, git_ref: &str) -> Value {
    let full = r.full_name();
    let name = path.rsplit('/').next().unwrap_or(path);
    json!({
        "type": "dir",
        "size": 0,
        "name": name,
        "path": path,
        "sha": blob_sha(format!("tree:{path}").as_bytes()),
        "url": format!("{base}/repos/{full}/contents/{path}?ref={git_ref}"),
        "git_url": null,
        "html_url": format!("{base}/_html/{full}/tree/{git_ref}/{path}"),
        "download_url": null,
        "_links": content_links(base, r, path, git_ref, "0"),
    })
}

/// Base64 broken into lines of 60 characters, as GitHub sends file content.
fn wrapped_base64(bytes: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(b64.len() + b64.len() / 60 + 1);
    for chunk in b64.as_bytes().chunks(60) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out
}

pub fn commit(base: &str, r: &Repo, sha: &str, message: &str, parents: &[String]) -> Value {
    let full = r.full_name();
    let tree = r
        .commits
        .get(sha)
        .map(|c| tree_sha(&c.files))
        .unwrap_or_default();
    json!({
        "sha": sha,
        "node_id": format!("C_{sha}"),
        "url": format!("{base}/repos/{full}/git/commits/{sha}"),
        "html_url": format!("{base}/_html/{full}/commit/{sha}"),
        "message": message,
        "author": { "name": "promptops[bot]", "email": "promptops[bot]@users.noreply.fake", "date": "2026-01-01T00:00:00Z" },
        "committer": { "name": "promptops[bot]", "email": "promptops[bot]@users.noreply.fake", "date": "2026-01-01T00:00:00Z" },
        "tree": { "sha": tree, "url": format!("{base}/repos/{full}/git/trees/{tree}") },
        "parents": parents.iter().map(|p| json!({
            "sha": p,
            "url": format!("{base}/repos/{full}/git/commits/{p}"),
            "html_url": format!("{base}/_html/{full}/commit/{p}"),
        })).collect::<Vec<_>>(),
    })
}

pub fn git_ref(base: &str, r: &Repo, branch: &str, sha: &str) -> Value {
    let full = r.full_name();
    json!({
        "ref": format!("refs/heads/{branch}"),
        "node_id": format!("REF_{branch}"),
        "url": format!("{base}/repos/{full}/git/refs/heads/{branch}"),
        "object": {
            "type": "commit",
            "sha": sha,
            "url": format!("{base}/repos/{full}/git/commits/{sha}"),
        },
    })
}
