//! The job loop: claims jobs from the durable queue under a lease, runs their handler,
//! and records the outcome. A handler error is retried with backoff by the store; a job
//! still running at shutdown gets a grace period, then is released for another worker.
//!
//! Every outcome is also published on a broadcast channel ("job done" notifier), which
//! is how tests and the metrics wait for work instead of sleeping.

use std::sync::Arc;
use std::time::Duration;

use promptops_store::{Job, Store};
use tokio::sync::broadcast;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, info_span, warn};

use crate::clock::Clock;
use crate::handlers::Handlers;
use crate::jobs::JobPayload;
use crate::metrics::Metrics;

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub workers: usize,
    pub lease: Duration,
    /// How often an idle worker looks at the queue when nobody wakes it (other replicas,
    /// retries whose backoff elapsed).
    pub idle_poll: Duration,
    /// How long in-flight jobs may keep running after shutdown was requested.
    pub shutdown_grace: Duration,
    /// Identifies this process in `locked_by`.
    pub instance: String,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            workers: 4,
            lease: Duration::from_secs(300),
            idle_poll: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(30),
            instance: format!("{}-{}", hostname(), std::process::id()),
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "promptops".to_owned())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Done,
    /// The handler failed; the store decides whether it is retried or failed for good.
    Failed {
        error: String,
    },
    /// Shutdown came first; the job is back in the queue.
    Released,
}

#[derive(Debug, Clone)]
pub struct JobEvent {
    pub job_id: i64,
    pub kind: String,
    pub outcome: JobOutcome,
}

/// The "job done" notifier: every outcome is published here.
#[derive(Clone)]
pub struct QueueSignals {
    pub events: broadcast::Sender<JobEvent>,
}

impl Default for QueueSignals {
    fn default() -> Self {
        Self {
            events: broadcast::channel(1024).0,
        }
    }
}

pub struct WorkerPool {
    pub store: Store,
    pub handlers: Arc<Handlers>,
    pub clock: Arc<dyn Clock>,
    pub signals: QueueSignals,
    pub metrics: Arc<Metrics>,
    pub settings: WorkerSettings,
}

impl WorkerPool {
    /// Starts the workers; they stop when `shutdown` is cancelled.
    pub fn spawn(self, shutdown: CancellationToken) -> JoinSet<()> {
        let pool = Arc::new(self);
        let mut set = JoinSet::new();
        for index in 0..pool.settings.workers.max(1) {
            let pool = Arc::clone(&pool);
            let shutdown = shutdown.clone();
            let worker_id = format!("{}/{index}", pool.settings.instance);
            set.spawn(async move { pool.run_worker(worker_id, shutdown).await });
        }
        set
    }

    async fn run_worker(&self, worker_id: String, shutdown: CancellationToken) {
        let wake = self.store.jobs_enqueued();
        while !shutdown.is_cancelled() {
            let claimed = self
                .store
                .claim(&worker_id, self.settings.lease, self.clock.now())
                .await;
            match claimed {
                Ok(Some(job)) => self.process(&worker_id, job, &shutdown).await,
                Ok(None) => {
                    tokio::select! {
                        _ = wake.notified() => {}
                        _ = tokio::time::sleep(self.settings.idle_poll) => {}
                        _ = shutdown.cancelled() => {}
                    }
                }
                Err(err) => {
                    warn!(error = %err, "claiming a job failed");
                    tokio::select! {
                        _ = tokio::time::sleep(self.settings.idle_poll) => {}
                        _ = shutdown.cancelled() => {}
                    }
                }
            }
        }
    }

    async fn process(&self, worker_id: &str, job: Job, shutdown: &CancellationToken) {
        // Every line the job logs carries the delivery that brought it (absent for jobs not
        // enqueued by a webhook), so a delivery can be followed from ingress to its jobs.
        let span = info_span!(
            "job",
            job_id = job.id,
            kind = %job.kind,
            repo = %job.repo,
            delivery_id = job.delivery_id.as_deref(),
            attempt = job.attempts
        );
        // Elapsed wall time for the duration histogram; the injected clock is for the
        // queue's own timestamps (leases, backoff) and may stand still in tests.
        let started = std::time::Instant::now();
        let outcome = self
            .run_with_lease(worker_id, &job, shutdown)
            .instrument(span.clone())
            .await;
        self.metrics
            .job_finished(&job.kind, &outcome, started.elapsed());
        // Instrumented, not `span.enter()`: a guard held across the awaits below would stay
        // on the thread the task left, and the lines after them would lose the job's span.
        async {
            let recorded = match &outcome {
                JobOutcome::Done => self.store.complete(job.id, worker_id).await,
                JobOutcome::Failed { error } => self
                    .store
                    .fail(job.id, worker_id, error, self.clock.now())
                    .await
                    .map(|_| ()),
                JobOutcome::Released => self.store.release(job.id, worker_id).await,
            };
            if let Err(err) = recorded {
                // The lease was lost (another worker took the job over) or the database is
                // gone; either way the queue will hand the job out again.
                warn!(error = %err, "recording the job outcome failed");
            }
            match &outcome {
                JobOutcome::Done => info!("job done"),
                JobOutcome::Failed { error } => warn!(%error, "job failed"),
                JobOutcome::Released => info!("job released at shutdown"),
            }
        }
        .instrument(span)
        .await;
        let _ = self.signals.events.send(JobEvent {
            job_id: job.id,
            kind: job.kind.clone(),
            outcome,
        });
    }

    async fn run_with_lease(
        &self,
        worker_id: &str,
        job: &Job,
        shutdown: &CancellationToken,
    ) -> JobOutcome {
        let payload: JobPayload = match serde_json::from_value(job.payload.clone()) {
            Ok(payload) => payload,
            Err(err) => {
                return JobOutcome::Failed {
                    error: format!("undecodable {} payload: {err}", job.kind),
                };
            }
        };
        let work = self.handlers.run(job.id, &payload);
        tokio::pin!(work);
        let mut renew = tokio::time::interval(self.settings.lease / 3);
        renew.tick().await;
        let grace_over = async {
            shutdown.cancelled().await;
            tokio::time::sleep(self.settings.shutdown_grace).await;
        };
        tokio::pin!(grace_over);
        loop {
            tokio::select! {
                result = &mut work => {
                    return match result {
                        Ok(()) => JobOutcome::Done,
                        Err(err) => JobOutcome::Failed { error: format!("{err:#}") },
                    };
                }
                _ = renew.tick() => {
                    if let Err(err) = self
                        .store
                        .extend_lease(job.id, worker_id, self.settings.lease, self.clock.now())
                        .await
                    {
                        warn!(error = %err, "renewing the job lease failed");
                    }
                }
                _ = &mut grace_over => return JobOutcome::Released,
            }
        }
    }
}
