//! Assembles the service from its parts. `promptops serve` builds one from the settings;
//! tests build one around a fake GitHub, a temporary database and a manual clock.

use std::sync::Arc;

use axum::Router;
use promptops_store::Store;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::http::metrics::Metrics;
use crate::http::router::{self, AppState, FrontDoor};
use crate::pipeline::ingress::IngressSettings;
use crate::pipeline::worker::{QueueSignals, WorkerPool, WorkerSettings};
use crate::setup::AppSlot;
use promptops_core::clock::Clock;

pub struct Service {
    pub store: Store,
    /// The GitHub App (handlers and webhook secrets) once configured. Empty: webhooks are
    /// refused and no worker runs, until the setup page (or a test) installs one.
    pub app: AppSlot,
    pub ingress: IngressSettings,
    pub clock: Arc<dyn Clock>,
    pub signals: QueueSignals,
    /// Shared by the router (deliveries, `/metrics`) and the workers (jobs).
    pub metrics: Arc<Metrics>,
}

impl Service {
    /// The front door with its default bounds (and an open `/metrics`).
    pub fn router(&self) -> Router {
        self.router_with(FrontDoor::default())
    }

    pub fn router_with(&self, front_door: FrontDoor) -> Router {
        router::router(AppState {
            store: self.store.clone(),
            app: self.app.clone(),
            ingress: Arc::new(self.ingress.clone()),
            metrics: Arc::clone(&self.metrics),
            clock: Arc::clone(&self.clock),
            front_door,
        })
    }

    /// The worker pool, when the App is configured now.
    pub fn workers(&self, settings: WorkerSettings) -> Option<WorkerPool> {
        let app = self.app.load()?;
        Some(self.pool(Arc::clone(&app.handlers), settings))
    }

    fn pool(
        &self,
        handlers: Arc<crate::handlers::Handlers>,
        settings: WorkerSettings,
    ) -> WorkerPool {
        WorkerPool {
            store: self.store.clone(),
            handlers,
            clock: Arc::clone(&self.clock),
            signals: self.signals.clone(),
            metrics: Arc::clone(&self.metrics),
            settings,
        }
    }

    /// Runs the worker pool until `shutdown`: at once when the App is configured, else as
    /// soon as it is (the setup page connects it while the service runs). Returns when
    /// every worker has stopped, or at shutdown when none ever started.
    pub async fn run_workers(&self, settings: WorkerSettings, shutdown: CancellationToken) {
        let app = tokio::select! {
            app = self.app.wait_configured() => app,
            _ = shutdown.cancelled() => return,
        };
        let mut workers: JoinSet<()> = self
            .pool(Arc::clone(&app.handlers), settings)
            .spawn(shutdown);
        while workers.join_next().await.is_some() {}
    }
}
