//! Reactions on issue and pull-request comments: the App acknowledges a command it
//! accepted with 👀 at once, before the command's result is ready.

use http::Method;
use promptops_core::{IssueNumber, RepoName};
use serde_json::json;

use super::{RepoApi, Result, repo_route};

/// The reactions the App uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    /// 👀: seen, being worked on.
    Eyes,
}

impl Reaction {
    /// The `content` value of GitHub's reactions API.
    pub fn content(self) -> &'static str {
        match self {
            Reaction::Eyes => "eyes",
        }
    }
}

impl RepoApi {
    /// Adds `reaction` to comment `comment_id`. Safe to repeat: GitHub answers 200 with the
    /// existing reaction when the App already reacted so.
    pub async fn react_to_comment(
        &self,
        repo: &RepoName,
        comment_id: u64,
        reaction: Reaction,
    ) -> Result<()> {
        let op = format!("react to comment {comment_id}");
        let route = format!(
            "{}/issues/comments/{comment_id}/reactions",
            repo_route(repo)
        );
        self.t
            .send(
                &op,
                Method::POST,
                &route,
                Some(&json!({ "content": reaction.content() })),
            )
            .await?
            .success_json::<serde_json::Value>(&op)
            .map(|_| ())
    }

    /// Closes issue `number` as completed. Safe to repeat.
    pub async fn close_issue(&self, repo: &RepoName, number: IssueNumber) -> Result<()> {
        let op = format!("close issue #{number}");
        let route = format!("{}/issues/{number}", repo_route(repo));
        self.t
            .send(
                &op,
                Method::PATCH,
                &route,
                Some(&json!({ "state": "closed", "state_reason": "completed" })),
            )
            .await?
            .success_json::<serde_json::Value>(&op)
            .map(|_| ())
    }
}
