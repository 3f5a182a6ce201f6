//! Pull requests and issues.

use http::{Method, StatusCode};
use promptops_core::{CommitSha, IssueNumber, PrNumber, RepoName};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::transport::{Sent, query};
use super::{
    ChangedFile, IssueInfo, IssueState, MAX_PR_COMMITS, MAX_PR_FILES, NewPullRequest, PrList,
    PrState, PullRequestCommit, PullRequestInfo, PullRequestUpdate, RepoApi, Result, repo_route,
};

#[derive(Deserialize)]
struct UserJson {
    login: String,
}

#[derive(Deserialize)]
struct RepoJson {
    full_name: String,
}

#[derive(Deserialize)]
struct EndJson {
    #[serde(rename = "ref")]
    git_ref: String,
    sha: CommitSha,
    repo: Option<RepoJson>,
}

#[derive(Deserialize)]
struct PullJson {
    number: PrNumber,
    title: String,
    body: Option<String>,
    state: PrState,
    html_url: String,
    head: EndJson,
    base: EndJson,
    #[serde(default)]
    merged: bool,
    merged_at: Option<String>,
    merge_commit_sha: Option<CommitSha>,
    #[serde(default)]
    merged_by: Option<UserJson>,
    #[serde(default)]
    draft: bool,
    user: UserJson,
    changed_files: Option<u64>,
    commits: Option<u64>,
}

impl From<PullJson> for PullRequestInfo {
    fn from(p: PullJson) -> Self {
        PullRequestInfo {
            number: p.number,
            title: p.title,
            body: p.body,
            state: p.state,
            html_url: p.html_url,
            head_ref: p.head.git_ref,
            head_sha: p.head.sha,
            head_repo: p.head.repo.map(|r| r.full_name),
            base_ref: p.base.git_ref,
            // List answers carry `merged_at` but not `merged`.
            merged: p.merged || p.merged_at.is_some(),
            merge_commit_sha: p.merge_commit_sha,
            merged_by: p.merged_by.map(|user| user.login),
            draft: p.draft,
            author: p.user.login,
            changed_files: p.changed_files,
            commits: p.commits,
        }
    }
}

#[derive(Deserialize)]
struct LabelJson {
    name: String,
}

#[derive(Deserialize)]
struct IssueJson {
    number: IssueNumber,
    title: String,
    body: Option<String>,
    state: IssueState,
    user: UserJson,
    #[serde(default)]
    labels: Vec<LabelJson>,
    pull_request: Option<Value>,
}

#[derive(Deserialize)]
struct FileJson {
    filename: String,
    /// The old name of a renamed file (`status: renamed`).
    #[serde(default)]
    previous_filename: Option<String>,
}

/// A commit as pull request and comparison answers list it.
#[derive(Deserialize)]
pub(super) struct PullCommitJson {
    sha: CommitSha,
    author: Option<UserJson>,
    committer: Option<UserJson>,
}

impl From<PullCommitJson> for PullRequestCommit {
    fn from(c: PullCommitJson) -> Self {
        PullRequestCommit {
            sha: c.sha,
            author: c.author.map(|u| u.login),
            committer: c.committer.map(|u| u.login),
        }
    }
}

impl RepoApi {
    /// The open pull request whose head is `head_branch` in this repository, if any.
    pub async fn find_open_pr(
        &self,
        repo: &RepoName,
        head_branch: &str,
    ) -> Result<Option<PullRequestInfo>> {
        let head = format!("{}:{head_branch}", repo.owner());
        let route = format!(
            "{}/pulls{}",
            repo_route(repo),
            query(&[("state", "open"), ("head", &head)])
        );
        let found: Vec<PullJson> = self
            .t
            .get_json(&format!("find the open PR from {head_branch}"), &route)
            .await?;
        Ok(found.into_iter().next().map(Into::into))
    }

    /// Opens a pull request. If one is already open from the same head branch (including one
    /// opened by an earlier attempt whose answer was lost), that one is returned.
    pub async fn create_pr(
        &self,
        repo: &RepoName,
        new: &NewPullRequest,
    ) -> Result<PullRequestInfo> {
        let op = format!("open a PR from {} into {}", new.head, new.base);
        let route = format!("{}/pulls", repo_route(repo));
        let body =
            json!({ "title": new.title, "head": new.head, "base": new.base, "body": new.body });
        let settled = move || async move { self.find_open_pr(repo, &new.head).await };
        let answer = match self
            .t
            .send_create(&op, Method::POST, &route, Some(&body), settled)
            .await?
        {
            Sent::AlreadyDone(pr) => return Ok(pr),
            Sent::Answer(a) => a,
        };
        if answer.is_success() {
            return Ok(answer.json::<PullJson>(&op)?.into());
        }
        if answer.status == StatusCode::UNPROCESSABLE_ENTITY
            && answer.message().contains("already exists")
            && let Some(pr) = self.find_open_pr(repo, &new.head).await?
        {
            return Ok(pr);
        }
        Err(answer.error(&op))
    }

    pub async fn get_pr(&self, repo: &RepoName, number: PrNumber) -> Result<PullRequestInfo> {
        let route = format!("{}/pulls/{number}", repo_route(repo));
        let p: PullJson = self
            .t
            .get_json(&format!("read PR #{number}"), &route)
            .await?;
        Ok(p.into())
    }

    /// Changes a pull request's title, body or state (safe to repeat).
    pub async fn update_pr(
        &self,
        repo: &RepoName,
        number: PrNumber,
        update: &PullRequestUpdate,
    ) -> Result<PullRequestInfo> {
        let op = format!("update PR #{number}");
        let mut body = Map::new();
        if let Some(t) = &update.title {
            body.insert("title".into(), json!(t));
        }
        if let Some(b) = &update.body {
            body.insert("body".into(), json!(b));
        }
        if let Some(s) = &update.state {
            body.insert("state".into(), json!(s));
        }
        let route = format!("{}/pulls/{number}", repo_route(repo));
        let p: PullJson = self
            .t
            .send(&op, Method::PATCH, &route, Some(&Value::Object(body)))
            .await?
            .success_json(&op)?;
        Ok(p.into())
    }

    /// Merges pull request `number` (a merge commit) if its head is still `head`, so that
    /// what is merged is exactly what the caller checked; returns the merge commit's SHA.
    /// GitHub answers 409 when the head has moved, 405 when the pull request cannot be
    /// merged (conflicts, required reviews or checks).
    pub async fn merge_pr(
        &self,
        repo: &RepoName,
        number: PrNumber,
        head: &CommitSha,
    ) -> Result<CommitSha> {
        #[derive(serde::Deserialize)]
        struct Merged {
            sha: CommitSha,
        }
        let op = format!("merge PR #{number}");
        let route = format!("{}/pulls/{number}/merge", repo_route(repo));
        let body = json!({ "merge_method": "merge", "sha": head });
        let merged: Merged = self
            .t
            .send(&op, Method::PUT, &route, Some(&body))
            .await?
            .success_json(&op)?;
        Ok(merged.sha)
    }

    /// The files the pull request changes (added, modified, removed, renamed), as far as
    /// GitHub lists them: at most [`MAX_PR_FILES`], to be checked against the pull
    /// request's `changed_files` before use.
    pub async fn pr_files(&self, repo: &RepoName, number: PrNumber) -> Result<PrList<ChangedFile>> {
        let route = format!("{}/pulls/{number}/files", repo_route(repo));
        let files: Vec<FileJson> = self
            .t
            .get_all(&format!("list files of PR #{number}"), &route, &[])
            .await?;
        let files = files
            .into_iter()
            .map(|f| ChangedFile {
                path: f.filename,
                previous_path: f.previous_filename,
            })
            .collect();
        Ok(PrList::new(files, MAX_PR_FILES))
    }

    /// The commits of a pull request, with the GitHub accounts of their authors and
    /// committers, as far as GitHub lists them: at most [`MAX_PR_COMMITS`], to be checked
    /// against the pull request's `commits` before use.
    pub async fn pr_commits(
        &self,
        repo: &RepoName,
        number: PrNumber,
    ) -> Result<PrList<PullRequestCommit>> {
        let route = format!("{}/pulls/{number}/commits", repo_route(repo));
        let commits: Vec<PullCommitJson> = self
            .t
            .get_all(&format!("list commits of PR #{number}"), &route, &[])
            .await?;
        let commits = commits.into_iter().map(Into::into).collect();
        Ok(PrList::new(commits, MAX_PR_COMMITS))
    }

    /// An issue (or the issue side of a pull request).
    pub async fn get_issue(&self, repo: &RepoName, number: IssueNumber) -> Result<IssueInfo> {
        let route = format!("{}/issues/{number}", repo_route(repo));
        let i: IssueJson = self
            .t
            .get_json(&format!("read issue #{number}"), &route)
            .await?;
        Ok(IssueInfo {
            number: i.number,
            title: i.title,
            body: i.body,
            state: i.state,
            author: i.user.login,
            labels: i.labels.into_iter().map(|l| l.name).collect(),
            is_pull_request: i.pull_request.is_some(),
        })
    }
}
