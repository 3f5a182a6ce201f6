//! The REST routes the fake serves, grouped by API area.

pub mod app_manifests;
pub mod checks;
pub mod contents;
pub mod git;
pub mod git_data;
pub mod issue_writes;
pub mod issues;
pub mod oauth;
pub mod pull_lists;
pub mod pulls;
pub mod queue_support;
pub mod reactions;

use std::collections::HashMap;

use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{Value, json};

use crate::auth::require_installation;
use crate::fault::github_error;
use crate::model::State as World;

pub type Query = HashMap<String, String>;

/// Installation auth plus "the repository exists"; the error is the answer to send.
pub fn authorize(
    world: &mut World,
    headers: &HeaderMap,
    owner: &str,
    name: &str,
) -> Result<u64, Response> {
    let installation = require_installation(world, headers, owner)?;
    if world.repo(owner, name).is_none() {
        return Err(github_error(StatusCode::NOT_FOUND, "Not Found"));
    }
    Ok(installation)
}

/// A 422 "Validation Failed" answer with GitHub's `errors` array.
pub fn validation_failed(errors: Value) -> Response {
    use axum::response::IntoResponse;
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        axum::Json(json!({
            "message": "Validation Failed",
            "errors": errors,
            "documentation_url": "https://docs.github.com/rest",
            "status": "422",
        })),
    )
        .into_response()
}

/// One page of `items` per `per_page` (default 30, at most 100) and `page`, with the
/// `Link` header GitHub sends when there are more.
pub fn paginate(items: Vec<Value>, query: &Query, url: &str) -> (Vec<Value>, Option<HeaderValue>) {
    let per_page = query
        .get("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page = query
        .get("page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let last = items.len().div_ceil(per_page).max(1);
    let start = (page - 1) * per_page;
    let slice: Vec<Value> = items.into_iter().skip(start).take(per_page).collect();
    let mut kept: Vec<(&String, &String)> = query
        .iter()
        .filter(|(k, _)| k.as_str() != "page" && k.as_str() != "per_page")
        .collect();
    kept.sort();
    let extra: String = kept.iter().map(|(k, v)| format!("&{k}={v}")).collect();
    let link_to =
        |p: usize, rel: &str| format!("<{url}?per_page={per_page}&page={p}{extra}>; rel=\"{rel}\"");
    let mut links = Vec::new();
    if page < last {
        links.push(link_to(page + 1, "next"));
        links.push(link_to(last, "last"));
    }
    if page > 1 {
        links.push(link_to(1, "first"));
        links.push(link_to(page - 1, "prev"));
    }
    let header = (!links.is_empty())
        .then(|| HeaderValue::from_str(&links.join(", ")).ok())
        .flatten();
    (slice, header)
}

/// A JSON list answer with an optional `Link` header.
pub fn list_response(items: Vec<Value>, link: Option<HeaderValue>) -> Response {
    use axum::response::IntoResponse;
    let mut resp = axum::Json(Value::Array(items)).into_response();
    if let Some(link) = link {
        resp.headers_mut().insert(http::header::LINK, link);
    }
    resp
}
