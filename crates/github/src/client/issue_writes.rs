//! Opening and editing issues (drift reports). Issue creation is not idempotent on
//! GitHub's side; the caller records the number it gets and edits that issue from then on.

use http::Method;
use promptops_core::{IssueNumber, RepoName};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{RepoApi, Result, repo_route};

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

/// Whether an issue is open or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueState {
    Open,
    Closed,
}

impl IssueState {
    fn as_str(self) -> &'static str {
        match self {
            IssueState::Open => "open",
            IssueState::Closed => "closed",
        }
    }
}

impl RepoApi {
    /// Opens an issue.
    pub async fn create_issue(&self, repo: &RepoName, title: &str, body: &str) -> Result<IssueRef> {
        let op = "open an issue".to_owned();
        let route = format!("{}/issues", repo_route(repo));
        let payload = json!({ "title": title, "body": body });
        let issue: IssueRefJson = self
            .t
            .send(&op, Method::POST, &route, Some(&payload))
            .await?
            .success_json(&op)?;
        Ok(IssueRef {
            number: issue.number,
            html_url: issue.html_url,
        })
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
