//! Assembles the service from its parts. `promptops serve` builds one from the settings;
//! tests build one around a fake GitHub, a temporary database and a manual clock.

use std::sync::Arc;

use axum::Router;
use promptops_github::webhook::WebhookSecrets;
use promptops_store::Store;
use secrecy::SecretString;

use crate::clock::Clock;
use crate::handlers::Handlers;
use crate::ingress::IngressSettings;
use crate::metrics::Metrics;
use crate::server::{self, AppState};
use crate::worker::{QueueSignals, WorkerPool, WorkerSettings};

pub struct Service {
    pub store: Store,
    /// `None` when the App is not configured: webhooks are then refused and no worker runs.
    pub handlers: Option<Arc<Handlers>>,
    pub webhook_secrets: Vec<SecretString>,
    pub ingress: IngressSettings,
    pub clock: Arc<dyn Clock>,
    pub signals: QueueSignals,
    /// Shared by the router (deliveries, `/metrics`) and the workers (jobs).
    pub metrics: Arc<Metrics>,
}

impl Service {
    pub fn router(&self) -> Router {
        let webhook = (!self.webhook_secrets.is_empty() && self.handlers.is_some())
            .then(|| Arc::new(WebhookSecrets::new(self.webhook_secrets.clone())));
        server::router(AppState {
            store: self.store.clone(),
            webhook,
            ingress: Arc::new(self.ingress.clone()),
            metrics: Arc::clone(&self.metrics),
            clock: Arc::clone(&self.clock),
        })
    }

    /// The worker pool, when the App is configured.
    pub fn workers(&self, settings: WorkerSettings) -> Option<WorkerPool> {
        let handlers = self.handlers.clone()?;
        Some(WorkerPool {
            store: self.store.clone(),
            handlers,
            clock: Arc::clone(&self.clock),
            signals: self.signals.clone(),
            metrics: Arc::clone(&self.metrics),
            settings,
        })
    }
}
