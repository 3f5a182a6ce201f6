//! Group commit for deliveries: a writer task takes every `record_delivery` request that is
//! waiting (up to a limit), writes them all in ONE transaction, and answers each caller only
//! after COMMIT returned. One fsync then covers many deliveries, which is what lets the
//! ingress keep full durability at high request rates. The writers here serve PostgreSQL
//! (several, so that one batch is gathered while another commits) and an in-memory SQLite
//! database; a SQLite file has a writer thread of its own (`sqlite_writer`), which shares
//! the batch's rows and statements defined here.

use std::collections::HashSet;
use std::sync::Arc;

use tokio::sync::{Mutex, Notify, mpsc, oneshot};

use crate::backend::Backend;
use crate::clock::{Clock, to_micros};
use crate::error::{Result, StoreError};
use crate::model::{Delivery, NewJob, RecordOutcome};
use crate::write_health::WriteHealth;

pub(crate) struct WriteRequest {
    pub delivery: Delivery,
    pub jobs: Vec<NewJob>,
    pub reply: oneshot::Sender<Result<RecordOutcome>>,
}

pub(crate) struct Writer {
    pub backend: Backend,
    pub clock: Arc<dyn Clock>,
    pub max_batch: usize,
    pub max_attempts: u32,
    /// Woken after a commit that enqueued at least one job.
    pub jobs_enqueued: Arc<Notify>,
    /// An in-memory SQLite database: its one connection cannot be replaced.
    pub in_memory: bool,
    /// Where each batch's outcome is recorded for readiness.
    pub health: Arc<WriteHealth>,
}

impl Writer {
    /// Takes batches off the shared queue until every sender is gone. Several writers may
    /// share one queue: while one waits for its COMMIT, the next gathers the following batch
    /// (useful on PostgreSQL, whose concurrent commits share WAL flushes; SQLite has a single
    /// write lock, so it runs one writer).
    pub(crate) async fn run(self: Arc<Self>, requests: Arc<Mutex<mpsc::Receiver<WriteRequest>>>) {
        let mut batch = Vec::with_capacity(self.max_batch);
        loop {
            // The callers just answered run next on this thread and most submit again at
            // once: letting them do so first makes the next batch fuller (fewer commits).
            tokio::task::yield_now().await;
            let received = requests
                .lock()
                .await
                .recv_many(&mut batch, self.max_batch)
                .await;
            if received == 0 {
                return;
            }
            self.write(&mut batch).await;
            batch.clear();
        }
    }

    async fn write(&self, batch: &mut Vec<WriteRequest>) {
        // Callers that gave up (dropped their future) need no write.
        batch.retain(|request| !request.reply.is_closed());
        if batch.is_empty() {
            return;
        }
        match self.commit(batch).await {
            Ok((outcomes, enqueued)) => {
                if enqueued {
                    self.jobs_enqueued.notify_waiters();
                }
                for (request, outcome) in batch.drain(..).zip(outcomes) {
                    let _ = request.reply.send(Ok(outcome));
                }
            }
            Err(err) if batch.len() == 1 => {
                if let Some(request) = batch.pop() {
                    let _ = request.reply.send(Err(err));
                }
            }
            Err(err) => {
                // One bad item (or a deadlock with another replica) must not fail the others:
                // retry each on its own so every caller gets its own answer.
                tracing::warn!(error = %err, size = batch.len(), "group commit failed; writing its deliveries one by one");
                for request in batch.drain(..) {
                    let single = std::slice::from_ref(&request);
                    let result = self.commit(single).await;
                    if let Ok((_, true)) = &result {
                        self.jobs_enqueued.notify_waiters();
                    }
                    let _ = request.reply.send(result.map(|(outcomes, _)| outcomes[0]));
                }
            }
        }
    }

    /// Writes the batch in one transaction. Returns each request's outcome, in order, and
    /// whether any job was inserted.
    async fn commit(&self, batch: &[WriteRequest]) -> Written {
        let written = self.write_batch(batch).await;
        self.health.record(&written, self.clock.now());
        written
    }

    async fn write_batch(&self, batch: &[WriteRequest]) -> Written {
        let now = to_micros(self.clock.now());
        let max_attempts = i64::from(self.max_attempts);
        match &self.backend {
            Backend::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                let by_id = sorted_deliveries(batch);
                let deliveries = DeliveryColumns::new(&by_id);
                let written = sqlite_write(&mut conn, batch, &deliveries, max_attempts, now).await;
                settle_connection(conn, written, self.in_memory).await
            }
            Backend::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                let by_id = sorted_deliveries(batch);
                let deliveries = DeliveryColumns::new(&by_id);
                let written =
                    postgres_write(&mut conn, batch, &deliveries, max_attempts, now).await;
                settle_connection(conn, written, false).await
            }
        }
    }
}

/// The batch's deliveries ordered by id, each id once. A fixed order of unique keys across
/// concurrent transactions (several replicas on one PostgreSQL) keeps them from
/// deadlocking on each other's inserts.
pub(crate) fn sorted_deliveries(batch: &[WriteRequest]) -> Vec<&Delivery> {
    let mut by_id: Vec<&Delivery> = batch.iter().map(|r| &r.delivery).collect();
    by_id.sort_by(|a, b| a.id.cmp(&b.id));
    by_id.dedup_by(|a, b| a.id == b.id);
    by_id
}

/// Each request's outcome, in order, and whether any job was inserted.
pub(crate) type Written = Result<(Vec<RecordOutcome>, bool)>;

/// After a failed write the connection is closed, never handed back to the pool: a COMMIT
/// that failed (disk full, I/O error) can leave SQLite's transaction open while the driver
/// believes it ended, and the next caller's "transaction" on that connection would then be
/// a savepoint inside the dead one — acknowledged, never durable, and holding the write
/// lock. Closing discards whatever the database still holds of the failed transaction;
/// the pool opens a fresh connection in its place. (`keep`: an in-memory database lives
/// only as long as its one connection; the transaction's drop has rolled it back.)
async fn settle_connection<DB: sqlx::Database>(
    conn: sqlx::pool::PoolConnection<DB>,
    written: Written,
    keep: bool,
) -> Written {
    if let Err(err) = &written {
        tracing::warn!(error = %err, "writing deliveries failed; replacing the database connection");
        if !keep {
            let _ = conn.close().await;
        }
    }
    written
}

async fn sqlite_write(
    conn: &mut sqlx::SqliteConnection,
    batch: &[WriteRequest],
    deliveries: &DeliveryColumns<'_>,
    max_attempts: i64,
    now: i64,
) -> Written {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let inserted: Vec<String> = sqlx::query_scalar(SQLITE_INSERT_DELIVERIES)
        .bind(deliveries.as_json_rows())
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
    let (outcomes, jobs) = outcomes(batch, &inserted);
    if !jobs.is_empty() {
        sqlx::query(SQLITE_INSERT_JOBS)
            .bind(jobs.as_json_rows())
            .bind(max_attempts)
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok((outcomes, !jobs.is_empty()))
}

async fn postgres_write(
    conn: &mut sqlx::PgConnection,
    batch: &[WriteRequest],
    deliveries: &DeliveryColumns<'_>,
    max_attempts: i64,
    now: i64,
) -> Written {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let inserted: Vec<String> = sqlx::query_scalar(POSTGRES_INSERT_DELIVERIES)
        .bind(&deliveries.ids)
        .bind(&deliveries.events)
        .bind(&deliveries.actions)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
    let (outcomes, jobs) = outcomes(batch, &inserted);
    if !jobs.is_empty() {
        sqlx::query(POSTGRES_INSERT_JOBS)
            .bind(&jobs.kinds)
            .bind(&jobs.repos)
            .bind(&jobs.dedupe_keys)
            .bind(&jobs.payloads)
            .bind(&jobs.run_afters)
            .bind(max_attempts)
            .bind(now)
            .bind(&jobs.delivery_ids)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok((outcomes, !jobs.is_empty()))
}

// Each batch is written with one statement per table whose text does not depend on the
// batch size (rows travel as one JSON array on SQLite, as column arrays on PostgreSQL), so
// the statements are prepared once per connection instead of once per batch shape. (A
// SQLite file's own writer calls SQLite directly and executes one statement per row:
// `sqlite_batch`.)

/// `WHERE true` resolves SQLite's parsing ambiguity between a SELECT's join and ON CONFLICT.
const SQLITE_INSERT_DELIVERIES: &str = "INSERT INTO deliveries (delivery_id, event, action, received_at) \
     SELECT value ->> 0, value ->> 1, value ->> 2, $2 FROM json_each($1) WHERE true \
     ON CONFLICT (delivery_id) DO NOTHING RETURNING delivery_id";
/// A live job with the same dedupe key already covers a job: ON CONFLICT DO NOTHING.
const SQLITE_INSERT_JOBS: &str = "INSERT INTO jobs (kind, repo, dedupe_key, payload, status, attempts, max_attempts, run_after, created_at, delivery_id) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, 'queued', 0, $2, COALESCE(value ->> 4, $3), $3, value ->> 5 \
     FROM json_each($1) WHERE true ORDER BY key ON CONFLICT DO NOTHING";
const POSTGRES_INSERT_DELIVERIES: &str = "INSERT INTO deliveries (delivery_id, event, action, received_at) \
     SELECT d.id, d.event, d.action, $4 FROM UNNEST($1::text[], $2::text[], $3::text[]) AS d(id, event, action) \
     ON CONFLICT (delivery_id) DO NOTHING RETURNING delivery_id";
const POSTGRES_INSERT_JOBS: &str = "INSERT INTO jobs (kind, repo, dedupe_key, payload, status, attempts, max_attempts, run_after, created_at, delivery_id) \
     SELECT j.kind, j.repo, j.dedupe_key, j.payload::jsonb, 'queued', 0, $6, COALESCE(j.run_after, $7), $7, j.delivery_id \
     FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $8::text[]) WITH ORDINALITY \
       AS j(kind, repo, dedupe_key, payload, run_after, delivery_id, n) \
     ORDER BY j.n ON CONFLICT DO NOTHING";

/// The deliveries of a batch, column by column.
pub(crate) struct DeliveryColumns<'a> {
    ids: Vec<&'a str>,
    events: Vec<&'a str>,
    actions: Vec<Option<&'a str>>,
}

impl<'a> DeliveryColumns<'a> {
    pub(crate) fn new(deliveries: &[&'a Delivery]) -> Self {
        Self {
            ids: deliveries.iter().map(|d| d.id.as_str()).collect(),
            events: deliveries.iter().map(|d| d.event.as_str()).collect(),
            actions: deliveries.iter().map(|d| d.action.as_deref()).collect(),
        }
    }

    pub(crate) fn as_json_rows(&self) -> String {
        let rows: Vec<_> = (0..self.ids.len())
            .map(|i| serde_json::json!([self.ids[i], self.events[i], self.actions[i]]))
            .collect();
        serde_json::Value::Array(rows).to_string()
    }
}

/// The jobs to insert, column by column.
#[derive(Default)]
pub(crate) struct JobColumns<'a> {
    kinds: Vec<&'a str>,
    repos: Vec<String>,
    dedupe_keys: Vec<Option<&'a str>>,
    payloads: Vec<String>,
    run_afters: Vec<Option<i64>>,
    /// The delivery that brought each job.
    delivery_ids: Vec<&'a str>,
}

impl<'a> JobColumns<'a> {
    fn push(&mut self, job: &'a NewJob, delivery_id: &'a str) {
        self.kinds.push(&job.kind);
        self.repos.push(job.repo.to_string());
        self.dedupe_keys.push(job.dedupe_key.as_deref());
        self.payloads.push(job.storable_payload().to_string());
        self.run_afters.push(job.run_after.map(to_micros));
        self.delivery_ids.push(delivery_id);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    /// Each job's columns, in order: kind, repo, dedupe key, payload, run after (µs),
    /// delivery id.
    pub(crate) fn rows(&self) -> impl Iterator<Item = JobRow<'_>> {
        (0..self.kinds.len()).map(|i| JobRow {
            kind: self.kinds[i],
            repo: &self.repos[i],
            dedupe_key: self.dedupe_keys[i],
            payload: &self.payloads[i],
            run_after: self.run_afters[i],
            delivery_id: self.delivery_ids[i],
        })
    }

    pub(crate) fn as_json_rows(&self) -> String {
        let rows: Vec<_> = (0..self.kinds.len())
            .map(|i| {
                serde_json::json!([
                    self.kinds[i],
                    self.repos[i],
                    self.dedupe_keys[i],
                    self.payloads[i],
                    self.run_afters[i],
                    self.delivery_ids[i]
                ])
            })
            .collect();
        serde_json::Value::Array(rows).to_string()
    }
}

/// One job's columns.
pub(crate) struct JobRow<'a> {
    pub kind: &'a str,
    pub repo: &'a str,
    pub dedupe_key: Option<&'a str>,
    pub payload: &'a str,
    pub run_after: Option<i64>,
    pub delivery_id: &'a str,
}

/// The first request carrying a newly inserted id is New (its jobs go in); any other —
/// an id stored before, or a second copy within the batch — is Duplicate.
pub(crate) fn outcomes<'a, S: AsRef<str>>(
    batch: &'a [WriteRequest],
    inserted: &[S],
) -> (Vec<RecordOutcome>, JobColumns<'a>) {
    let mut inserted: HashSet<&str> = inserted.iter().map(AsRef::as_ref).collect();
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut jobs = JobColumns::default();
    for request in batch {
        if inserted.remove(request.delivery.id.as_str()) {
            outcomes.push(RecordOutcome::New);
            let delivery_id = request.delivery.id.as_str();
            request
                .jobs
                .iter()
                .for_each(|job| jobs.push(job, delivery_id));
        } else {
            outcomes.push(RecordOutcome::Duplicate);
        }
    }
    (outcomes, jobs)
}

/// Sends one request to the writer and waits for its committed outcome.
pub(crate) async fn submit(
    sender: &mpsc::Sender<WriteRequest>,
    delivery: Delivery,
    jobs: Vec<NewJob>,
) -> Result<RecordOutcome> {
    let (reply, answer) = oneshot::channel();
    sender
        .send(WriteRequest {
            delivery,
            jobs,
            reply,
        })
        .await
        .map_err(|_| StoreError::WriterStopped)?;
    answer.await.map_err(|_| StoreError::WriterStopped)?
}
