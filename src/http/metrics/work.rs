//! The series an operator reads per unit of work: webhooks by event and outcome, comment
//! commands by name and outcome, Terraform runs (plans, applies, destroys, configuration
//! runs) by outcome with their durations, and the deployment locks held.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use promptops_terraform::{ApplyOutcome, PlanOutcome};

use promptops_store::RunKind;

/// What became of a webhook delivery whose signature was valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// Recorded with at least one job.
    Queued,
    /// Recorded; nothing in it is work for PromptOps.
    Ignored,
    /// A redelivery of a recorded delivery.
    Duplicate,
    /// The store could not record it (answered 503; GitHub may redeliver).
    Unrecorded,
}

impl WebhookOutcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Ignored => "ignored",
            Self::Duplicate => "duplicate",
            Self::Unrecorded => "unrecorded",
        }
    }
}

/// How a comment command's job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandOutcome {
    /// Handled (its answer, whether a result or a refusal, was posted).
    Handled,
    /// The job failed and will be retried.
    Failed,
}

impl CommandOutcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Handled => "handled",
            Self::Failed => "failed",
        }
    }
}

/// How a Terraform run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunResult {
    Changes,
    NoChanges,
    Applied,
    NothingToApply,
    PlanFailed,
    Failed,
    /// Terraform could not be started (bad settings, no var file, no binary).
    CouldNotRun,
}

impl RunResult {
    fn as_str(self) -> &'static str {
        match self {
            Self::Changes => "changes",
            Self::NoChanges => "no_changes",
            Self::Applied => "applied",
            Self::NothingToApply => "nothing_to_apply",
            Self::PlanFailed => "plan_failed",
            Self::Failed => "failed",
            Self::CouldNotRun => "could_not_run",
        }
    }
}

impl From<PlanOutcome> for RunResult {
    fn from(outcome: PlanOutcome) -> Self {
        match outcome {
            PlanOutcome::Changes => Self::Changes,
            PlanOutcome::NoChanges => Self::NoChanges,
            PlanOutcome::Failed => Self::Failed,
        }
    }
}

impl From<ApplyOutcome> for RunResult {
    fn from(outcome: ApplyOutcome) -> Self {
        match outcome {
            ApplyOutcome::Applied => Self::Applied,
            ApplyOutcome::NothingToApply => Self::NothingToApply,
            ApplyOutcome::PlanFailed => Self::PlanFailed,
            ApplyOutcome::Failed => Self::Failed,
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebhookLabels {
    event: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CommandLabels {
    command: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    kind: &'static str,
    outcome: &'static str,
}

/// Terraform runs take from a second (a plan with nothing to do) to most of an hour (an
/// apply creating many VMs): 0.5 s doubling up to about 2.3 hours.
fn run_duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.5, 2.0, 15))
}

/// The work series, registered together.
pub(super) struct WorkMetrics {
    webhooks: Family<WebhookLabels, Counter>,
    commands: Family<CommandLabels, Counter>,
    runs: Family<RunLabels, Counter>,
    run_duration: Family<RunLabels, Histogram, fn() -> Histogram>,
    pub(super) locks: Gauge,
}

impl WorkMetrics {
    pub(super) fn register(registry: &mut Registry) -> Self {
        let webhooks = Family::<WebhookLabels, Counter>::default();
        registry.register(
            "webhooks",
            "Webhook deliveries with a valid signature, by GitHub event and outcome (queued, ignored, duplicate, unrecorded)",
            webhooks.clone(),
        );
        let commands = Family::<CommandLabels, Counter>::default();
        registry.register(
            "commands",
            "Comment commands (/promptops …) by name and outcome (handled, failed: the job is retried)",
            commands.clone(),
        );
        let runs = Family::<RunLabels, Counter>::default();
        registry.register(
            "terraform_runs",
            "Terraform runs by kind (plan, apply, destroy, configure) and outcome (changes, no_changes, applied, nothing_to_apply, plan_failed, failed, could_not_run)",
            runs.clone(),
        );
        let run_duration: Family<RunLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(run_duration_histogram);
        registry.register_with_unit(
            "terraform_run_duration",
            "Wall time of one Terraform run (init to outputs), by kind and outcome",
            Unit::Seconds,
            run_duration.clone(),
        );
        let locks = Gauge::default();
        registry.register(
            "locks",
            "Deployment locks held by pull requests, read at scrape time",
            locks.clone(),
        );
        Self {
            webhooks,
            commands,
            runs,
            run_duration,
            locks,
        }
    }

    pub(super) fn webhook(&self, event: &str, outcome: WebhookOutcome) {
        self.webhooks
            .get_or_create(&WebhookLabels {
                event: event.to_owned(),
                outcome: outcome.as_str(),
            })
            .inc();
    }

    pub(super) fn command(&self, command: &'static str, outcome: CommandOutcome) {
        self.commands
            .get_or_create(&CommandLabels {
                command,
                outcome: outcome.as_str(),
            })
            .inc();
    }

    pub(super) fn run(&self, kind: RunKind, result: RunResult, took: Duration) {
        let labels = RunLabels {
            kind: kind.as_str(),
            outcome: result.as_str(),
        };
        self.runs.get_or_create(&labels).inc();
        self.run_duration
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }
}
