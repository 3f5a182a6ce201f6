//! Issue and pull-request comments, each carrying a hidden key marker.

use http::Method;
use promptops_core::{IssueNumber, RepoName};
use serde::Deserialize;
use serde_json::json;

use super::marker::{self, GITHUB_COMMENT_LIMIT_CHARS};
use super::transport::Sent;
use super::{CommentInfo, GithubError, InvalidInput, RepoApi, Result, repo_route};

#[derive(Deserialize)]
struct UserJson {
    login: String,
    #[serde(rename = "type", default)]
    kind: String,
}

#[derive(Deserialize)]
struct CommentJson {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    user: Option<UserJson>,
    #[serde(default)]
    html_url: String,
}

impl From<CommentJson> for CommentInfo {
    fn from(c: CommentJson) -> Self {
        let body = c.body.unwrap_or_default();
        let key = marker::key_of(&body).map(str::to_string);
        let (author, author_type) = c.user.map(|u| (u.login, u.kind)).unwrap_or_default();
        CommentInfo {
            id: c.id,
            body,
            author,
            author_type,
            html_url: c.html_url,
            key,
        }
    }
}

fn check_length(operation: &str, body: &str) -> Result<()> {
    let n = body.chars().count();
    if n > GITHUB_COMMENT_LIMIT_CHARS {
        return Err(GithubError::Invalid {
            operation: operation.to_string(),
            problem: InvalidInput::CommentTooLong { chars: n },
        });
    }
    Ok(())
}

impl RepoApi {
    /// Every comment on an issue or pull request, oldest first.
    pub async fn list_comments(
        &self,
        repo: &RepoName,
        issue: IssueNumber,
    ) -> Result<Vec<CommentInfo>> {
        let route = format!("{}/issues/{issue}/comments", repo_route(repo));
        let all: Vec<CommentJson> = self
            .t
            .get_all(&format!("list comments on #{issue}"), &route, &[])
            .await?;
        Ok(all.into_iter().map(Into::into).collect())
    }

    /// The App's own latest comment on `issue` carrying `key`.
    pub async fn find_comment(
        &self,
        repo: &RepoName,
        issue: IssueNumber,
        key: &str,
    ) -> Result<Option<CommentInfo>> {
        let bot = self.bot_login().await?;
        let comments = self.list_comments(repo, issue).await?;
        Ok(comments
            .into_iter()
            .rev()
            .find(|c| c.key.as_deref() == Some(key) && c.author.eq_ignore_ascii_case(&bot)))
    }

    /// Posts a comment; returns its id. The body gets a hidden marker (a fresh key unless it
    /// already ends with one), so that when GitHub's answer is lost the retry finds the
    /// comment instead of posting it twice.
    pub async fn create_comment(
        &self,
        repo: &RepoName,
        issue: IssueNumber,
        body: &str,
    ) -> Result<u64> {
        let key = marker::key_of(body)
            .map(str::to_string)
            .unwrap_or_else(marker::fresh_key);
        self.post_comment(repo, issue, &key, body).await
    }

    /// The comment for `key` on `issue`: the App's existing one is updated in place (when its
    /// text differs), otherwise one is posted. Returns the comment id and whether it was new.
    /// Use stable keys such as `plan:<deployment>` so re-plans replace rather than pile up.
    pub async fn upsert_comment(
        &self,
        repo: &RepoName,
        issue: IssueNumber,
        key: &str,
        body: &str,
    ) -> Result<(u64, bool)> {
        marker::check_key(key).map_err(|err| GithubError::Invalid {
            operation: format!("comment on #{issue}"),
            problem: err.into(),
        })?;
        match self.find_comment(repo, issue, key).await? {
            Some(existing) => {
                let full = marker::with_marker(body, key);
                if existing.body != full {
                    self.update_comment(repo, existing.id, &full).await?;
                }
                Ok((existing.id, false))
            }
            None => Ok((self.post_comment(repo, issue, key, body).await?, true)),
        }
    }

    async fn post_comment(
        &self,
        repo: &RepoName,
        issue: IssueNumber,
        key: &str,
        body: &str,
    ) -> Result<u64> {
        let op = format!("comment on #{issue}");
        marker::check_key(key).map_err(|err| GithubError::Invalid {
            operation: op.clone(),
            problem: err.into(),
        })?;
        let full = marker::with_marker(body, key);
        check_length(&op, &full)?;
        let route = format!("{}/issues/{issue}/comments", repo_route(repo));
        let payload = json!({ "body": full });
        let settled =
            move || async move { Ok(self.find_comment(repo, issue, key).await?.map(|c| c.id)) };
        match self
            .t
            .send_create(&op, Method::POST, &route, Some(&payload), settled)
            .await?
        {
            Sent::AlreadyDone(id) => Ok(id),
            Sent::Answer(a) => Ok(a.success_json::<CommentJson>(&op)?.id),
        }
    }

    /// Replaces the body of the App's comment `comment_id`, remembered from when it was
    /// written under `key` (the marker is kept). `Ok(false)` when the comment is gone
    /// (deleted on GitHub, 404): the caller then looks for it or posts a new one.
    pub async fn update_keyed_comment(
        &self,
        repo: &RepoName,
        comment_id: u64,
        key: &str,
        body: &str,
    ) -> Result<bool> {
        marker::check_key(key).map_err(|err| GithubError::Invalid {
            operation: format!("update comment {comment_id}"),
            problem: err.into(),
        })?;
        let full = marker::with_marker(body, key);
        match self.update_comment(repo, comment_id, &full).await {
            Ok(()) => Ok(true),
            Err(GithubError::Api { status: 404, .. }) => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// Replaces a comment's body with the REST API's `PATCH` (octocrab's own `update_comment`
    /// sends `POST`). The body is sent as given: keep the marker in it to find it again.
    pub async fn update_comment(&self, repo: &RepoName, comment_id: u64, body: &str) -> Result<()> {
        let op = format!("update comment {comment_id}");
        check_length(&op, body)?;
        let route = format!("{}/issues/comments/{comment_id}", repo_route(repo));
        self.t
            .send(&op, Method::PATCH, &route, Some(&json!({ "body": body })))
            .await?
            .success_json::<CommentJson>(&op)
            .map(|_| ())
    }
}
