//! The comments the App wrote: their ids by issue and comment key, so that updating one
//! is a single request to GitHub.

use promptops_core::{IssueNumber, RepoName};

use crate::backend::with_pool;
use crate::error::{Result, StoreError};
use crate::github_columns::{issue_to_db, to_db};
use crate::store::Store;

fn comment_id_from_db(id: i64) -> Result<u64> {
    u64::try_from(id).map_err(|_| StoreError::Corrupt {
        field: "comment_ids.comment_id",
        value: id.to_string(),
        expected: "a non-negative comment id",
    })
}

impl Store {
    /// The id of the comment the App wrote on `repo`#`issue` under `key`, if known.
    pub async fn comment_id(
        &self,
        repo: &RepoName,
        issue: IssueNumber,
        key: &str,
    ) -> Result<Option<u64>> {
        let issue = issue_to_db(issue)?;
        let id: Option<i64> = with_pool!(&self.inner.backend, pool => {
            sqlx::query_scalar(
                "SELECT comment_id FROM comment_ids WHERE repo = $1 AND issue = $2 AND key = $3",
            )
            .bind(repo.to_string())
            .bind(issue)
            .bind(key)
            .fetch_optional(pool)
            .await?
        });
        id.map(comment_id_from_db).transpose()
    }

    /// Records (or replaces) the id of the App's comment under `key`.
    pub async fn remember_comment(
        &self,
        repo: &RepoName,
        issue: IssueNumber,
        key: &str,
        id: u64,
    ) -> Result<()> {
        let issue = issue_to_db(issue)?;
        let id = to_db("comment_id", id)?;
        with_pool!(&self.inner.backend, pool => {
            sqlx::query(
                "INSERT INTO comment_ids (repo, issue, key, comment_id) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (repo, issue, key) DO UPDATE SET comment_id = excluded.comment_id",
            )
            .bind(repo.to_string())
            .bind(issue)
            .bind(key)
            .bind(id)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Forgets the comment under `key` (it was deleted on GitHub).
    pub async fn forget_comment(
        &self,
        repo: &RepoName,
        issue: IssueNumber,
        key: &str,
    ) -> Result<()> {
        let issue = issue_to_db(issue)?;
        with_pool!(&self.inner.backend, pool => {
            sqlx::query("DELETE FROM comment_ids WHERE repo = $1 AND issue = $2 AND key = $3")
                .bind(repo.to_string())
                .bind(issue)
                .bind(key)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The keys (with their comment ids) of the App's comments on `repo`#`issue` that
    /// start with `prefix`, in key order.
    pub async fn comments_with_prefix(
        &self,
        repo: &RepoName,
        issue: IssueNumber,
        prefix: &str,
    ) -> Result<Vec<(String, u64)>> {
        let issue_db = issue_to_db(issue)?;
        let rows: Vec<(String, i64)> = with_pool!(&self.inner.backend, pool => {
            sqlx::query_as(
                "SELECT key, comment_id FROM comment_ids WHERE repo = $1 AND issue = $2 \
                 AND substr(key, 1, length($3)) = $3 ORDER BY key",
            )
            .bind(repo.to_string())
            .bind(issue_db)
            .bind(prefix)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(key, id)| Ok((key, comment_id_from_db(id)?)))
            .collect()
    }
}
