//! GitHub's App manifest flow.
//!
//! On GitHub a person posts a form with a `manifest` field to `/settings/apps/new` (or
//! `/organizations/{org}/settings/apps/new`), confirms the App's name on GitHub's page,
//! and GitHub redirects the browser to the manifest's `redirect_url` with a one-time
//! `code` and the `state` it was given. The code is then exchanged, without any
//! authentication, at `POST /app-manifests/{code}/conversions` for the new App's id,
//! private key, webhook secret and OAuth client credentials. A code works once; a
//! second exchange answers 404.
//!
//! The fake skips the confirmation page: the form post registers the manifest and
//! redirects at once. [`crate::FakeGithub::register_manifest`] does the same without
//! HTTP. A conversion makes the new App the one the fake authenticates: its id and the
//! second committed test key (`keys/manifest-app-*.pem`) replace the previous ones, so a
//! client that still signs JWTs with the old id or key is refused; its OAuth client id and
//! secret likewise become the only ones the OAuth web flow accepts.

use std::collections::BTreeMap;

use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::fault::{Shared, github_error, lock};
use crate::model::State as World;
use crate::render;

/// The private key (PKCS#1 PEM) of every App created through the manifest flow. Test-only.
pub const MANIFEST_APP_PRIVATE_KEY_PEM: &str =
    include_str!("../../keys/manifest-app-private-key.pem");
/// Its public half, which the fake verifies JWTs against once such an App exists.
pub const MANIFEST_APP_PUBLIC_KEY_PEM: &str =
    include_str!("../../keys/manifest-app-public-key.pem");

/// The user who "clicks Create" on GitHub's page when no organization is named.
pub const MANIFEST_CREATOR: &str = "octo-admin";

/// A manifest GitHub accepted, waiting for its code to be exchanged.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredManifest {
    pub code: String,
    pub manifest: Value,
    /// The organization it was posted for; `None`: the person's own account.
    pub organization: Option<String>,
    /// The `state` query parameter of the form post, handed back in the redirect.
    pub state: Option<String>,
    /// Whether the code was exchanged (it then answers 404).
    pub converted: bool,
}

/// An App the conversion created, with everything GitHub hands back once.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatedApp {
    pub id: u64,
    pub slug: String,
    pub name: String,
    pub owner: String,
    pub client_id: String,
    pub client_secret: String,
    pub webhook_secret: String,
    pub pem: String,
    pub html_url: String,
    pub manifest: Value,
}

/// The manifest flow's part of the fake's world.
#[derive(Debug, Default)]
pub struct Manifests {
    /// code → manifest.
    pub registered: BTreeMap<String, RegisteredManifest>,
    pub created: Vec<CreatedApp>,
}

/// Routes of the manifest flow, merged into the fake's router.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/settings/apps/new", post(new_app))
        .route("/organizations/{org}/settings/apps/new", post(new_org_app))
        .route("/app-manifests/{code}/conversions", post(convert))
}

/// The fields GitHub requires of a manifest before it shows its confirmation page.
pub fn validate_manifest(manifest: &Value) -> Result<(), String> {
    let text = |pointer: &str| manifest.pointer(pointer).and_then(Value::as_str);
    for (pointer, name) in [("/name", "name"), ("/url", "url")] {
        if text(pointer).is_none_or(str::is_empty) {
            return Err(format!("manifest: `{name}` is required"));
        }
    }
    for (pointer, name) in [
        ("/url", "url"),
        ("/hook_attributes/url", "hook_attributes.url"),
        ("/redirect_url", "redirect_url"),
    ] {
        if let Some(value) = text(pointer)
            && !(value.starts_with("http://") || value.starts_with("https://"))
        {
            return Err(format!(
                "manifest: `{name}` {value:?} is not an http(s) URL"
            ));
        }
    }
    if let Some(permissions) = manifest.get("default_permissions") {
        let Some(map) = permissions.as_object() else {
            return Err("manifest: `default_permissions` must be an object".to_string());
        };
        for (name, level) in map {
            if !matches!(level.as_str(), Some("read" | "write" | "admin")) {
                return Err(format!(
                    "manifest: permission `{name}` has level {level}; allowed: read, write, admin"
                ));
            }
        }
    }
    if let Some(events) = manifest.get("default_events")
        && !events
            .as_array()
            .is_some_and(|list| list.iter().all(Value::is_string))
    {
        return Err("manifest: `default_events` must be a list of event names".to_string());
    }
    Ok(())
}

/// Records `manifest` as GitHub would after its "Create GitHub App" button; returns the code.
pub fn register(
    world: &mut World,
    manifest: Value,
    organization: Option<String>,
    state: Option<String>,
) -> String {
    let code = format!("code-{}", &world.fresh_sha("manifest-code")[..20]);
    world.manifests.registered.insert(
        code.clone(),
        RegisteredManifest {
            code: code.clone(),
            manifest,
            organization,
            state,
            converted: false,
        },
    );
    code
}

#[derive(Deserialize)]
pub struct ManifestForm {
    manifest: Option<String>,
}

async fn new_app(
    State(state): State<Shared>,
    Query(query): Query<BTreeMap<String, String>>,
    Form(form): Form<ManifestForm>,
) -> Response {
    register_from_form(&state, None, query, form)
}

async fn new_org_app(
    State(state): State<Shared>,
    Path(org): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    Form(form): Form<ManifestForm>,
) -> Response {
    register_from_form(&state, Some(org), query, form)
}

fn register_from_form(
    state: &Shared,
    organization: Option<String>,
    query: BTreeMap<String, String>,
    form: ManifestForm,
) -> Response {
    let Some(text) = form.manifest else {
        return github_error(StatusCode::UNPROCESSABLE_ENTITY, "manifest is missing");
    };
    let manifest: Value = match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(err) => {
            return github_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("manifest is not JSON: {err}"),
            );
        }
    };
    if let Err(message) = validate_manifest(&manifest) {
        return github_error(StatusCode::UNPROCESSABLE_ENTITY, &message);
    }
    let Some(redirect) = manifest
        .get("redirect_url")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        // GitHub then shows the code on its own page; a client in a test cannot go on.
        return github_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the fake needs a redirect_url to hand the code back",
        );
    };
    let given_state = query.get("state").cloned();
    let code = register(
        &mut lock(state),
        manifest,
        organization,
        given_state.clone(),
    );
    let mut location = format!(
        "{redirect}{}code={code}",
        if redirect.contains('?') { '&' } else { '?' }
    );
    if let Some(given) = given_state {
        location.push_str("&state=");
        location.extend(percent_encoding::utf8_percent_encode(
            &given,
            percent_encoding::NON_ALPHANUMERIC,
        ));
    }
    (StatusCode::FOUND, [(http::header::LOCATION, location)]).into_response()
}

fn slug(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_matches('-').to_string()
}

/// `POST /app-manifests/{code}/conversions`: no authentication, single use.
async fn convert(State(state): State<Shared>, Path(code): Path<String>) -> Response {
    let mut world = lock(&state);
    let Some(registered) = world
        .manifests
        .registered
        .get(&code)
        .filter(|registered| !registered.converted)
        .cloned()
    else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    if let Some(entry) = world.manifests.registered.get_mut(&code) {
        entry.converted = true;
    }
    let manifest = registered.manifest;
    let name = manifest["name"].as_str().unwrap_or("app").to_string();
    let id = world.next_id();
    let slug = slug(&name);
    let owner = registered
        .organization
        .unwrap_or_else(|| MANIFEST_CREATOR.to_string());
    let base = world.base_url.clone();
    let app = CreatedApp {
        id,
        slug: slug.clone(),
        name: name.clone(),
        owner: owner.clone(),
        client_id: format!("Iv1.{}", &world.fresh_sha("client-id")[..16]),
        client_secret: world.fresh_sha("client-secret"),
        webhook_secret: world.fresh_sha("webhook-secret"),
        pem: MANIFEST_APP_PRIVATE_KEY_PEM.to_string(),
        html_url: format!("{base}/_html/apps/{slug}"),
        manifest: manifest.clone(),
    };
    // From now on the fake is this App: JWTs must carry its id and its key's signature.
    world.app_id = id;
    world.app_slug = slug.clone();
    world.app_private_key_pem = MANIFEST_APP_PRIVATE_KEY_PEM;
    world.app_public_key_pem = MANIFEST_APP_PUBLIC_KEY_PEM;
    // ... and signing in with GitHub goes through its OAuth client: the previous client
    // id and secret are refused from now on, like the previous App's JWTs.
    world.oauth.client_id = app.client_id.clone();
    world.oauth.client_secret = app.client_secret.clone();
    world.app_events = manifest
        .get("default_events")
        .and_then(Value::as_array)
        .map(|events| {
            events
                .iter()
                .filter_map(|e| e.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    world.manifests.created.push(app.clone());
    let body = json!({
        "id": app.id,
        "slug": app.slug,
        "node_id": format!("A_{}", app.id),
        "name": app.name,
        "owner": render::user(&base, &owner),
        "description": manifest.get("description").cloned().unwrap_or(Value::Null),
        "external_url": manifest.get("url").cloned().unwrap_or(Value::Null),
        "html_url": app.html_url,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "permissions": manifest.get("default_permissions").cloned().unwrap_or(json!({})),
        "events": manifest.get("default_events").cloned().unwrap_or(json!([])),
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "webhook_secret": app.webhook_secret,
        "pem": app.pem,
    });
    (StatusCode::CREATED, Json(body)).into_response()
}
