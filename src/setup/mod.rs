//! Connecting GitHub: the `/setup` page registers the App through GitHub's manifest flow,
//! `/setup/callback` exchanges GitHub's code for the App's credentials, writes them to the
//! credentials file (mode 0600) and makes the App live in this process — webhooks are
//! accepted and the workers start, without a restart.
//!
//! `GET /setup` is guarded like the dashboard (its token, or a loopback bind without one):
//! whoever completes a setup decides which App this service runs as. The callback needs
//! no token — GitHub's redirect cannot carry one — but a single-use, expiring `state`
//! that only the guarded page hands out.

pub mod app_slot;
mod callback;
mod conversion;
pub mod credentials;
pub mod manifest;
mod pages;
pub mod sign_in_plan;
pub mod startup;
pub mod state;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use app_slot::{AlreadyConfigured, AppSlot, ConfiguredApp, CredentialSource};
pub use credentials::{AppCredentials, CredentialsError};
pub use state::SetupStates;

use crate::web::{Access, PagePolicy, headers};

/// Turns credentials into the running App (a GitHub client for them around the service's
/// planner, catalog, store and Terraform runner).
pub type AppFactory =
    Arc<dyn Fn(&AppCredentials, CredentialSource) -> anyhow::Result<ConfiguredApp> + Send + Sync>;

/// What the setup pages need.
#[derive(Clone)]
pub struct Setup {
    pub slot: AppSlot,
    pub states: SetupStates,
    pub factory: AppFactory,
    /// Where the credentials are written (`PROMPTOPS_APP_CREDENTIALS` or its default).
    pub credentials_path: PathBuf,
    /// `PROMPTOPS_PUBLIC_URL`.
    pub public_url: Option<url::Url>,
    /// The address the server listens on: without a public URL, the browser's `Host` is
    /// trusted only on a loopback bind.
    pub bind: SocketAddr,
    /// `GITHUB_WEB_URL`: where the manifest form is posted.
    pub github_web_url: String,
    /// `GITHUB_API_URL`: where the code is exchanged.
    pub github_api_url: String,
    pub http: reqwest::Client,
    /// The dashboard's access rule, reused for `GET /setup`.
    pub access: Arc<Access>,
}

impl Setup {
    /// The `/setup` routes, to merge into the service's router.
    pub fn router(self) -> Router {
        let guarded = Router::new()
            .route("/setup", get(pages::setup_page))
            .route_layer(from_fn_with_state(Arc::clone(&self.access), guard));
        // The page posts the App manifest to GitHub, from its one script.
        let github = url::Url::parse(&self.github_web_url)
            .map(|url| url.origin().ascii_serialization())
            .unwrap_or_default();
        let policy = PagePolicy::new(&[pages::SUBMIT_SCRIPT], &[github.as_str()]);
        let hosts = Arc::new(CallbackHosts {
            access: Arc::clone(&self.access),
            public: self.public_url.as_ref().and_then(public_authority),
        });
        let callback = Router::new()
            .route("/setup/callback", get(callback::callback))
            .route_layer(from_fn_with_state(hosts, callback_host));
        let pages = guarded.route_layer(from_fn_with_state(
            Arc::clone(&self.access),
            crate::web::access::require_loopback_host,
        ));
        callback
            .merge(pages)
            .route_layer(from_fn_with_state(Arc::new(policy), headers::apply))
            .with_state(self)
    }
}

/// Which `Host` the callback answers besides the pages' own (see `callback_host`).
struct CallbackHosts {
    access: Arc<Access>,
    /// `PROMPTOPS_PUBLIC_URL`'s `host[:port]`, lower-case.
    public: Option<String>,
}

/// `host[:port]` as a browser sends it in `Host` for `url` (no port when it is the
/// scheme's default).
fn public_authority(url: &url::Url) -> Option<String> {
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// The callback answers the public URL's host as well as the pages' loopback names:
/// GitHub sends the browser to `<PROMPTOPS_PUBLIC_URL>/setup/callback` (the manifest's
/// redirect), through the operator's reverse proxy, while the setup page itself is opened
/// on loopback. The loopback-only rule keeps a rebinding page, which names its own host,
/// from reading pages; the public host is the operator's, and the callback's single-use
/// `state`, handed out only by the guarded page, is what admits a setup.
async fn callback_host(
    State(hosts): State<Arc<CallbackHosts>>,
    request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|value| value.to_str().ok())
        .map(str::to_ascii_lowercase);
    if hosts.public.is_some() && host == hosts.public {
        return next.run(request).await;
    }
    crate::web::access::require_loopback_host(State(Arc::clone(&hosts.access)), request, next).await
}

/// The dashboard's access rule, with a message about the setup page when it is off.
async fn guard(State(access): State<Arc<Access>>, request: Request, next: Next) -> Response {
    if let Access::Refused { .. } = access.as_ref() {
        return (
            StatusCode::FORBIDDEN,
            "the setup page is off: the service listens on a non-loopback address and \
             PROMPTOPS_DASHBOARD_TOKEN is not set. Set the token and open /setup?token=<token>, \
             or run the setup with the service bound to 127.0.0.1\n",
        )
            .into_response();
    }
    crate::web::access::require(State(access), request, next).await
}
