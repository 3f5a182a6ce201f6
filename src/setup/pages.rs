//! The setup page: the form that registers the App on GitHub (its callback is in
//! `callback`), and the answers both pages share.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Setup;
use super::manifest::manifest_for;
use crate::web::access::is_loopback_host;
use crate::web::html::{escape, page};

/// Setup pages carry a `state` or GitHub's code: never cached, never sent on as a referrer.
pub(super) fn respond(status: StatusCode, title: &str, body: &str) -> Response {
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

/// Why a setup page connected or offered nothing, as its page says it.
pub(super) struct Refusal {
    pub status: StatusCode,
    pub problem: String,
    pub todo: &'static str,
}

impl Refusal {
    pub(super) fn new(status: StatusCode, problem: impl Into<String>, todo: &'static str) -> Self {
        Self {
            status,
            problem: problem.into(),
            todo,
        }
    }

    pub(super) fn page(&self, setup: &Setup) -> Response {
        problem(setup, self.status, &self.problem, self.todo)
    }
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
    match form_inputs(&setup, &query, &headers) {
        Ok((public, organization)) => form_page(&setup, &public, organization.as_deref()),
        Err(refusal) => refusal.page(&setup),
    }
}

/// The address to register and the organization to register under, when a new App may be
/// registered at all.
fn form_inputs(
    setup: &Setup,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<(url::Url, Option<String>), Refusal> {
    if setup.credentials_path.exists() {
        return Err(Refusal::new(
            StatusCode::CONFLICT,
            format!(
                "A credentials file exists at {} but the service is not running with it.",
                setup.credentials_path.display()
            ),
            "Restart the service to load it (its log says why it could not), or move it away to connect a new App.",
        ));
    }
    let public = public_base(setup, headers).map_err(|message| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            message,
            "See \"Connecting GitHub\" in the README.",
        )
    })?;
    let organization = query
        .get("organization")
        .map(|o| o.trim().to_owned())
        .filter(|o| !o.is_empty());
    if let Some(org) = organization.as_deref().filter(|o| !valid_account(o)) {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            format!("{org:?} is not a GitHub organization name."),
            "Use letters, digits and single hyphens (39 characters at most), or leave the field empty for your own account.",
        ));
    }
    Ok((public, organization))
}

/// The form that posts the App's manifest to GitHub, under `organization` or the user.
fn form_page(setup: &Setup, public: &url::Url, organization: Option<&str>) -> Response {
    let manifest = manifest_for(public);
    let state = setup.states.issue(organization.map(str::to_owned));
    let web = setup.github_web_url.trim_end_matches('/');
    let owner_path = organization
        .map(|org| format!("/organizations/{org}"))
        .unwrap_or_default();
    let action = format!("{web}{owner_path}/settings/apps/new?state={state}");
    let hook = manifest["hook_attributes"]["url"].as_str().unwrap_or("");
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
        org = escape(organization.unwrap_or("")),
        manifest = escape(&manifest.to_string()),
        host = escape(web),
        hook = escape(hook),
        callback = escape(manifest["redirect_url"].as_str().unwrap_or("")),
        local_warning = local_only_warning(public),
        path = escape(&setup.credentials_path.display().to_string()),
    );
    respond(StatusCode::OK, "Connect GitHub", &body)
}

/// A warning when GitHub cannot reach `public` (a loopback address).
fn local_only_warning(public: &url::Url) -> &'static str {
    let loopback = public.host().is_some_and(|h| {
        matches!(h, url::Host::Domain(d) if d.eq_ignore_ascii_case("localhost"))
            || matches!(h, url::Host::Ipv4(ip) if ip.is_loopback())
            || matches!(h, url::Host::Ipv6(ip) if ip.is_loopback())
    });
    if loopback {
        "<p class=\"error\" id=\"local-warning\">This address is only reachable from this \
         machine: GitHub will not be able to deliver webhooks to it. To receive them, set \
         PROMPTOPS_PUBLIC_URL to a public address (or a webhook relay) that forwards to this \
         service.</p>\n"
    } else {
        ""
    }
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
