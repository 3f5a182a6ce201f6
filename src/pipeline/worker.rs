//! The job loop: claims jobs from the durable queue under a lease, runs their handler,
//! and records the outcome. A handler error is retried with backoff by the store; a panic
//! is such an error (the worker goes on); a GitHub rate limit gives the job back to the
//! queue until the limit lifts, without holding the worker. A job still running at
//! shutdown gets a grace period, then its work is dropped and it is released — to run
//! again only after a pause in which a GitHub request it had sent can land, so that the
//! next run finds what that request created instead of creating it twice.
//!
//! Every outcome is also published on a broadcast channel ("job done" notifier), which
//! is how tests and the metrics wait for work instead of sleeping.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt as _;
use futures::future::BoxFuture;
use promptops_github::client::GithubError;
use promptops_store::{FailOutcome, Job, Store};
use tokio::sync::broadcast;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, info_span, warn};

use crate::handlers::Handlers;
use crate::http::metrics::Metrics;
use crate::pipeline::heartbeat::{Heartbeat, HeartbeatSettings, ProcessIdentity};
use crate::pipeline::housekeeping::{Housekeeping, HousekeepingSettings};
use crate::pipeline::jobs::{JobOutcome, JobPayload};
use promptops_core::clock::Clock;

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub workers: usize,
    pub lease: Duration,
    /// How often an idle worker looks at the queue when nobody wakes it (other replicas,
    /// retries whose backoff elapsed).
    pub idle_poll: Duration,
    /// How long in-flight jobs may keep running after shutdown was requested.
    pub shutdown_grace: Duration,
    /// This process; its id begins every worker's id in `locked_by`.
    pub identity: ProcessIdentity,
    /// Heartbeats, taking over the jobs of gone processes, and the pause before a job
    /// released at shutdown runs again.
    pub heartbeat: HeartbeatSettings,
    /// Pruning old records while the workers run.
    pub housekeeping: HousekeepingSettings,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            workers: 4,
            lease: Duration::from_secs(300),
            idle_poll: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(30),
            identity: ProcessIdentity::current(),
            heartbeat: HeartbeatSettings::default(),
            housekeeping: HousekeepingSettings::default(),
        }
    }
}

/// What runs a job's work: the handlers in the service; the seam lets the worker's own
/// tests run work of their choosing.
pub trait JobRunner: Send + Sync + 'static {
    fn run_job<'a>(
        &'a self,
        job_id: i64,
        payload: &'a JobPayload,
    ) -> BoxFuture<'a, anyhow::Result<()>>;

    /// Called once a job has failed its last attempt, to tell whoever asked for it.
    fn gave_up<'a>(
        &'a self,
        job_id: i64,
        payload: &'a JobPayload,
        attempts: u32,
    ) -> BoxFuture<'a, anyhow::Result<()>>;
}

impl JobRunner for Handlers {
    fn run_job<'a>(
        &'a self,
        job_id: i64,
        payload: &'a JobPayload,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(self.run(job_id, payload))
    }

    fn gave_up<'a>(
        &'a self,
        job_id: i64,
        payload: &'a JobPayload,
        attempts: u32,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(self.tell_gave_up(job_id, payload, attempts))
    }
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
    pub handlers: Arc<dyn JobRunner>,
    pub clock: Arc<dyn Clock>,
    pub signals: QueueSignals,
    pub metrics: Arc<Metrics>,
    pub settings: WorkerSettings,
}

impl WorkerPool {
    /// Starts the workers, this process's heartbeat and housekeeping; they stop when
    /// `shutdown` is cancelled. The one task in the set ends once every worker has stopped
    /// and the process has left the process table.
    pub fn spawn(self, shutdown: CancellationToken) -> JoinSet<()> {
        let pool = Arc::new(self);
        let mut set = JoinSet::new();
        set.spawn(async move { pool.run(shutdown).await });
        set
    }

    async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let heartbeat = Heartbeat {
            store: self.store.clone(),
            clock: Arc::clone(&self.clock),
            identity: self.settings.identity.clone(),
            settings: self.settings.heartbeat.clone(),
        };
        let housekeeping = Housekeeping {
            store: self.store.clone(),
            settings: self.settings.housekeeping.clone(),
        };
        let mut workers = JoinSet::new();
        let claiming = Arc::new(tokio::sync::Mutex::new(()));
        for index in 0..self.settings.workers.max(1) {
            let pool = Arc::clone(&self);
            let shutdown = shutdown.clone();
            let worker_id = format!("{}/{index}", self.settings.identity.id);
            let claiming = Arc::clone(&claiming);
            workers.spawn(async move { pool.run_worker(worker_id, shutdown, claiming).await });
        }
        // The heartbeat outlives the shutdown signal until the last worker has released
        // its job: until then this process still holds leases.
        let beating = CancellationToken::new();
        let beat = heartbeat.run(beating.clone());
        let all_stopped = async {
            while workers.join_next().await.is_some() {}
            beating.cancel();
        };
        tokio::join!(beat, all_stopped, housekeeping.run(shutdown));
        heartbeat.leave().await;
    }

    /// One worker's loop. `claiming` is held by this process's claim in progress: an
    /// enqueue wakes every idle worker, and one at a time the first takes the job while
    /// the others find nothing with a read, instead of all of them queueing for the
    /// database's write lock in front of the winner's first queries.
    async fn run_worker(
        &self,
        worker_id: String,
        shutdown: CancellationToken,
        claiming: Arc<tokio::sync::Mutex<()>>,
    ) {
        let wake = self.store.jobs_enqueued();
        while !shutdown.is_cancelled() {
            // Registered before the claim: an enqueue between an empty claim and the wait
            // below would otherwise be missed (`notify_waiters` wakes only registered
            // waiters), leaving the job for the next idle poll, up to a second later.
            let enqueued = wake.notified();
            tokio::pin!(enqueued);
            enqueued.as_mut().enable();
            let claimed = {
                let _turn = claiming.lock().await;
                self.store
                    .claim(&worker_id, self.settings.lease, self.clock.now())
                    .await
            };
            match claimed {
                Ok(Some(job)) => self.process(&worker_id, job, &shutdown).await,
                Ok(None) => {
                    tokio::select! {
                        _ = enqueued => {}
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
            let mut gave_up = None;
            let recorded = match &outcome {
                JobOutcome::Done => self.store.complete(job.id, worker_id).await,
                JobOutcome::Failed { error } => self
                    .store
                    .fail(job.id, worker_id, error, self.clock.now())
                    .await
                    .map(|failed| {
                        if let FailOutcome::Failed { attempts } = failed {
                            gave_up = Some(attempts);
                        }
                    }),
                JobOutcome::Released => {
                    let resume = self.clock.now() + self.settings.heartbeat.resume_pause;
                    self.store.requeue(job.id, worker_id, resume, None).await
                }
                JobOutcome::Deferred { until, reason } => {
                    self.store
                        .requeue(job.id, worker_id, *until, Some(reason))
                        .await
                }
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
                JobOutcome::Deferred { until, reason } => {
                    warn!(%until, %reason, "job deferred by a GitHub rate limit")
                }
            }
            if let Some(attempts) = gave_up {
                self.tell_gave_up(&job, attempts).await;
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
        // A panic in the work is the job's failure, not the worker's end.
        let work = AssertUnwindSafe(self.handlers.run_job(job.id, &payload)).catch_unwind();
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
                        Ok(Ok(())) => JobOutcome::Done,
                        Ok(Err(err)) => self.outcome_of_error(&err),
                        Err(panic) => JobOutcome::Failed {
                            error: format!("the job's handler panicked: {}", panic_message(&*panic)),
                        },
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

impl WorkerPool {
    /// Best effort: the job is failed for good in the queue whatever this does.
    async fn tell_gave_up(&self, job: &Job, attempts: u32) {
        warn!(attempts, "job failed its last attempt");
        let told = match serde_json::from_value::<JobPayload>(job.payload.clone()) {
            Ok(payload) => self.handlers.gave_up(job.id, &payload, attempts).await,
            Err(err) => Err(anyhow::anyhow!("undecodable payload: {err}")),
        };
        if let Err(err) = told {
            warn!(error = %format!("{err:#}"), "could not tell the job's thread that it gave up");
        }
    }

    /// A rate limit defers the job to when GitHub allows requests again; any other error
    /// is a failed attempt.
    fn outcome_of_error(&self, err: &anyhow::Error) -> JobOutcome {
        let rate_limit = err.chain().find_map(|cause| match cause.downcast_ref() {
            Some(GithubError::RateLimited { retry_after, .. }) => Some(*retry_after),
            _ => None,
        });
        match rate_limit {
            Some(wait) => JobOutcome::Deferred {
                until: self.clock.now() + wait,
                reason: format!("{err:#}"),
            },
            None => JobOutcome::Failed {
                error: format!("{err:#}"),
            },
        }
    }
}

/// The text a panic was raised with (`panic!` gives a `&str` or a `String`).
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use futures::future::BoxFuture;
    use promptops_github::client::GithubError;
    use promptops_store::{JobStatus, NewJob, Store, StoreOptions};

    use super::{JobOutcome, JobRunner, QueueSignals, WorkerPool, WorkerSettings};
    use crate::http::metrics::Metrics;
    use crate::pipeline::jobs::{IssueSnapshot, JobPayload, RepoTarget};
    use promptops_core::clock::SystemClock;

    /// Work chosen by the issue's text: panic, hit a rate limit, or succeed. Remembers
    /// which jobs it was told gave up.
    #[derive(Default)]
    struct ScriptedWork {
        gave_up: std::sync::Mutex<Vec<(i64, u32)>>,
    }

    impl JobRunner for ScriptedWork {
        fn gave_up<'a>(
            &'a self,
            job_id: i64,
            _payload: &'a JobPayload,
            attempts: u32,
        ) -> BoxFuture<'a, anyhow::Result<()>> {
            self.gave_up.lock().unwrap().push((job_id, attempts));
            Box::pin(async { Ok(()) })
        }

        fn run_job<'a>(
            &'a self,
            _job_id: i64,
            payload: &'a JobPayload,
        ) -> BoxFuture<'a, anyhow::Result<()>> {
            Box::pin(async move {
                let JobPayload::PlanIssue { issue, .. } = payload else {
                    anyhow::bail!("unexpected payload {payload:?}");
                };
                match issue.body.as_str() {
                    "panic" => panic!("index 7 out of range for a list of 3"),
                    "rate limit" => Err(anyhow::Error::new(GithubError::RateLimited {
                        operation: "creating a comment".to_owned(),
                        retry_after: Duration::from_secs(60),
                    })
                    .context("answering the comment")),
                    _ => Ok(()),
                }
            })
        }
    }

    fn reply(text: &str) -> NewJob {
        let payload = JobPayload::PlanIssue {
            repo: RepoTarget {
                repo: "octo/infra".parse().unwrap(),
                installation_id: 1,
            },
            issue: IssueSnapshot {
                number: promptops_core::IssueNumber::new(1),
                title: "GPUs".to_owned(),
                body: text.to_owned(),
                is_pull_request: false,
            },
            author: "alice".to_owned(),
            labels: vec!["promptops".to_owned()],
        };
        NewJob::new(
            payload.kind(),
            "octo/infra".parse().unwrap(),
            serde_json::to_value(&payload).unwrap(),
        )
    }

    /// Runs one job per text with a fresh queue that gives each `max_attempts`; returns the
    /// store, each job's event, and the work (what it was told).
    async fn run_jobs_with(
        texts: &[&str],
        max_attempts: u32,
    ) -> (
        Store,
        Vec<super::JobEvent>,
        Arc<ScriptedWork>,
        tempfile::TempDir,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("queue.db").display());
        let options = StoreOptions {
            max_attempts,
            ..StoreOptions::default()
        };
        let store = Store::connect_with(&url, options, Arc::new(SystemClock))
            .await
            .unwrap();
        let work = Arc::new(ScriptedWork::default());
        for text in texts {
            store.enqueue(reply(text)).await.unwrap();
        }
        let signals = QueueSignals::default();
        let mut events = signals.events.subscribe();
        let shutdown = tokio_util::sync::CancellationToken::new();
        let mut workers = WorkerPool {
            store: store.clone(),
            handlers: work.clone(),
            clock: Arc::new(SystemClock),
            signals,
            metrics: Arc::new(Metrics::new()),
            settings: WorkerSettings {
                // One worker: a panic that ended it would leave the next job unrun.
                workers: 1,
                idle_poll: Duration::from_millis(20),
                ..WorkerSettings::default()
            },
        }
        .spawn(shutdown.clone());
        let mut seen = Vec::new();
        for _ in texts {
            let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
                .await
                .expect("every job ends within 10 s")
                .unwrap();
            seen.push(event);
        }
        shutdown.cancel();
        while workers.join_next().await.is_some() {}
        (store, seen, work, dir)
    }

    async fn run_jobs(texts: &[&str]) -> (Store, Vec<super::JobEvent>, tempfile::TempDir) {
        let (store, events, _work, dir) = run_jobs_with(texts, 5).await;
        (store, events, dir)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_a_job_that_failed_its_last_attempt_is_told_to_have_given_up() {
        let (store, events, work, _dir) = run_jobs_with(&["panic", "fine"], 1).await;
        let failed = store.job(events[0].job_id).await.unwrap().unwrap();
        assert_eq!(failed.status, JobStatus::Failed);
        assert_eq!(events[1].outcome, JobOutcome::Done);
        assert_eq!(*work.gave_up.lock().unwrap(), [(events[0].job_id, 1)]);
        // With attempts left the failure is retried, and nobody is told.
        let (_store, _events, work, _dir) = run_jobs_with(&["panic"], 2).await;
        assert!(work.gave_up.lock().unwrap().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_job_fails_with_its_message_and_the_worker_goes_on() {
        let (store, events, _dir) = run_jobs(&["panic", "fine"]).await;
        let JobOutcome::Failed { error } = &events[0].outcome else {
            panic!("the panic is a failure: {events:?}");
        };
        assert!(error.contains("index 7 out of range"), "{error}");
        assert_eq!(
            events[1].outcome,
            JobOutcome::Done,
            "the same worker ran the next job"
        );
        let failed = store.job(events[0].job_id).await.unwrap().unwrap();
        assert_eq!(failed.status, JobStatus::Queued, "retried with backoff");
        assert!(
            failed
                .last_error
                .as_deref()
                .unwrap_or_default()
                .contains("panicked"),
            "{failed:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_rate_limit_without_a_time_reschedules_the_job_without_an_attempt() {
        let started = chrono::Utc::now();
        let (store, events, _dir) = run_jobs(&["rate limit"]).await;
        assert!(
            matches!(events[0].outcome, JobOutcome::Deferred { .. }),
            "{events:?}"
        );
        let job = store.job(events[0].job_id).await.unwrap().unwrap();
        assert_eq!(job.status, JobStatus::Queued);
        assert_eq!(job.attempts, 0, "a rate limit is not the job's failure");
        assert!(
            job.run_after >= started + Duration::from_secs(60),
            "{job:?}"
        );
        assert!(job.last_error.unwrap().contains("rate limit"));
    }
}
