//! Runs: each plan, apply or destroy with its status, summary and (masked) output.

use promptops_core::RepoName;

use crate::backend::with_pool;
use crate::clock::{from_micros, opt_from_micros, to_micros};
use crate::error::{Result, StoreError};
use crate::github_columns::{pr_from_db, pr_to_db, repo_from_db, sha_from_db};
use crate::model::{NewRun, Run, RunFilter, RunStatus};
use crate::store::Store;

const RUN_COLUMNS: &str =
    "id, repo, pr, deployment, kind, sha, status, summary, output, started_at, finished_at";

#[derive(sqlx::FromRow)]
struct RunRow {
    id: i64,
    repo: String,
    pr: Option<i64>,
    deployment: String,
    kind: String,
    sha: Option<String>,
    status: String,
    summary: Option<String>,
    output: Option<String>,
    started_at: i64,
    finished_at: Option<i64>,
}

impl TryFrom<RunRow> for Run {
    type Error = StoreError;
    fn try_from(row: RunRow) -> Result<Run> {
        Ok(Run {
            id: row.id,
            repo: repo_from_db("runs.repo", row.repo)?,
            pr: row.pr.map(|pr| pr_from_db("runs.pr", pr)).transpose()?,
            deployment: row.deployment,
            kind: row.kind.parse()?,
            sha: row
                .sha
                .map(|sha| sha_from_db("runs.sha", sha))
                .transpose()?,
            status: row.status.parse()?,
            summary: row.summary,
            output: row.output,
            started_at: from_micros("runs.started_at", row.started_at)?,
            finished_at: opt_from_micros("runs.finished_at", row.finished_at)?,
        })
    }
}

impl Store {
    /// Records a run as started now (status `running`); returns its id.
    pub async fn insert_run(&self, run: &NewRun) -> Result<i64> {
        let pr = run.pr.map(pr_to_db).transpose()?;
        let now = to_micros(self.now());
        let id: i64 = with_pool!(&self.inner.backend, pool => {
            sqlx::query_scalar(
                "INSERT INTO runs (repo, pr, deployment, kind, sha, status, started_at) \
                 VALUES ($1, $2, $3, $4, $5, 'running', $6) RETURNING id",
            )
            .bind(run.repo.to_string())
            .bind(pr)
            .bind(&run.deployment)
            .bind(run.kind.as_str())
            .bind(run.sha.as_ref().map(|sha| sha.as_str()))
            .bind(now)
            .fetch_one(pool)
            .await?
        });
        Ok(id)
    }

    /// Records the end of a run (finished now).
    pub async fn finish_run(
        &self,
        id: i64,
        status: RunStatus,
        summary: &str,
        output: &str,
    ) -> Result<()> {
        let now = to_micros(self.now());
        let changed = with_pool!(&self.inner.backend, pool => {
            sqlx::query(
                "UPDATE runs SET status = $2, summary = $3, output = $4, finished_at = $5 WHERE id = $1",
            )
            .bind(id)
            .bind(status.as_str())
            .bind(summary)
            .bind(output)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if changed == 0 {
            return Err(StoreError::RunNotFound(id));
        }
        Ok(())
    }

    pub async fn run(&self, id: i64) -> Result<Option<Run>> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1");
        let row: Option<RunRow> = with_pool!(&self.inner.backend, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        row.map(Run::try_from).transpose()
    }

    /// Runs matching the filter, newest first.
    pub async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>> {
        let pr = filter.pr.map(pr_to_db).transpose()?;
        let limit = i64::from(filter.limit.unwrap_or(100));
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs \
             WHERE ($1 IS NULL OR repo = $1) AND ($2 IS NULL OR deployment = $2) AND ($3 IS NULL OR pr = $3) \
             ORDER BY id DESC LIMIT $4"
        );
        let rows: Vec<RunRow> = with_pool!(&self.inner.backend, pool => {
            sqlx::query_as(&sql)
                .bind(filter.repo.as_ref().map(|repo| repo.to_string()))
                .bind(filter.deployment.as_deref())
                .bind(pr)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(Run::try_from).collect()
    }

    /// Every repository with at least one run, each once, in name order (however old its
    /// runs: `list_runs` stops at the newest).
    pub async fn run_repos(&self) -> Result<Vec<RepoName>> {
        let names: Vec<String> = with_pool!(&self.inner.backend, pool => {
            sqlx::query_scalar("SELECT DISTINCT repo FROM runs")
                .fetch_all(pool)
                .await?
        });
        let mut repos = names
            .into_iter()
            .map(|name| repo_from_db("runs.repo", name))
            .collect::<Result<Vec<_>>>()?;
        // Sorted here, not in SQL: PostgreSQL's collation and SQLite's bytes order differ.
        repos.sort();
        Ok(repos)
    }
}
