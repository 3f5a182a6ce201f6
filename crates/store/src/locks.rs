//! Deployment locks: one pull request at a time may plan and apply a deployment.

use promptops_core::{PrNumber, RepoName};

use crate::backend::with_pool;
use crate::clock::{from_micros, to_micros};
use crate::error::Result;
use crate::github_columns::{pr_from_db, pr_to_db, repo_from_db};
use crate::model::{Lock, LockOutcome};
use crate::store::Store;

type LockRow = (String, String, i64, i64);

fn from_row((repo, deployment, pr, since): LockRow) -> Result<Lock> {
    Ok(Lock {
        repo: repo_from_db("locks.repo", repo)?,
        deployment,
        pr: pr_from_db("locks.pr", pr)?,
        since: from_micros("locks.since", since)?,
    })
}

impl Store {
    /// Takes the lock of `repo`/`deployment` for `pr`, or says who holds it. Taking it again
    /// for the PR that holds it succeeds and keeps the original `since`.
    pub async fn acquire_lock(
        &self,
        repo: &RepoName,
        deployment: &str,
        pr: PrNumber,
    ) -> Result<LockOutcome> {
        let pr_db = pr_to_db(pr)?;
        let now = to_micros(self.now());
        // One statement, so that two PRs racing for a free lock cannot both win: the
        // no-op update makes RETURNING give back the row that is there, new or old.
        let row: LockRow = with_pool!(&self.inner.backend, pool => {
            sqlx::query_as(
                "INSERT INTO locks (repo, deployment, pr, since) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (repo, deployment) DO UPDATE SET pr = locks.pr \
                 RETURNING repo, deployment, pr, since",
            )
            .bind(repo.to_string())
            .bind(deployment)
            .bind(pr_db)
            .bind(now)
            .fetch_one(pool)
            .await?
        });
        let lock = from_row(row)?;
        Ok(if lock.pr == pr {
            LockOutcome::Acquired
        } else {
            LockOutcome::HeldBy {
                pr: lock.pr,
                since: lock.since,
            }
        })
    }

    /// Releases the lock if `pr` holds it; `false` when it was free or held by another PR.
    pub async fn release_lock(
        &self,
        repo: &RepoName,
        deployment: &str,
        pr: PrNumber,
    ) -> Result<bool> {
        let pr = pr_to_db(pr)?;
        let changed = with_pool!(&self.inner.backend, pool => {
            sqlx::query("DELETE FROM locks WHERE repo = $1 AND deployment = $2 AND pr = $3")
                .bind(repo.to_string())
                .bind(deployment)
                .bind(pr)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(changed > 0)
    }

    /// Removes the lock whoever holds it (`/promptops unlock`, the dashboard); returns
    /// the lock that was removed.
    pub async fn force_unlock(&self, repo: &RepoName, deployment: &str) -> Result<Option<Lock>> {
        let row: Option<LockRow> = with_pool!(&self.inner.backend, pool => {
            sqlx::query_as(
                "DELETE FROM locks WHERE repo = $1 AND deployment = $2 RETURNING repo, deployment, pr, since",
            )
            .bind(repo.to_string())
            .bind(deployment)
            .fetch_optional(pool)
            .await?
        });
        row.map(from_row).transpose()
    }

    pub async fn lock(&self, repo: &RepoName, deployment: &str) -> Result<Option<Lock>> {
        let row: Option<LockRow> = with_pool!(&self.inner.backend, pool => {
            sqlx::query_as(
                "SELECT repo, deployment, pr, since FROM locks WHERE repo = $1 AND deployment = $2",
            )
            .bind(repo.to_string())
            .bind(deployment)
            .fetch_optional(pool)
            .await?
        });
        row.map(from_row).transpose()
    }

    /// Locks (of one repository when given), oldest first.
    pub async fn list_locks(&self, repo: Option<&RepoName>) -> Result<Vec<Lock>> {
        let rows: Vec<LockRow> = with_pool!(&self.inner.backend, pool => {
            sqlx::query_as(
                "SELECT repo, deployment, pr, since FROM locks WHERE ($1 IS NULL OR repo = $1) ORDER BY since, repo, deployment",
            )
            .bind(repo.map(RepoName::to_string))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(from_row).collect()
    }
}
