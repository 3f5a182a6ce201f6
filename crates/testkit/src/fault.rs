//! Fault injection: answers a test scripts in place of (or after) the real handler, and the
//! middleware that applies them and records every request.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, StatusCode};

use crate::model::{self, RequestRecord};

/// What a matching request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultMode {
    /// Answer with the fault; the request has no effect.
    Instead,
    /// Run the request (its write takes effect), then answer with the fault: a lost response.
    AfterApply,
    /// Hold the request this long, then run it and answer normally. The write takes effect
    /// even when the client has given up meanwhile, as GitHub finishes a request it received.
    Hold(std::time::Duration),
}

/// One scripted failure, consumed by the next `remaining` matching requests.
#[derive(Debug, Clone)]
pub struct Fault {
    pub method: http::Method,
    pub path_prefix: String,
    pub status: StatusCode,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub remaining: usize,
    pub mode: FaultMode,
}

impl Fault {
    fn matches(&self, method: &http::Method, path: &str) -> bool {
        self.remaining > 0 && self.method == method && path.starts_with(&self.path_prefix)
    }

    fn response(&self) -> Response {
        let mut resp = (
            self.status,
            [(
                http::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )],
            self.body.clone(),
        )
            .into_response();
        for (k, v) in &self.headers {
            if let (Ok(k), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::try_from(v)) {
                resp.headers_mut().insert(k, v);
            }
        }
        resp
    }
}

/// Something that happens on GitHub's side (a push, a deleted comment) just before the
/// next matching request is handled: a race a test sets up at an exact point.
pub struct Hook {
    pub method: http::Method,
    pub path_prefix: String,
    pub action: Box<dyn FnOnce() + Send>,
}

/// The body GitHub sends with a status, used when a test does not give one.
pub fn default_body(status: StatusCode) -> String {
    let message = match status.as_u16() {
        403 | 429 => {
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID."
        }
        500 => "Internal Server Error",
        502 => "Server Error",
        503 => "Service Unavailable",
        s if s >= 500 => "Server Error",
        _ => status.canonical_reason().unwrap_or("Error"),
    };
    serde_json::json!({
        "message": message,
        "documentation_url": "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api",
        "status": status.as_str(),
    })
    .to_string()
}

pub type Shared = Arc<Mutex<model::State>>;

/// Locks the world. A panic while it was held (a bug in a handler) must not take every later
/// request down with it, so a poisoned lock is recovered.
pub fn lock(state: &Shared) -> MutexGuard<'_, model::State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Records every request and applies the first matching fault.
pub async fn log_and_inject(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let at = Instant::now();
    let method = req.method().clone();
    // Clients may percent-encode characters that need no encoding (`Hello%2DWorld`);
    // tests name paths plainly, so faults match and the log records the decoded path.
    let path = percent_decode(req.uri().path());
    let query = req.uri().query().map(str::to_string);
    let half_trip = lock(&state).round_trip / 2;
    if !half_trip.is_zero() {
        tokio::time::sleep(half_trip).await;
    }

    run_hook(&state, &method, &path);
    let fault = take_fault(&state, &method, &path);

    let (resp, injected) = match fault {
        Some(f) if f.mode == FaultMode::Instead => (f.response(), true),
        Some(Fault {
            mode: FaultMode::Hold(hold),
            ..
        }) => {
            // A task of its own: a client that disconnects drops this future, not the write.
            let held = tokio::spawn(async move {
                tokio::time::sleep(hold).await;
                let real = next.run(req).await;
                let (parts, body) = real.into_parts();
                let body = axum::body::to_bytes(body, usize::MAX)
                    .await
                    .unwrap_or_default();
                Response::from_parts(parts, Body::from(body))
            });
            let resp = held.await.unwrap_or_else(|err| {
                github_error(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string())
            });
            (resp, true)
        }
        Some(f) => {
            // Drain the real answer so the write is complete before the failure goes out.
            let real = next.run(req).await;
            let _ = axum::body::to_bytes(real.into_body(), usize::MAX).await;
            (f.response(), true)
        }
        None => (next.run(req).await, false),
    };

    record(
        &state,
        RequestRecord {
            at,
            since_start: std::time::Duration::ZERO,
            method: method.to_string(),
            path,
            query,
            status: resp.status().as_u16(),
            injected,
        },
    );
    if !half_trip.is_zero() {
        tokio::time::sleep(half_trip).await;
    }
    resp
}

/// Runs the first hook waiting for this request, outside the lock: its action changes the
/// world through the fake's own helpers.
fn run_hook(state: &Shared, method: &http::Method, path: &str) {
    let hook = {
        let mut st = lock(state);
        let at = st
            .hooks
            .iter()
            .position(|h| h.method == *method && path.starts_with(&h.path_prefix));
        at.map(|at| st.hooks.remove(at))
    };
    if let Some(hook) = hook {
        (hook.action)();
    }
}

/// The first fault matching this request, counted as used.
fn take_fault(state: &Shared, method: &http::Method, path: &str) -> Option<Fault> {
    let fault = {
        let mut st = lock(state);
        let found = st.faults.iter_mut().find(|f| f.matches(method, path));
        found.map(|f| {
            f.remaining -= 1;
            f.clone()
        })
    };
    st_cleanup(state);
    fault
}

/// Logs an answered request (its offset from the fake's start filled in here) and wakes
/// whoever waits for answers.
fn record(state: &Shared, mut request: RequestRecord) {
    let mut st = lock(state);
    request.since_start = request.at.duration_since(st.started);
    st.log.push(request);
    st.answered.send_modify(|count| *count += 1);
}

fn percent_decode(path: &str) -> String {
    percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map_or_else(|_| path.to_string(), |p| p.into_owned())
}

fn st_cleanup(state: &Shared) {
    lock(state).faults.retain(|f| f.remaining > 0);
}

/// A JSON error in GitHub's shape.
pub fn github_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(
            http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )],
        Body::from(
            serde_json::json!({
                "message": message,
                "documentation_url": "https://docs.github.com/rest",
                "status": status.as_str(),
            })
            .to_string(),
        ),
    )
        .into_response()
}
