//! The jobs the service queues, as the bot's own types. A webhook is translated into these
//! at ingress (inside the same transaction that records the delivery); the worker decodes
//! them again. Everything a handler needs travels in the payload, so a job can run on any
//! replica, at any later time.

use chrono::{DateTime, Utc};
use promptops_commands::{Button, Command};
use promptops_core::{CommitSha, IssueNumber, PrNumber, RepoName, RepoNameError};
use serde::{Deserialize, Serialize};

/// Which repository, through which App installation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RepoTargetWire", into = "RepoTargetWire")]
pub struct RepoTarget {
    pub repo: RepoName,
    pub installation_id: u64,
}

/// [`RepoTarget`] as queued since the first release: the owner and the name apart.
#[derive(Serialize, Deserialize)]
struct RepoTargetWire {
    owner: String,
    name: String,
    installation_id: u64,
}

impl TryFrom<RepoTargetWire> for RepoTarget {
    type Error = RepoNameError;

    fn try_from(wire: RepoTargetWire) -> Result<Self, Self::Error> {
        Ok(Self {
            repo: RepoName::new(wire.owner, wire.name)?,
            installation_id: wire.installation_id,
        })
    }
}

impl From<RepoTarget> for RepoTargetWire {
    fn from(target: RepoTarget) -> Self {
        Self {
            owner: target.repo.owner().to_owned(),
            name: target.repo.name().to_owned(),
            installation_id: target.installation_id,
        }
    }
}

/// One `/promptops` line of a comment: a command, or why it is not one (the reply text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "line", rename_all = "snake_case")]
pub enum CommentLine {
    Command { command: Command },
    Invalid { reply: String },
}

/// The issue as it read when the event arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueSnapshot {
    pub number: IssueNumber,
    pub title: String,
    pub body: String,
    pub is_pull_request: bool,
}

/// A pull request as it read when the event arrived. Handlers re-read it from GitHub
/// before acting, so a job that waited in the queue never plans a stale head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrSnapshot {
    pub number: PrNumber,
    pub head_sha: CommitSha,
    pub head_ref: String,
    pub from_fork: bool,
    pub author: String,
    pub merged: bool,
    pub merge_commit_sha: Option<CommitSha>,
    /// Who caused the event (for `synchronize`: who pushed); their permission counts for
    /// an automatic plan. Absent in jobs queued before it was recorded.
    #[serde(default)]
    pub sender: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobPayload {
    /// The commands of one issue or PR comment (at most
    /// [`MAX_COMMANDS_PER_COMMENT`](crate::pipeline::ingress::MAX_COMMANDS_PER_COMMENT)), run in
    /// order by one job that answers the comment once; permission is checked when it runs.
    CommentCommands {
        repo: RepoTarget,
        issue: IssueSnapshot,
        comment_id: u64,
        author: String,
        commands: Vec<CommentLine>,
        /// `/promptops` lines past the limit, as typed (shortened), named as ignored.
        #[serde(default)]
        ignored: Vec<String>,
    },
    /// An issue opened or labeled with the trigger label.
    PlanIssue {
        repo: RepoTarget,
        issue: IssueSnapshot,
        author: String,
        /// The labels that may be the trigger (the added one, or all labels at opening).
        labels: Vec<String>,
    },
    /// A pull request opened, reopened or pushed to: `terraform plan` for the deployments
    /// it touches.
    PlanPr { repo: RepoTarget, pr: PrSnapshot },
    /// A pull request closed: merged → apply the merge commit; otherwise release its locks.
    PrClosed { repo: RepoTarget, pr: PrSnapshot },
    /// A deployment's expiry date arrives (or is a day away): scheduled with `run_after`
    /// when the deployment is applied or extended. `expires_at` is the date it was
    /// scheduled for; a job whose date has since moved does nothing.
    Expiry {
        repo: RepoTarget,
        deployment: String,
        expires_at: DateTime<Utc>,
        stage: ExpiryStage,
    },
    /// The repository's scheduled drift check, due at `due` (see `handlers::drift`).
    DriftCheck {
        repo: RepoTarget,
        due: DateTime<Utc>,
    },
    /// A merge queue asks for the `promptops/plan` check on a group's head commit.
    MergeGroupCheck {
        repo: RepoTarget,
        group: MergeGroupSnapshot,
    },
    /// A button on a `promptops/plan` check run of pull request `pr` was clicked by
    /// `sender`: runs the command it stands for, as that person.
    CheckButton {
        repo: RepoTarget,
        pr: PrNumber,
        button: Button,
        sender: String,
    },
}

/// A merge group as the `merge_group` event named it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeGroupSnapshot {
    pub head_sha: CommitSha,
    /// Full ref, `refs/heads/gh-readonly-queue/...`.
    pub head_ref: String,
    pub base_sha: CommitSha,
    /// Full ref of the branch the group merges into.
    pub base_ref: String,
}

/// What an expiry job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpiryStage {
    /// A day before: a comment on the request's issue.
    Warning,
    /// At the date: the destroy pull request.
    Due,
}

impl JobPayload {
    /// The queue's `kind` column: lets operators see what is waiting without decoding payloads.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::CommentCommands { .. } => "comment_commands",
            Self::PlanIssue { .. } => "plan_issue",
            Self::PlanPr { .. } => "plan_pr",
            Self::PrClosed { .. } => "pr_closed",
            Self::Expiry {
                stage: ExpiryStage::Warning,
                ..
            } => "expiry_warning",
            Self::Expiry {
                stage: ExpiryStage::Due,
                ..
            } => "expiry_due",
            Self::DriftCheck { .. } => "drift_check",
            Self::MergeGroupCheck { .. } => "merge_group_check",
            Self::CheckButton { .. } => "check_button",
        }
    }

    pub fn repo(&self) -> &RepoTarget {
        match self {
            Self::CommentCommands { repo, .. }
            | Self::PlanIssue { repo, .. }
            | Self::PlanPr { repo, .. }
            | Self::PrClosed { repo, .. }
            | Self::Expiry { repo, .. }
            | Self::DriftCheck { repo, .. }
            | Self::MergeGroupCheck { repo, .. }
            | Self::CheckButton { repo, .. } => repo,
        }
    }
}

/// How one run of a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Done,
    /// The handler failed; the store decides whether it is retried or failed for good.
    Failed {
        error: String,
    },
    /// Shutdown came first; the job is back in the queue.
    Released,
    /// GitHub's rate limit: back in the queue until `until`, the attempt not counted.
    Deferred {
        until: DateTime<Utc>,
        reason: String,
    },
}

#[cfg(test)]
#[path = "jobs_wire_tests.rs"]
mod wire_tests;
