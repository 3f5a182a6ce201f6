//! `promptops serve`: the HTTP server and the workers in one process, with graceful
//! shutdown on SIGTERM/SIGINT (stop accepting, let in-flight jobs finish or release them).

use std::sync::Arc;

use anyhow::Context as _;
use promptops_github::client::GithubApp;
use promptops_planner::Planner;
use promptops_store::Store;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::clock::SystemClock;
use crate::config::ServeSettings;
use crate::handlers::Handlers;
use crate::ingress::IngressSettings;
use crate::service::Service;
use crate::worker::{QueueSignals, WorkerSettings};

pub fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

pub async fn run(settings: ServeSettings) -> anyhow::Result<()> {
    init_tracing(settings.log_json);
    let store = Store::connect(&settings.database_url)
        .await
        .with_context(|| {
            format!(
                "opening the database {}",
                crate::check::redact_url(&settings.database_url)
            )
        })?;
    let catalog = settings.planner.load_catalog()?;
    let planner = Planner::from_settings(settings.planner.planner_settings(false));
    info!(planner = %planner.describe(), "planner ready");

    let github = match (
        settings.github.github_app_id,
        settings.github.private_key()?,
    ) {
        (Some(app_id), Some(key)) => Some(Arc::new(
            GithubApp::new(&settings.github.github_api_url, app_id, &key)
                .context("setting up the GitHub App client")?,
        )),
        _ => None,
    };
    let webhook_secrets = settings.github.webhook_secrets();
    if github.is_none() || webhook_secrets.is_empty() {
        warn!(
            "the GitHub App is not fully configured (GITHUB_APP_ID, GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH, GITHUB_WEBHOOK_SECRET): webhooks are refused until it is; `promptops check` lists what is missing"
        );
    }
    let handlers = github.map(|github| {
        Arc::new(Handlers {
            github,
            planner,
            catalog,
            store: store.clone(),
        })
    });
    let service = Service {
        store: store.clone(),
        handlers,
        webhook_secrets,
        ingress: IngressSettings {
            bot_login: settings.github.bot_login.clone(),
        },
        clock: Arc::new(SystemClock),
        signals: QueueSignals::default(),
    };

    let shutdown = CancellationToken::new();
    let worker_settings = WorkerSettings {
        workers: settings.workers,
        ..WorkerSettings::default()
    };
    let mut workers = service
        .workers(worker_settings)
        .map(|pool| pool.spawn(shutdown.clone()));

    let listener = tokio::net::TcpListener::bind(settings.bind)
        .await
        .with_context(|| format!("listening on {}", settings.bind))?;
    info!(address = %listener.local_addr()?, "promptops is listening");
    let stop = shutdown.clone();
    axum::serve(listener, service.router())
        .with_graceful_shutdown(async move {
            wait_for_signal().await;
            info!("shutting down: no new deliveries; in-flight jobs may finish");
            stop.cancel();
        })
        .await
        .context("serving HTTP")?;
    shutdown.cancel();
    if let Some(workers) = workers.as_mut() {
        while workers.join_next().await.is_some() {}
    }
    store.close().await;
    info!("stopped");
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
