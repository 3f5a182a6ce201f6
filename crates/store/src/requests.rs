//! Requests: which issue asked for which deployment, on which branch and pull request.

use promptops_core::{IssueNumber, PrNumber, RepoName};

use crate::backend::with_pool;
use crate::clock::{from_micros, to_micros};
use crate::error::Result;
use crate::github_columns::{issue_from_db, issue_to_db, pr_from_db, pr_to_db, repo_from_db};
use crate::model::RequestRecord;
use crate::store::Store;

const REQUEST_COLUMNS: &str = "repo, issue, deployment, branch, pr, updated_at";

type RequestRow = (String, i64, String, String, Option<i64>, i64);

fn from_row(
    (repo, issue, deployment, branch, pr, updated_at): RequestRow,
) -> Result<RequestRecord> {
    Ok(RequestRecord {
        repo: repo_from_db("requests.repo", repo)?,
        issue: issue_from_db("requests.issue", issue)?,
        deployment,
        branch,
        pr: pr.map(|pr| pr_from_db("requests.pr", pr)).transpose()?,
        updated_at: from_micros("requests.updated_at", updated_at)?,
    })
}

impl Store {
    /// Creates or updates the request of `repo#issue`. A `pr` of `None` keeps a pull
    /// request number already recorded.
    pub async fn upsert_request(
        &self,
        repo: &RepoName,
        issue: IssueNumber,
        deployment: &str,
        branch: &str,
        pr: Option<PrNumber>,
    ) -> Result<RequestRecord> {
        let issue = issue_to_db(issue)?;
        let pr = pr.map(pr_to_db).transpose()?;
        let now = to_micros(self.now());
        let sql = format!(
            "INSERT INTO requests ({REQUEST_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (repo, issue) DO UPDATE SET deployment = excluded.deployment, \
             branch = excluded.branch, pr = COALESCE(excluded.pr, requests.pr), updated_at = excluded.updated_at \
             RETURNING {REQUEST_COLUMNS}"
        );
        let row: RequestRow = with_pool!(&self.inner.backend, pool => {
            sqlx::query_as(&sql)
                .bind(repo.to_string())
                .bind(issue)
                .bind(deployment)
                .bind(branch)
                .bind(pr)
                .bind(now)
                .fetch_one(pool)
                .await?
        });
        from_row(row)
    }

    pub async fn request_for_issue(
        &self,
        repo: &RepoName,
        issue: IssueNumber,
    ) -> Result<Option<RequestRecord>> {
        let issue = issue_to_db(issue)?;
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE repo = $1 AND issue = $2");
        let row: Option<RequestRow> = with_pool!(&self.inner.backend, pool => {
            sqlx::query_as(&sql).bind(repo.to_string()).bind(issue).fetch_optional(pool).await?
        });
        row.map(from_row).transpose()
    }

    /// The request whose pull request is `repo#pr` (the most recently updated if several).
    pub async fn request_for_pr(
        &self,
        repo: &RepoName,
        pr: PrNumber,
    ) -> Result<Option<RequestRecord>> {
        let pr = pr_to_db(pr)?;
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM requests WHERE repo = $1 AND pr = $2 ORDER BY updated_at DESC LIMIT 1"
        );
        let row: Option<RequestRow> = with_pool!(&self.inner.backend, pool => {
            sqlx::query_as(&sql).bind(repo.to_string()).bind(pr).fetch_optional(pool).await?
        });
        row.map(from_row).transpose()
    }

    /// The most recently updated request for a deployment.
    pub async fn request_for_deployment(
        &self,
        repo: &RepoName,
        deployment: &str,
    ) -> Result<Option<RequestRecord>> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM requests WHERE repo = $1 AND deployment = $2 ORDER BY updated_at DESC LIMIT 1"
        );
        let row: Option<RequestRow> = with_pool!(&self.inner.backend, pool => {
            sqlx::query_as(&sql).bind(repo.to_string()).bind(deployment).fetch_optional(pool).await?
        });
        row.map(from_row).transpose()
    }

    /// All requests (of one repository when given), newest first.
    pub async fn list_requests(&self, repo: Option<&RepoName>) -> Result<Vec<RequestRecord>> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM requests WHERE ($1 IS NULL OR repo = $1) ORDER BY updated_at DESC, repo, issue"
        );
        let rows: Vec<RequestRow> = with_pool!(&self.inner.backend, pool => {
            sqlx::query_as(&sql).bind(repo.map(RepoName::to_string)).fetch_all(pool).await?
        });
        rows.into_iter().map(from_row).collect()
    }
}
