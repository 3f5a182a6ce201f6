//! The commits the App made itself, by SHA. GitHub lists a commit under the account its
//! e-mail belongs to, and whoever pushes writes that e-mail, so the login alone cannot
//! tell the App's commits from ones made to look like them: what the App recorded when
//! GitHub answered its write can.

use std::collections::BTreeSet;
use std::time::Duration;

use promptops_core::{CommitSha, RepoName};

use crate::backend::with_pool;
use crate::clock::{duration_micros, to_micros};
use crate::error::Result;
use crate::github_columns::sha_from_db;
use crate::store::Store;

/// Most SHAs looked up in one statement: far below SQLite's and PostgreSQL's limits on
/// bound values, and above the 250 commits GitHub lists for a pull request.
const LOOKUP_CHUNK: usize = 500;

impl Store {
    /// Records that the App made commit `sha` in `repo` (again: nothing changes).
    pub async fn record_app_commit(&self, repo: &RepoName, sha: &CommitSha) -> Result<()> {
        let now = to_micros(self.now());
        with_pool!(&self.inner.backend, pool => {
            sqlx::query(
                "INSERT INTO app_commits (repo, sha, made_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (repo, sha) DO NOTHING",
            )
            .bind(repo.to_string())
            .bind(sha.as_str())
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Those of `shas` that the App recorded as its own commits in `repo`.
    pub async fn app_commits_among(
        &self,
        repo: &RepoName,
        shas: &[CommitSha],
    ) -> Result<BTreeSet<CommitSha>> {
        let mut found = BTreeSet::new();
        for chunk in shas.chunks(LOOKUP_CHUNK) {
            let placeholders: Vec<String> = (2..chunk.len() + 2).map(|n| format!("${n}")).collect();
            let sql = format!(
                "SELECT sha FROM app_commits WHERE repo = $1 AND sha IN ({})",
                placeholders.join(", ")
            );
            let rows: Vec<String> = with_pool!(&self.inner.backend, pool => {
                let mut query = sqlx::query_scalar(&sql).bind(repo.to_string());
                for sha in chunk {
                    query = query.bind(sha.as_str());
                }
                query.fetch_all(pool).await?
            });
            for sha in rows {
                found.insert(sha_from_db("app_commits.sha", sha)?);
            }
        }
        Ok(found)
    }

    /// Deletes the records of commits made longer than `kept_for` ago (by the store's clock,
    /// which dated them); returns how many. A commit whose record is gone is taken for
    /// someone else's from then on (see the service's housekeeping).
    pub async fn prune_app_commits(&self, kept_for: Duration) -> Result<u64> {
        let cutoff = to_micros(self.now()).saturating_sub(duration_micros(kept_for));
        let deleted = with_pool!(&self.inner.backend, pool => {
            sqlx::query("DELETE FROM app_commits WHERE made_at < $1")
                .bind(cutoff)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(deleted)
    }
}
