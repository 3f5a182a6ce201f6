//! `GET /setup/callback`: turns GitHub's code into the running App, step by step — the
//! form's `state` redeemed, the code exchanged for the App's credentials, the credentials
//! saved, the App started — or names the step that failed and what to do.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use tracing::{info, warn};

use super::conversion::{self, ConversionError};
use super::credentials::CredentialsError;
use super::pages::{Refusal, respond};
use super::state::PendingSetup;
use super::{AppCredentials, ConfiguredApp, CredentialSource, Setup};
use crate::web::Access;
use crate::web::html::escape;

const START_AGAIN: &str = "Start again at /setup.";

/// `GET /setup/callback?code=...&state=...`
pub async fn callback(
    State(setup): State<Setup>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match connect(&setup, &query).await {
        Ok(connected) => connected,
        Err(refusal) => refusal.page(&setup),
    }
}

/// The callback's steps, in order; each refuses with what to do.
async fn connect(setup: &Setup, query: &HashMap<String, String>) -> Result<Response, Refusal> {
    let state = query.get("state").map(String::as_str);
    let pending = setup.states.redeem(state).map_err(|err| {
        warn!(error = %err, "setup callback refused");
        Refusal::new(StatusCode::BAD_REQUEST, err.to_string(), START_AGAIN)
    })?;
    check_not_connected(setup)?;
    let code = usable_code(query)?;
    check_no_credentials_file(setup)?;
    let credentials = match conversion::convert(&setup.http, &setup.github_api_url, code).await {
        Ok(credentials) => credentials,
        Err(err) => {
            warn!(error = %err, "exchanging the manifest code failed");
            // The code stays valid for a retry: so does the form's state.
            if err.retryable()
                && let Some(state) = state
            {
                setup.states.restore(state, pending);
            }
            return Err(exchange_refusal(&err));
        }
    };
    save_credentials(setup, &credentials)?;
    let app = start_app(setup, &credentials)?;
    log_connected(setup, &credentials, &pending);
    Ok(connected_page(setup, &credentials, &app))
}

/// Another tab's callback (or a restart with credentials) connected an App meanwhile.
fn check_not_connected(setup: &Setup) -> Result<(), Refusal> {
    match setup.slot.load() {
        Some(app) => Err(Refusal::new(
            StatusCode::CONFLICT,
            format!(
                "This service was connected meanwhile, to {}.",
                app.describe()
            ),
            "Delete the App GitHub just created if you do not need it (GitHub → Settings → Developer settings → GitHub Apps).",
        )),
        None => Ok(()),
    }
}

fn usable_code(query: &HashMap<String, String>) -> Result<&str, Refusal> {
    query
        .get("code")
        .map(String::as_str)
        .filter(|c| conversion::plausible_code(c))
        .ok_or_else(|| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                "GitHub's redirect carries no usable `code`.",
                START_AGAIN,
            )
        })
}

/// A credentials file is never replaced: checked before the code is spent.
fn check_no_credentials_file(setup: &Setup) -> Result<(), Refusal> {
    if !setup.credentials_path.exists() {
        return Ok(());
    }
    Err(Refusal::new(
        StatusCode::CONFLICT,
        format!(
            "A credentials file already exists at {}; PromptOps never replaces one. GitHub's code was not exchanged.",
            setup.credentials_path.display()
        ),
        "Restart the service to use the App in that file, or move the file away and start again at /setup. \
         Delete the App GitHub just created if you do not need it.",
    ))
}

fn exchange_refusal(err: &ConversionError) -> Refusal {
    let (status, todo) = match err {
        ConversionError::CodeRefused { .. } => (StatusCode::BAD_REQUEST, START_AGAIN),
        _ if err.retryable() => (
            StatusCode::BAD_GATEWAY,
            "Reload this page to try again (the code stays valid for an hour). Check GITHUB_API_URL and this service's network access to it.",
        ),
        _ => (StatusCode::BAD_GATEWAY, START_AGAIN),
    };
    Refusal::new(status, err.to_string(), todo)
}

fn save_credentials(setup: &Setup, credentials: &AppCredentials) -> Result<(), Refusal> {
    let Err(err) = credentials.create_new(&setup.credentials_path) else {
        return Ok(());
    };
    warn!(error = %err, "saving the App credentials failed");
    let status = match err {
        CredentialsError::AlreadyExists(_) => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    Err(Refusal::new(
        status,
        format!(
            "GitHub created the App `{}` (id {}), but its credentials could not be saved: {err}",
            credentials.slug, credentials.id
        ),
        "Fix the file's location (PROMPTOPS_APP_CREDENTIALS) and start again at /setup; delete the App just created \
         on GitHub, whose private key was shown only once.",
    ))
}

/// Builds the App from the saved credentials and makes it the one webhooks go to.
fn start_app(
    setup: &Setup,
    credentials: &AppCredentials,
) -> Result<std::sync::Arc<ConfiguredApp>, Refusal> {
    let app = (setup.factory)(credentials, CredentialSource::Setup).map_err(|err| {
        warn!(error = %format!("{err:#}"), "starting with the new App failed");
        Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "The App's credentials were saved to {}, but the service could not start with them: {err:#}",
                setup.credentials_path.display()
            ),
            "Fix the problem and restart the service; it will load the saved credentials.",
        )
    })?;
    setup
        .slot
        .install(app)
        .map_err(|err| Refusal::new(StatusCode::CONFLICT, err.to_string(), ""))
}

fn log_connected(setup: &Setup, credentials: &AppCredentials, pending: &PendingSetup) {
    info!(
        app_id = credentials.id,
        slug = %credentials.slug,
        organization = pending.organization.as_deref().unwrap_or("-"),
        credentials = %setup.credentials_path.display(),
        "GitHub App connected through the setup page; webhooks are accepted from now on"
    );
}

fn connected_page(setup: &Setup, credentials: &AppCredentials, app: &ConfiguredApp) -> Response {
    let install = credentials
        .html_url
        .as_deref()
        .map(|url| {
            let url = format!("{}/installations/new", url.trim_end_matches('/'));
            format!(
                "<p>Next, install it on the repositories whose Terraform it should run: \
                 <a id=\"install\" href=\"{0}\">{0}</a></p>\n",
                escape(&url)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<p id=\"connected\">Connected: {}. Webhooks are accepted from now on; no restart is needed.</p>\n\
         {install}<p>The credentials are in <code>{}</code> (mode 0600); keep a copy in your secret store.</p>\n\
         <p id=\"sign-in-next\">{}</p>\n",
        escape(&app.describe()),
        escape(&setup.credentials_path.display().to_string()),
        escape(&sign_in_after_setup(
            setup.public_url.as_ref(),
            &setup.access
        )),
    );
    respond(StatusCode::OK, "GitHub is connected", &body)
}

/// What becomes of dashboard sign-in with GitHub once an App is connected here.
///
/// The new App's OAuth client is saved with its credentials, but sign-in is not switched
/// on in the running process: it would change who may see the dashboard mid-run (a
/// loopback-open dashboard would start asking the person who just connected the App,
/// not yet a member of any installation, to sign in). It takes effect at the next start,
/// and this says so beforehand.
fn sign_in_after_setup(public_url: Option<&url::Url>, access: &Access) -> String {
    if access.sign_in().is_some() {
        return "Dashboard sign-in with GitHub keeps the OAuth client set in GITHUB_CLIENT_ID and \
                GITHUB_CLIENT_SECRET: the environment wins over the credentials file."
            .to_owned();
    }
    let Some(public_url) = public_url else {
        return "Dashboard sign-in with GitHub stays off: the App's OAuth client is saved with its \
                credentials, but sign-in also needs PROMPTOPS_PUBLIC_URL (the address browsers reach \
                this service at). Set it and restart the service to turn sign-in on."
            .to_owned();
    };
    let callback = format!(
        "{}{}",
        public_url.as_str().trim_end_matches('/'),
        crate::web::oauth::CALLBACK_PATH
    );
    let who = match access {
        Access::Open { .. } => {
            "from then on the dashboard asks everyone to sign in, on this machine too (the link \
             logged at start opens it now): install the App first, since only members of its installations \
             get in"
        }
        _ => {
            "from then on members of the App's installations can sign in, besides the dashboard token"
        }
    };
    format!(
        "Dashboard sign-in with GitHub takes effect at the next start of the service, not now: \
         {who}. GitHub sends them back to {callback}. Until the restart, who may see the dashboard \
         is unchanged."
    )
}
