//! The service's Prometheus metrics: one `Metrics` value per service, shared (in an `Arc`)
//! by the HTTP front door, which counts deliveries, and the workers, which count and time
//! jobs. Queue depth and age are not tracked as events: they are read from the store at
//! scrape time, so every replica sharing a database reports the same, true queue.
//!
//! `Metrics` is also the observer the planners and the GitHub client report to (their
//! crates define the hooks and know nothing of Prometheus): plans by planner and outcome,
//! model requests, retries and tokens, GitHub requests by route template, retries and
//! rate-limit waits. Every label takes values from a fixed set.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use promptops_github::client::observe::{
    ApiRequest, ApiRetry, GithubObserver, RateLimitWait, RetryReason,
};
use promptops_planner::observe::{
    ModelRequestObservation, ModelRequestResult, PlanObservation, PlannerObserver,
};
use promptops_store::QueueStats;
use std::sync::atomic::AtomicU64;

use crate::pipeline::jobs::JobOutcome;

mod explanations;
mod queue;
mod work;

pub use explanations::{ExplanationMetrics, ExplanationSource};
pub use queue::{ClickOutcome, MergeGroupVerdict, QueueMetrics};
use work::WorkMetrics;
pub use work::{CommandOutcome, RunResult, WebhookOutcome};

use promptops_store::RunKind;

/// The `Content-Type` of [`Metrics::encode`]'s output.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Why a webhook request was refused before it reached the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// Missing or wrong `X-Hub-Signature-256`.
    Signature,
    /// The body is not the JSON the event name promises (or could not be read).
    Malformed,
    /// Larger than GitHub ever sends.
    TooLarge,
    /// No webhook secret is configured, so nothing can be verified.
    NotConfigured,
    /// `X-GitHub-Event` or `X-GitHub-Delivery` missing or invalid.
    Headers,
    /// The shared budget for webhook bodies being read was full (503, retry later).
    Busy,
}

impl RejectReason {
    pub const ALL: [RejectReason; 6] = [
        Self::Signature,
        Self::Malformed,
        Self::TooLarge,
        Self::NotConfigured,
        Self::Headers,
        Self::Busy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signature => "signature",
            Self::Malformed => "malformed",
            Self::TooLarge => "too_large",
            Self::NotConfigured => "not_configured",
            Self::Headers => "headers",
            Self::Busy => "busy",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabel {
    event: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    kind: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PlanLabels {
    planner: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabel {
    /// `prompt` or `completion`.
    kind: &'static str,
}

/// A GitHub request: method, route template (never a raw path) and status class.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GithubRequestLabels {
    method: String,
    route: String,
    status: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RetryLabel {
    reason: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// A plan takes microseconds offline and up to minutes through a slow model (several
/// attempts of up to a minute, and a repair turn): 1 ms doubling up to about 9 minutes.
fn plan_duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 20))
}

/// Job durations range from milliseconds (a comment) to many minutes (a Terraform apply):
/// 50 ms doubling up to about 27 minutes.
fn job_duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.05, 2.0, 16))
}

pub struct Metrics {
    registry: Registry,
    webhooks_received: Family<EventLabel, Counter>,
    webhooks_rejected: Family<ReasonLabel, Counter>,
    webhooks_duplicate: Counter,
    jobs_finished: Family<JobLabels, Counter>,
    job_duration: HistogramFamily<KindLabel>,
    queue_jobs: Family<StateLabel, Gauge>,
    queue_oldest_due_age: Gauge<f64, AtomicU64>,
    model: ModelMetrics,
    github: GithubMetrics,
    work: WorkMetrics,
    pub schedules: crate::schedule_metrics::ScheduleMetrics,
    pub explanations: ExplanationMetrics,
    /// Merge-queue checks and check-run button clicks.
    pub queue: QueueMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("promptops");
        let webhooks_received = Family::<EventLabel, Counter>::default();
        registry.register(
            "webhooks_received",
            "Webhook deliveries with a valid signature, by GitHub event (redeliveries included)",
            webhooks_received.clone(),
        );
        let webhooks_rejected = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "webhooks_rejected",
            "Webhook requests refused before they were stored, by reason",
            webhooks_rejected.clone(),
        );
        let webhooks_duplicate = Counter::default();
        registry.register(
            "webhooks_duplicate",
            "Redeliveries of an already recorded delivery id (acknowledged, not processed again)",
            webhooks_duplicate.clone(),
        );
        let jobs_finished = Family::<JobLabels, Counter>::default();
        registry.register(
            "jobs_finished",
            "Job attempts finished by this process, by kind and outcome (done, failed, released)",
            jobs_finished.clone(),
        );
        let job_duration: HistogramFamily<KindLabel> =
            Family::new_with_constructor(job_duration_histogram);
        registry.register_with_unit(
            "job_duration",
            "Wall time of one job attempt in this process, by kind",
            Unit::Seconds,
            job_duration.clone(),
        );
        let queue_jobs = Family::<StateLabel, Gauge>::default();
        registry.register(
            "queue_jobs",
            "Jobs in the shared queue by state (due: queued and runnable now), read at scrape time",
            queue_jobs.clone(),
        );
        let queue_oldest_due_age = Gauge::<f64, AtomicU64>::default();
        registry.register_with_unit(
            "queue_oldest_due_age",
            "How long the oldest runnable queued job has waited (0 when none), read at scrape time",
            Unit::Seconds,
            queue_oldest_due_age.clone(),
        );
        // Every rejection reason appears from the first scrape, so `rate()` sees the first one.
        for reason in RejectReason::ALL {
            let _ = webhooks_rejected.get_or_create(&ReasonLabel {
                reason: reason.as_str(),
            });
        }
        let model = ModelMetrics::register(&mut registry);
        let github = GithubMetrics::register(&mut registry);
        let work = WorkMetrics::register(&mut registry);
        let schedules = crate::schedule_metrics::ScheduleMetrics::register(&mut registry);
        let explanations = ExplanationMetrics::register(&mut registry);
        let queue = QueueMetrics::register(&mut registry);
        Self {
            registry,
            webhooks_received,
            webhooks_rejected,
            webhooks_duplicate,
            jobs_finished,
            job_duration,
            queue_jobs,
            queue_oldest_due_age,
            model,
            github,
            work,
            schedules,
            explanations,
            queue,
        }
    }

    pub fn webhook_received(&self, event: &str) {
        self.webhooks_received
            .get_or_create(&EventLabel {
                event: event.to_owned(),
            })
            .inc();
    }

    pub fn webhook_rejected(&self, reason: RejectReason) {
        self.webhooks_rejected
            .get_or_create(&ReasonLabel {
                reason: reason.as_str(),
            })
            .inc();
    }

    pub fn webhook_duplicate(&self) {
        self.webhooks_duplicate.inc();
    }

    /// What became of a delivery with a valid signature.
    pub fn webhook_outcome(&self, event: &str, outcome: WebhookOutcome) {
        self.work.webhook(event, outcome);
    }

    /// A comment command's job ended (`command`: its name, e.g. `plan`).
    pub fn command_finished(&self, command: &'static str, outcome: CommandOutcome) {
        self.work.command(command, outcome);
    }

    /// A Terraform run ended.
    pub fn terraform_run(&self, kind: RunKind, result: RunResult, took: Duration) {
        self.work.run(kind, result, took);
    }

    pub fn job_finished(&self, kind: &str, outcome: &JobOutcome, took: Duration) {
        let outcome = match outcome {
            JobOutcome::Done => "done",
            JobOutcome::Failed { .. } => "failed",
            JobOutcome::Released => "released",
            JobOutcome::Deferred { .. } => "deferred",
        };
        self.jobs_finished
            .get_or_create(&JobLabels {
                kind: kind.to_owned(),
                outcome,
            })
            .inc();
        self.job_duration
            .get_or_create(&KindLabel {
                kind: kind.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// The OpenMetrics text exposition (ending in `# EOF`), with the queue gauges set
    /// from `queue` and the lock gauge from `locks` first.
    pub fn encode(&self, queue: &QueueStats, locks: usize) -> String {
        self.work
            .locks
            .set(i64::try_from(locks).unwrap_or(i64::MAX));
        for (state, count) in [
            ("queued", queue.queued),
            ("due", queue.due),
            ("running", queue.running),
            ("failed", queue.failed),
            ("done", queue.done),
        ] {
            self.queue_jobs
                .get_or_create(&StateLabel { state })
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
        self.queue_oldest_due_age
            .set(queue.oldest_due_age.unwrap_or_default().as_secs_f64());
        let mut text = String::new();
        // Writing into a String cannot fail; an error here would be a bug in the encoder.
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("encoding metrics into a String");
        text
    }
}

/// The planner's series, registered together.
struct ModelMetrics {
    plan_duration: HistogramFamily<PlanLabels>,
    requests: Family<ResultLabel, Counter>,
    retries: Counter,
    tokens: Family<TokenLabel, Counter>,
}

impl ModelMetrics {
    fn register(registry: &mut Registry) -> Self {
        let plan_duration: HistogramFamily<PlanLabels> =
            Family::new_with_constructor(plan_duration_histogram);
        registry.register_with_unit(
            "plan_duration",
            "Wall time of one plan, by planner (offline, model) and outcome (ok, rejected, unreachable, unusable)",
            Unit::Seconds,
            plan_duration.clone(),
        );
        let requests = Family::<ResultLabel, Counter>::default();
        registry.register(
            "model_requests",
            "HTTP requests to the model API (every attempt), by result (answered, rate_limited, server_error, client_error, transport)",
            requests.clone(),
        );
        let retries = Counter::default();
        registry.register(
            "model_retries",
            "Model API requests sent again after a failed attempt",
            retries.clone(),
        );
        let tokens = Family::<TokenLabel, Counter>::default();
        registry.register(
            "model_tokens",
            "Tokens the model API reported consumed, by kind (prompt, completion); rejected answers included",
            tokens.clone(),
        );
        for result in ModelRequestResult::ALL {
            let _ = requests.get_or_create(&ResultLabel {
                result: result.as_str(),
            });
        }
        for kind in ["prompt", "completion"] {
            let _ = tokens.get_or_create(&TokenLabel { kind });
        }
        Self {
            plan_duration,
            requests,
            retries,
            tokens,
        }
    }
}

/// The GitHub client's series, registered together.
struct GithubMetrics {
    requests: Family<GithubRequestLabels, Counter>,
    retries: Family<RetryLabel, Counter>,
    rate_limit_waits: Counter,
    rate_limit_wait: Counter<f64, AtomicU64>,
}

impl GithubMetrics {
    fn register(registry: &mut Registry) -> Self {
        let requests = Family::<GithubRequestLabels, Counter>::default();
        registry.register(
            "github_requests",
            "GitHub API requests (every attempt), by method, route template and status class (2xx, 3xx, 4xx, 5xx, error)",
            requests.clone(),
        );
        let retries = Family::<RetryLabel, Counter>::default();
        registry.register(
            "github_retries",
            "GitHub API requests sent again, by reason (rate_limited, server_error, transport)",
            retries.clone(),
        );
        let rate_limit_waits = Counter::default();
        registry.register(
            "github_rate_limit_waits",
            "Rate-limit waits obeyed before sending a GitHub request again",
            rate_limit_waits.clone(),
        );
        let rate_limit_wait = Counter::<f64, AtomicU64>::default();
        registry.register_with_unit(
            "github_rate_limit_wait",
            "Total time spent waiting out GitHub rate limits",
            Unit::Seconds,
            rate_limit_wait.clone(),
        );
        for reason in RetryReason::ALL {
            let _ = retries.get_or_create(&RetryLabel {
                reason: reason.as_str(),
            });
        }
        Self {
            requests,
            retries,
            rate_limit_waits,
            rate_limit_wait,
        }
    }
}

impl PlannerObserver for Metrics {
    fn plan_finished(&self, plan: &PlanObservation) {
        self.model
            .plan_duration
            .get_or_create(&PlanLabels {
                planner: plan.planner.as_str(),
                outcome: plan.result.as_str(),
            })
            .observe(plan.latency.as_secs_f64());
    }

    fn model_request(&self, request: &ModelRequestObservation) {
        self.model
            .requests
            .get_or_create(&ResultLabel {
                result: request.result.as_str(),
            })
            .inc();
        if let Some(usage) = request.usage {
            self.model
                .tokens
                .get_or_create(&TokenLabel { kind: "prompt" })
                .inc_by(usage.prompt_tokens);
            self.model
                .tokens
                .get_or_create(&TokenLabel { kind: "completion" })
                .inc_by(usage.completion_tokens);
        }
    }

    fn model_retry(&self, _wait: Duration) {
        self.model.retries.inc();
    }
}

impl GithubObserver for Metrics {
    fn api_request(&self, request: &ApiRequest<'_>) {
        self.github
            .requests
            .get_or_create(&GithubRequestLabels {
                method: request.method.to_owned(),
                route: request.route.to_owned(),
                status: request.status.as_str(),
            })
            .inc();
    }

    fn api_retry(&self, retry: &ApiRetry<'_>) {
        self.github
            .retries
            .get_or_create(&RetryLabel {
                reason: retry.reason.as_str(),
            })
            .inc();
    }

    fn rate_limit_wait(&self, wait: &RateLimitWait<'_>) {
        self.github.rate_limit_waits.inc();
        self.github.rate_limit_wait.inc_by(wait.wait.as_secs_f64());
    }
}
