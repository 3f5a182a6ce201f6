//! Deployment expiries: what a request asked for, the date, and what the bot did about it.
//! The schedules themselves are jobs with a `run_after` (see `queue`), so they survive
//! restarts and are claimed once.

use chrono::{DateTime, Utc};
use promptops_core::{IssueNumber, PrNumber, RepoName};

use crate::backend::with_pool;
use crate::clock::{from_micros, opt_from_micros, to_micros};
use crate::error::Result;
use crate::github_columns::{issue_from_db, issue_to_db, pr_from_db, pr_to_db, repo_from_db};
use crate::store::Store;

/// A deployment's expiry as recorded.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExpiryRecord {
    pub repo: RepoName,
    pub deployment: String,
    /// The issue that asked for the deployment (where the bot says what it does).
    pub issue: IssueNumber,
    /// What the request asked for, as the service stored it (JSON; `null` when the latest
    /// plan asks for no expiry).
    pub requested: serde_json::Value,
    pub planned_at: DateTime<Utc>,
    /// Set once the deployment is applied.
    pub expires_at: Option<DateTime<Utc>>,
    pub warned_at: Option<DateTime<Utc>>,
    pub destroy_pr: Option<PrNumber>,
}

const EXPIRY_COLUMNS: &str =
    "repo, deployment, issue, requested, planned_at, expires_at, warned_at, destroy_pr";

type ExpiryRow = (
    String,
    String,
    i64,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

fn expiry_from_row(row: ExpiryRow) -> Result<ExpiryRecord> {
    let (repo, deployment, issue, requested, planned_at, expires_at, warned_at, destroy_pr) = row;
    Ok(ExpiryRecord {
        repo: repo_from_db("expiries.repo", repo)?,
        deployment,
        issue: issue_from_db("expiries.issue", issue)?,
        requested: serde_json::from_str(&requested).map_err(|_| crate::StoreError::Corrupt {
            field: "expiries.requested",
            value: requested.chars().take(80).collect(),
            expected: "JSON",
        })?,
        planned_at: from_micros("expiries.planned_at", planned_at)?,
        expires_at: opt_from_micros("expiries.expires_at", expires_at)?,
        warned_at: opt_from_micros("expiries.warned_at", warned_at)?,
        destroy_pr: destroy_pr
            .map(|pr| pr_from_db("expiries.destroy_pr", pr))
            .transpose()?,
    })
}

impl Store {
    /// Records what a request asks for when its pull request is opened or updated (JSON
    /// `null`: nothing). A date already set stands until the next apply replaces it, so
    /// that re-planning an applied deployment does not stop its expiry.
    pub async fn set_expiry_request(
        &self,
        repo: &RepoName,
        deployment: &str,
        issue: IssueNumber,
        requested: &serde_json::Value,
    ) -> Result<()> {
        let issue = issue_to_db(issue)?;
        let now = to_micros(self.now());
        with_pool!(&self.inner.backend, pool => {
            sqlx::query(
                "INSERT INTO expiries (repo, deployment, issue, requested, planned_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (repo, deployment) DO UPDATE SET issue = excluded.issue, requested = excluded.requested, \
                 planned_at = excluded.planned_at",
            )
            .bind(repo.to_string())
            .bind(deployment)
            .bind(issue)
            .bind(requested.to_string())
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Forgets a deployment's expiry (the request no longer asks for one, or it is destroyed).
    pub async fn clear_expiry(&self, repo: &RepoName, deployment: &str) -> Result<bool> {
        let changed = with_pool!(&self.inner.backend, pool => {
            sqlx::query("DELETE FROM expiries WHERE repo = $1 AND deployment = $2")
                .bind(repo.to_string())
                .bind(deployment)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(changed > 0)
    }

    pub async fn expiry(&self, repo: &RepoName, deployment: &str) -> Result<Option<ExpiryRecord>> {
        let sql =
            format!("SELECT {EXPIRY_COLUMNS} FROM expiries WHERE repo = $1 AND deployment = $2");
        let row: Option<ExpiryRow> = with_pool!(&self.inner.backend, pool => {
            sqlx::query_as(&sql).bind(repo.to_string()).bind(deployment).fetch_optional(pool).await?
        });
        row.map(expiry_from_row).transpose()
    }

    /// Every expiry (of one repository when given), soonest first.
    pub async fn list_expiries(&self, repo: Option<&RepoName>) -> Result<Vec<ExpiryRecord>> {
        let sql = format!(
            "SELECT {EXPIRY_COLUMNS} FROM expiries WHERE ($1 IS NULL OR repo = $1) ORDER BY expires_at, repo, deployment"
        );
        let rows: Vec<ExpiryRow> = with_pool!(&self.inner.backend, pool => {
            sqlx::query_as(&sql).bind(repo.map(RepoName::to_string)).fetch_all(pool).await?
        });
        rows.into_iter().map(expiry_from_row).collect()
    }

    /// Sets the date (at an apply, or `/promptops extend`); the warning is owed again.
    pub async fn set_expires_at(
        &self,
        repo: &RepoName,
        deployment: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool> {
        let changed = with_pool!(&self.inner.backend, pool => {
            sqlx::query(
                "UPDATE expiries SET expires_at = $3, warned_at = NULL, destroy_pr = NULL WHERE repo = $1 AND deployment = $2",
            )
            .bind(repo.to_string())
            .bind(deployment)
            .bind(to_micros(expires_at))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed > 0)
    }

    /// Marks the warning for the date `expires_at` as given; `false` when the date moved
    /// meanwhile or the warning was already given (so it is given once).
    pub async fn mark_expiry_warned(
        &self,
        repo: &RepoName,
        deployment: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool> {
        let now = to_micros(self.now());
        let changed = with_pool!(&self.inner.backend, pool => {
            sqlx::query(
                "UPDATE expiries SET warned_at = $4 WHERE repo = $1 AND deployment = $2 AND expires_at = $3 AND warned_at IS NULL",
            )
            .bind(repo.to_string())
            .bind(deployment)
            .bind(to_micros(expires_at))
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed > 0)
    }

    /// Records the destroy pull request opened at the date `expires_at`.
    pub async fn set_expiry_destroy_pr(
        &self,
        repo: &RepoName,
        deployment: &str,
        expires_at: DateTime<Utc>,
        pr: PrNumber,
    ) -> Result<bool> {
        let pr = pr_to_db(pr)?;
        let changed = with_pool!(&self.inner.backend, pool => {
            sqlx::query(
                "UPDATE expiries SET destroy_pr = $4 WHERE repo = $1 AND deployment = $2 AND expires_at = $3",
            )
            .bind(repo.to_string())
            .bind(deployment)
            .bind(to_micros(expires_at))
            .bind(pr)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed > 0)
    }
}
