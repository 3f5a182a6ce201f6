//! GitHub's web application flow for a GitHub App's user access tokens, as a browser and
//! the App's server see it: `GET /login/oauth/authorize` (the person approves, or denies,
//! and is sent back to `redirect_uri`), `POST /login/oauth/access_token` (single-use
//! codes, checked client credentials), then `GET /user` and `GET /user/installations`
//! with the user token. The fake serves these "web" paths from the same base URL as the
//! REST API.
//!
//! Who approves is chosen by the test (`FakeGithub::set_oauth_user`, `deny_oauth`), and
//! which users belong to an installation by `FakeGithub::add_installation_member`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use axum::extract::{Query as AxQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use http::{HeaderMap, StatusCode, header};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

use super::Query;
use crate::fault::{Shared, github_error, lock};
use crate::render;

/// The OAuth client id of the fake's App (GitHub Apps' ids start with `Iv`).
pub const DEFAULT_OAUTH_CLIENT_ID: &str = "Iv23li0fake0auth0client";
/// The client secret the fake expects with that id.
pub const DEFAULT_OAUTH_CLIENT_SECRET: &str = "fake-oauth-client-secret-7f3c9a1e5b2d4c6e8a0f";

/// How long an authorization code stays valid, as on GitHub.
const CODE_TTL: Duration = Duration::from_secs(600);

/// What the person at the browser does on the authorization page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consent {
    /// Nobody is signed in to the fake: the authorization page answers 403.
    Nobody,
    /// Approves as this login.
    ApproveAs(String),
    /// Clicks "Cancel": GitHub redirects back with `error=access_denied`.
    Deny,
}

#[derive(Debug, Clone)]
struct CodeGrant {
    login: String,
    redirect_uri: String,
    issued: Instant,
}

/// The OAuth part of the fake's world.
#[derive(Debug)]
pub struct OAuthWorld {
    pub client_id: String,
    pub client_secret: String,
    pub consent: Consent,
    /// Codes not yet exchanged (an exchange consumes the code, successful or not).
    codes: HashMap<String, CodeGrant>,
    /// User access token → login.
    tokens: HashMap<String, String>,
    /// Installation id → lower-cased logins of the people who may reach it.
    members: BTreeMap<u64, BTreeSet<String>>,
    /// How many codes were exchanged for a token.
    pub tokens_issued: usize,
}

impl Default for OAuthWorld {
    fn default() -> Self {
        OAuthWorld {
            client_id: DEFAULT_OAUTH_CLIENT_ID.to_string(),
            client_secret: DEFAULT_OAUTH_CLIENT_SECRET.to_string(),
            consent: Consent::Nobody,
            codes: HashMap::new(),
            tokens: HashMap::new(),
            members: BTreeMap::new(),
            tokens_issued: 0,
        }
    }
}

impl OAuthWorld {
    pub fn add_member(&mut self, installation_id: u64, login: &str) {
        self.members
            .entry(installation_id)
            .or_default()
            .insert(login.to_ascii_lowercase());
    }
}

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/login/oauth/authorize", get(authorize))
        .route("/login/oauth/access_token", post(access_token))
        .route("/user", get(user))
        .route("/user/installations", get(user_installations))
}

fn with_query(base: &str, params: &[(&str, &str)]) -> String {
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
        .collect();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{}", query.join("&"))
}

fn redirect(location: &str) -> Response {
    (
        StatusCode::FOUND,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}

/// `GET /login/oauth/authorize?client_id=&redirect_uri=&state=`
async fn authorize(State(state): State<Shared>, AxQuery(query): AxQuery<Query>) -> Response {
    let mut world = lock(&state);
    let client_id = query.get("client_id").map(String::as_str).unwrap_or("");
    if client_id != world.oauth.client_id {
        return (
            StatusCode::NOT_FOUND,
            format!("fake GitHub: no application has the client_id {client_id:?}\n"),
        )
            .into_response();
    }
    let Some(redirect_uri) = query.get("redirect_uri").cloned() else {
        return (
            StatusCode::BAD_REQUEST,
            "fake GitHub: redirect_uri is required (the fake knows no default callback URL)\n",
        )
            .into_response();
    };
    let state_param = query.get("state").cloned().unwrap_or_default();
    match world.oauth.consent.clone() {
        Consent::Nobody => (
            StatusCode::FORBIDDEN,
            "fake GitHub: nobody is signed in to approve this application (FakeGithub::set_oauth_user)\n",
        )
            .into_response(),
        Consent::Deny => redirect(&with_query(
            &redirect_uri,
            &[
                ("error", "access_denied"),
                (
                    "error_description",
                    "The user has denied your application access.",
                ),
                (
                    "error_uri",
                    "https://docs.github.com/apps/troubleshooting-authorization-request-errors/#access-denied",
                ),
                ("state", &state_param),
            ],
        )),
        Consent::ApproveAs(login) => {
            let code = world.fresh_sha("oauth-code")[..20].to_string();
            world.oauth.codes.insert(
                code.clone(),
                CodeGrant {
                    login,
                    redirect_uri: redirect_uri.clone(),
                    issued: Instant::now(),
                },
            );
            redirect(&with_query(
                &redirect_uri,
                &[("code", &code), ("state", &state_param)],
            ))
        }
    }
}

/// GitHub answers a failed exchange with 200 and an `error` field.
fn exchange_error(json: bool, error: &str, description: &str) -> Response {
    if json {
        Json(json!({
            "error": error,
            "error_description": description,
            "error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors",
        }))
        .into_response()
    } else {
        with_query("", &[("error", error), ("error_description", description)])[1..]
            .to_string()
            .into_response()
    }
}

/// `POST /login/oauth/access_token` with `client_id`, `client_secret`, `code`,
/// `redirect_uri` (form-encoded). JSON when the client accepts it, else form-encoded.
async fn access_token(
    State(state): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<Query>,
) -> Response {
    let json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let mut world = lock(&state);
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    if field("client_id") != world.oauth.client_id
        || field("client_secret") != world.oauth.client_secret
    {
        return exchange_error(
            json,
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
        );
    }
    // A code is used once, whatever the outcome.
    let grant = world
        .oauth
        .codes
        .remove(field("code"))
        .filter(|grant| grant.issued.elapsed() < CODE_TTL);
    let Some(grant) = grant else {
        return exchange_error(
            json,
            "bad_verification_code",
            "The code passed is incorrect or expired.",
        );
    };
    let redirect_uri = field("redirect_uri");
    if !redirect_uri.is_empty() && redirect_uri != grant.redirect_uri {
        return exchange_error(
            json,
            "redirect_uri_mismatch",
            "The redirect_uri MUST match the registered callback URL for this application.",
        );
    }
    let token = format!("ghu_{}", &world.fresh_sha("user-token")[..36]);
    let refresh = format!("ghr_{}", &world.fresh_sha("refresh-token")[..36]);
    world.oauth.tokens.insert(token.clone(), grant.login);
    world.oauth.tokens_issued += 1;
    if json {
        Json(json!({
            "access_token": token,
            "expires_in": 28800,
            "refresh_token": refresh,
            "refresh_token_expires_in": 15_897_600,
            "scope": "",
            "token_type": "bearer",
        }))
        .into_response()
    } else {
        with_query(
            "",
            &[
                ("access_token", &token),
                ("expires_in", "28800"),
                ("refresh_token", &refresh),
                ("scope", ""),
                ("token_type", "bearer"),
            ],
        )[1..]
            .to_string()
            .into_response()
    }
}

/// The login behind a user access token, or GitHub's 401.
fn user_login(world: &crate::model::State, headers: &HeaderMap) -> Result<String, Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("token "))
        })
        .map(str::trim);
    let Some(token) = token else {
        return Err(github_error(
            StatusCode::UNAUTHORIZED,
            "Requires authentication",
        ));
    };
    world
        .oauth
        .tokens
        .get(token)
        .cloned()
        .ok_or_else(|| github_error(StatusCode::UNAUTHORIZED, "Bad credentials"))
}

/// `GET /user` with a user access token.
async fn user(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let world = lock(&state);
    match user_login(&world, &headers) {
        Ok(login) => Json(render::user(&world.base_url, &login)).into_response(),
        Err(response) => response,
    }
}

/// `GET /user/installations`: the installations of this App the user may reach — those
/// the test made them a member of, and one on their own account.
async fn user_installations(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let world = lock(&state);
    let login = match user_login(&world, &headers) {
        Ok(login) => login,
        Err(response) => return response,
    };
    let base = world.base_url.clone();
    let lowered = login.to_ascii_lowercase();
    let installations: Vec<Value> = world
        .installations
        .iter()
        .filter(|(id, account)| {
            account.eq_ignore_ascii_case(&login)
                || world
                    .oauth
                    .members
                    .get(id)
                    .is_some_and(|members| members.contains(&lowered))
        })
        .map(|(id, account)| {
            json!({
                "id": id,
                "account": render::user(&base, account),
                "app_id": world.app_id,
                "app_slug": world.app_slug,
                "target_type": "Organization",
                "repository_selection": "all",
                "access_tokens_url": format!("{base}/app/installations/{id}/access_tokens"),
                "repositories_url": format!("{base}/installation/repositories"),
                "html_url": format!("{base}/_html/organizations/{account}/settings/installations/{id}"),
                "permissions": { "contents": "write", "pull_requests": "write", "issues": "write", "checks": "write", "metadata": "read" },
                "events": ["issue_comment", "issues", "pull_request"],
            })
        })
        .collect();
    Json(json!({
        "total_count": installations.len(),
        "installations": installations,
    }))
    .into_response()
}
