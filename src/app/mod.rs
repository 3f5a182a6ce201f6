//! The one place the service is wired from its settings: the database, the planners, the
//! dashboard, the App (from the environment, the credentials file or, later, the setup
//! page), the setup pages, the front door and the workers. `promptops serve` builds it
//! with no overrides; tests build it the same way and pass their fakes in as overrides.

mod credential_files;
mod parts;
pub mod service;
mod terraform;
pub(crate) mod terraform_boundary;

use std::sync::Arc;

use anyhow::Context as _;
use promptops_core::clock::{Clock, SystemClock};
use promptops_github::client::RetryPolicy;
use promptops_planner::{Planner, PlannerSettings};
use promptops_store::Store;
use promptops_terraform::RunnerConfig;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use terraform::{SECRET_ENV_VARS, key_mask_values};

use crate::app::service::Service;
use crate::config::ServeSettings;
use crate::http::listener::HttpLimits;
use crate::http::metrics::Metrics;
use crate::http::router::FrontDoor;
use crate::pipeline::heartbeat::HeartbeatSettings;
use crate::pipeline::housekeeping::{self, HousekeepingSettings};
use crate::pipeline::ingress::IngressSettings;
use crate::pipeline::worker::{QueueSignals, WorkerSettings};
use crate::setup::sign_in_plan::SignInPlan;
use crate::setup::startup::{StartCredentials, start_credentials, start_sign_in};
use crate::setup::{AppCredentials, AppFactory, AppSlot, CredentialSource, Setup, SetupStates};
use crate::web::{Access, Dashboard, GithubSignIn};
use parts::AppParts;

/// Which Terraform runner the handlers get.
#[derive(Default)]
pub enum TerraformChoice {
    /// As the settings make it: allowlisted environment, sandbox, masked secrets.
    #[default]
    FromSettings,
    /// These runner settings (each App's own secrets are still masked). Boxed: the
    /// settings are large and the other choices empty.
    Config(Box<RunnerConfig>),
    /// No Terraform: jobs that need it say so.
    Off,
}

/// What a caller replaces in the service the settings describe (tests pass their fakes
/// and short timings here); the default replaces nothing.
#[derive(Default)]
pub struct Overrides {
    /// The planners' settings instead of the settings' `planner` arguments.
    pub planner: Option<PlannerSettings>,
    pub terraform: TerraformChoice,
    /// The GitHub client's retry policy instead of its default.
    pub github_retry: Option<RetryPolicy>,
    /// The clock dashboard sign-in sessions are issued and checked with.
    pub sign_in_clock: Option<Arc<dyn Clock>>,
    /// The clock jobs are claimed by and handlers date things by (expiry dates).
    pub clock: Option<Arc<dyn Clock>>,
}

/// The service assembled from the settings, not yet listening.
pub struct App {
    pub service: Service,
    pub dashboard: Dashboard,
    pub setup: Setup,
    pub worker_settings: WorkerSettings,
    pub front_door: FrontDoor,
    pub http: HttpLimits,
}

impl App {
    /// Assembles the service: database, planner, dashboard, the App (from the environment
    /// or the credentials file, when either gives one) and the setup pages.
    pub async fn build(settings: &ServeSettings, overrides: Overrides) -> anyhow::Result<App> {
        settings.durable_database()?;
        let store = Store::connect(&settings.database_url)
            .await
            .with_context(|| {
                format!(
                    "opening the database {}",
                    crate::config::redact_url(&settings.database_url)
                )
            })?;
        let catalog = settings.planner.load_catalog()?;
        let planner = overrides
            .planner
            .unwrap_or_else(|| settings.planner.planner_settings(false));
        let clock: Arc<dyn Clock> = overrides.clock.unwrap_or_else(|| Arc::new(SystemClock));
        // One set of metrics: the planners and the GitHub client report to it, /metrics shows it.
        let metrics = Arc::new(Metrics::new());
        let start = start_credentials(settings)?;
        let sign_in_clock = overrides
            .sign_in_clock
            .unwrap_or_else(|| Arc::clone(&clock));
        let (sign_in_plan, sign_in) = start_sign_in(settings, &start, sign_in_clock)?;
        if let Some(problem) = sign_in_plan.problem() {
            warn!("{problem}");
        }
        let dashboard = dashboard(settings, &store, &catalog, &planner, &metrics, sign_in);
        log_dashboard(&dashboard, &sign_in_plan);
        // The dashboard's planner has the workers' settings: it names the planner for both.
        info!(planner = %dashboard.planner.describe(), "planner ready");

        let terraform = match overrides.terraform {
            TerraformChoice::FromSettings => Some(terraform::terraform_config(settings)?),
            TerraformChoice::Config(config) => Some(*config),
            TerraformChoice::Off => None,
        };
        let parts = Arc::new(AppParts {
            api_url: settings.github.github_api_url.clone(),
            planner,
            catalog,
            store: store.clone(),
            terraform,
            metrics: metrics.clone(),
            github_retry: overrides.github_retry,
            links: crate::dashboard_links::DashboardLinks::new(settings.public_url_parsed()?),
            clock: Arc::clone(&clock),
            aap: settings.aap.controller()?,
        });
        let slot = app_slot(&start, &parts)?;
        let dashboard = dashboard.with_app(slot.clone());
        let setup = setup(settings, slot.clone(), &clock, parts, &dashboard)?;
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
        Ok(App {
            service,
            dashboard,
            setup,
            worker_settings: worker_settings(settings),
            front_door,
            http: settings.http.limits(),
        })
    }

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
        crate::http::listener::serve(listener, router, &self.http, shutdown.clone()).await;
        shutdown.cancel();
        let _ = workers.await;
        store.close().await;
        Ok(())
    }
}

/// The dashboard; its "try a prompt" plans with its own planner (same settings) and catalog.
fn dashboard(
    settings: &ServeSettings,
    store: &Store,
    catalog: &promptops_core::Catalog,
    planner: &PlannerSettings,
    metrics: &Arc<Metrics>,
    sign_in: Option<GithubSignIn>,
) -> Dashboard {
    Dashboard::new(
        store.clone(),
        Arc::new(Planner::from_settings(planner.clone()).with_observer(metrics.clone())),
        Arc::new(catalog.clone()),
        settings.dashboard_token.as_ref(),
        settings.bind,
    )
    .with_sign_in(sign_in)
    .with_github_web_url(&settings.github.github_web_url)
}

fn log_dashboard(dashboard: &Dashboard, sign_in_plan: &SignInPlan) {
    match dashboard.access.as_ref() {
        Access::Refused { reason } => warn!("{}", reason.trim_end()),
        access => match sign_in_plan {
            SignInPlan::Ready { source, .. } => info!(
                access = %access.describe(),
                sign_in_client = %source,
                "dashboard ready"
            ),
            _ => info!(access = %access.describe(), "dashboard ready"),
        },
    }
}

/// The App the service starts with: from the environment or the credentials file, or
/// none (webhooks are refused until the setup page connects one).
fn app_slot(start: &StartCredentials, parts: &AppParts) -> anyhow::Result<AppSlot> {
    let (source, slug, file_client_secret) = match start {
        StartCredentials::Missing { missing, file } => {
            warn!(
                missing = %missing.join(", "),
                credentials_file = %file.display(),
                "the GitHub App is not configured: webhooks are refused until it is. Connect one on \
                 the setup page (its address follows), or set the missing settings; `promptops check` \
                 lists them"
            );
            return Ok(AppSlot::empty());
        }
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
        StartCredentials::Environment { .. } => (CredentialSource::Environment, None, None),
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
    Ok(AppSlot::configured(app))
}

/// The setup pages, which connect an App into `slot` while the service runs.
fn setup(
    settings: &ServeSettings,
    slot: AppSlot,
    clock: &Arc<dyn Clock>,
    parts: Arc<AppParts>,
    dashboard: &Dashboard,
) -> anyhow::Result<Setup> {
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
    Ok(Setup {
        slot,
        states: SetupStates::new(Arc::clone(clock)),
        factory,
        credentials_path: settings.app_credentials_path(),
        public_url: settings.public_url_parsed()?,
        bind: settings.bind,
        github_web_url: settings.github.github_web_url.clone(),
        github_api_url: settings.github.github_api_url.clone(),
        http: reqwest::Client::new(),
        access: Arc::clone(&dashboard.access),
    })
}

/// GitHub ends a request at 10 s: a job resumed sooner may repeat one it had sent.
const GITHUB_REQUEST_LIMIT_SECS: u64 = 10;

fn worker_settings(settings: &ServeSettings) -> WorkerSettings {
    if settings.resume_pause_secs <= GITHUB_REQUEST_LIMIT_SECS {
        warn!(
            resume_pause_secs = settings.resume_pause_secs,
            "PROMPTOPS_RESUME_PAUSE_SECS is not above GitHub's {GITHUB_REQUEST_LIMIT_SECS} s request limit: a job stopped mid-way may run again before a GitHub request it had sent lands, and repeat it (a comment or pull request made twice)"
        );
    }
    WorkerSettings {
        workers: settings.workers,
        shutdown_grace: std::time::Duration::from_secs(settings.shutdown_grace_secs),
        heartbeat: HeartbeatSettings {
            resume_pause: std::time::Duration::from_secs(settings.resume_pause_secs),
            ..HeartbeatSettings::default()
        },
        housekeeping: HousekeepingSettings {
            app_commit_retention: housekeeping::days(settings.app_commit_retention_days),
            ..HousekeepingSettings::default()
        },
        ..WorkerSettings::default()
    }
}

/// Who may read `/metrics`: anyone who reaches it, or (`PROMPTOPS_METRICS_REQUIRE_TOKEN`)
/// only holders of the dashboard token.
fn metrics_access(
    settings: &ServeSettings,
    dashboard: &Dashboard,
) -> anyhow::Result<Option<Arc<Access>>> {
    if !settings.metrics_require_token {
        return Ok(None);
    }
    if !matches!(
        dashboard.access.as_ref(),
        Access::Guarded { token: Some(_), .. }
    ) {
        anyhow::bail!(
            "PROMPTOPS_METRICS_REQUIRE_TOKEN is set but PROMPTOPS_DASHBOARD_TOKEN is not: set the \
             token (scrapers then send `Authorization: Bearer <token>`), or unset \
             PROMPTOPS_METRICS_REQUIRE_TOKEN"
        );
    }
    Ok(Some(Arc::clone(&dashboard.access)))
}
