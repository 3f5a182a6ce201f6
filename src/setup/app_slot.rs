//! The GitHub App configuration the service runs with, swappable while it runs: empty
//! until credentials exist, then filled once — from the environment or the credentials
//! file at start, or by the setup page's callback without a restart.
//!
//! The webhook path reads it on every delivery (thousands a second), so a read is one
//! atomic load (`arc-swap`), never a lock. Whoever must wait for the App (the worker pool
//! of a service started unconfigured) subscribes to a `watch` channel that is bumped on
//! every change.

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use promptops_github::webhook::WebhookSecrets;
use tokio::sync::watch;

use crate::handlers::Handlers;

/// Where the running App's credentials came from (shown in the log and by `check`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// `GITHUB_APP_ID`, the private key and `GITHUB_WEBHOOK_SECRET` from the environment
    /// (or flags).
    Environment,
    /// The credentials file written by an earlier setup.
    File(std::path::PathBuf),
    /// The setup page's callback, in this process.
    Setup,
}

impl std::fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialSource::Environment => f.write_str("environment"),
            CredentialSource::File(path) => write!(f, "credentials file {}", path.display()),
            CredentialSource::Setup => f.write_str("setup page"),
        }
    }
}

/// Everything that exists only once the App is configured.
pub struct ConfiguredApp {
    pub app_id: u64,
    /// The App's slug when known (from the credentials file or the setup).
    pub slug: Option<String>,
    pub source: CredentialSource,
    pub handlers: Arc<Handlers>,
    pub webhook_secrets: Arc<WebhookSecrets>,
}

impl ConfiguredApp {
    /// "App `slug` (id 123)" or "App 123".
    pub fn describe(&self) -> String {
        match &self.slug {
            Some(slug) => format!("App `{slug}` (id {})", self.app_id),
            None => format!("App {}", self.app_id),
        }
    }
}

/// The running App, or none yet. Clones share it.
#[derive(Clone)]
pub struct AppSlot {
    current: Arc<ArcSwapOption<ConfiguredApp>>,
    changed: Arc<watch::Sender<u64>>,
}

/// `AppSlot::install` found an App already there.
#[derive(Debug, thiserror::Error)]
#[error(
    "the GitHub App is already configured ({0}); remove its credentials and restart to connect another"
)]
pub struct AlreadyConfigured(pub String);

impl Default for AppSlot {
    fn default() -> Self {
        Self::empty()
    }
}

impl AppSlot {
    /// Not configured: webhooks are refused and no worker runs until `install`.
    pub fn empty() -> AppSlot {
        AppSlot {
            current: Arc::new(ArcSwapOption::empty()),
            changed: Arc::new(watch::channel(0).0),
        }
    }

    /// Configured from the start.
    pub fn configured(app: ConfiguredApp) -> AppSlot {
        let slot = AppSlot::empty();
        slot.current.store(Some(Arc::new(app)));
        slot
    }

    /// The App, if configured: one atomic load and a reference count.
    pub fn load(&self) -> Option<Arc<ConfiguredApp>> {
        self.current.load_full()
    }

    pub fn is_configured(&self) -> bool {
        self.current.load().is_some()
    }

    /// Makes `app` the running App, unless one is already configured (a second setup must
    /// not silently replace the App whose webhooks are being accepted).
    pub fn install(&self, app: ConfiguredApp) -> Result<Arc<ConfiguredApp>, AlreadyConfigured> {
        let app = Arc::new(app);
        let previous = self
            .current
            .compare_and_swap(&None::<Arc<ConfiguredApp>>, Some(Arc::clone(&app)));
        if let Some(existing) = previous.as_ref() {
            return Err(AlreadyConfigured(existing.describe()));
        }
        self.changed.send_modify(|version| *version += 1);
        Ok(app)
    }

    /// Waits until an App is configured (at once when it already is).
    pub async fn wait_configured(&self) -> Arc<ConfiguredApp> {
        let mut changes = self.changed.subscribe();
        loop {
            if let Some(app) = self.load() {
                return app;
            }
            // The sender lives as long as `self`, so `changed` only returns on a change.
            if changes.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use secrecy::SecretString;

    use super::*;

    async fn app(dir: &std::path::Path, app_id: u64) -> ConfiguredApp {
        let store = promptops_store::Store::connect(&format!(
            "sqlite://{}/slot-{app_id}.db",
            dir.display()
        ))
        .await
        .unwrap();
        let key = SecretString::from(promptops_testkit::APP_PRIVATE_KEY_PEM.to_owned());
        let github =
            promptops_github::client::GithubApp::new("http://127.0.0.1:9", app_id, &key).unwrap();
        ConfiguredApp {
            app_id,
            slug: Some(format!("app-{app_id}")),
            source: CredentialSource::Setup,
            handlers: Arc::new(Handlers {
                github: Arc::new(github),
                planner: promptops_planner::Planner::from_settings(Default::default()),
                catalog: Arc::new(promptops_core::Catalog::embedded().clone()),
                store,
                terraform: None,
                links: Default::default(),
                metrics: Default::default(),
                clock: std::sync::Arc::new(promptops_core::clock::SystemClock),
                explainer: std::sync::Arc::new(promptops_planner::NoModelExplainer),
                aap: None,
            }),
            webhook_secrets: Arc::new(WebhookSecrets::new(vec![SecretString::from(
                "s".to_owned(),
            )])),
        }
    }

    #[tokio::test]
    async fn a_waiter_gets_the_first_app_and_a_second_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let slot = AppSlot::empty();
        assert!(slot.load().is_none() && !slot.is_configured());
        let waiter = tokio::spawn({
            let slot = slot.clone();
            async move { slot.wait_configured().await.app_id }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "nothing to wait for yet");
        slot.install(app(dir.path(), 1).await).unwrap();
        let got = tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .expect("the waiter wakes up when the App is installed")
            .unwrap();
        assert_eq!(got, 1);
        let Err(err) = slot.install(app(dir.path(), 2).await) else {
            panic!("a second App must not replace the first");
        };
        assert!(err.to_string().contains("App `app-1` (id 1)"), "{err}");
        assert_eq!(slot.load().unwrap().app_id, 1, "the first App stays");
        assert_eq!(slot.clone().wait_configured().await.app_id, 1);
    }
}
