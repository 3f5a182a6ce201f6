//! The loopback-open dashboard's proof of access: a random secret made at start and
//! logged once, in the link `serve` prints (`http://127.0.0.1:<port>/dashboard?access=<secret>`,
//! or the setup page's address with it while no App is connected).
//!
//! A loopback address is reachable by every process on the machine, not only by the
//! operator's browser: code a Terraform plan runs (the plan sandbox shares the host's
//! network, so a provider or an external data source in a pull request) could otherwise
//! read runs, unlock deployments or spend model tokens through `/dashboard/try`. Only
//! whoever can read the service's log has the link. Opening it leaves an HttpOnly,
//! SameSite=Strict cookie and redirects to the same page without the secret, so that the
//! secret does not stay in the address bar; scripts send it as `Authorization: Bearer`.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::access::Viewer;
use super::html::page;
use super::session::cookie_value;

/// The query parameter the link carries the secret in.
pub const ACCESS_PARAM: &str = "access";
/// The cookie the link leaves: the secret's SHA-256, for every page of this service
/// (the setup page leads to the dashboard, so not `/dashboard` alone).
pub const LOCAL_COOKIE: &str = "promptops_local_access";

/// The secret of this process's loopback-open dashboard. A restart makes a new one.
#[derive(Clone)]
pub struct LocalLink {
    secret: SecretString,
    digest: [u8; 32],
}

impl std::fmt::Debug for LocalLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalLink(..)")
    }
}

/// Whether a request failed to prove access, and how (each gets its own explanation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Missing {
    /// Neither the cookie, nor the secret in the query or an `Authorization` header.
    Nothing,
    /// A secret that is not this process's (an old link, from before a restart).
    WrongSecret,
}

impl LocalLink {
    /// 244 random bits from the operating system (two version-4 UUIDs), as 64 hex digits.
    pub fn generate() -> LocalLink {
        let secret = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        LocalLink {
            digest: digest(&secret),
            secret: SecretString::from(secret),
        }
    }

    /// `address` (a full URL) with the secret appended: the link to log.
    pub fn link_to(&self, address: &str) -> String {
        let join = if address.contains('?') { '&' } else { '?' };
        format!(
            "{address}{join}{ACCESS_PARAM}={}",
            self.secret.expose_secret()
        )
    }

    /// The cookie a browser gets from the link, as `name=value`.
    pub fn cookie(&self) -> String {
        format!("{LOCAL_COOKIE}={}", hex::encode(self.digest))
    }

    fn accepts_secret(&self, presented: &str) -> bool {
        digest(presented.trim()).ct_eq(&self.digest).into()
    }

    /// Whether `headers` carry the secret as `Authorization: Bearer`.
    pub fn accepts_bearer(&self, headers: &HeaderMap) -> bool {
        super::access::bearer(headers).is_some_and(|secret| self.accepts_secret(secret))
    }

    fn accepts_cookie(&self, headers: &HeaderMap) -> bool {
        cookie_value(headers, LOCAL_COOKIE)
            .and_then(|value| hex::decode(value).ok())
            .is_some_and(|bytes| bytes.ct_eq(&self.digest).into())
    }
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// The access check of a loopback-open dashboard (see `access::require`).
pub async fn require(link: &LocalLink, mut request: Request, next: Next) -> Response {
    if link.accepts_cookie(request.headers()) || link.accepts_bearer(request.headers()) {
        request.extensions_mut().insert(Viewer::Local);
        return next.run(request).await;
    }
    let (presented, _) = split_query(&request, ACCESS_PARAM);
    match presented {
        Some(secret) if link.accepts_secret(&secret) => {
            let cookie = set_cookie(link);
            if matches!(*request.method(), Method::GET | Method::HEAD) {
                // The same page without the secret: it leaves the address bar and history.
                let location = same_page_without(&request, ACCESS_PARAM);
                return (
                    StatusCode::SEE_OTHER,
                    [(header::LOCATION, location)],
                    [(header::SET_COOKIE, cookie)],
                )
                    .into_response();
            }
            request.extensions_mut().insert(Viewer::Local);
            let mut response = next.run(request).await;
            response.headers_mut().append(header::SET_COOKIE, cookie);
            response
        }
        Some(_) => refusal(Missing::WrongSecret),
        None => refusal(Missing::Nothing),
    }
}

/// The request's path; a path that a browser would read as another host (`//host/..`)
/// is never redirected to.
fn own_path(request: &Request) -> &str {
    let path = request.uri().path();
    if path.starts_with('/') && !path.starts_with("//") {
        path
    } else {
        "/dashboard"
    }
}

/// The request's page with `param` taken out of its query: where a link that carried a
/// secret redirects once the secret is in a cookie.
pub(super) fn same_page_without(request: &Request, param: &str) -> String {
    match split_query(request, param).1 {
        Some(query) => format!("{}?{query}", own_path(request)),
        None => own_path(request).to_owned(),
    }
}

/// The value of `param` in the query, if any, and the rest of the query (re-encoded).
fn split_query(request: &Request, param: &str) -> (Option<String>, Option<String>) {
    let Some(query) = request.uri().query() else {
        return (None, None);
    };
    let mut secret = None;
    let mut rest = url::form_urlencoded::Serializer::new(String::new());
    let mut others = false;
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if name == param {
            secret = Some(value.into_owned());
        } else {
            rest.append_pair(&name, &value);
            others = true;
        }
    }
    (secret, others.then(|| rest.finish()))
}

fn set_cookie(link: &LocalLink) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{}; Path=/; HttpOnly; SameSite=Strict",
        link.cookie()
    ))
    .expect("the cookie is hex digits")
}

/// 401 with a page that says where the link is: the operator reads it in the log.
fn refusal(missing: Missing) -> Response {
    let first = match missing {
        Missing::Nothing => {
            "This dashboard has no token and no sign-in, so it opens only through the link \
             <code>promptops serve</code> logged when it started."
        }
        Missing::WrongSecret => {
            "The access value of this link is not this service's: a new one is made \
             at every start, so an older link no longer opens the dashboard."
        }
    };
    let body = format!(
        "<p class=\"error\" id=\"access-needed\">{first}</p>\
         <p>Find the link in the service's log (its standard error, or e.g. \
         <code>journalctl -u promptops</code>), in the start line that reads \
         <code>dashboard: open http://127.0.0.1:&lt;port&gt;/dashboard?access=…</code> or, \
         before a GitHub App is connected, <code>no GitHub App is connected yet: open \
         …/setup?access=…</code>. Open it in this browser: it leaves a cookie, and the pages \
         then open without it until the service stops.</p>\
         <p>Other programs on this machine — code a Terraform plan runs among them — are kept \
         out this way. Scripts may send <code>Authorization: Bearer &lt;the access value&gt;</code>. \
         To let other people in, set <code>PROMPTOPS_DASHBOARD_TOKEN</code> or sign-in with \
         GitHub (see the README's \"Dashboard sign-in\").</p>"
    );
    let mut response = (
        StatusCode::UNAUTHORIZED,
        page("Open the dashboard with its link", &body),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_link_has_its_own_secret_compared_exactly() {
        let link = LocalLink::generate();
        let other = LocalLink::generate();
        let url = link.link_to("http://127.0.0.1:3000/dashboard");
        let secret = url.split_once("?access=").unwrap().1;
        assert_eq!(secret.len(), 64, "{url}");
        assert!(link.accepts_secret(secret));
        assert!(!other.accepts_secret(secret));
        assert!(!link.accepts_secret(&secret[..63]));
        assert!(!link.accepts_secret(""));
        assert!(
            !format!("{link:?}").contains(secret),
            "Debug hides the secret"
        );
        assert!(
            !link.cookie().contains(secret),
            "the cookie is not the secret"
        );
    }

    #[test]
    fn the_secret_is_taken_out_of_the_query_and_the_rest_kept() {
        let request = |uri: &str| Request::builder().uri(uri).body(axum::body::Body::empty());
        let (secret, rest) = split_query(
            &request("/dashboard/try?access=abc&prompt=2%20T4").unwrap(),
            ACCESS_PARAM,
        );
        assert_eq!(secret.as_deref(), Some("abc"));
        assert_eq!(rest.as_deref(), Some("prompt=2+T4"));
        let (secret, rest) = split_query(&request("/dashboard?access=abc").unwrap(), ACCESS_PARAM);
        assert_eq!((secret.as_deref(), rest), (Some("abc"), None));
        assert_eq!(
            split_query(&request("/dashboard").unwrap(), ACCESS_PARAM),
            (None, None)
        );
        assert_eq!(
            same_page_without(&request("/setup?token=t&org=acme").unwrap(), "token"),
            "/setup?org=acme"
        );
        assert_eq!(
            own_path(&request("//evil.example/x").unwrap()),
            "/dashboard"
        );
    }
}
