//! Opening and editing issues (drift reports). Issue creation is not idempotent on
//! GitHub's side, so a keyed issue carries a hidden marker and a label: before opening one,
//! and again before re-sending a create whose answer was lost, the open issues with the
//! label are searched for the App's issue with the marker.

use http::Method;
use promptops_core::{IssueNumber, RepoName};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::marker;
use super::transport::Sent;
use super::types::IssueState;
use super::{GithubError, RepoApi, Result, repo_route};

/// An issue the App opened or edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRef {
    pub number: IssueNumber,
    pub html_url: String,
}

#[derive(Deserialize)]
struct IssueRefJson {
    number: IssueNumber,
    html_url: String,
}

#[derive(Deserialize)]
struct AuthorJson {
    login: String,
}

/// An issue as the listing gives it: enough to recognise the App's keyed issue.
#[derive(Deserialize)]
struct ListedIssueJson {
    number: IssueNumber,
    html_url: String,
    #[serde(default)]
    body: Option<String>,
    user: Option<AuthorJson>,
    /// Present on pull requests, which the issue listing includes.
    #[serde(default)]
    pull_request: Option<serde::de::IgnoredAny>,
}

/// An issue to open once: `key` becomes a hidden marker in its body, `label` the label the
/// open issues are searched by (see [`RepoApi::open_keyed_issue`]).
pub struct KeyedIssue<'a> {
    pub title: &'a str,
    pub body: &'a str,
    pub label: &'a str,
    pub key: &'a str,
}

impl RepoApi {
    /// Opens the issue for `issue.key` unless the App already has an open one with
    /// `issue.label` carrying that key, which is returned instead: a job retried after
    /// GitHub created the issue but its answer was lost finds it rather than opening a
    /// second one.
    pub async fn open_keyed_issue(
        &self,
        repo: &RepoName,
        issue: &KeyedIssue<'_>,
    ) -> Result<IssueRef> {
        let op = format!("open the issue {:?}", issue.key);
        marker::check_key(issue.key).map_err(|err| GithubError::Invalid {
            operation: op.clone(),
            problem: err.into(),
        })?;
        if let Some(found) = self.find_keyed_issue(repo, issue.label, issue.key).await? {
            return Ok(found);
        }
        let route = format!("{}/issues", repo_route(repo));
        let payload = json!({
            "title": issue.title,
            "body": marker::with_marker(issue.body, issue.key),
            "labels": [issue.label],
        });
        let settled = || self.find_keyed_issue(repo, issue.label, issue.key);
        match self
            .t
            .send_create(&op, Method::POST, &route, Some(&payload), settled)
            .await?
        {
            Sent::AlreadyDone(found) => Ok(found),
            Sent::Answer(answer) => {
                let created: IssueRefJson = answer.success_json(&op)?;
                Ok(IssueRef {
                    number: created.number,
                    html_url: created.html_url,
                })
            }
        }
    }

    /// The App's open issue with `label` whose body carries the marker for `key`.
    pub async fn find_keyed_issue(
        &self,
        repo: &RepoName,
        label: &str,
        key: &str,
    ) -> Result<Option<IssueRef>> {
        let bot = self.bot_login().await?;
        let route = format!("{}/issues", repo_route(repo));
        let listed: Vec<ListedIssueJson> = self
            .t
            .get_all(
                &format!("list the open issues labelled {label:?}"),
                &route,
                &[("state", "open"), ("labels", label)],
            )
            .await?;
        Ok(listed
            .into_iter()
            .filter(|issue| issue.pull_request.is_none())
            .filter(|issue| {
                issue
                    .user
                    .as_ref()
                    .is_some_and(|user| user.login.eq_ignore_ascii_case(&bot))
            })
            .find(|issue| issue.body.as_deref().and_then(marker::key_of) == Some(key))
            .map(|issue| IssueRef {
                number: issue.number,
                html_url: issue.html_url,
            }))
    }

    /// Changes an issue's title, body or state (safe to repeat).
    pub async fn update_issue(
        &self,
        repo: &RepoName,
        number: IssueNumber,
        body: Option<&str>,
        state: Option<IssueState>,
    ) -> Result<IssueRef> {
        let op = format!("update issue #{number}");
        let mut fields = Map::new();
        if let Some(body) = body {
            fields.insert("body".into(), json!(body));
        }
        if let Some(state) = state {
            fields.insert("state".into(), json!(state.as_str()));
        }
        let route = format!("{}/issues/{number}", repo_route(repo));
        let issue: IssueRefJson = self
            .t
            .send(&op, Method::PATCH, &route, Some(&Value::Object(fields)))
            .await?
            .success_json(&op)?;
        Ok(IssueRef {
            number: issue.number,
            html_url: issue.html_url,
        })
    }
}
