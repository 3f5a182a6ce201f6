//! GitHub App authentication as GitHub enforces it: App JWTs (RS256, signed with the App's
//! private key, `exp` at most 10 minutes ahead) for `/app/...`, installation tokens for the
//! repository API.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use http::{HeaderMap, StatusCode};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::json;

use crate::fault::{Shared, github_error};
use crate::model::{AuthKind, State as World};
use crate::render;

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .or_else(|| value.strip_prefix("token "))
        .map(str::trim)
}

#[derive(Deserialize)]
struct Claims {
    iss: serde_json::Value,
    iat: i64,
    exp: i64,
}

/// Checks an App JWT; the error is the message GitHub would send.
fn verify_jwt(world: &World, token: &str) -> Result<(), String> {
    let key = DecodingKey::from_rsa_pem(world.app_public_key_pem.as_bytes())
        .map_err(|e| format!("fake misconfigured: public key: {e}"))?;
    let mut validation = Validation::new(Algorithm::RS256);
    // `iss` is checked below: octocrab sends it as a number, which GitHub accepts.
    validation.set_required_spec_claims(&["exp"]);
    validation.validate_aud = false;
    let data = jsonwebtoken::decode::<Claims>(token, &key, &validation)
        .map_err(|e| format!("A JSON web token could not be decoded ({e})"))?;
    let c = data.claims;
    let iss_matches = match &c.iss {
        serde_json::Value::Number(n) => n.as_u64() == Some(world.app_id),
        serde_json::Value::String(s) => s == &world.app_id.to_string(),
        _ => false,
    };
    if !iss_matches {
        return Err(format!(
            "'Issuer' claim ('iss') must be the App id {}, got {}",
            world.app_id, c.iss
        ));
    }
    let now = Utc::now().timestamp();
    if c.exp > now + 600 + 30 {
        return Err(
            "'Expiration time' claim ('exp') is too far in the future (at most 10 minutes)"
                .to_string(),
        );
    }
    if c.iat > now + 60 {
        return Err(
            "'Issued at' claim ('iat') must be an Integer representing a time in the past"
                .to_string(),
        );
    }
    Ok(())
}

/// Requires a valid App JWT.
pub fn require_app(world: &mut World, headers: &HeaderMap) -> Result<(), Response> {
    let Some(token) = bearer(headers) else {
        world.auth_log.push(AuthKind::None);
        return Err(github_error(
            StatusCode::UNAUTHORIZED,
            "A JSON web token could not be decoded",
        ));
    };
    match verify_jwt(world, token) {
        Ok(()) => {
            world.auth_log.push(AuthKind::AppJwt);
            Ok(())
        }
        Err(msg) => {
            world.auth_log.push(AuthKind::Rejected);
            Err(github_error(StatusCode::UNAUTHORIZED, &msg))
        }
    }
}

/// Requires a live installation token whose installation covers `owner`'s repositories.
/// A repository outside the installation answers 404, as GitHub hides it.
pub fn require_installation(
    world: &mut World,
    headers: &HeaderMap,
    owner: &str,
) -> Result<u64, Response> {
    let Some(token) = bearer(headers) else {
        world.auth_log.push(AuthKind::None);
        return Err(github_error(
            StatusCode::UNAUTHORIZED,
            "Requires authentication",
        ));
    };
    match world.check_token(token) {
        Ok(id) if world.installation_reaches(id, owner) => {
            world.auth_log.push(AuthKind::Installation(id));
            Ok(id)
        }
        Ok(id) => {
            world.auth_log.push(AuthKind::Installation(id));
            Err(github_error(StatusCode::NOT_FOUND, "Not Found"))
        }
        Err(msg) => {
            world.auth_log.push(AuthKind::Rejected);
            Err(github_error(StatusCode::UNAUTHORIZED, msg))
        }
    }
}

/// `POST /app/installations/{id}/access_tokens`
pub async fn create_access_token(
    State(state): State<Shared>,
    Path(installation_id): Path<u64>,
    headers: HeaderMap,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(resp) = require_app(&mut world, &headers) {
        return resp;
    }
    if !world.installations.contains_key(&installation_id) {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    }
    world.token_requests += 1;
    let token = format!("ghs_{}", &world.fresh_sha("token")[..36]);
    let expires_at = Utc::now() + world.token_ttl;
    world.tokens.insert(
        token.clone(),
        crate::model::TokenGrant {
            installation_id,
            expires_at,
        },
    );
    (
        StatusCode::CREATED,
        Json(json!({
            "token": token,
            "expires_at": expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "permissions": {
                "contents": "write",
                "pull_requests": "write",
                "issues": "write",
                "checks": "write",
                "metadata": "read",
            },
            "repository_selection": "all",
        })),
    )
        .into_response()
}

/// `GET /app`
pub async fn get_app(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(resp) = require_app(&mut world, &headers) {
        return resp;
    }
    let base = world.base_url.clone();
    Json(json!({
        "id": world.app_id,
        "slug": world.app_slug,
        "node_id": format!("A_{}", world.app_id),
        "name": "PromptOps",
        "owner": render::user(&base, "promptops-org"),
        "description": "fake App",
        "external_url": base,
        "html_url": format!("{base}/_html/apps/{}", world.app_slug),
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "permissions": {},
        "events": world.app_events,
        "installations_count": world.installations.len(),
    }))
    .into_response()
}

/// `GET /repos/{owner}/{repo}/installation`
pub async fn get_repo_installation(
    State(state): State<Shared>,
    Path((owner, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut world = crate::fault::lock(&state);
    if let Err(resp) = require_app(&mut world, &headers) {
        return resp;
    }
    if world.repo(&owner, &name).is_none() {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    }
    let found = world
        .installations
        .iter()
        .find(|(_, account)| account.eq_ignore_ascii_case(&owner))
        .map(|(id, account)| (*id, account.clone()));
    match found {
        Some((id, account)) => {
            let base = world.base_url.clone();
            Json(json!({
                "id": id,
                "account": render::user(&base, &account),
                "app_id": world.app_id,
                "target_type": "Organization",
                "repository_selection": "all",
                "access_tokens_url": format!("{base}/app/installations/{id}/access_tokens"),
            }))
            .into_response()
        }
        None => github_error(StatusCode::NOT_FOUND, "Not Found"),
    }
}
