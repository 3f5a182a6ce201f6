//! Group commit for deliveries: one writer task takes every `record_delivery` request that
//! is waiting (up to a limit), writes them all in ONE transaction, and answers each caller
//! only after COMMIT returned. One fsync then covers many deliveries, which is what lets the
//! ingress keep full durability at high request rates.

use std::collections::HashSet;
use std::sync::Arc;

use sqlx::QueryBuilder;
use sqlx::types::Json;
use tokio::sync::{Notify, mpsc, oneshot};

use crate::backend::{Backend, with_pool};
use crate::clock::{Clock, to_micros};
use crate::error::{Result, StoreError};
use crate::model::{Delivery, NewJob, RecordOutcome};

/// Rows per multi-row INSERT, below both backends' bind-parameter limits.
const ROWS_PER_INSERT: usize = 500;

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
}

impl Writer {
    pub(crate) async fn run(self, mut requests: mpsc::Receiver<WriteRequest>) {
        let mut batch = Vec::with_capacity(self.max_batch);
        while requests.recv_many(&mut batch, self.max_batch).await > 0 {
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
    async fn commit(&self, batch: &[WriteRequest]) -> Result<(Vec<RecordOutcome>, bool)> {
        let now = to_micros(self.clock.now());
        let max_attempts = i64::from(self.max_attempts);
        // A fixed order of unique keys across concurrent transactions (several replicas on
        // one PostgreSQL) keeps them from deadlocking on each other's inserts.
        let mut by_id: Vec<&Delivery> = batch.iter().map(|r| &r.delivery).collect();
        by_id.sort_by(|a, b| a.id.cmp(&b.id));
        by_id.dedup_by(|a, b| a.id == b.id);

        with_pool!(&self.backend, pool => {
            let mut tx = pool.begin().await?;
            let mut inserted: HashSet<String> = HashSet::with_capacity(batch.len());
            for chunk in by_id.chunks(ROWS_PER_INSERT) {
                let mut insert = QueryBuilder::new(
                    "INSERT INTO deliveries (delivery_id, event, action, received_at) ",
                );
                insert.push_values(chunk, |mut row, delivery| {
                    row.push_bind(delivery.id.as_str())
                        .push_bind(delivery.event.as_str())
                        .push_bind(delivery.action.as_deref())
                        .push_bind(now);
                });
                insert.push(" ON CONFLICT (delivery_id) DO NOTHING RETURNING delivery_id");
                let ids: Vec<String> = insert.build_query_scalar().fetch_all(&mut *tx).await?;
                inserted.extend(ids);
            }

            // The first request carrying a newly inserted id is New; any other is Duplicate.
            let mut outcomes = Vec::with_capacity(batch.len());
            let mut jobs: Vec<&NewJob> = Vec::new();
            for request in batch {
                if inserted.remove(&request.delivery.id) {
                    outcomes.push(RecordOutcome::New);
                    jobs.extend(request.jobs.iter());
                } else {
                    outcomes.push(RecordOutcome::Duplicate);
                }
            }

            let enqueued = !jobs.is_empty();
            for chunk in jobs.chunks(ROWS_PER_INSERT) {
                let mut insert = QueryBuilder::new(
                    "INSERT INTO jobs (kind, repo, dedupe_key, payload, status, attempts, max_attempts, run_after, created_at) ",
                );
                insert.push_values(chunk, |mut row, job| {
                    row.push_bind(job.kind.as_str())
                        .push_bind(job.repo.as_str())
                        .push_bind(job.dedupe_key.as_deref())
                        .push_bind(Json(&job.payload))
                        .push_bind("queued")
                        .push_bind(0_i64)
                        .push_bind(max_attempts)
                        .push_bind(job.run_after.map(to_micros).unwrap_or(now))
                        .push_bind(now);
                });
                // A live job with the same dedupe key already covers this one.
                insert.push(" ON CONFLICT DO NOTHING");
                insert.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok((outcomes, enqueued))
        })
    }
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
