//! An axum extractor that turns a request into a verified, parsed delivery — or rejects it
//! before any handler code runs: 401 for a missing or wrong signature (a missing one
//! before the body is read), 400 for missing headers or malformed JSON, 413 for an
//! oversized body, 408 for one that arrives too slowly, 503 when the service has no
//! webhook secret configured or too many bodies are being read at once (see
//! `body_budget`).

use std::sync::Arc;

use axum::extract::{FromRef, FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use promptops_github::webhook::{Event, WebhookSecrets, parse_event};

use crate::http::body_budget::{BodyError, WebhookBodyLimits};
use crate::http::metrics::{Metrics, RejectReason};
use crate::setup::AppSlot;

/// GitHub caps webhook payloads at 25 MB; anything larger is not from GitHub.
pub const MAX_WEBHOOK_BODY: usize = 25 * 1024 * 1024;

/// What verifying a delivery needs of the service: the App (its webhook secrets), the
/// body budget, and the metrics that count rejections.
#[derive(Clone)]
pub struct WebhookGate {
    pub app: AppSlot,
    pub body_limits: WebhookBodyLimits,
    pub metrics: Arc<Metrics>,
}

pub struct VerifiedDelivery {
    pub id: String,
    pub event_name: String,
    pub event: Event,
}

pub struct Rejection {
    status: StatusCode,
    reason: RejectReason,
    message: String,
    retry_after_secs: Option<u64>,
}

impl Rejection {
    fn new(status: StatusCode, reason: RejectReason, message: impl Into<String>) -> Self {
        Self {
            status,
            reason,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    fn retry_after(self, secs: u64) -> Self {
        Self {
            retry_after_secs: Some(secs),
            ..self
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let mut response = (self.status, format!("{}\n", self.message)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
        }
        response
    }
}

fn body_rejection(err: BodyError) -> Rejection {
    let (status, reason) = match &err {
        BodyError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, RejectReason::TooLarge),
        BodyError::OverBudget { .. } => (StatusCode::SERVICE_UNAVAILABLE, RejectReason::Busy),
        BodyError::TimedOut { .. } => (StatusCode::REQUEST_TIMEOUT, RejectReason::Malformed),
        BodyError::Read(_) => (StatusCode::BAD_REQUEST, RejectReason::Malformed),
    };
    let rejection = Rejection::new(status, reason, err.to_string());
    if matches!(err, BodyError::OverBudget { .. }) {
        rejection.retry_after(BUSY_RETRY_AFTER_SECS)
    } else {
        rejection
    }
}

/// When a client refused for a full read budget may try again.
const BUSY_RETRY_AFTER_SECS: u64 = 5;

/// Most characters of a header value a log line carries: GitHub's delivery ids (36) and
/// event names fit; whoever sends the request chooses the value, so it is cut there.
const LOGGED_HEADER_CHARS: usize = 64;

/// A header's value for the log, when present: cut to `LOGGED_HEADER_CHARS` (the log's
/// formatter escapes control characters).
fn logged_header(value: Option<&http::HeaderValue>) -> Option<String> {
    let value = String::from_utf8_lossy(value?.as_bytes()).into_owned();
    if value.chars().count() <= LOGGED_HEADER_CHARS {
        return Some(value);
    }
    let cut: String = value.chars().take(LOGGED_HEADER_CHARS).collect();
    Some(format!("{cut}…"))
}

fn header<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

impl<S> FromRequest<S> for VerifiedDelivery
where
    S: Send + Sync,
    WebhookGate: FromRef<S>,
{
    type Rejection = Rejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Rejection> {
        let state = WebhookGate::from_ref(state);
        // Kept before the request is consumed: the log of a rejection names them, so that
        // an operator can find the delivery in the App's "Recent deliveries". A header
        // value's clone shares its bytes; the text is made only for a rejection.
        let delivery = request.headers().get("x-github-delivery").cloned();
        let event = request.headers().get("x-github-event").cloned();
        let verified = verify(request, &state).await;
        if let Err(rejection) = &verified {
            state.metrics.webhook_rejected(rejection.reason);
            tracing::info!(
                status = %rejection.status,
                reason = %rejection.message,
                delivery = logged_header(delivery.as_ref()).as_deref(),
                event = logged_header(event.as_ref()).as_deref(),
                "webhook rejected"
            );
        }
        verified
    }
}

async fn verify(request: Request, state: &WebhookGate) -> Result<VerifiedDelivery, Rejection> {
    // One atomic load: the App may be connected by the setup page while the service runs.
    let Some(app) = state.app.load() else {
        return Err(Rejection::new(
            StatusCode::SERVICE_UNAVAILABLE,
            RejectReason::NotConfigured,
            "webhooks are not accepted: the GitHub App is not configured (GITHUB_WEBHOOK_SECRET and the App's credentials, or connect it at /setup)",
        ));
    };
    let secrets = &app.webhook_secrets;
    let (head, body) = request.into_parts();
    let headers = &head.headers;
    // Everything that needs no body is checked before a byte of it is read: a request
    // that cannot be verified costs no memory.
    let signature = header(headers, "x-hub-signature-256");
    WebhookSecrets::check_header_form(signature).map_err(|err| {
        Rejection::new(
            StatusCode::UNAUTHORIZED,
            RejectReason::Signature,
            format!("{err}; the body was not read"),
        )
    })?;
    let event_name = header(headers, "x-github-event")
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            Rejection::new(
                StatusCode::BAD_REQUEST,
                RejectReason::Headers,
                "missing X-GitHub-Event header",
            )
        })?;
    let id = header(headers, "x-github-delivery")
        .filter(|id| !id.is_empty() && id.len() <= 128)
        .map(str::to_owned)
        .ok_or_else(|| {
            Rejection::new(
                StatusCode::BAD_REQUEST,
                RejectReason::Headers,
                "missing or invalid X-GitHub-Delivery header",
            )
        })?;
    let content_length = header(headers, "content-length").and_then(|v| v.parse::<u64>().ok());
    let body = state
        .body_limits
        .read(body, content_length, MAX_WEBHOOK_BODY)
        .await
        .map_err(body_rejection)?;
    let body = &body.bytes;
    secrets.verify(body, signature).map_err(|err| {
        Rejection::new(
            StatusCode::UNAUTHORIZED,
            RejectReason::Signature,
            err.to_string(),
        )
    })?;
    let event = parse_event(&event_name, body).map_err(|err| {
        Rejection::new(
            StatusCode::BAD_REQUEST,
            RejectReason::Malformed,
            err.to_string(),
        )
    })?;
    Ok(VerifiedDelivery {
        id,
        event_name,
        event,
    })
}
