//! Who may see the dashboard. With `PROMPTOPS_DASHBOARD_TOKEN` set, every request must
//! carry it (`Authorization: Bearer`, or once as `?token=`, which leaves an HttpOnly
//! cookie for the pages that follow). Without one, the dashboard is served only on a
//! loopback address: anything else would publish runs and outputs to the network.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The cookie holds the token's SHA-256, not the token itself.
pub const COOKIE_NAME: &str = "promptops_dashboard";

#[derive(Debug)]
pub enum Access {
    /// Requests must prove they know the token (its SHA-256 is kept for comparison).
    Token { digest: [u8; 32] },
    /// No token, loopback address: anyone who can reach the port is on this machine.
    Open,
    /// No token, reachable from the network: the dashboard is not served.
    Refused { reason: String },
}

impl Access {
    pub fn new(token: Option<&SecretString>, bind: SocketAddr) -> Access {
        match token
            .map(|t| t.expose_secret().trim())
            .filter(|t| !t.is_empty())
        {
            Some(token) => Access::Token {
                digest: digest(token),
            },
            None if bind.ip().is_loopback() => Access::Open,
            None => Access::Refused {
                reason: format!(
                    "the dashboard is off: the service listens on {bind}, which is not a loopback address, \
                     and PROMPTOPS_DASHBOARD_TOKEN is not set. Set a token, or bind to 127.0.0.1 or [::1].\n"
                ),
            },
        }
    }

    fn accepts(&self, presented: &str) -> bool {
        match self {
            Access::Token { digest: expected } => digest(presented).ct_eq(expected).into(),
            Access::Open => true,
            Access::Refused { .. } => false,
        }
    }

    fn accepts_cookie(&self, cookie_hex: &str) -> bool {
        match (self, hex::decode(cookie_hex)) {
            (Access::Token { digest: expected }, Ok(bytes)) => bytes.ct_eq(expected).into(),
            _ => false,
        }
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
}

fn query_token(request: &Request) -> Option<String> {
    let query = request.uri().query()?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned())
}

/// Middleware in front of every dashboard route.
pub async fn require(State(access): State<Arc<Access>>, request: Request, next: Next) -> Response {
    match access.as_ref() {
        Access::Open => return next.run(request).await,
        Access::Refused { reason } => {
            return (StatusCode::FORBIDDEN, reason.clone()).into_response();
        }
        Access::Token { .. } => {}
    }
    let headers = request.headers();
    if bearer(headers).is_some_and(|token| access.accepts(token))
        || cookie(headers).is_some_and(|value| access.accepts_cookie(&value))
    {
        return next.run(request).await;
    }
    if let Some(token) = query_token(&request).filter(|token| access.accepts(token)) {
        let cookie = format!(
            "{COOKIE_NAME}={}; Path=/dashboard; HttpOnly; SameSite=Strict",
            hex::encode(digest(&token))
        );
        let mut response = next.run(request).await;
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        return response;
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        "the dashboard needs its token: send `Authorization: Bearer <PROMPTOPS_DASHBOARD_TOKEN>`, \
         or open a dashboard page once with ?token=<PROMPTOPS_DASHBOARD_TOKEN>\n",
    )
        .into_response()
}

/// A state-changing form must come from a dashboard page: a browser always sends
/// `Origin` with a POST, and it must name this very host. (Clients that are not
/// browsers send no `Origin`, and cannot be tricked into sending the cookie.)
pub fn same_origin(headers: &HeaderMap) -> Result<(), String> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("");
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    if !host.is_empty() && authority == Some(host) {
        Ok(())
    } else {
        Err(format!(
            "refused: the form was posted from origin {origin:?}, not from this dashboard ({host:?})\n"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_token_only_loopback_is_served() {
        let open = Access::new(None, "127.0.0.1:3000".parse().unwrap());
        assert!(matches!(open, Access::Open));
        let v6 = Access::new(None, "[::1]:3000".parse().unwrap());
        assert!(matches!(v6, Access::Open));
        let Access::Refused { reason } = Access::new(None, "0.0.0.0:3000".parse().unwrap()) else {
            panic!("a wildcard bind without a token must be refused");
        };
        assert!(reason.contains("PROMPTOPS_DASHBOARD_TOKEN"), "{reason}");
    }

    #[test]
    fn a_token_is_compared_exactly_and_its_cookie_is_its_digest() {
        let token = SecretString::from("s3cret".to_owned());
        let access = Access::new(Some(&token), "0.0.0.0:3000".parse().unwrap());
        assert!(access.accepts("s3cret"));
        assert!(!access.accepts("s3cre"));
        assert!(access.accepts_cookie(&hex::encode(digest("s3cret"))));
        assert!(!access.accepts_cookie("s3cret"));
    }

    #[test]
    fn cross_origin_posts_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:3000"));
        assert!(same_origin(&headers).is_ok());
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:3000"),
        );
        assert!(same_origin(&headers).is_ok());
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(same_origin(&headers).is_err());
    }
}
