//! Who may see the dashboard. Two ways to prove it, either enough, both allowed:
//! - `PROMPTOPS_DASHBOARD_TOKEN`: every request carries it (`Authorization: Bearer`, or
//!   once as `?token=`, which leaves an HttpOnly cookie for the pages that follow);
//! - sign-in with GitHub (the App's OAuth client: `GITHUB_CLIENT_ID`/`GITHUB_CLIENT_SECRET`,
//!   else the credentials file `/setup` wrote, with `PROMPTOPS_PUBLIC_URL`; see `oauth`): a
//!   signed session cookie, given only to members of one of the App's installations, who
//!   then see and act on only the repositories GitHub allows them (see `repo_access`).
//!
//! With neither, the dashboard is served only on a loopback address (anything else would
//! publish runs and outputs to the network), and only to whoever opens the link the
//! service logs at start (see `local_link`): other processes on the machine reach that
//! address too.
//!
//! The rule is decided once, at start, from the settings: connecting an App through
//! `/setup` while the service runs does not change it (sign-in with that App's client
//! starts with the next start), so nobody's access changes in the middle of a run.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::csrf::FormToken;
use super::html::escape;
use super::local_link::{self, LocalLink};
use super::oauth::GithubSignIn;
use super::session::{Session, cookie_value};

/// The cookie holds the token's SHA-256, not the token itself.
pub const COOKIE_NAME: &str = "promptops_dashboard";

#[derive(Debug, Clone)]
pub enum Access {
    /// Requests must prove access: they know the token (its SHA-256 is kept for
    /// comparison), or they carry a session from signing in with GitHub.
    Guarded {
        token: Option<[u8; 32]>,
        sign_in: Option<Arc<GithubSignIn>>,
    },
    /// Nothing configured, loopback address: anyone who can reach the port is on this
    /// machine, and who opened the link logged at start is its operator.
    Open { link: LocalLink },
    /// Nothing configured, reachable from the network: the dashboard is not served.
    Refused { reason: String },
}

/// Who is looking, as the access check established it (a request extension).
#[derive(Debug, Clone)]
pub enum Viewer {
    /// Nothing configured, loopback address; opened the link logged at start.
    Local,
    /// Proved the dashboard token.
    Token,
    /// Signed in with GitHub; `csrf` is what this session's forms must carry.
    SignedIn { session: Session, csrf: String },
}

impl Viewer {
    /// Who did something, for notices and logs.
    pub fn who(&self) -> String {
        match self {
            Viewer::Local => "the operator (loopback, through the link logged at start)".to_owned(),
            Viewer::Token => "the holder of the dashboard token".to_owned(),
            Viewer::SignedIn { session, .. } => session.login.clone(),
        }
    }
}

impl Access {
    pub fn new(token: Option<&SecretString>, bind: SocketAddr) -> Access {
        match token
            .map(|t| t.expose_secret().trim())
            .filter(|t| !t.is_empty())
        {
            Some(token) => Access::Guarded {
                token: Some(digest(token)),
                sign_in: None,
            },
            None if bind.ip().is_loopback() => Access::Open {
                link: LocalLink::generate(),
            },
            None => Access::Refused {
                reason: format!(
                    "the dashboard is off: the service listens on {bind}, which is not a loopback address, \
                     and neither PROMPTOPS_DASHBOARD_TOKEN nor sign-in with GitHub (GITHUB_CLIENT_ID and \
                     GITHUB_CLIENT_SECRET, or the App's credentials file, with PROMPTOPS_PUBLIC_URL) is set. \
                     Set one, or bind to 127.0.0.1 or [::1].\n"
                ),
            },
        }
    }

    /// Adds sign-in with GitHub: from now on the dashboard is guarded on any address.
    pub fn with_sign_in(self, sign_in: Arc<GithubSignIn>) -> Access {
        let token = match self {
            Access::Guarded { token, .. } => token,
            Access::Open { .. } | Access::Refused { .. } => None,
        };
        Access::Guarded {
            token,
            sign_in: Some(sign_in),
        }
    }

    /// Who may see the dashboard, one line for the log and `promptops check`; it starts
    /// with the rule's name: `token`, `sign-in`, `token or sign-in`, `loopback-open` or
    /// `refused`.
    pub fn describe(&self) -> String {
        match self {
            Access::Guarded {
                token: Some(_),
                sign_in: None,
            } => "token: requests carry PROMPTOPS_DASHBOARD_TOKEN".to_owned(),
            Access::Guarded {
                token: Some(_),
                sign_in: Some(_),
            } => "token or sign-in: requests carry PROMPTOPS_DASHBOARD_TOKEN, or people sign in \
                  with GitHub (members of the App's installations only, each seeing the repositories \
                  GitHub lets them read)"
                .to_owned(),
            Access::Guarded {
                token: None,
                sign_in: Some(_),
            } => "sign-in: people sign in with GitHub (members of the App's installations only, \
                  each seeing the repositories GitHub lets them read)"
                .to_owned(),
            Access::Guarded {
                token: None,
                sign_in: None,
            } => "refused: no way to prove access is configured".to_owned(),
            Access::Open { .. } => {
                "loopback-open: served on the loopback address to whoever opens \
                                    the link logged at start (no token, no sign-in)"
                    .to_owned()
            }
            Access::Refused { reason } => format!("refused: {}", reason.trim_end()),
        }
    }

    /// The SHA-256 of the dashboard token, when one is set.
    pub fn token_digest(&self) -> Option<&[u8; 32]> {
        match self {
            Access::Guarded { token, .. } => token.as_ref(),
            _ => None,
        }
    }

    /// The link that opens a loopback-open dashboard (none under any other rule).
    pub fn local_link(&self) -> Option<&LocalLink> {
        match self {
            Access::Open { link } => Some(link),
            _ => None,
        }
    }

    pub fn sign_in(&self) -> Option<&GithubSignIn> {
        match self {
            Access::Guarded { sign_in, .. } => sign_in.as_deref(),
            _ => None,
        }
    }

    /// Whether `headers` carry the dashboard token (or, loopback-open, the secret of the
    /// link logged at start) as `Authorization: Bearer`.
    pub fn accepts_bearer(&self, headers: &HeaderMap) -> bool {
        match self {
            Access::Open { link } => link.accepts_bearer(headers),
            Access::Guarded { token: Some(_), .. } => {
                bearer(headers).is_some_and(|token| self.accepts(token))
            }
            _ => false,
        }
    }

    fn accepts(&self, presented: &str) -> bool {
        match self {
            Access::Guarded {
                token: Some(expected),
                ..
            } => digest(presented).ct_eq(expected).into(),
            _ => false,
        }
    }

    fn accepts_cookie(&self, cookie_hex: &str) -> bool {
        match (self, hex::decode(cookie_hex)) {
            (
                Access::Guarded {
                    token: Some(expected),
                    ..
                },
                Ok(bytes),
            ) => bytes.ct_eq(expected).into(),
            _ => false,
        }
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

pub(super) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

fn query_token(request: &Request) -> Option<String> {
    let query = request.uri().query()?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned())
}

/// A request that carries the dashboard token in its query (a link the operator opened):
/// the cookie that serves the following pages, and for a page the same page without the
/// token.
async fn with_query_token(token: &str, mut request: Request, next: Next) -> Response {
    // `Path=/`: the setup page is opened with the token too.
    let cookie = format!(
        "{COOKIE_NAME}={}; Path=/; HttpOnly; SameSite=Strict",
        hex::encode(digest(token))
    );
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        // The same page without the token: the operator's long-lived secret does not stay
        // in the address bar, the history or a synced browser profile.
        let location = local_link::same_page_without(&request, "token");
        return (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, location)],
            [(header::SET_COOKIE, cookie)],
        )
            .into_response();
    }
    request.extensions_mut().insert(Viewer::Token);
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// A browser asking for a page (not a script or an API client).
fn wants_a_page(request: &Request) -> bool {
    matches!(*request.method(), Method::GET | Method::HEAD)
        && request
            .headers()
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
}

/// Whether a `Host` header value names this machine: `localhost`, an address in
/// 127.0.0.0/8 or `[::1]`, with any port.
pub fn is_loopback_host(host: &str) -> bool {
    let Ok(url) = url::Url::parse(&format!("http://{host}/")) else {
        return false;
    };
    // Only the host itself: `http://user@evil.example/` or a path would not be a Host.
    let only_host = url.username().is_empty() && url.path() == "/" && url.query().is_none();
    only_host
        && match url.host() {
            Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
}

/// Middleware in front of every dashboard and setup route. Open without a token or
/// sign-in (loopback-open), the pages answer only requests addressed to a loopback name:
/// a page of another site that made its own name resolve to 127.0.0.1 (DNS rebinding)
/// would otherwise be same-origin with the dashboard, read it and post its forms.
pub async fn require_loopback_host(
    State(access): State<Arc<Access>>,
    request: Request,
    next: Next,
) -> Response {
    if !matches!(access.as_ref(), Access::Open { .. }) {
        return next.run(request).await;
    }
    let host = request
        .headers()
        .get(header::HOST)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    match host.as_deref() {
        Some(host) if is_loopback_host(host) => next.run(request).await,
        host => (
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "refused: without PROMPTOPS_DASHBOARD_TOKEN or sign-in, the dashboard and setup \
                 pages answer only requests addressed to this machine (localhost, 127.0.0.1 or \
                 [::1]), and this one was addressed to {}. Open the link the service logged at \
                 start (http://127.0.0.1:<port>/dashboard?access=...), or set \
                 PROMPTOPS_DASHBOARD_TOKEN to serve it under another name\n",
                host.map(|h| format!("{h:?}"))
                    .unwrap_or_else(|| "no host".to_owned())
            ),
        )
            .into_response(),
    }
}

/// Middleware in front of every dashboard page.
pub async fn require(
    State(access): State<Arc<Access>>,
    mut request: Request,
    next: Next,
) -> Response {
    let (has_token, sign_in) = match access.as_ref() {
        Access::Open { link } => return local_link::require(link, request, next).await,
        Access::Refused { reason } => {
            return (StatusCode::FORBIDDEN, reason.clone()).into_response();
        }
        Access::Guarded { token, sign_in } => (token.is_some(), sign_in.as_deref()),
    };
    let headers = request.headers();
    if bearer(headers).is_some_and(|token| access.accepts(token))
        || cookie_value(headers, COOKIE_NAME).is_some_and(|value| access.accepts_cookie(&value))
    {
        request.extensions_mut().insert(Viewer::Token);
        return next.run(request).await;
    }
    if let Some(sign_in) = sign_in
        && let Some(session) = sign_in.session(headers)
    {
        let csrf = session.csrf_token(sign_in.key());
        let login = session.login.clone();
        let form_token = FormToken(csrf.clone());
        request
            .extensions_mut()
            .insert(Viewer::SignedIn { session, csrf });
        return with_signed_in_bar(next.run(request).await, &login, &form_token).await;
    }
    if let Some(token) = query_token(&request).filter(|token| access.accepts(token)) {
        return with_query_token(&token, request, next).await;
    }
    if sign_in.is_some() && wants_a_page(&request) {
        let asked = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/dashboard");
        let location = format!(
            "/dashboard/login?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("next", asked)
                .finish()
        );
        return (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
    }
    let message = match (has_token, sign_in.is_some()) {
        (true, true) => {
            "the dashboard needs you to sign in with GitHub at /dashboard/login, or its token: \
             send `Authorization: Bearer <PROMPTOPS_DASHBOARD_TOKEN>`\n"
        }
        (false, _) => "the dashboard needs you to sign in with GitHub at /dashboard/login\n",
        (true, false) => {
            "the dashboard needs its token: send `Authorization: Bearer <PROMPTOPS_DASHBOARD_TOKEN>`, \
             or open a dashboard page once with ?token=<PROMPTOPS_DASHBOARD_TOKEN>\n"
        }
    };
    let mut response = (StatusCode::UNAUTHORIZED, message).into_response();
    if has_token {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// Every dashboard page, whichever module renders it, names who is signed in and offers
/// to sign out, right after the navigation.
async fn with_signed_in_bar(response: Response, login: &str, form_token: &FormToken) -> Response {
    let bar = format!(
        "<p id=\"signed-in\">Signed in with GitHub as <strong id=\"login\">{}</strong> \
         <form method=\"post\" action=\"/dashboard/logout\" class=\"inline\">{}\
         <button type=\"submit\">Sign out</button></form></p>",
        escape(login),
        form_token.field()
    );
    super::html::insert_after(response, "</nav>", &bar).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_token_only_loopback_is_served() {
        let open = Access::new(None, "127.0.0.1:3000".parse().unwrap());
        assert!(matches!(open, Access::Open { .. }));
        let v6 = Access::new(None, "[::1]:3000".parse().unwrap());
        assert!(matches!(v6, Access::Open { .. }));
        let Access::Refused { reason } = Access::new(None, "0.0.0.0:3000".parse().unwrap()) else {
            panic!("a wildcard bind without a token must be refused");
        };
        assert!(reason.contains("PROMPTOPS_DASHBOARD_TOKEN"), "{reason}");
        assert!(reason.contains("GITHUB_CLIENT_ID"), "{reason}");
    }

    #[test]
    fn sign_in_guards_the_dashboard_on_any_address_and_keeps_a_token() {
        let sign_in = Arc::new(
            GithubSignIn::new(
                crate::web::SignInSettings {
                    client_id: "Iv23liabc".to_owned(),
                    client_secret: SecretString::from("secret".to_owned()),
                    web_url: "https://github.com".to_owned(),
                    api_url: "https://api.github.com".to_owned(),
                    public_url: "https://ops.example.com".to_owned(),
                },
                Arc::new(promptops_core::clock::SystemClock),
            )
            .unwrap(),
        );
        let refused = Access::new(None, "0.0.0.0:3000".parse().unwrap());
        let guarded = refused.with_sign_in(Arc::clone(&sign_in));
        assert!(matches!(
            guarded,
            Access::Guarded {
                token: None,
                sign_in: Some(_)
            }
        ));
        let open = Access::new(None, "127.0.0.1:3000".parse().unwrap());
        assert!(
            matches!(
                open.with_sign_in(Arc::clone(&sign_in)),
                Access::Guarded { .. }
            ),
            "configured sign-in is required on loopback too"
        );
        let token = SecretString::from("s3cret".to_owned());
        let both = Access::new(Some(&token), "0.0.0.0:3000".parse().unwrap()).with_sign_in(sign_in);
        assert!(both.accepts("s3cret"));
        assert!(both.sign_in().is_some());
    }

    #[test]
    fn loopback_hosts_are_named_with_any_port_and_nothing_else_is() {
        for host in [
            "localhost",
            "LOCALHOST:3000",
            "127.0.0.1",
            "127.0.0.1:3000",
            "127.1.2.3:80",
            "[::1]",
            "[::1]:3000",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:3000",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "10.0.0.1:3000",
            "[::2]",
            "user@127.0.0.1",
            "127.0.0.1/x",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
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
}
