//! The job queue: claiming with a lease, finishing, retrying with backoff, releasing.
//!
//! A job is finished exactly once: every transition out of `running` requires the caller to
//! be the worker named in `locked_by`, and a claim of an expired lease overwrites it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use promptops_core::backoff::{exponential_step, jittered};
use sqlx::types::Json;

use crate::backend::{Backend, with_pool};
use crate::clock::{duration_micros, from_micros, opt_from_micros, to_micros};
use crate::error::{Result, StoreError};
use crate::github_columns::repo_from_db;
use crate::model::{FailOutcome, Job, JobStatus, NewJob, QueueStats};
use crate::store::Store;

pub(crate) const JOB_COLUMNS: &str = "id, kind, repo, dedupe_key, payload, status, attempts, max_attempts, run_after, locked_by, locked_until, last_error, created_at, finished_at, delivery_id";

#[derive(sqlx::FromRow)]
pub(crate) struct JobRow {
    id: i64,
    kind: String,
    repo: String,
    dedupe_key: Option<String>,
    payload: Json<serde_json::Value>,
    status: String,
    attempts: i64,
    max_attempts: i64,
    run_after: i64,
    locked_by: Option<String>,
    locked_until: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
    finished_at: Option<i64>,
    delivery_id: Option<String>,
}

impl TryFrom<JobRow> for Job {
    type Error = StoreError;
    fn try_from(row: JobRow) -> Result<Job> {
        let count = |field: &'static str, value: i64| {
            u32::try_from(value).map_err(|_| StoreError::Corrupt {
                field,
                value: value.to_string(),
                expected: "a count between 0 and 4294967295",
            })
        };
        Ok(Job {
            id: row.id,
            kind: row.kind,
            repo: repo_from_db("jobs.repo", row.repo)?,
            dedupe_key: row.dedupe_key,
            payload: row.payload.0,
            status: row.status.parse()?,
            attempts: count("jobs.attempts", row.attempts)?,
            max_attempts: count("jobs.max_attempts", row.max_attempts)?,
            run_after: from_micros("jobs.run_after", row.run_after)?,
            locked_by: row.locked_by,
            locked_until: opt_from_micros("jobs.locked_until", row.locked_until)?,
            last_error: row.last_error,
            created_at: from_micros("jobs.created_at", row.created_at)?,
            finished_at: opt_from_micros("jobs.finished_at", row.finished_at)?,
            delivery_id: row.delivery_id,
        })
    }
}

/// Claims whose lease ran out on the last allowed attempt become `failed` rather than
/// being handed out again (a job that kills its worker every time must stop somewhere).
const FAIL_EXHAUSTED_LEASES: &str = "UPDATE jobs SET status = 'failed', locked_until = NULL, finished_at = $1, \
     last_error = COALESCE(last_error || '; ', '') || 'lease expired on the last attempt (worker stopped or hung)' \
     WHERE status = 'running' AND locked_until <= $1 AND attempts >= max_attempts";

/// Whether any lease has expired and whether any queued job is due (0 or 1 each).
const CLAIMABLE_PROBE: &str = "SELECT \
     CAST(CASE WHEN EXISTS (SELECT 1 FROM jobs WHERE status = 'running' AND locked_until <= $1) THEN 1 ELSE 0 END AS BIGINT), \
     CAST(CASE WHEN EXISTS (SELECT 1 FROM jobs WHERE status = 'queued' AND run_after <= $1) THEN 1 ELSE 0 END AS BIGINT)";

const SET_CLAIMED: &str =
    "SET status = 'running', attempts = attempts + 1, locked_by = $1, locked_until = $2";

/// Which claimable jobs to look at, in the order they are tried: expired leases first (they
/// are the oldest work), then due queued jobs, oldest first.
const CLAIM_EXPIRED: &str = "status = 'running' AND locked_until <= $3 AND attempts < max_attempts ORDER BY locked_until, id";
const CLAIM_QUEUED: &str = "status = 'queued' AND run_after <= $3 ORDER BY run_after, id";

fn claim_sql(backend: &Backend, candidates: &str) -> String {
    match backend {
        // SQLite runs one writing statement at a time: the sub-select and the update are atomic.
        Backend::Sqlite(_) => format!(
            "UPDATE jobs {SET_CLAIMED} WHERE id = (SELECT id FROM jobs WHERE {candidates} LIMIT 1) RETURNING {JOB_COLUMNS}"
        ),
        // Concurrent claimers skip rows another transaction has locked instead of waiting.
        Backend::Postgres(_) => format!(
            "WITH next AS (SELECT id FROM jobs WHERE {candidates} LIMIT 1 FOR UPDATE SKIP LOCKED) \
             UPDATE jobs {SET_CLAIMED} FROM next WHERE jobs.id = next.id RETURNING {}",
            JOB_COLUMNS
                .split(", ")
                .map(|c| format!("jobs.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl Store {
    /// Puts one job on the queue; `None` when a queued or running job has its dedupe key.
    pub async fn enqueue(&self, job: NewJob) -> Result<Option<i64>> {
        let now = to_micros(self.now());
        let payload = job.storable_payload();
        let id: Option<i64> = with_pool!(&self.inner.backend, pool => {
            sqlx::query_scalar(
                "INSERT INTO jobs (kind, repo, dedupe_key, payload, status, attempts, max_attempts, run_after, created_at) \
                 VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(&job.kind)
            .bind(job.repo.to_string())
            .bind(&job.dedupe_key)
            .bind(Json(payload.as_ref()))
            .bind(i64::from(self.inner.options.max_attempts))
            .bind(job.run_after.map(to_micros).unwrap_or(now))
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        if id.is_some() {
            self.inner.jobs_enqueued.notify_waiters();
        }
        Ok(id)
    }

    /// Takes the next claimable job for `worker_id` until `now + lease`: a job whose lease
    /// expired (its worker crashed) first, else the oldest due queued job. Counts an attempt.
    pub async fn claim(
        &self,
        worker_id: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<Job>> {
        let now = to_micros(now);
        let until = now.saturating_add(duration_micros(lease));
        let backend = &self.inner.backend;
        // Idle workers poll often: a read-only look first keeps them from taking SQLite's
        // single write lock (which the delivery writer needs) when there is nothing to claim.
        let (expired, due): (i64, i64) = with_pool!(backend, pool => {
            sqlx::query_as(CLAIMABLE_PROBE).bind(now).fetch_one(pool).await?
        });
        if expired > 0 {
            with_pool!(backend, pool => {
                sqlx::query(FAIL_EXHAUSTED_LEASES).bind(now).execute(pool).await?;
            });
        }
        let candidates = [(expired > 0, CLAIM_EXPIRED), (due > 0, CLAIM_QUEUED)];
        for (_, candidates) in candidates.into_iter().filter(|(present, _)| *present) {
            let sql = claim_sql(backend, candidates);
            let row: Option<JobRow> = with_pool!(backend, pool => {
                sqlx::query_as(&sql)
                    .bind(worker_id)
                    .bind(until)
                    .bind(now)
                    .fetch_optional(pool)
                    .await?
            });
            if let Some(row) = row {
                return row.try_into().map(Some);
            }
        }
        Ok(None)
    }

    /// Marks the job done; the error of an earlier attempt is cleared (it no longer
    /// describes the job). Only the lease holder may.
    pub async fn complete(&self, job_id: i64, worker_id: &str) -> Result<()> {
        let now = to_micros(self.now());
        let changed = with_pool!(&self.inner.backend, pool => {
            sqlx::query(
                "UPDATE jobs SET status = 'done', locked_until = NULL, last_error = NULL, finished_at = $3 \
                 WHERE id = $1 AND status = 'running' AND locked_by = $2",
            )
            .bind(job_id)
            .bind(worker_id)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        self.require_holder(changed, job_id, worker_id).await
    }

    /// Records a failed attempt: back on the queue after an exponential, jittered backoff,
    /// or `failed` for good once `max_attempts` claims were made. The error is kept either way.
    pub async fn fail(
        &self,
        job_id: i64,
        worker_id: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<FailOutcome> {
        let job = self.held_job(job_id, worker_id).await?;
        let now_us = to_micros(now);
        let (sql, outcome, run_after) = if job.attempts >= job.max_attempts {
            (
                "UPDATE jobs SET status = 'failed', locked_until = NULL, last_error = $4, finished_at = $5 \
                 WHERE id = $1 AND status = 'running' AND locked_by = $2 AND attempts = $3",
                FailOutcome::Failed {
                    attempts: job.attempts,
                },
                now_us,
            )
        } else {
            let jitter = self
                .inner
                .rng
                .lock()
                .map(|mut rng| rng.f64())
                .unwrap_or(0.5);
            let options = &self.inner.options;
            // The upper half is jittered so that jobs failing together do not retry together.
            let delay = jittered(
                exponential_step(options.backoff_base, options.backoff_max, job.attempts),
                0.5,
                jitter,
            );
            let run_after = now_us.saturating_add(duration_micros(delay));
            (
                "UPDATE jobs SET status = 'queued', locked_by = NULL, locked_until = NULL, last_error = $4, run_after = $5 \
                 WHERE id = $1 AND status = 'running' AND locked_by = $2 AND attempts = $3",
                FailOutcome::Retrying {
                    attempts: job.attempts,
                    run_after: from_micros("jobs.run_after", run_after)?,
                },
                run_after,
            )
        };
        let changed = with_pool!(&self.inner.backend, pool => {
            sqlx::query(sql)
                .bind(job_id)
                .bind(worker_id)
                .bind(i64::from(job.attempts))
                .bind(error)
                .bind(run_after)
                .execute(pool)
                .await?
                .rows_affected()
        });
        self.require_holder(changed, job_id, worker_id).await?;
        Ok(outcome)
    }

    /// Puts a claimed job back on the queue without counting the attempt (graceful
    /// shutdown). Only the lease holder may.
    pub async fn release(&self, job_id: i64, worker_id: &str) -> Result<()> {
        self.requeue(job_id, worker_id, self.now(), None).await
    }

    /// Puts a claimed job back on the queue without counting the attempt, claimable from
    /// `run_after`: work given back rather than failed (shutdown, a rate limit). `note`,
    /// when given, replaces `last_error` to say why it waits. Only the lease holder may.
    pub async fn requeue(
        &self,
        job_id: i64,
        worker_id: &str,
        run_after: DateTime<Utc>,
        note: Option<&str>,
    ) -> Result<()> {
        let changed = with_pool!(&self.inner.backend, pool => {
            sqlx::query(
                "UPDATE jobs SET status = 'queued', attempts = attempts - 1, locked_by = NULL, locked_until = NULL, \
                 run_after = $3, last_error = COALESCE($4, last_error) \
                 WHERE id = $1 AND status = 'running' AND locked_by = $2",
            )
            .bind(job_id)
            .bind(worker_id)
            .bind(to_micros(run_after))
            .bind(note)
            .execute(pool)
            .await?
            .rows_affected()
        });
        self.require_holder(changed, job_id, worker_id).await
    }

    /// Moves the lease end to `now + lease`; returns it. Only the lease holder may.
    pub async fn extend_lease(
        &self,
        job_id: i64,
        worker_id: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>> {
        let until = to_micros(now).saturating_add(duration_micros(lease));
        let changed = with_pool!(&self.inner.backend, pool => {
            sqlx::query(
                "UPDATE jobs SET locked_until = $3 WHERE id = $1 AND status = 'running' AND locked_by = $2",
            )
            .bind(job_id)
            .bind(worker_id)
            .bind(until)
            .execute(pool)
            .await?
            .rows_affected()
        });
        self.require_holder(changed, job_id, worker_id).await?;
        from_micros("jobs.locked_until", until)
    }

    pub async fn job(&self, job_id: i64) -> Result<Option<Job>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        let row: Option<JobRow> = with_pool!(&self.inner.backend, pool => {
            sqlx::query_as(&sql).bind(job_id).fetch_optional(pool).await?
        });
        row.map(Job::try_from).transpose()
    }

    /// Queue depth by status and the age of the oldest due job, for metrics.
    pub async fn queue_stats(&self, now: DateTime<Utc>) -> Result<QueueStats> {
        let now_us = to_micros(now);
        let (queued, due, running, failed, done, oldest): (i64, i64, i64, i64, i64, Option<i64>) = with_pool!(&self.inner.backend, pool => {
            sqlx::query_as(
                "SELECT \
                   COUNT(CASE WHEN status = 'queued' THEN 1 END), \
                   COUNT(CASE WHEN status = 'queued' AND run_after <= $1 THEN 1 END), \
                   COUNT(CASE WHEN status = 'running' THEN 1 END), \
                   COUNT(CASE WHEN status = 'failed' THEN 1 END), \
                   COUNT(CASE WHEN status = 'done' THEN 1 END), \
                   MIN(CASE WHEN status = 'queued' AND run_after <= $1 THEN run_after END) \
                 FROM jobs",
            )
            .bind(now_us)
            .fetch_one(pool)
            .await?
        });
        let count = |n: i64| u64::try_from(n).unwrap_or_default();
        Ok(QueueStats {
            queued: count(queued),
            due: count(due),
            running: count(running),
            failed: count(failed),
            done: count(done),
            oldest_due_age: oldest.map(|t| {
                Duration::from_micros(u64::try_from(now_us.saturating_sub(t)).unwrap_or_default())
            }),
        })
    }

    /// The job if `worker_id` holds its lease, else the reason it does not.
    async fn held_job(&self, job_id: i64, worker_id: &str) -> Result<Job> {
        let job = self
            .job(job_id)
            .await?
            .ok_or(StoreError::JobNotFound(job_id))?;
        if job.status == JobStatus::Running && job.locked_by.as_deref() == Some(worker_id) {
            Ok(job)
        } else {
            Err(not_holder(&job, worker_id))
        }
    }

    /// Turns "no row changed" into the error that says why.
    async fn require_holder(&self, changed: u64, job_id: i64, worker_id: &str) -> Result<()> {
        if changed > 0 {
            return Ok(());
        }
        match self.job(job_id).await? {
            None => Err(StoreError::JobNotFound(job_id)),
            Some(job) => Err(not_holder(&job, worker_id)),
        }
    }
}

fn not_holder(job: &Job, worker_id: &str) -> StoreError {
    StoreError::NotLeaseHolder {
        job_id: job.id,
        worker_id: worker_id.to_owned(),
        status: job.status.to_string(),
        holder: job.locked_by.clone(),
    }
}
