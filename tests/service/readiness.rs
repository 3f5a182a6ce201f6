//! Readiness and liveness: `/readyz` is 503 while no GitHub App is connected (deliveries
//! would be refused), `/healthz` stays 200. (The store side — a full disk, a database
//! server that is down — is exercised by tests/service/faults.rs against the real binary.)

use std::sync::Arc;

use promptops::http::metrics::Metrics;
use promptops::http::router::{AppState, FrontDoor, router};
use promptops::pipeline::ingress::{CommentJobLimit, IngressSettings};
use promptops::setup::AppSlot;
use promptops_core::clock::SystemClock;
use promptops_store::Store;

#[tokio::test(flavor = "multi_thread")]
async fn without_an_app_the_service_is_alive_but_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("promptops.db").display());
    let store = Store::connect(&url).await.unwrap();
    let app = router(AppState {
        store: store.clone(),
        app: AppSlot::empty(),
        ingress: Arc::new(IngressSettings {
            bot_login: None,
            comment_jobs: CommentJobLimit::default(),
        }),
        metrics: Arc::new(Metrics::new()),
        clock: Arc::new(SystemClock),
        front_door: FrontDoor::default(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    let reason = ready.text().await.unwrap();
    assert!(reason.contains("no GitHub App is connected"), "{reason}");
    let alive = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(alive.status(), 200);

    server.abort();
    store.close().await;
}
