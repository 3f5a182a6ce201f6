//! Plain copies of the fake's state that tests inspect.

use chrono::{DateTime, Utc};

use crate::model::{Issue, PullData};

/// A pull request as it stands in the fake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// `owner/name` of the base repository.
    pub repo: String,
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    pub author: String,
    pub open: bool,
    pub draft: bool,
    pub head_ref: String,
    pub head_sha: String,
    /// `owner/name` of the head repository (differs from `repo` for a fork).
    pub head_repo: String,
    pub base_ref: String,
    pub merged: bool,
    pub merge_commit_sha: Option<String>,
    pub merged_by: Option<String>,
    pub labels: Vec<String>,
}

impl PullRequest {
    pub(crate) fn from_issue(repo: &str, issue: &Issue, pull: &PullData) -> PullRequest {
        PullRequest {
            repo: repo.to_string(),
            number: issue.number,
            title: issue.title.clone(),
            body: issue.body.clone(),
            author: issue.author.clone(),
            open: issue.open,
            draft: pull.draft,
            head_ref: pull.head_ref.clone(),
            head_sha: pull.head_sha.clone(),
            head_repo: pull.head_repo.clone(),
            base_ref: pull.base_ref.clone(),
            merged: pull.merged,
            merge_commit_sha: pull.merge_commit_sha.clone(),
            merged_by: pull.merged_by.clone(),
            labels: issue.labels.clone(),
        }
    }
}

/// An issue (or the issue side of a pull request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueInfo {
    pub repo: String,
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    pub author: String,
    pub open: bool,
    pub labels: Vec<String>,
    pub is_pull_request: bool,
    pub created_at: DateTime<Utc>,
}

impl IssueInfo {
    pub(crate) fn from_issue(repo: &str, issue: &Issue) -> IssueInfo {
        IssueInfo {
            repo: repo.to_string(),
            number: issue.number,
            title: issue.title.clone(),
            body: issue.body.clone(),
            author: issue.author.clone(),
            open: issue.open,
            labels: issue.labels.clone(),
            is_pull_request: issue.pull.is_some(),
            created_at: issue.created_at,
        }
    }
}

/// A commit in the fake's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub sha: String,
    pub parents: Vec<String>,
    pub message: String,
    /// Every path in the commit's tree.
    pub paths: Vec<String>,
    /// The GitHub logins of its author and committer (`None`: an email of no account).
    pub author: Option<String>,
    pub committer: Option<String>,
}
