//! An axum extractor that turns a request into a verified, parsed delivery — or rejects it
//! before any handler code runs: 401 for a missing or wrong signature, 400 for missing
//! headers or malformed JSON, 413 (from the body limit) for an oversized body, 503 when
//! the service has no webhook secret configured.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use promptops_github::webhook::{Event, parse_event};

use crate::metrics::RejectReason;
use crate::server::AppState;

pub struct VerifiedDelivery {
    pub id: String,
    pub event_name: String,
    pub event: Event,
}

pub struct Rejection {
    status: StatusCode,
    reason: RejectReason,
    message: String,
}

impl Rejection {
    fn new(status: StatusCode, reason: RejectReason, message: impl Into<String>) -> Self {
        Self {
            status,
            reason,
            message: message.into(),
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        tracing::info!(status = %self.status, reason = %self.message, "webhook rejected");
        (self.status, format!("{}\n", self.message)).into_response()
    }
}

fn header(request: &Request, name: &str) -> Option<String> {
    request
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

impl FromRequest<AppState> for VerifiedDelivery {
    type Rejection = Rejection;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Rejection> {
        let verified = verify(request, state).await;
        if let Err(rejection) = &verified {
            state.metrics.webhook_rejected(rejection.reason);
        }
        verified
    }
}

async fn verify(request: Request, state: &AppState) -> Result<VerifiedDelivery, Rejection> {
    // One atomic load: the App may be connected by the setup page while the service runs.
    let Some(app) = state.app.load() else {
        return Err(Rejection::new(
            StatusCode::SERVICE_UNAVAILABLE,
            RejectReason::NotConfigured,
            "webhooks are not accepted: the GitHub App is not configured (GITHUB_WEBHOOK_SECRET and the App's credentials, or connect it at /setup)",
        ));
    };
    let secrets = &app.webhook_secrets;
    let signature = header(&request, "x-hub-signature-256");
    let event_name = header(&request, "x-github-event");
    let delivery_id = header(&request, "x-github-delivery");
    let body = Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            let reason = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                RejectReason::TooLarge
            } else {
                RejectReason::Malformed
            };
            Rejection::new(rejection.status(), reason, rejection.body_text())
        })?;
    secrets.verify(&body, signature.as_deref()).map_err(|err| {
        Rejection::new(
            StatusCode::UNAUTHORIZED,
            RejectReason::Signature,
            err.to_string(),
        )
    })?;
    let event_name = event_name.filter(|name| !name.is_empty()).ok_or_else(|| {
        Rejection::new(
            StatusCode::BAD_REQUEST,
            RejectReason::Headers,
            "missing X-GitHub-Event header",
        )
    })?;
    let id = delivery_id
        .filter(|id| !id.is_empty() && id.len() <= 128)
        .ok_or_else(|| {
            Rejection::new(
                StatusCode::BAD_REQUEST,
                RejectReason::Headers,
                "missing or invalid X-GitHub-Delivery header",
            )
        })?;
    let event = parse_event(&event_name, &body).map_err(|err| {
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
