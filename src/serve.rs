//! `promptops serve`: the HTTP server and the workers in one process, with graceful
//! shutdown on SIGTERM/SIGINT (stop accepting, let in-flight jobs finish or release them).

use std::sync::Arc;

use anyhow::Context as _;
use promptops_github::client::GithubApp;
use promptops_github::webhook::WebhookSecrets;
use promptops_planner::Planner;
use promptops_store::Store;
use promptops_terraform::{Runner, RunnerConfig};
use secrecy::{ExposeSecret as _, SecretString};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::clock::SystemClock;
use crate::config::{ServeSettings, SignInPlan};
use crate::handlers::Handlers;
use crate::heartbeat::HeartbeatSettings;
use crate::http_server::HttpLimits;
use crate::ingress::IngressSettings;
use crate::server::FrontDoor;
use crate::service::Service;
use crate::setup::startup::{StartCredentials, start_credentials, start_sign_in};
use crate::setup::{
    AppCredentials, AppFactory, AppSlot, ConfiguredApp, CredentialSource, Setup, SetupStates,
};
use crate::web::Dashboard;
use crate::worker::{QueueSignals, WorkerSettings};

pub fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: logs written to a file, journald or a container runtime
    // would otherwise carry escape codes (and formatting them costs CPU on every span).
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    // Control characters in field values are escaped (see `log_format`); the JSON log
    // escapes them by its syntax.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder
            .fmt_fields(crate::log_format::escaped_fields())
            .try_init()
    };
}

pub async fn run(settings: ServeSettings) -> anyhow::Result<()> {
    init_tracing(settings.log_json);
    let prepared = prepare(&settings).await?;
    let listener = tokio::net::TcpListener::bind(settings.bind)
        .await
        .with_context(|| format!("listening on {}", settings.bind))?;
    info!(address = %listener.local_addr()?, "promptops is listening");
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        info!("shutting down: no new deliveries; in-flight jobs may finish");
        stop.cancel();
    });
    prepared.serve(listener, shutdown).await?;
    info!("stopped");
    Ok(())
}

/// The service assembled from the settings, not yet listening.
pub struct Prepared {
    pub service: Service,
    pub dashboard: Dashboard,
    pub setup: Setup,
    pub worker_settings: WorkerSettings,
    pub front_door: FrontDoor,
    pub http: HttpLimits,
}

impl Prepared {
    /// Webhooks, health, metrics, the dashboard and the setup pages.
    pub fn router(&self) -> axum::Router {
        self.service
            .router_with(self.front_door.clone())
            .merge(self.dashboard.clone().router())
            .merge(self.setup.clone().router())
    }

    /// Serves on `listener` and runs the workers (now, or once the setup page connects
    /// the App) until `shutdown`; then waits for in-flight jobs and closes the store.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let router = self.router();
        let store = self.service.store.clone();
        let service = self.service;
        let worker_settings = self.worker_settings;
        let worker_stop = shutdown.clone();
        let workers = tokio::spawn(async move {
            service.run_workers(worker_settings, worker_stop).await;
        });
        crate::http_server::serve(listener, router, &self.http, shutdown.clone()).await;
        shutdown.cancel();
        let _ = workers.await;
        store.close().await;
        Ok(())
    }
}

/// Assembles the service: database, planner, dashboard, the App (from the environment
/// or the credentials file, when either gives one) and the setup pages.
pub async fn prepare(settings: &ServeSettings) -> anyhow::Result<Prepared> {
    let store = Store::connect(&settings.database_url)
        .await
        .with_context(|| {
            format!(
                "opening the database {}",
                crate::check::redact_url(&settings.database_url)
            )
        })?;
    let catalog = settings.planner.load_catalog()?;
    let clock: Arc<dyn crate::clock::Clock> = Arc::new(SystemClock);
    // One set of metrics: the planners and the GitHub client report to it, /metrics shows it.
    let metrics = Arc::new(crate::metrics::Metrics::new());
    let start = start_credentials(settings)?;
    let (sign_in_plan, sign_in) = start_sign_in(settings, &start, Arc::clone(&clock))?;
    if let Some(problem) = sign_in_plan.problem() {
        warn!("{problem}");
    }
    // The dashboard's "try a prompt" plans with its own planner (same settings) and catalog.
    let dashboard = Dashboard::new(
        store.clone(),
        Arc::new(
            Planner::from_settings(settings.planner.planner_settings(false))
                .with_observer(metrics.clone()),
        ),
        Arc::new(catalog.clone()),
        settings.dashboard_token.as_ref(),
        settings.bind,
    )
    .with_sign_in(sign_in);
    match dashboard.access.as_ref() {
        crate::web::Access::Refused { reason } => warn!("{}", reason.trim_end()),
        access => match &sign_in_plan {
            SignInPlan::Ready { source, .. } => info!(
                access = %access.describe(),
                sign_in_client = %source,
                "dashboard ready"
            ),
            _ => info!(access = %access.describe(), "dashboard ready"),
        },
    }
    info!(
        planner = %Planner::from_settings(settings.planner.planner_settings(false)).describe(),
        "planner ready"
    );

    let parts = AppParts {
        api_url: settings.github.github_api_url.clone(),
        planner: settings.planner.planner_settings(false),
        catalog,
        store: store.clone(),
        terraform: terraform_config(settings)?,
        metrics: metrics.clone(),
    };
    let slot = match &start {
        StartCredentials::Missing { missing, file } => {
            warn!(
                missing = %missing.join(", "),
                credentials_file = %file.display(),
                "the GitHub App is not configured: webhooks are refused until it is. Open /setup \
                 to connect an App, or set the missing settings; `promptops check` lists them"
            );
            AppSlot::empty()
        }
        StartCredentials::Environment { .. } | StartCredentials::File { .. } => {
            let (source, slug, file_client_secret) = match &start {
                StartCredentials::File {
                    path,
                    credentials,
                    ignored_env,
                } => {
                    if !ignored_env.is_empty() {
                        warn!(
                            ignored = %ignored_env.join(", "),
                            "the environment gives only part of a GitHub App; using the credentials file instead"
                        );
                    }
                    (
                        CredentialSource::File(path.clone()),
                        Some(credentials.slug.clone()),
                        Some(credentials.client_secret.clone()),
                    )
                }
                _ => (CredentialSource::Environment, None, None),
            };
            let (app_id, key, secrets) = start.app().expect("a source with an App");
            let app = parts.configured_app(
                app_id,
                &key,
                secrets,
                file_client_secret.into_iter().collect(),
                slug,
                source,
            )?;
            info!(app = %app.describe(), source = %app.source, "GitHub App configured");
            AppSlot::configured(app)
        }
    };
    let parts = Arc::new(parts);
    let factory: AppFactory = Arc::new(move |credentials: &AppCredentials, source| {
        parts.configured_app(
            credentials.id,
            &credentials.pem,
            vec![credentials.webhook_secret.clone()],
            vec![credentials.client_secret.clone()],
            Some(credentials.slug.clone()),
            source,
        )
    });
    let setup = Setup {
        slot: slot.clone(),
        states: SetupStates::new(Arc::clone(&clock)),
        factory,
        credentials_path: settings.app_credentials_path(),
        public_url: settings.public_url_parsed()?,
        bind: settings.bind,
        github_web_url: settings.github.github_web_url.clone(),
        github_api_url: settings.github.github_api_url.clone(),
        http: reqwest::Client::new(),
        access: Arc::clone(&dashboard.access),
    };
    let service = Service {
        store,
        app: slot,
        ingress: IngressSettings {
            bot_login: settings.github.bot_login.clone(),
            ..IngressSettings::default()
        },
        clock,
        signals: QueueSignals::default(),
        metrics,
    };
    let front_door = FrontDoor {
        webhook_body: settings.http.webhook_body(),
        metrics_access: metrics_access(settings, &dashboard)?,
    };
    Ok(Prepared {
        service,
        dashboard,
        setup,
        worker_settings: WorkerSettings {
            workers: settings.workers,
            shutdown_grace: std::time::Duration::from_secs(settings.shutdown_grace_secs),
            heartbeat: HeartbeatSettings {
                resume_pause: std::time::Duration::from_secs(settings.resume_pause_secs),
                ..HeartbeatSettings::default()
            },
            ..WorkerSettings::default()
        },
        front_door,
        http: settings.http.limits(),
    })
}

/// Who may read `/metrics`: anyone who reaches it, or (`PROMPTOPS_METRICS_REQUIRE_TOKEN`)
/// only holders of the dashboard token.
fn metrics_access(
    settings: &ServeSettings,
    dashboard: &Dashboard,
) -> anyhow::Result<Option<Arc<crate::web::Access>>> {
    if !settings.metrics_require_token {
        return Ok(None);
    }
    if !matches!(
        dashboard.access.as_ref(),
        crate::web::Access::Guarded { token: Some(_), .. }
    ) {
        anyhow::bail!(
            "PROMPTOPS_METRICS_REQUIRE_TOKEN is set but PROMPTOPS_DASHBOARD_TOKEN is not: set the \
             token (scrapers then send `Authorization: Bearer <token>`), or unset \
             PROMPTOPS_METRICS_REQUIRE_TOKEN"
        );
    }
    Ok(Some(Arc::clone(&dashboard.access)))
}

/// What every configured App shares, whatever its credentials' source.
struct AppParts {
    api_url: String,
    planner: promptops_planner::PlannerSettings,
    catalog: promptops_core::Catalog,
    store: Store,
    /// The runner's settings, masking what this process's environment and settings hold;
    /// each App adds its own secrets.
    terraform: RunnerConfig,
    metrics: Arc<crate::metrics::Metrics>,
}

impl AppParts {
    /// `other_secrets`: further secrets of this App (the OAuth client secret from the
    /// credentials file) to mask in Terraform's output, besides its key and webhook secrets.
    fn configured_app(
        &self,
        app_id: u64,
        private_key: &SecretString,
        webhook_secrets: Vec<SecretString>,
        other_secrets: Vec<SecretString>,
        slug: Option<String>,
        source: CredentialSource,
    ) -> anyhow::Result<ConfiguredApp> {
        // The sandbox keeps the key and credentials file out of Terraform's reach; masking
        // stays the last line (e.g. with PROMPTOPS_TERRAFORM_SANDBOX=off).
        let mut terraform = self.terraform.clone();
        terraform.mask_values.extend(key_mask_values(private_key));
        terraform
            .mask_values
            .extend(webhook_secrets.iter().cloned());
        terraform.mask_values.extend(other_secrets);
        let terraform = Runner::new(terraform).with_context(|| {
            format!(
                "setting up the Terraform runner in {}",
                self.terraform.work_root.display()
            )
        })?;
        let github = GithubApp::new(&self.api_url, app_id, private_key)
            .context("setting up the GitHub App client")?
            .with_observer(self.metrics.clone());
        Ok(ConfiguredApp {
            app_id,
            slug,
            source,
            handlers: Arc::new(Handlers {
                github: Arc::new(github),
                planner: Planner::from_settings(self.planner.clone())
                    .with_observer(self.metrics.clone()),
                catalog: self.catalog.clone(),
                store: self.store.clone(),
                terraform: Some(terraform),
                clock: Arc::new(SystemClock),
            }),
            webhook_secrets: Arc::new(WebhookSecrets::new(webhook_secrets)),
        })
    }
}

/// Secrets and credentials of this process's environment: their values are masked in every
/// comment, check run and stored run, whatever Terraform prints (only the allowlisted ones
/// are passed to it; masking is the last line if another reaches it).
pub const SECRET_ENV_VARS: &[&str] = &[
    "GITHUB_PRIVATE_KEY",
    "GITHUB_WEBHOOK_SECRET",
    "GITHUB_CLIENT_SECRET",
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

/// PEM body lines shorter than this (the last one may be a few characters) are not masked
/// on their own: they would mask ordinary text.
const PEM_LINE_MIN_MASK: usize = 16;

/// A private key's values to mask: the whole PEM, and each base64 line of its body, so
/// that the key is masked however it is printed (re-wrapped, or JSON-escaped as in the
/// credentials file).
pub fn key_mask_values(pem: &SecretString) -> Vec<SecretString> {
    let text = pem.expose_secret();
    let mut values = vec![SecretString::from(text.trim().to_owned())];
    values.extend(
        text.lines()
            .map(str::trim)
            .filter(|line| !line.starts_with("-----") && line.len() >= PEM_LINE_MIN_MASK)
            .map(|line| SecretString::from(line.to_owned())),
    );
    values
}

/// The runner's settings for every App: Terraform's allowlisted environment and sandbox
/// (see [`crate::terraform_boundary`]); the variables above and `PROMPTOPS_MASK_ENV` masked
/// by their values in this process's environment, and the secrets the settings hold (also
/// when given as flags or files: the key from `GITHUB_PRIVATE_KEY_PATH`, each of several
/// comma-separated webhook secrets on its own). A secret too short to mask, a setting that
/// would hand Terraform a service secret, or a sandbox that cannot be set up stops the start.
fn terraform_config(settings: &ServeSettings) -> anyhow::Result<RunnerConfig> {
    let mut config = RunnerConfig::new(&settings.workdir);
    config.terraform_bin = settings.terraform_bin.clone();
    config.timeout = std::time::Duration::from_secs(settings.terraform_timeout_secs);
    crate::terraform_boundary::apply(&mut config, settings)?;
    let mut names: Vec<&str> = SECRET_ENV_VARS.to_vec();
    names.extend(settings.mask_env.iter().map(String::as_str));
    let mut config = config.mask_process_env_vars(&names);
    config.mask_values.extend(settings.github.webhook_secrets());
    if let Ok(Some(key)) = settings.github.private_key() {
        config.mask_values.extend(key_mask_values(&key));
    }
    let named_secrets = [
        (
            "GITHUB_CLIENT_SECRET",
            settings.github_client_secret.as_ref(),
        ),
        (
            "PROMPTOPS_DASHBOARD_TOKEN",
            settings.dashboard_token.as_ref(),
        ),
        ("OPENAI_API_KEY", settings.planner.openai_api_key.as_ref()),
    ];
    let present: Vec<(&str, &SecretString)> = named_secrets
        .iter()
        .filter_map(|(name, value)| value.map(|value| (*name, value)))
        .collect();
    crate::terraform_boundary::refuse_short_secrets(&present)?;
    config
        .mask_values
        .extend(present.iter().map(|(_, value)| (*value).clone()));
    // Checked now, so that a work directory that cannot be created stops the start.
    Runner::new(config.clone()).with_context(|| {
        format!(
            "setting up the Terraform runner in {}",
            settings.workdir.display()
        )
    })?;
    crate::terraform_boundary::check_sandbox(&config)?;
    Ok(config)
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
