//! The HTTP front door. `POST /webhook` verifies the signature, records the delivery and
//! the jobs it implies in one transaction, and only then answers 202 — so a delivery is
//! never acknowledged without being stored, and a redelivery is acknowledged without
//! being processed twice.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use promptops_store::{Delivery, RecordOutcome, Store};
use promptops_terraform::{Runner, RunnerError};
use tracing::{Instrument, debug, info, info_span, warn};

use crate::http::body_budget::WebhookBodyLimits;
use crate::http::metrics::{Metrics, OPENMETRICS_CONTENT_TYPE, WebhookOutcome};
use crate::http::webhook::{VerifiedDelivery, WebhookGate};
use crate::pipeline::ingress::{self, IngressSettings};
use crate::web::Access;
use promptops_core::clock::Clock;

/// When to redeliver a delivery the store could not take: a full disk or a restarted
/// database server is usually back within seconds (`Retry-After`).
const STORE_RETRY_AFTER_SECS: &str = "10";

/// How the front door is bounded and guarded, beyond the service's parts.
#[derive(Clone, Default)]
pub struct FrontDoor {
    /// The memory budget and deadline for webhook bodies.
    pub webhook_body: WebhookBodyLimits,
    /// When set, `/metrics` answers only requests that carry the dashboard token
    /// (`PROMPTOPS_METRICS_REQUIRE_TOKEN`).
    pub metrics_access: Option<Arc<Access>>,
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// The GitHub App, swappable at run time; webhooks answer 503 while it is empty.
    pub app: crate::setup::AppSlot,
    pub ingress: Arc<IngressSettings>,
    pub metrics: Arc<Metrics>,
    /// Reads "now" for the queue age in `/metrics`.
    pub clock: Arc<dyn Clock>,
    pub front_door: FrontDoor,
}

impl FromRef<AppState> for WebhookGate {
    fn from_ref(state: &AppState) -> Self {
        WebhookGate {
            app: state.app.clone(),
            body_limits: state.front_door.webhook_body.clone(),
            metrics: Arc::clone(&state.metrics),
        }
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/webhook", post(webhook))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Liveness: the process answers. Nothing else is checked, so that a sick database or a
/// missing App makes the service unready, not restarted in a loop.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: deliveries sent here now would be acted on — a GitHub App is connected,
/// Terraform is installed and its sandbox can be used (when the service runs Terraform),
/// and the store can commit (a one-row write, so a full disk or a read-only database shows).
async fn readyz(State(state): State<AppState>) -> Response {
    let Some(app) = state.app.load() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: no GitHub App is connected; open /setup or set the GitHub App settings\n",
        )
            .into_response();
    };
    // The service stays up without its sandbox or Terraform (requests are still planned and
    // their pull requests opened), but it is not ready: every Terraform run would fail.
    if let Some(runner) = &app.handlers.terraform
        && let Err(err) = terraform_can_run(runner).await
    {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {err}\n"),
        )
            .into_response();
    }
    match state.store.probe_write().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(err) => {
            warn!(error = %err, "readiness: the database cannot commit");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: the database cannot commit: {err}\n"),
            )
                .into_response()
        }
    }
}

/// Whether Terraform can be started: the binary is there (a stat, every time), then the
/// sandbox (its answer is kept, see `Runner::sandbox_usable`).
async fn terraform_can_run(runner: &Runner) -> Result<(), RunnerError> {
    runner.config().terraform_found()?;
    runner.sandbox_usable().await
}

async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(access) = &state.front_door.metrics_access
        && !access.accepts_bearer(&headers)
    {
        return (
            StatusCode::UNAUTHORIZED,
            [(http::header::WWW_AUTHENTICATE, "Bearer")],
            "/metrics needs the dashboard token (PROMPTOPS_METRICS_REQUIRE_TOKEN is set): send \
             `Authorization: Bearer <PROMPTOPS_DASHBOARD_TOKEN>`\n",
        )
            .into_response();
    }
    let now = state.clock.now();
    let read = async {
        let queue = state.store.queue_stats(now).await?;
        let locks = state.store.list_locks(None).await?.len();
        let expiries = state.store.list_expiries(None).await?;
        let checks = state.store.list_drift_checks(None).await?;
        Ok::<_, promptops_store::StoreError>((queue, locks, expiries, checks))
    };
    match read.await {
        Ok((queue, locks, expiries, checks)) => {
            state.metrics.schedules.set(&expiries, &checks, now);
            (
                [(http::header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)],
                state.metrics.encode(&queue, locks),
            )
                .into_response()
        }
        // A failed scrape (rather than stale queue gauges) shows up as `up == 0`.
        Err(err) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("queue and lock statistics unavailable: {err}\n"),
        )
            .into_response(),
    }
}

async fn webhook(State(state): State<AppState>, delivery: VerifiedDelivery) -> Response {
    // One span per delivery, at info so that whatever is logged while it is handled (a
    // redelivery, a failed write) carries its id in plain and JSON logs alike. No line is
    // logged for the common case: every accepted delivery is already a row in `deliveries`,
    // and a line per delivery would cost more than the span at thousands a second.
    let span = info_span!("delivery", delivery_id = %delivery.id, event = %delivery.event_name);
    async move {
        state.metrics.webhook_received(&delivery.event_name);
        let jobs = ingress::jobs_for_event(&delivery.event, &state.ingress);
        let new_jobs = jobs.len();
        let outcome = |outcome| state.metrics.webhook_outcome(&delivery.event_name, outcome);
        let record = Delivery {
            id: delivery.id.clone(),
            event: delivery.event_name.clone(),
            action: delivery.event.action().map(str::to_owned),
        };
        match state.store.record_delivery(record, jobs).await {
            Ok(RecordOutcome::New) => {
                debug!(jobs = new_jobs, "delivery recorded");
                outcome(if new_jobs > 0 {
                    WebhookOutcome::Queued
                } else {
                    WebhookOutcome::Ignored
                });
                (
                    StatusCode::ACCEPTED,
                    format!("accepted: {new_jobs} job(s)\n"),
                )
                    .into_response()
            }
            Ok(RecordOutcome::Duplicate) => {
                state.metrics.webhook_duplicate();
                outcome(WebhookOutcome::Duplicate);
                info!(
                    delivery_id = %delivery.id,
                    event = %delivery.event_name,
                    "redelivery of a recorded delivery; not processed again"
                );
                (
                    StatusCode::ACCEPTED,
                    "duplicate delivery: already recorded\n",
                )
                    .into_response()
            }
            Err(err) => {
                outcome(WebhookOutcome::Unrecorded);
                // Not acknowledged: GitHub shows the failure and the delivery can be redelivered.
                warn!(
                    delivery_id = %delivery.id,
                    event = %delivery.event_name,
                    error = %err,
                    "recording the delivery failed"
                );
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(http::header::RETRY_AFTER, STORE_RETRY_AFTER_SECS)],
                    "could not record the delivery; redeliver it later\n",
                )
                    .into_response()
            }
        }
    }
    .instrument(span)
    .await
}
