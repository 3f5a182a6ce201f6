//! Cross-site request forgery. Every request that changes state or spends money (unlock,
//! try a prompt, sign out) is a POST that
//! 1. comes from this site: `Sec-Fetch-Site` and `Origin`, when the browser sends them,
//!    must name this very origin;
//! 2. carries the form token its page was given: the signed-in session's token, or a
//!    signed token that also sits in an HttpOnly cookie (double submit; the signature
//!    keeps a cookie planted by another port of the same host from passing).
//!
//! Requests that prove access with an `Authorization` header (scripts, not browsers) need
//! no form token: a browser never adds that header by itself, so another site cannot make
//! one send it.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::access::{Access, Viewer};
use super::html::escape;
use super::session::cookie_value;

/// The form field every state-changing form carries.
pub const CSRF_FIELD: &str = "csrf";
/// The cookie holding the double-submit token (viewers without a session).
pub const CSRF_COOKIE: &str = "promptops_csrf";
/// The dashboard's forms are small (a prompt is at most a few KiB).
const MAX_FORM_BYTES: usize = 64 * 1024;

type HmacSha256 = Hmac<Sha256>;

/// The token the forms of a page carry (a request extension for the page handlers).
#[derive(Debug, Clone)]
pub struct FormToken(pub String);

impl FormToken {
    /// The hidden field to put in each form.
    pub fn field(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{}\">",
            escape(&self.0)
        )
    }
}

/// Mints and checks the double-submit tokens.
pub struct CsrfGuard {
    key: [u8; 32],
    access: Arc<Access>,
}

impl CsrfGuard {
    /// With a dashboard token the key derives from it, so that every replica sharing the
    /// token accepts the others' forms; without one (loopback-open) it is random, and a
    /// restart asks for a page reload.
    pub fn new(access: Arc<Access>) -> CsrfGuard {
        let key = match access.token_digest() {
            Some(digest) => {
                let mut mac = HmacSha256::new_from_slice(digest).expect("any key length");
                mac.update(b"promptops dashboard form key v1");
                mac.finalize().into_bytes().into()
            }
            None => {
                let mut key = [0u8; 32];
                key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
                key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
                key
            }
        };
        CsrfGuard { key, access }
    }

    fn mac(&self, nonce: &str) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("any key length");
        mac.update(b"csrf");
        mac.update(nonce.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn mint(&self) -> String {
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let mac = self.mac(&nonce);
        format!("{nonce}.{mac}")
    }

    fn is_genuine(&self, token: &str) -> bool {
        token.split_once('.').is_some_and(|(nonce, mac)| {
            !nonce.is_empty() && bool::from(self.mac(nonce).as_bytes().ct_eq(mac.as_bytes()))
        })
    }

    /// The double-submit token a request's cookie holds, if this process signed it.
    fn cookie_token(&self, headers: &HeaderMap) -> Option<String> {
        cookie_value(headers, CSRF_COOKIE).filter(|token| self.is_genuine(token))
    }
}

/// Middleware on every dashboard route, after the access check (it reads the `Viewer`).
/// Pages get a `FormToken`; POSTs are refused unless they pass the checks above.
pub async fn protect(
    State(guard): State<Arc<CsrfGuard>>,
    mut request: Request,
    next: Next,
) -> Response {
    let session_token = match request.extensions().get::<Viewer>() {
        Some(Viewer::SignedIn { csrf, .. }) => Some(csrf.clone()),
        _ => None,
    };
    let expected = session_token.or_else(|| guard.cookie_token(request.headers()));
    let (page_token, new_cookie) = match &expected {
        Some(token) => (token.clone(), None),
        None => {
            let token = guard.mint();
            (token.clone(), Some(token))
        }
    };
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        request = match check_post(&guard, request, expected.as_deref()).await {
            Ok(request) => request,
            Err(refusal) => return refusal,
        };
    }
    request.extensions_mut().insert(FormToken(page_token));
    let mut response = next.run(request).await;
    if let Some(token) = new_cookie {
        let cookie = format!("{CSRF_COOKIE}={token}; Path=/dashboard; HttpOnly; SameSite=Strict");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// The request, its body read back in, when it comes from this site with the `expected`
/// form token (or proves access with its `Authorization` header).
async fn check_post(
    guard: &CsrfGuard,
    request: Request,
    expected: Option<&str>,
) -> Result<Request, Response> {
    if let Err(reason) = same_site(request.headers()) {
        return Err((StatusCode::FORBIDDEN, reason).into_response());
    }
    if guard.access.accepts_bearer(request.headers()) {
        return Ok(request);
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| {
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("refused: a dashboard form is at most {MAX_FORM_BYTES} bytes\n"),
            )
                .into_response()
        })?;
    let presented = url::form_urlencoded::parse(&bytes)
        .find(|(name, _)| name == CSRF_FIELD)
        .map(|(_, value)| value.into_owned());
    if !tokens_match(expected, presented.as_deref()) {
        return Err((
            StatusCode::FORBIDDEN,
            "refused: the form's csrf field is missing or does not belong to this browser's \
             dashboard session; reload the dashboard page and submit its form again\n",
        )
            .into_response());
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// Both present and equal (in constant time).
pub fn tokens_match(expected: Option<&str>, presented: Option<&str>) -> bool {
    match (expected, presented) {
        (Some(expected), Some(presented)) => expected.as_bytes().ct_eq(presented.as_bytes()).into(),
        _ => false,
    }
}

/// A state-changing request must come from a dashboard page: when the browser says where
/// it comes from (`Sec-Fetch-Site`, `Origin` — every current browser sends them with a
/// POST), that must be this very site. Clients that are not browsers send neither, and
/// cannot be made to send the cookies.
pub fn same_site(headers: &HeaderMap) -> Result<(), String> {
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("");
        if site != "same-origin" {
            return Err(format!(
                "refused: the browser says this form was sent from another site \
                 (Sec-Fetch-Site: {site:?}); use the dashboard's own pages\n"
            ));
        }
    }
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
    fn cross_origin_posts_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:3000"));
        assert!(same_site(&headers).is_ok());
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:3000"),
        );
        assert!(same_site(&headers).is_ok());
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_site(&headers).is_ok());
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(same_site(&headers).is_err());
        headers.remove("sec-fetch-site");
        headers.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(same_site(&headers).is_err());
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(same_site(&headers).is_err());
    }

    #[test]
    fn only_tokens_this_process_signed_are_genuine() {
        let open = Arc::new(Access::new(None, "127.0.0.1:3000".parse().unwrap()));
        let guard = CsrfGuard::new(Arc::clone(&open));
        let token = guard.mint();
        assert!(guard.is_genuine(&token));
        assert!(!guard.is_genuine("0123.abcd"));
        assert!(!guard.is_genuine(&token.replacen('.', "x.", 1)));
        // Another process without a token has another random key.
        assert!(!CsrfGuard::new(open).is_genuine(&token));
        // With the dashboard token, replicas share the key.
        let secret = secrecy::SecretString::from("dashboard-token".to_owned());
        let guarded = || Arc::new(Access::new(Some(&secret), "0.0.0.0:3000".parse().unwrap()));
        let token = CsrfGuard::new(guarded()).mint();
        assert!(CsrfGuard::new(guarded()).is_genuine(&token));
    }
}
