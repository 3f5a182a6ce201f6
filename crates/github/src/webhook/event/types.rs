//! The parts of a webhook payload the bot acts on, in the bot's own shapes. They serialize to
//! their own (stable) JSON, so a job can carry a parsed event.

use promptops_core::{CommitSha, IssueNumber, PrNumber, RepoName};
use serde::{Deserialize, Serialize};

use crate::client::{IssueState, PrState};

/// The repository a delivery is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoRef {
    /// `owner/name`, checked against the payload's `owner.login` and `name`.
    pub full_name: RepoName,
    /// Absent from some payloads; ask the API when it is needed and missing.
    pub default_branch: Option<String>,
}

/// What kind of account a user object is. GitHub Apps act as `Bot` accounts (`name[bot]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum AccountType {
    User,
    Bot,
    Organization,
    /// Any other value GitHub sends (or none): kept as sent.
    Other(String),
    /// The payload did not say.
    #[default]
    Unspecified,
}

impl From<String> for AccountType {
    fn from(value: String) -> AccountType {
        match value.as_str() {
            "User" => AccountType::User,
            "Bot" => AccountType::Bot,
            "Organization" => AccountType::Organization,
            "" => AccountType::Unspecified,
            _ => AccountType::Other(value),
        }
    }
}

impl From<AccountType> for String {
    fn from(value: AccountType) -> String {
        match value {
            AccountType::User => "User".into(),
            AccountType::Bot => "Bot".into(),
            AccountType::Organization => "Organization".into(),
            AccountType::Other(other) => other,
            AccountType::Unspecified => String::new(),
        }
    }
}

/// A GitHub account: a comment's author, a pull request's author, the sender of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub login: String,
    #[serde(rename = "type", default)]
    pub account_type: AccountType,
}

impl Actor {
    /// True for bot accounts, including the App itself: the service ignores their comments.
    pub fn is_bot(&self) -> bool {
        self.account_type == AccountType::Bot
    }
}

/// An issue, or a pull request seen through the issues API (comments on a PR arrive this way).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    pub number: IssueNumber,
    pub title: String,
    /// Empty when the issue has no description.
    pub body: String,
    /// Label names.
    pub labels: Vec<String>,
    /// True when this "issue" is a pull request (the payload carries `issue.pull_request`).
    pub is_pull_request: bool,
    pub state: Option<IssueState>,
    pub author: Option<Actor>,
    pub html_url: Option<String>,
}

/// A comment on an issue or pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub id: u64,
    pub body: String,
    pub author: Actor,
    /// `OWNER`, `MEMBER`, `COLLABORATOR`, `CONTRIBUTOR`, `NONE`, ... as sent. Only a hint: the
    /// permission check asks the collaborator-permission API.
    pub author_association: Option<String>,
    pub html_url: Option<String>,
}

/// One side of a pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchRef {
    /// Branch name (`ref` in the payload).
    pub ref_name: String,
    pub sha: CommitSha,
    /// `owner/name` of the repository the branch lives in; `None` when that repository was
    /// deleted (GitHub sends `repo: null` for a deleted fork).
    pub repo_full_name: Option<RepoName>,
}

/// A pull request as the bot needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    pub number: PrNumber,
    pub title: String,
    /// Empty when the pull request has no description.
    pub body: String,
    pub head: BranchRef,
    pub base: BranchRef,
    pub merged: bool,
    pub merge_commit_sha: Option<CommitSha>,
    pub author: Actor,
    pub draft: bool,
    pub state: Option<PrState>,
    pub html_url: Option<String>,
    /// Label names.
    pub labels: Vec<String>,
}

impl PullRequest {
    /// True when the head branch does not live in the base repository — including when the
    /// head repository is gone or unnamed. Fork pull requests are never planned: their code
    /// would run with the bot's credentials.
    pub fn is_from_fork(&self) -> bool {
        match (&self.head.repo_full_name, &self.base.repo_full_name) {
            // GitHub's names are case-insensitive.
            (Some(head), Some(base)) => !head.to_string().eq_ignore_ascii_case(&base.to_string()),
            _ => true,
        }
    }
}

/// Defines an action enum: the variants the bot understands, with GitHub's spelling.
macro_rules! actions {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// The action as GitHub spells it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The action for GitHub's spelling; `None` for actions the bot does not handle.
            pub fn from_github(action: &str) -> Option<$name> {
                match action {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

actions! {
    /// `issue_comment` actions.
    IssueCommentAction {
        Created => "created",
        Edited => "edited",
        Deleted => "deleted",
    }
}

actions! {
    /// `issues` actions the bot may react to (trigger label, edits, closing).
    IssueAction {
        Opened => "opened",
        Edited => "edited",
        Labeled => "labeled",
        Unlabeled => "unlabeled",
        Closed => "closed",
        Reopened => "reopened",
    }
}

actions! {
    /// `pull_request` actions the bot may react to (plan on open/push, apply on merge).
    PullRequestAction {
        Opened => "opened",
        Reopened => "reopened",
        Synchronize => "synchronize",
        Edited => "edited",
        Closed => "closed",
        ReadyForReview => "ready_for_review",
        ConvertedToDraft => "converted_to_draft",
        Labeled => "labeled",
        Unlabeled => "unlabeled",
    }
}

actions! {
    /// `installation` actions.
    InstallationAction {
        Created => "created",
        Deleted => "deleted",
        Suspend => "suspend",
        Unsuspend => "unsuspend",
        NewPermissionsAccepted => "new_permissions_accepted",
    }
}

/// `issue_comment`: a comment on an issue or a pull request was created, edited or deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueCommentEvent {
    pub action: IssueCommentAction,
    pub repo: RepoRef,
    pub installation_id: Option<u64>,
    pub issue: Issue,
    pub comment: Comment,
    pub sender: Actor,
}

/// `issues`: an issue was opened, edited, labeled, ...
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueEvent {
    pub action: IssueAction,
    pub repo: RepoRef,
    pub installation_id: Option<u64>,
    pub issue: Issue,
    /// The label added or removed, for `labeled` / `unlabeled`.
    pub label: Option<String>,
    pub sender: Actor,
}

/// `pull_request`: a pull request was opened, pushed to, closed (merged or not), ...
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequestEvent {
    pub action: PullRequestAction,
    pub repo: RepoRef,
    pub installation_id: Option<u64>,
    pub pull_request: PullRequest,
    /// The label added or removed, for `labeled` / `unlabeled`.
    pub label: Option<String>,
    pub sender: Actor,
}

/// `installation`: the App was installed, removed, suspended, ...
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallationEvent {
    pub action: InstallationAction,
    pub installation_id: u64,
    /// The user or organization the App is installed on.
    pub account: Option<Actor>,
    /// The repositories listed in the payload (selected repositories only).
    pub repositories: Vec<RepoName>,
    pub sender: Actor,
}

actions! {
    /// `merge_group` actions: a merge queue asks for checks on a group, or drops one.
    MergeGroupAction {
        ChecksRequested => "checks_requested",
        Destroyed => "destroyed",
    }
}

actions! {
    /// `check_run` actions the bot acts on: a button of one of its check runs was clicked.
    CheckRunAction {
        RequestedAction => "requested_action",
    }
}

/// `merge_group`: a merge queue built a group (a branch holding the base and the queued
/// pull requests) and asks for the required checks on its head commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeGroupEvent {
    pub action: MergeGroupAction,
    pub repo: RepoRef,
    pub installation_id: Option<u64>,
    /// The commit the checks must report on.
    pub head_sha: CommitSha,
    /// The group's full ref (`refs/heads/gh-readonly-queue/<base>/pr-<n>-<sha>`).
    pub head_ref: String,
    /// The commit the group was built on.
    pub base_sha: CommitSha,
    /// The full ref of the branch the group merges into (`refs/heads/main`).
    pub base_ref: String,
    pub sender: Actor,
}

/// The check run whose button was clicked, as far as the bot reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRunRef {
    pub id: u64,
    pub name: String,
    pub head_sha: CommitSha,
    /// Numbers of the pull requests whose head is `head_sha` (same repository only).
    pub pull_requests: Vec<PrNumber>,
}

/// `check_run` with `requested_action`: someone clicked a button the bot put on a check run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRunActionEvent {
    pub action: CheckRunAction,
    pub repo: RepoRef,
    pub installation_id: Option<u64>,
    pub check_run: CheckRunRef,
    /// The button's `identifier`, as the bot set it.
    pub identifier: String,
    /// Who clicked.
    pub sender: Actor,
}
