//! `promptops serve`: the HTTP server and the workers in one process, with graceful
//! shutdown on SIGTERM/SIGINT (stop accepting, let in-flight jobs finish or release them).

use std::sync::Arc;

use anyhow::Context as _;
use promptops_github::client::GithubApp;
use promptops_planner::Planner;
use promptops_store::Store;
use promptops_terraform::{Runner, RunnerConfig};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::clock::SystemClock;
use crate::config::ServeSettings;
use crate::handlers::Handlers;
use crate::ingress::IngressSettings;
use crate::service::Service;
use crate::web::Dashboard;
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
    // The dashboard's "try a prompt" plans with its own planner (same settings) and catalog.
    let dashboard = Dashboard::new(
        store.clone(),
        Arc::new(Planner::from_settings(
            settings.planner.planner_settings(false),
        )),
        Arc::new(catalog.clone()),
        settings.dashboard_token.as_ref(),
        settings.bind,
    );
    if let crate::web::Access::Refused { reason } = dashboard.access.as_ref() {
        warn!("{}", reason.trim_end());
    }
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
    let terraform = Some(terraform_runner(&settings)?);
    let handlers = github.map(|github| {
        Arc::new(Handlers {
            github,
            planner,
            catalog,
            store: store.clone(),
            terraform,
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
        metrics: Arc::default(),
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
    axum::serve(listener, service.router().merge(dashboard.router()))
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

/// Credentials terraform may inherit from this process: their values are masked in every
/// comment, check run and stored run, whatever Terraform prints.
const SECRET_ENV_VARS: &[&str] = &[
    "GITHUB_PRIVATE_KEY",
    "GITHUB_WEBHOOK_SECRET",
    "OPENAI_API_KEY",
    "DATABASE_URL",
    "PROMPTOPS_DASHBOARD_TOKEN",
    "GOOGLE_CREDENTIALS",
    "GOOGLE_OAUTH_ACCESS_TOKEN",
    "VAULT_TOKEN",
    "AAP_TOKEN",
    "AAP_PASSWORD",
    "AWS_SECRET_ACCESS_KEY",
    "ARM_CLIENT_SECRET",
];

fn terraform_runner(settings: &ServeSettings) -> anyhow::Result<Runner> {
    let mut config = RunnerConfig::new(&settings.workdir);
    config.terraform_bin = settings.terraform_bin.clone();
    config.timeout = std::time::Duration::from_secs(settings.terraform_timeout_secs);
    let mut names: Vec<&str> = SECRET_ENV_VARS.to_vec();
    names.extend(settings.mask_env.iter().map(String::as_str));
    let config = config.mask_process_env_vars(&names);
    Runner::new(config).with_context(|| {
        format!(
            "setting up the Terraform runner in {}",
            settings.workdir.display()
        )
    })
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
