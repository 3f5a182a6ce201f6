//! Drift checks: the last result of each deployment, and each repository's next scheduled
//! check. The check itself is a queued job (see `queue`); `claim_drift_slot` makes a due
//! check run once however many replicas hold a job for it.

use chrono::{DateTime, Utc};

use crate::backend::with_pool;
use crate::clock::{from_micros, to_micros};
use promptops_core::{IssueNumber, RepoName};

use crate::error::Result;
use crate::github_columns::{issue_from_db, issue_to_db, repo_from_db};
use crate::store::Store;

/// A deployment's last drift check.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DriftCheckRecord {
    pub repo: RepoName,
    pub deployment: String,
    pub checked_at: DateTime<Utc>,
    /// `no_drift`, `drift` or `error` (the service's `DriftResult`).
    pub result: String,
    /// One line: the plan's summary or why the check could not run.
    pub summary: String,
    /// The issue that reports (or reported) drift of this deployment.
    pub issue: Option<IssueNumber>,
}

type DriftRow = (String, String, i64, String, String, Option<i64>);

fn from_row(
    (repo, deployment, checked_at, result, summary, issue): DriftRow,
) -> Result<DriftCheckRecord> {
    Ok(DriftCheckRecord {
        repo: repo_from_db("drift_checks.repo", repo)?,
        deployment,
        checked_at: from_micros("drift_checks.checked_at", checked_at)?,
        result,
        summary,
        issue: issue
            .map(|n| issue_from_db("drift_checks.issue", n))
            .transpose()?,
    })
}

const COLUMNS: &str = "repo, deployment, checked_at, result, summary, issue";

impl Store {
    /// Records a check's result and the issue reporting drift (`None` keeps the one known).
    pub async fn record_drift_check(
        &self,
        repo: &RepoName,
        deployment: &str,
        result: &str,
        summary: &str,
        issue: Option<IssueNumber>,
    ) -> Result<()> {
        let issue = issue.map(issue_to_db).transpose()?;
        let now = to_micros(self.now());
        with_pool!(&self.inner.backend, pool => {
            sqlx::query(
                "INSERT INTO drift_checks (repo, deployment, checked_at, result, summary, issue) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (repo, deployment) DO UPDATE SET checked_at = excluded.checked_at, \
                 result = excluded.result, summary = excluded.summary, \
                 issue = COALESCE(excluded.issue, drift_checks.issue)",
            )
            .bind(repo.to_string())
            .bind(deployment)
            .bind(now)
            .bind(result)
            .bind(summary)
            .bind(issue)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub async fn drift_check(
        &self,
        repo: &RepoName,
        deployment: &str,
    ) -> Result<Option<DriftCheckRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM drift_checks WHERE repo = $1 AND deployment = $2");
        let row: Option<DriftRow> = with_pool!(&self.inner.backend, pool => {
            sqlx::query_as(&sql).bind(repo.to_string()).bind(deployment).fetch_optional(pool).await?
        });
        row.map(from_row).transpose()
    }

    /// Every deployment's last drift check (of one repository when given).
    pub async fn list_drift_checks(
        &self,
        repo: Option<&RepoName>,
    ) -> Result<Vec<DriftCheckRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM drift_checks WHERE ($1 IS NULL OR repo = $1) ORDER BY repo, deployment"
        );
        let rows: Vec<DriftRow> = with_pool!(&self.inner.backend, pool => {
            sqlx::query_as(&sql).bind(repo.map(RepoName::to_string)).fetch_all(pool).await?
        });
        rows.into_iter().map(from_row).collect()
    }

    /// Records `next_at` as the repository's next drift check unless one is recorded;
    /// returns the recorded time.
    pub async fn ensure_drift_schedule(
        &self,
        repo: &RepoName,
        next_at: DateTime<Utc>,
    ) -> Result<DateTime<Utc>> {
        let at: i64 = with_pool!(&self.inner.backend, pool => {
            sqlx::query_scalar(
                "INSERT INTO drift_schedules (repo, next_at) VALUES ($1, $2) \
                 ON CONFLICT (repo) DO UPDATE SET next_at = drift_schedules.next_at RETURNING next_at",
            )
            .bind(repo.to_string())
            .bind(to_micros(next_at))
            .fetch_one(pool)
            .await?
        });
        from_micros("drift_schedules.next_at", at)
    }

    /// Claims the check due at `due` by moving the schedule to `next`: `true` for exactly
    /// one caller, however many replicas run a job for the same slot.
    pub async fn claim_drift_slot(
        &self,
        repo: &RepoName,
        due: DateTime<Utc>,
        next: DateTime<Utc>,
    ) -> Result<bool> {
        let changed = with_pool!(&self.inner.backend, pool => {
            sqlx::query("UPDATE drift_schedules SET next_at = $3 WHERE repo = $1 AND next_at = $2")
                .bind(repo.to_string())
                .bind(to_micros(due))
                .bind(to_micros(next))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(changed > 0)
    }

    /// Ends a repository's drift schedule (the setting was turned off).
    pub async fn clear_drift_schedule(&self, repo: &RepoName) -> Result<()> {
        with_pool!(&self.inner.backend, pool => {
            sqlx::query("DELETE FROM drift_schedules WHERE repo = $1")
                .bind(repo.to_string())
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
