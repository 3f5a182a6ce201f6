//! The values the store takes and returns.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use promptops_core::{CommitSha, IssueNumber, PrNumber, RepoName};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::run_kind::RunKind;

/// One webhook delivery, keyed by GitHub's `X-GitHub-Delivery` id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: String,
    pub event: String,
    pub action: Option<String>,
}

/// A delivery as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryRecord {
    pub id: String,
    pub event: String,
    pub action: Option<String>,
    pub received_at: DateTime<Utc>,
}

/// Whether `record_delivery` stored the delivery or had already seen its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RecordOutcome {
    /// First time this delivery id was seen: it and its jobs are committed.
    New,
    /// The id was recorded before; nothing was written.
    Duplicate,
}

/// A job to put on the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewJob {
    pub kind: String,
    pub repo: RepoName,
    /// While a queued or running job has this key, another job with it is not enqueued.
    pub dedupe_key: Option<String>,
    pub payload: serde_json::Value,
    /// Not claimable before this time; `None` means at once.
    pub run_after: Option<DateTime<Utc>>,
}

impl NewJob {
    /// The payload as it is stored. PostgreSQL's jsonb cannot hold U+0000 (a comment can
    /// contain one: JSON allows `\u0000`), and a delivery that cannot be stored is answered
    /// 503 on every redelivery; so on both backends each U+0000 in a string becomes U+FFFD,
    /// the replacement character, and the delivery goes through.
    pub(crate) fn storable_payload(&self) -> std::borrow::Cow<'_, serde_json::Value> {
        if has_nul(&self.payload) {
            let mut payload = self.payload.clone();
            replace_nul(&mut payload);
            std::borrow::Cow::Owned(payload)
        } else {
            std::borrow::Cow::Borrowed(&self.payload)
        }
    }

    pub fn new(kind: impl Into<String>, repo: RepoName, payload: serde_json::Value) -> Self {
        Self {
            kind: kind.into(),
            repo,
            dedupe_key: None,
            payload,
            run_after: None,
        }
    }

    pub fn with_dedupe_key(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }

    pub fn with_run_after(mut self, at: DateTime<Utc>) -> Self {
        self.run_after = Some(at);
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobStatus {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        match s {
            "queued" => Ok(JobStatus::Queued),
            "running" => Ok(JobStatus::Running),
            "done" => Ok(JobStatus::Done),
            "failed" => Ok(JobStatus::Failed),
            other => Err(StoreError::Corrupt {
                field: "jobs.status",
                value: other.to_owned(),
                expected: "one of queued, running, done, failed",
            }),
        }
    }
}

/// A job as stored. `attempts` counts claims that were not released (the current one included).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub repo: RepoName,
    pub dedupe_key: Option<String>,
    pub payload: serde_json::Value,
    pub status: JobStatus,
    pub attempts: u32,
    pub max_attempts: u32,
    pub run_after: DateTime<Utc>,
    pub locked_by: Option<String>,
    pub locked_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The webhook delivery (`X-GitHub-Delivery`) whose `record_delivery` enqueued the job;
    /// `None` for jobs put on the queue with `enqueue`.
    pub delivery_id: Option<String>,
}

/// What `fail` did with the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FailOutcome {
    /// Back on the queue, claimable from `run_after`.
    Retrying {
        attempts: u32,
        run_after: DateTime<Utc>,
    },
    /// Out of attempts: status `failed`, the error kept in `last_error`.
    Failed { attempts: u32 },
}

/// Queue figures for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct QueueStats {
    pub queued: u64,
    /// Queued jobs whose `run_after` has passed.
    pub due: u64,
    pub running: u64,
    pub failed: u64,
    pub done: u64,
    /// Age of the oldest due queued job (measured from its `run_after`).
    pub oldest_due_age: Option<std::time::Duration>,
}

/// The issue ↔ deployment ↔ branch ↔ pull request link of one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    pub repo: RepoName,
    pub issue: IssueNumber,
    pub deployment: String,
    pub branch: String,
    pub pr: Option<PrNumber>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    /// Interrupted (shutdown, lease lost) before it could finish.
    Cancelled,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunStatus {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        match s {
            "running" => Ok(RunStatus::Running),
            "succeeded" => Ok(RunStatus::Succeeded),
            "failed" => Ok(RunStatus::Failed),
            "cancelled" => Ok(RunStatus::Cancelled),
            other => Err(StoreError::Corrupt {
                field: "runs.status",
                value: other.to_owned(),
                expected: "one of running, succeeded, failed, cancelled",
            }),
        }
    }
}

/// A Terraform run (plan, apply, destroy, ...) to record as started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRun {
    pub repo: RepoName,
    pub pr: Option<PrNumber>,
    pub deployment: String,
    pub kind: RunKind,
    pub sha: Option<CommitSha>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    pub id: i64,
    pub repo: RepoName,
    pub pr: Option<PrNumber>,
    pub deployment: String,
    pub kind: RunKind,
    pub sha: Option<CommitSha>,
    pub status: RunStatus,
    pub summary: Option<String>,
    pub output: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Which runs `list_runs` returns, newest first. Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    pub repo: Option<RepoName>,
    pub deployment: Option<String>,
    pub pr: Option<PrNumber>,
    /// At most this many (default 100).
    pub limit: Option<u32>,
}

/// A deployment lock: one pull request at a time may plan/apply a deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lock {
    pub repo: RepoName,
    pub deployment: String,
    pub pr: PrNumber,
    pub since: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LockOutcome {
    /// The caller's PR holds the lock (newly, or already did).
    Acquired,
    /// Another PR holds it.
    HeldBy { pr: PrNumber, since: DateTime<Utc> },
}

fn has_nul(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(fields) => fields
            .iter()
            .any(|(key, value)| key.contains('\0') || has_nul(value)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

fn replace_nul(value: &mut serde_json::Value) {
    use serde_json::Value;
    let clean = |text: &str| text.replace('\0', "\u{FFFD}");
    match value {
        Value::String(text) => *text = clean(text),
        Value::Array(items) => items.iter_mut().for_each(replace_nul),
        Value::Object(fields) => {
            let entries = std::mem::take(fields);
            for (key, mut value) in entries {
                replace_nul(&mut value);
                fields.insert(clean(&key), value);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}
