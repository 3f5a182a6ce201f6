//! The setup pages: the form that registers the App on GitHub, and the callback that
//! turns GitHub's code into the running App.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tracing::{info, warn};

use super::conversion::{self, ConversionError};
use super::credentials::CredentialsError;
use super::manifest::manifest_for;
use super::{CredentialSource, Setup};
use crate::web::Access;
use crate::web::access::is_loopback_host;
use crate::web::html::{escape, page};

/// Setup pages carry a `state` or GitHub's code: never cached, never sent on as a referrer.
fn respond(status: StatusCode, title: &str, body: &str) -> Response {
    (
        status,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        page(title, body),
    )
        .into_response()
}

/// A page naming what went wrong and what to do.
fn problem(setup: &Setup, status: StatusCode, problem: &str, todo: &str) -> Response {
    let mut body = format!(
        "<p class=\"error\" id=\"problem\">{}</p>\n<p id=\"todo\">{}</p>\n",
        escape(problem),
        escape(todo)
    );
    if let Some(app) = setup.slot.load() {
        body.push_str(&format!(
            "<p>This service is connected to GitHub as {}; nothing was changed.</p>\n",
            escape(&app.describe())
        ));
    }
    respond(status, "Connecting GitHub failed", &body)
}

fn already_connected(setup: &Setup, app: &super::ConfiguredApp) -> Response {
    let body = format!(
        "<p id=\"connected\">Already connected: {} (credentials from the {}).</p>\n\
         <p>To connect another App, stop the service, remove its App credentials \
         (<code>{}</code> or the GITHUB_APP_ID, GITHUB_PRIVATE_KEY and GITHUB_WEBHOOK_SECRET \
         settings) and start it again.</p>\n",
        escape(&app.describe()),
        escape(&app.source.to_string()),
        escape(&setup.credentials_path.display().to_string()),
    );
    respond(StatusCode::OK, "GitHub is connected", &body)
}

/// The address GitHub and the browser reach this service at.
fn public_base(setup: &Setup, headers: &HeaderMap) -> Result<url::Url, String> {
    if let Some(url) = &setup.public_url {
        return Ok(url.clone());
    }
    if !setup.bind.ip().is_loopback() {
        return Err(format!(
            "PROMPTOPS_PUBLIC_URL is not set. The service listens on {}, which is not a loopback \
             address, so the address GitHub should send webhooks to cannot be guessed from this \
             request. Set PROMPTOPS_PUBLIC_URL (or --public-url) to the https address GitHub \
             reaches this service at, then reload this page.",
            setup.bind
        ));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let url = url::Url::parse(&format!("http://{host}/")).map_err(|_| {
        format!("the request's Host header {host:?} is not an address; set PROMPTOPS_PUBLIC_URL")
    })?;
    // Only a loopback name: a page fetched through some other name (DNS rebinding) must
    // not be able to register an App pointing elsewhere.
    if !is_loopback_host(host) {
        return Err(format!(
            "the page was opened as {host:?}, which is not a loopback name, and PROMPTOPS_PUBLIC_URL \
             is not set. Set PROMPTOPS_PUBLIC_URL to the address GitHub reaches this service at."
        ));
    }
    Ok(url)
}

/// GitHub's rule for account names: letters, digits and single inner hyphens, 39 at most.
fn valid_account(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= promptops_core::github::LOGIN_MAX_CHARS
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

/// The page's one script (inline; the Content-Security-Policy allows it by its hash).
pub const SUBMIT_SCRIPT: &str = "\
document.getElementById('create-app').addEventListener('submit',function(){\
var form=this,org=document.getElementById('organization').value.trim();\
var query='?state='+encodeURIComponent(form.dataset.state);\
form.action=form.dataset.web+(org?'/organizations/'+encodeURIComponent(org):'')\
+'/settings/apps/new'+query;});";

/// `GET /setup[?organization=<org>]`
pub async fn setup_page(
    State(setup): State<Setup>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(app) = setup.slot.load() {
        return already_connected(&setup, &app);
    }
    if setup.credentials_path.exists() {
        return problem(
            &setup,
            StatusCode::CONFLICT,
            &format!(
                "A credentials file exists at {} but the service is not running with it.",
                setup.credentials_path.display()
            ),
            "Restart the service to load it (its log says why it could not), or move it away to connect a new App.",
        );
    }
    let public = match public_base(&setup, &headers) {
        Ok(url) => url,
        Err(message) => {
            return problem(
                &setup,
                StatusCode::BAD_REQUEST,
                &message,
                "See \"Connecting GitHub\" in the README.",
            );
        }
    };
    let organization = query
        .get("organization")
        .map(|o| o.trim().to_owned())
        .filter(|o| !o.is_empty());
    if let Some(org) = organization.as_deref().filter(|o| !valid_account(o)) {
        return problem(
            &setup,
            StatusCode::BAD_REQUEST,
            &format!("{org:?} is not a GitHub organization name."),
            "Use letters, digits and single hyphens (39 characters at most), or leave the field empty for your own account.",
        );
    }
    let manifest = manifest_for(&public);
    let state = setup.states.issue(organization.clone());
    let web = setup.github_web_url.trim_end_matches('/');
    let owner_path = organization
        .as_deref()
        .map(|org| format!("/organizations/{org}"))
        .unwrap_or_default();
    let action = format!("{web}{owner_path}/settings/apps/new?state={state}");
    let hook = manifest["hook_attributes"]["url"].as_str().unwrap_or("");
    let local_warning = if public.host().is_some_and(|h| {
        matches!(h, url::Host::Domain(d) if d.eq_ignore_ascii_case("localhost"))
            || matches!(h, url::Host::Ipv4(ip) if ip.is_loopback())
            || matches!(h, url::Host::Ipv6(ip) if ip.is_loopback())
    }) {
        "<p class=\"error\" id=\"local-warning\">This address is only reachable from this \
         machine: GitHub will not be able to deliver webhooks to it. To receive them, set \
         PROMPTOPS_PUBLIC_URL to a public address (or a webhook relay) that forwards to this \
         service.</p>\n"
    } else {
        ""
    };
    let body = format!(
        "<p>PromptOps is not connected to GitHub yet. This registers a new, private GitHub App \
         with exactly the permissions and events PromptOps needs; GitHub then sends you back \
         here and the service starts with it at once.</p>\n\
         <form id=\"create-app\" method=\"post\" action=\"{action}\" data-web=\"{web}\" data-state=\"{state}\">\n\
         <p><label>Organization (optional; empty: your own account) \
         <input id=\"organization\" name=\"organization\" value=\"{org}\" maxlength=\"39\"></label></p>\n\
         <input type=\"hidden\" id=\"manifest\" name=\"manifest\" value=\"{manifest}\">\n\
         <p><button type=\"submit\">Create the GitHub App on {host}</button></p>\n\
         </form>\n<script>{SUBMIT_SCRIPT}</script>\n\
         <p>Webhooks will be sent to <code id=\"webhook-url\">{hook}</code>; GitHub returns to \
         <code id=\"callback-url\">{callback}</code>.</p>\n{local_warning}\
         <p>The App's credentials will be saved to <code id=\"credentials-path\">{path}</code>, \
         readable only by this service's user (mode 0600).</p>\n",
        action = escape(&action),
        web = escape(web),
        state = escape(&state),
        org = escape(organization.as_deref().unwrap_or("")),
        manifest = escape(&manifest.to_string()),
        host = escape(web),
        hook = escape(hook),
        callback = escape(manifest["redirect_url"].as_str().unwrap_or("")),
        path = escape(&setup.credentials_path.display().to_string()),
    );
    respond(StatusCode::OK, "Connect GitHub", &body)
}

const START_AGAIN: &str = "Start again at /setup.";

/// `GET /setup/callback?code=...&state=...`
pub async fn callback(
    State(setup): State<Setup>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let state = query.get("state").map(String::as_str);
    let pending = match setup.states.redeem(state) {
        Ok(pending) => pending,
        Err(err) => {
            warn!(error = %err, "setup callback refused");
            return problem(
                &setup,
                StatusCode::BAD_REQUEST,
                &err.to_string(),
                START_AGAIN,
            );
        }
    };
    if let Some(app) = setup.slot.load() {
        return problem(
            &setup,
            StatusCode::CONFLICT,
            &format!(
                "This service was connected meanwhile, to {}.",
                app.describe()
            ),
            "Delete the App GitHub just created if you do not need it (GitHub → Settings → Developer settings → GitHub Apps).",
        );
    }
    let Some(code) = query
        .get("code")
        .map(String::as_str)
        .filter(|c| conversion::plausible_code(c))
    else {
        return problem(
            &setup,
            StatusCode::BAD_REQUEST,
            "GitHub's redirect carries no usable `code`.",
            START_AGAIN,
        );
    };
    if setup.credentials_path.exists() {
        return problem(
            &setup,
            StatusCode::CONFLICT,
            &format!(
                "A credentials file already exists at {}; PromptOps never replaces one. GitHub's code was not exchanged.",
                setup.credentials_path.display()
            ),
            "Restart the service to use the App in that file, or move the file away and start again at /setup. \
             Delete the App GitHub just created if you do not need it.",
        );
    }
    let credentials = match conversion::convert(&setup.http, &setup.github_api_url, code).await {
        Ok(credentials) => credentials,
        Err(err) => {
            warn!(error = %err, "exchanging the manifest code failed");
            let retryable = err.retryable();
            if retryable && let Some(state) = state {
                setup.states.restore(state, pending);
            }
            let (status, todo) = match &err {
                ConversionError::CodeRefused { .. } => (StatusCode::BAD_REQUEST, START_AGAIN),
                _ if retryable => (
                    StatusCode::BAD_GATEWAY,
                    "Reload this page to try again (the code stays valid for an hour). Check GITHUB_API_URL and this service's network access to it.",
                ),
                _ => (StatusCode::BAD_GATEWAY, START_AGAIN),
            };
            return problem(&setup, status, &err.to_string(), todo);
        }
    };
    if let Err(err) = credentials.create_new(&setup.credentials_path) {
        warn!(error = %err, "saving the App credentials failed");
        let status = match err {
            CredentialsError::AlreadyExists(_) => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        return problem(
            &setup,
            status,
            &format!(
                "GitHub created the App `{}` (id {}), but its credentials could not be saved: {err}",
                credentials.slug, credentials.id
            ),
            "Fix the file's location (PROMPTOPS_APP_CREDENTIALS) and start again at /setup; delete the App just created \
             on GitHub, whose private key was shown only once.",
        );
    }
    let app = match (setup.factory)(&credentials, CredentialSource::Setup) {
        Ok(app) => app,
        Err(err) => {
            warn!(error = %format!("{err:#}"), "starting with the new App failed");
            return problem(
                &setup,
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!(
                    "The App's credentials were saved to {}, but the service could not start with them: {err:#}",
                    setup.credentials_path.display()
                ),
                "Fix the problem and restart the service; it will load the saved credentials.",
            );
        }
    };
    let app = match setup.slot.install(app) {
        Ok(app) => app,
        Err(err) => {
            return problem(&setup, StatusCode::CONFLICT, &err.to_string(), "");
        }
    };
    info!(
        app_id = credentials.id,
        slug = %credentials.slug,
        organization = pending.organization.as_deref().unwrap_or("-"),
        credentials = %setup.credentials_path.display(),
        "GitHub App connected through the setup page; webhooks are accepted from now on"
    );
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
        Access::Open => {
            "from then on the dashboard asks everyone to sign in, on this machine too (it is open \
             to this machine now): install the App first, since only members of its installations \
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

#[cfg(test)]
mod tests {
    use super::valid_account;

    #[test]
    fn organization_names_follow_githubs_rule() {
        for good in ["acme", "acme-infra", "a1", "A-B-C"] {
            assert!(valid_account(good), "{good}");
        }
        for bad in [
            "",
            "-acme",
            "acme-",
            "ac--me",
            "acme/x",
            "a b",
            &"x".repeat(40),
        ] {
            assert!(!valid_account(bad), "{bad}");
        }
    }
}
