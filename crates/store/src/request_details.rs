//! What each request asked for and the tfvars planned for it (shown by the dashboard).

use promptops_core::{IssueNumber, RepoName};

use crate::backend::with_pool;
use crate::error::Result;
use crate::github_columns::issue_to_db;
use crate::store::Store;

/// The request's text and the `terraform.tfvars` last committed for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RequestDetails {
    pub prompt: String,
    pub tfvars: String,
}

impl Store {
    /// Records (or replaces) what `repo#issue` asked for and the tfvars planned for it.
    pub async fn record_request_details(
        &self,
        repo: &RepoName,
        issue: IssueNumber,
        details: &RequestDetails,
    ) -> Result<()> {
        let issue = issue_to_db(issue)?;
        let sql = "INSERT INTO request_details (repo, issue, prompt, tfvars) VALUES ($1, $2, $3, $4) \
                   ON CONFLICT (repo, issue) DO UPDATE SET prompt = excluded.prompt, tfvars = excluded.tfvars";
        with_pool!(&self.inner.backend, pool => {
            sqlx::query(sql)
                .bind(repo.to_string())
                .bind(issue)
                .bind(&details.prompt)
                .bind(&details.tfvars)
                .execute(pool)
                .await
                .map(|_| ())?
        });
        Ok(())
    }

    /// What `repo#issue` asked for and its tfvars, when recorded.
    pub async fn request_details(
        &self,
        repo: &RepoName,
        issue: IssueNumber,
    ) -> Result<Option<RequestDetails>> {
        let issue = issue_to_db(issue)?;
        let sql = "SELECT prompt, tfvars FROM request_details WHERE repo = $1 AND issue = $2";
        let row: Option<(String, String)> = with_pool!(&self.inner.backend, pool => {
            sqlx::query_as(sql).bind(repo.to_string()).bind(issue).fetch_optional(pool).await?
        });
        Ok(row.map(|(prompt, tfvars)| RequestDetails { prompt, tfvars }))
    }
}
