//! What the client hands back and takes in: the few fields the bot uses, parsed with our own
//! serde types (tolerant of everything else GitHub sends).

use promptops_core::{CommitSha, IssueNumber, PrNumber};
use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

/// A repository role, ordered from least to most access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Permission {
    None,
    Read,
    Triage,
    Write,
    Maintain,
    Admin,
}

impl Permission {
    pub const ALL: [Permission; 6] = [
        Permission::None,
        Permission::Read,
        Permission::Triage,
        Permission::Write,
        Permission::Maintain,
        Permission::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::None => "none",
            Permission::Read => "read",
            Permission::Triage => "triage",
            Permission::Write => "write",
            Permission::Maintain => "maintain",
            Permission::Admin => "admin",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown permission name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("permission {given:?} is not one of: admin, maintain, write, triage, read, none")]
pub struct ParsePermissionError {
    pub given: String,
}

impl FromStr for Permission {
    type Err = ParsePermissionError;

    /// Accepts GitHub's role names, case-insensitively, and the legacy `pull`/`push` aliases.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Permission::Admin),
            "maintain" => Ok(Permission::Maintain),
            "write" | "push" => Ok(Permission::Write),
            "triage" => Ok(Permission::Triage),
            "read" | "pull" => Ok(Permission::Read),
            "none" => Ok(Permission::None),
            _ => Err(ParsePermissionError {
                given: s.to_string(),
            }),
        }
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A file's text and blob SHA at some ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileContent {
    pub text: String,
    pub sha: String,
}

/// A branch after `ensure_branch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchState {
    pub head_sha: CommitSha,
    /// False when the branch already existed (it is left where it was).
    pub created: bool,
}

/// Whether a pull request is open, as GitHub writes it (`"open"`, `"closed"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrState {
    Open,
    Closed,
}

impl PrState {
    pub fn as_str(self) -> &'static str {
        match self {
            PrState::Open => "open",
            PrState::Closed => "closed",
        }
    }
}

impl fmt::Display for PrState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compares with GitHub's spelling (`"open"`, `"closed"`).
impl PartialEq<&str> for PrState {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Whether an issue is open or closed, as GitHub writes it (`"open"`, `"closed"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IssueState {
    Open,
    Closed,
}

impl IssueState {
    pub fn as_str(self) -> &'static str {
        match self {
            IssueState::Open => "open",
            IssueState::Closed => "closed",
        }
    }
}

/// A pull request, as far as the bot cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestInfo {
    pub number: PrNumber,
    pub title: String,
    pub body: Option<String>,
    pub state: PrState,
    pub html_url: String,
    pub head_ref: String,
    pub head_sha: CommitSha,
    /// `owner/name` of the head repository (differs from the base for forks; `None` if deleted).
    pub head_repo: Option<String>,
    pub base_ref: String,
    pub merged: bool,
    pub merge_commit_sha: Option<CommitSha>,
    /// Who merged it; only in single pull request answers (lists leave it out).
    pub merged_by: Option<String>,
    pub draft: bool,
    pub author: String,
    /// How many files and commits it changes and adds (GitHub's `changed_files`, `commits`);
    /// only in single pull request answers (lists leave them out). Its lists of files and
    /// commits are checked against them: GitHub cuts both (see [`super::PrList`]).
    pub changed_files: Option<u64>,
    pub commits: Option<u64>,
}

/// One commit of a pull request and the GitHub accounts behind it; `None` where the
/// commit's email belongs to no account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestCommit {
    pub sha: CommitSha,
    pub author: Option<String>,
    pub committer: Option<String>,
}

/// A new pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPullRequest {
    /// Branch in the same repository.
    pub head: String,
    pub base: String,
    pub title: String,
    pub body: String,
}

/// Fields to change on a pull request; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullRequestUpdate {
    pub title: Option<String>,
    pub body: Option<String>,
    pub state: Option<PrState>,
}

/// An issue (or the issue side of a pull request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueInfo {
    pub number: IssueNumber,
    pub title: String,
    pub body: Option<String>,
    pub state: IssueState,
    pub author: String,
    pub labels: Vec<String>,
    pub is_pull_request: bool,
}

/// An issue or pull-request comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentInfo {
    pub id: u64,
    pub body: String,
    pub author: String,
    /// "User", "Bot", "Organization".
    pub author_type: String,
    pub html_url: String,
    /// The `<!-- promptops:key=... -->` marker key, when the body carries one.
    pub key: Option<String>,
}

/// Status of a check run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    Queued,
    InProgress,
    Completed,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Queued => "queued",
            CheckStatus::InProgress => "in_progress",
            CheckStatus::Completed => "completed",
        }
    }
}

/// Conclusion of a completed check run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckConclusion {
    Success,
    Failure,
    Neutral,
    Cancelled,
    TimedOut,
    ActionRequired,
    Skipped,
}

impl CheckConclusion {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckConclusion::Success => "success",
            CheckConclusion::Failure => "failure",
            CheckConclusion::Neutral => "neutral",
            CheckConclusion::Cancelled => "cancelled",
            CheckConclusion::TimedOut => "timed_out",
            CheckConclusion::ActionRequired => "action_required",
            CheckConclusion::Skipped => "skipped",
        }
    }
}

/// The visible part of a check run. GitHub limits `summary` and `text` to 65,535 characters each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutput {
    pub title: String,
    pub summary: String,
    pub text: Option<String>,
}

/// A new check run (e.g. `promptops/plan` on the PR head).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCheckRun {
    pub name: String,
    pub head_sha: CommitSha,
    pub status: CheckStatus,
    /// Setting a conclusion completes the run.
    pub conclusion: Option<CheckConclusion>,
    pub output: Option<CheckOutput>,
    pub details_url: Option<String>,
    /// Our id for the run; used to find it again if the create's answer is lost. Generated
    /// when `None`.
    pub external_id: Option<String>,
    /// Buttons shown on the run (sent with the create: no second request).
    pub buttons: Option<crate::client::CheckRunButtons>,
}

/// Fields to change on a check run; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckRunUpdate {
    pub status: Option<CheckStatus>,
    pub conclusion: Option<CheckConclusion>,
    pub output: Option<CheckOutput>,
    pub details_url: Option<String>,
}

/// The App itself (`GET /app`), for configuration checks.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AppInfo {
    pub id: u64,
    pub slug: Option<String>,
    pub name: String,
    /// The webhook events the App subscribes to.
    #[serde(default)]
    pub events: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_order_from_none_to_admin() {
        let mut shuffled = vec![
            Permission::Write,
            Permission::Admin,
            Permission::None,
            Permission::Triage,
            Permission::Maintain,
            Permission::Read,
        ];
        shuffled.sort();
        assert_eq!(shuffled, Permission::ALL.to_vec());
        assert!(Permission::Maintain >= Permission::Write);
        assert!(Permission::Triage < Permission::Write);
    }

    #[test]
    fn permissions_parse_and_print_round_trip() {
        for p in Permission::ALL {
            assert_eq!(p.as_str().parse::<Permission>(), Ok(p));
            assert_eq!(p.to_string().to_uppercase().parse::<Permission>(), Ok(p));
        }
        assert_eq!("push".parse::<Permission>(), Ok(Permission::Write));
        let err = "owner".parse::<Permission>().unwrap_err();
        assert!(err.to_string().contains("\"owner\""), "{err}");
        assert!(err.to_string().contains("maintain"), "{err}");
    }
}
