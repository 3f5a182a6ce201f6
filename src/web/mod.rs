//! The web dashboard, served by the same axum server under `/dashboard`: deployments,
//! Terraform runs with their masked output, locks (with unlock) and a page that plans a
//! prompt without side effects. Server-rendered HTML; see `access` for who may see it
//! and `oauth` for signing in with GitHub.

pub mod access;
pub mod csrf;
mod deployments;
mod first_run;
pub mod headers;
pub mod html;
pub mod local_link;
mod locks;
mod logout;
pub mod oauth;
mod pages;
pub mod repo_access;
mod schedules;
pub mod session;
mod try_limit;
mod try_prompt;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use promptops_core::Catalog;
use promptops_core::{IssueNumber, PrNumber, RepoName};
use promptops_planner::Planner;
use promptops_store::Store;
use secrecy::SecretString;

use crate::setup::AppSlot;

pub use access::{Access, Viewer};
use csrf::CsrfGuard;
pub use headers::PagePolicy;
pub use oauth::{GithubSignIn, SignInConfigError, SignInSettings};
use repo_access::RightsCache;
pub use try_limit::TryLimit;
pub use try_prompt::MAX_PROMPT_CHARS;

/// What the dashboard reads and how it is guarded.
#[derive(Clone)]
pub struct Dashboard {
    pub store: Store,
    pub planner: Arc<Planner>,
    pub catalog: Arc<Catalog>,
    pub access: Arc<Access>,
    /// The running App, when the dashboard is told of it: `/` then leads to `/setup` and
    /// every page carries a banner while it is empty.
    pub app: Option<AppSlot>,
    /// `GITHUB_WEB_URL`: issue and pull request numbers link there.
    pub github_web_url: String,
    /// What GitHub said lately about who may see which repository (see `repo_access`).
    pub rights: Arc<RightsCache>,
    /// Plans per person and minute on the try page (see `try_limit`).
    pub try_limit: Arc<try_limit::TryLimit>,
}

impl Dashboard {
    /// `token` is `PROMPTOPS_DASHBOARD_TOKEN`; `bind` the address the server listens on
    /// (without a token the dashboard is served only on a loopback address).
    pub fn new(
        store: Store,
        planner: Arc<Planner>,
        catalog: Arc<Catalog>,
        token: Option<&SecretString>,
        bind: SocketAddr,
    ) -> Dashboard {
        Dashboard {
            store,
            planner,
            catalog,
            access: Arc::new(Access::new(token, bind)),
            app: None,
            github_web_url: "https://github.com".to_owned(),
            rights: Arc::default(),
            try_limit: Arc::default(),
        }
    }

    /// Lets the pages know whether a GitHub App is connected (see `app`).
    pub fn with_app(mut self, slot: AppSlot) -> Dashboard {
        self.app = Some(slot);
        self
    }

    /// Links issues and pull requests to this GitHub (GHES: its host).
    pub fn with_github_web_url(mut self, url: &str) -> Dashboard {
        self.github_web_url = url.trim_end_matches('/').to_owned();
        self
    }

    /// `https://github.com/<repo>/issues/<n>` (GitHub redirects issue numbers of pull
    /// requests to the pull request).
    pub fn issue_url(&self, repo: &RepoName, number: IssueNumber) -> String {
        format!("{}/{repo}/issues/{number}", self.github_web_url)
    }

    /// `https://github.com/<repo>/pull/<n>`.
    pub fn pr_url(&self, repo: &RepoName, number: PrNumber) -> String {
        format!("{}/{repo}/pull/{number}", self.github_web_url)
    }

    /// Adds sign-in with GitHub (when configured): members of the App's installations
    /// sign in, on any bind address, besides any token holder.
    pub fn with_sign_in(mut self, sign_in: Option<GithubSignIn>) -> Dashboard {
        if let Some(sign_in) = sign_in {
            let access = self.access.as_ref().clone().with_sign_in(Arc::new(sign_in));
            self.access = Arc::new(access);
        }
        self
    }

    /// The `/dashboard` routes, to merge into the service's router.
    pub fn router(self) -> Router {
        let access = Arc::clone(&self.access);
        let forms = Arc::new(CsrfGuard::new(Arc::clone(&access)));
        // Signing in and out is reachable without a session, by definition; signing out
        // is a POST that checks its own origin and form token.
        let sign_in = Router::new()
            .route("/dashboard/login", get(oauth::login))
            .route(oauth::CALLBACK_PATH, get(oauth::callback))
            .route("/dashboard/logout", post(logout::logout));
        // Layers run outside in: the Host check, the access check, then the form check.
        let pages = Router::new()
            .route("/dashboard", get(deployments::overview))
            .route(
                "/dashboard/deployments/{owner}/{repo}/{deployment}",
                get(deployments::deployment),
            )
            .route("/dashboard/runs", get(pages::runs))
            .route("/dashboard/runs/{id}", get(pages::run))
            .route("/dashboard/locks", get(locks::locks))
            .route(
                "/dashboard/locks/unlock",
                get(locks::confirm).post(locks::unlock),
            )
            .route("/dashboard/schedules", get(schedules::schedules))
            .route(
                "/dashboard/try",
                get(try_prompt::get).post(try_prompt::post),
            )
            .route_layer(from_fn_with_state(forms, csrf::protect))
            .route_layer(from_fn_with_state(Arc::clone(&access), access::require))
            .merge(sign_in)
            .route_layer(from_fn_with_state(
                Arc::clone(&access),
                access::require_loopback_host,
            ))
            .route_layer(from_fn_with_state(
                Arc::new(PagePolicy::dashboard()),
                headers::apply,
            ));
        // Public: the stylesheet holds nothing but style, and `/` says only where to go.
        let public = Router::new().route(html::STYLESHEET_PATH, get(html::stylesheet));
        let (pages, public) = match self.app.clone() {
            Some(slot) => (
                pages.route_layer(from_fn_with_state(slot.clone(), first_run::banner)),
                public.route("/", get(first_run::root).with_state(slot)),
            ),
            None => (pages, public),
        };
        pages.with_state(self).merge(public)
    }
}
