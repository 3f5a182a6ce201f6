//! A fake AAP (Ansible Automation Platform) controller: the endpoints the `ansible/aap`
//! provider's `aap_job_launch` action calls — API discovery (`GET /api/`, then the
//! controller entry it names), `POST <api>/job_templates/<id>/launch/` and polling the
//! job's URL — recording every launch with its body and `Authorization` header.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::sync::oneshot;

const CONTROLLER_API: &str = "/api/controller/v2/";

/// How every launched job ends (AAP's job `status` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AapJobResult {
    Successful,
    Failed,
    /// The job never leaves `running`: whoever waits for it times out.
    NeverFinishes,
}

impl AapJobResult {
    fn status(self) -> &'static str {
        match self {
            AapJobResult::Successful => "successful",
            AapJobResult::Failed => "failed",
            AapJobResult::NeverFinishes => "running",
        }
    }
}

/// One `POST .../job_templates/<id>/launch/` as the fake received it.
#[derive(Debug, Clone)]
pub struct AapLaunch {
    pub job_template_id: u64,
    /// The request body (`extra_vars` as the JSON string the provider sends, `inventory`).
    pub body: Value,
    pub authorization: Option<String>,
}

#[derive(Debug)]
struct AapState {
    result: AapJobResult,
    launches: Vec<AapLaunch>,
}

type Shared = Arc<Mutex<AapState>>;

/// The fake, serving on `127.0.0.1:<port>` until dropped.
pub struct FakeAap {
    state: Shared,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for FakeAap {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl FakeAap {
    pub async fn start(result: AapJobResult) -> FakeAap {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("fake AAP: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("fake AAP: local address");
        let state = Arc::new(Mutex::new(AapState {
            result,
            launches: Vec::new(),
        }));
        let app = Router::new()
            .route("/api/", get(api_root))
            .route("/api/controller/", get(controller_root))
            .route(
                "/api/controller/v2/job_templates/{id}/launch/",
                post(launch),
            )
            .route("/api/controller/v2/jobs/{id}/", get(job))
            .with_state(state.clone());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        FakeAap {
            state,
            addr,
            shutdown: Some(tx),
        }
    }

    /// The provider's `host`, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn launches(&self) -> Vec<AapLaunch> {
        self.state.lock().unwrap().launches.clone()
    }
}

async fn api_root() -> Json<Value> {
    Json(json!({"apis": {"controller": "/api/controller/"}, "current_version": "/api/v2/"}))
}

async fn controller_root() -> Json<Value> {
    Json(json!({"current_version": CONTROLLER_API}))
}

async fn launch(
    State(state): State<Shared>,
    Path(id): Path<u64>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let mut state = state.lock().unwrap();
    state.launches.push(AapLaunch {
        job_template_id: id,
        body: body.clone(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    });
    let job = state.launches.len();
    (
        StatusCode::CREATED,
        Json(json!({
            "url": format!("{CONTROLLER_API}jobs/{job}/"),
            "status": "pending",
            "job_template": id,
            "extra_vars": body.get("extra_vars").cloned().unwrap_or(Value::Null),
        })),
    )
}

async fn job(State(state): State<Shared>, Path(id): Path<u64>) -> (StatusCode, Json<Value>) {
    let state = state.lock().unwrap();
    if id == 0 || id as usize > state.launches.len() {
        return (StatusCode::NOT_FOUND, Json(json!({"detail": "Not found."})));
    }
    (
        StatusCode::OK,
        Json(json!({"id": id, "status": state.result.status()})),
    )
}
