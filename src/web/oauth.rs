//! Sign-in to the dashboard with GitHub: the web application flow for a GitHub App's user
//! access tokens. `/dashboard/login` sends the browser to GitHub's authorization page with
//! a random `state` (also kept in a short-lived signed cookie); GitHub sends it back to
//! `/dashboard/oauth/callback` with a code, exchanged for a user token; with that token
//! `GET /user` names the person and `GET /user/installations` lists the App's
//! installations they can reach. Only someone with at least one gets a session. The user
//! token is used for those two calls and then dropped: the session is a signed cookie.
//! Which repositories the session then shows is asked of GitHub as the App (`repo_access`).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use promptops_core::clock::Clock;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use subtle::ConstantTimeEq;

use super::Dashboard;
use super::html::{escape, page};
use super::session::{
    PendingSignIn, SESSION_COOKIE, STATE_COOKIE, Session, SessionKey, cookie_value, is_valid_login,
    set_cookie,
};

/// How long a session lasts: a working day.
pub const SESSION_TTL: Duration = Duration::hours(8);
/// How long the browser may take at GitHub's authorization page.
const SIGN_IN_TTL: Duration = Duration::minutes(10);
/// Where GitHub sends the browser back, below `PROMPTOPS_PUBLIC_URL`.
pub const CALLBACK_PATH: &str = "/dashboard/oauth/callback";
/// A guard against a hung GitHub, not a performance figure.
const GITHUB_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// What sign-in with GitHub needs, from the settings.
#[derive(Debug, Clone)]
pub struct SignInSettings {
    pub client_id: String,
    pub client_secret: SecretString,
    /// `GITHUB_WEB_URL`, e.g. `https://github.com`.
    pub web_url: String,
    /// `GITHUB_API_URL`, e.g. `https://api.github.com`.
    pub api_url: String,
    /// `PROMPTOPS_PUBLIC_URL`: where browsers reach this service.
    pub public_url: String,
}

/// A setting sign-in cannot work with.
#[derive(Debug, thiserror::Error)]
#[error("{setting}={value:?}: {problem}")]
pub struct SignInConfigError {
    pub setting: &'static str,
    pub value: String,
    pub problem: String,
}

fn http_url(setting: &'static str, value: &str) -> Result<String, SignInConfigError> {
    let error = |problem: &str| SignInConfigError {
        setting,
        value: value.to_owned(),
        problem: problem.to_owned(),
    };
    let parsed = url::Url::parse(value.trim())
        .map_err(|err| error(&format!("not a URL ({err}); expected e.g. https://host")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(error("must be an http:// or https:// address with a host"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(error("must not have a query or a fragment"));
    }
    Ok(value.trim().trim_end_matches('/').to_owned())
}

/// Sign-in with GitHub, configured.
pub struct GithubSignIn {
    client_id: String,
    client_secret: SecretString,
    web_url: String,
    api_url: String,
    callback_url: String,
    secure_cookies: bool,
    key: SessionKey,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for GithubSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubSignIn")
            .field("client_id", &self.client_id)
            .field("web_url", &self.web_url)
            .field("api_url", &self.api_url)
            .field("callback_url", &self.callback_url)
            .finish_non_exhaustive()
    }
}

/// Why a sign-in did not end with a session; `Display` is what the person is shown.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error(
        "sign-in was cancelled at GitHub ({error}: {description}). Sign in again and choose Authorize to see the dashboard."
    )]
    Denied { error: String, description: String },
    #[error(
        "the sign-in could not be checked: its cookie is missing or expired (it is set by /dashboard/login and lasts 10 minutes, in this browser only). Start again from /dashboard/login."
    )]
    StateMissing,
    #[error(
        "the sign-in could not be checked: the state GitHub sent back does not match the one this browser was given. Start again from /dashboard/login."
    )]
    StateMismatch,
    #[error("GitHub sent the browser back without a code. Start again from /dashboard/login.")]
    MissingCode,
    #[error(
        "GitHub refused the sign-in code ({error}: {description}). A code works once and for 10 minutes; start again from /dashboard/login."
    )]
    CodeRejected { error: String, description: String },
    #[error(
        "{login} is signed in to GitHub but is not a member of any account or repository this GitHub App is installed on, so the dashboard is not shown to them."
    )]
    NotMember { login: String },
    #[error("GitHub could not be reached ({what}): {detail}")]
    Unreachable { what: String, detail: String },
    #[error("GitHub answered {what} unexpectedly: {detail}")]
    Unexpected { what: String, detail: String },
}

impl SignInError {
    fn status(&self) -> StatusCode {
        match self {
            SignInError::Denied { .. } | SignInError::NotMember { .. } => StatusCode::FORBIDDEN,
            SignInError::StateMissing
            | SignInError::StateMismatch
            | SignInError::MissingCode
            | SignInError::CodeRejected { .. } => StatusCode::BAD_REQUEST,
            SignInError::Unreachable { .. } | SignInError::Unexpected { .. } => {
                StatusCode::BAD_GATEWAY
            }
        }
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

impl GithubSignIn {
    pub fn new(
        settings: SignInSettings,
        clock: Arc<dyn Clock>,
    ) -> Result<GithubSignIn, SignInConfigError> {
        let client_id = settings.client_id.trim().to_owned();
        if client_id.is_empty() || client_id.contains(char::is_whitespace) {
            return Err(SignInConfigError {
                setting: "GITHUB_CLIENT_ID",
                value: settings.client_id.clone(),
                problem: "must be the App's client id (e.g. Iv23li...), without spaces".to_owned(),
            });
        }
        if settings.client_secret.expose_secret().trim().is_empty() {
            return Err(SignInConfigError {
                setting: "GITHUB_CLIENT_SECRET",
                value: String::new(),
                problem: "is empty; generate a client secret on the App's settings page".to_owned(),
            });
        }
        let public_url = http_url("PROMPTOPS_PUBLIC_URL", &settings.public_url)?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("promptops/", env!("CARGO_PKG_VERSION")))
            .timeout(GITHUB_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| SignInConfigError {
                setting: "GITHUB_WEB_URL",
                value: settings.web_url.clone(),
                problem: format!("the HTTP client could not be set up: {err}"),
            })?;
        Ok(GithubSignIn {
            client_id,
            key: SessionKey::derive(&settings.client_secret),
            client_secret: settings.client_secret,
            web_url: http_url("GITHUB_WEB_URL", &settings.web_url)?,
            api_url: http_url("GITHUB_API_URL", &settings.api_url)?,
            secure_cookies: public_url.starts_with("https://"),
            callback_url: format!("{public_url}{CALLBACK_PATH}"),
            http,
            clock,
        })
    }

    pub fn key(&self) -> &SessionKey {
        &self.key
    }

    /// Where GitHub sends the browser back: `<PROMPTOPS_PUBLIC_URL>/dashboard/oauth/callback`,
    /// which must be one of the App's callback URLs.
    pub fn callback_url(&self) -> &str {
        &self.callback_url
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies
    }

    /// Now, by the clock sessions are issued and checked with.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// The signed-in session a request carries, if valid now.
    pub fn session(&self, headers: &HeaderMap) -> Option<Session> {
        let value = cookie_value(headers, SESSION_COOKIE)?;
        Session::open(&self.key, &value, self.clock.now())
    }

    fn authorize_url(&self, state: &str) -> String {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &self.callback_url)
            .append_pair("state", state)
            .finish();
        format!("{}/login/oauth/authorize?{query}", self.web_url)
    }

    /// Code → user token → login → installations → session.
    pub async fn sign_in(&self, code: &str) -> Result<Session, SignInError> {
        let token = self.exchange(code).await?;
        let user = self.api_get(&token, "/user").await?;
        let login = user["login"].as_str().unwrap_or_default().to_owned();
        if !is_valid_login(&login) {
            return Err(SignInError::Unexpected {
                what: "GET /user".to_owned(),
                detail: format!("the login {login:?} is not a GitHub login"),
            });
        }
        let installations = self
            .api_get(&token, "/user/installations?per_page=1")
            .await?;
        let count = installations["total_count"].as_u64().or_else(|| {
            installations["installations"]
                .as_array()
                .map(|list| list.len() as u64)
        });
        match count {
            Some(0) => Err(SignInError::NotMember { login }),
            Some(_) => Ok(Session {
                login,
                expires_at: self.clock.now() + SESSION_TTL,
            }),
            None => Err(SignInError::Unexpected {
                what: "GET /user/installations".to_owned(),
                detail: "no total_count and no installations list in the answer".to_owned(),
            }),
        }
    }

    async fn exchange(&self, code: &str) -> Result<SecretString, SignInError> {
        let url = format!("{}/login/oauth/access_token", self.web_url);
        let what = format!("POST {url}");
        let request = self
            .http
            .post(&url)
            .header(header::ACCEPT, "application/json")
            .form(&[
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.expose_secret()),
                ("code", code),
                ("redirect_uri", self.callback_url.as_str()),
            ]);
        let (status, body) = read_answer(request, &what).await?;
        let answer: TokenAnswer = match serde_json::from_str(&body) {
            Ok(answer) if status.is_success() => answer,
            _ => {
                return Err(SignInError::Unexpected {
                    what,
                    detail: format!("status {status}, body {:?}", excerpt(&body)),
                });
            }
        };
        match (answer.access_token, answer.error) {
            (Some(token), None) if !token.is_empty() => Ok(SecretString::from(token)),
            (_, Some(error)) => Err(SignInError::CodeRejected {
                error,
                description: answer.error_description.unwrap_or_default(),
            }),
            _ => Err(SignInError::Unexpected {
                what,
                detail: "neither access_token nor error in the answer".to_owned(),
            }),
        }
    }

    async fn api_get(&self, token: &SecretString, path: &str) -> Result<Value, SignInError> {
        let url = format!("{}{path}", self.api_url);
        let what = format!("GET {url}");
        let request = self
            .http
            .get(&url)
            .bearer_auth(token.expose_secret())
            .header(header::ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28");
        let (status, body) = read_answer(request, &what).await?;
        if !status.is_success() {
            return Err(SignInError::Unexpected {
                what,
                detail: format!("status {status}, body {:?}", excerpt(&body)),
            });
        }
        serde_json::from_str(&body).map_err(|err| SignInError::Unexpected {
            what,
            detail: format!("not JSON ({err})"),
        })
    }
}

fn excerpt(body: &str) -> String {
    body.chars().take(200).collect()
}

/// Where to go after signing in: a dashboard page, never another site nor the sign-in
/// pages themselves.
pub fn safe_next(next: Option<&str>) -> String {
    let Some(next) = next else {
        return "/dashboard".to_owned();
    };
    let in_dashboard =
        next == "/dashboard" || next.starts_with("/dashboard/") || next.starts_with("/dashboard?");
    let sign_in_page = ["/dashboard/login", "/dashboard/logout", "/dashboard/oauth"]
        .iter()
        .any(|page| next.starts_with(page));
    let plain = next
        .chars()
        .all(|c| c.is_ascii_graphic() && c != '\\' && c != '"');
    if in_dashboard && !sign_in_page && plain {
        next.to_owned()
    } else {
        "/dashboard".to_owned()
    }
}

fn not_configured() -> Response {
    (
        StatusCode::NOT_FOUND,
        page(
            "Sign-in not configured",
            "<p class=\"error\" id=\"sign-in-error\">Sign-in with GitHub is not configured for this \
             dashboard: set GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET and PROMPTOPS_PUBLIC_URL (or, with \
             an App connected through /setup, PROMPTOPS_PUBLIC_URL alone) and restart the service.</p>",
        ),
    )
        .into_response()
}

fn refusal(sign_in: &GithubSignIn, error: &SignInError) -> Response {
    tracing::warn!(%error, "dashboard sign-in refused");
    let body = format!(
        "<p class=\"error\" id=\"sign-in-error\">{}</p><p><a href=\"/dashboard/login\">Sign in again</a></p>",
        escape(&error.to_string())
    );
    let mut response = (error.status(), page("Sign-in refused", &body)).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            STATE_COOKIE,
            "",
            "/dashboard/oauth",
            0,
            sign_in.secure_cookies,
        ),
    );
    response
}

fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// `GET /dashboard/login`: off to GitHub's authorization page (or straight back when the
/// browser is already signed in).
pub async fn login(
    State(dash): State<Dashboard>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Response {
    let Some(sign_in) = dash.access.sign_in() else {
        return not_configured();
    };
    let next = safe_next(query.next.as_deref());
    if sign_in.session(&headers).is_some() {
        return see_other(&next);
    }
    let pending = PendingSignIn {
        state: format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        ),
        next,
        expires_at: sign_in.clock.now() + SIGN_IN_TTL,
    };
    let mut response = see_other(&sign_in.authorize_url(&pending.state));
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            STATE_COOKIE,
            &pending.seal(&sign_in.key),
            "/dashboard/oauth",
            SIGN_IN_TTL.num_seconds(),
            sign_in.secure_cookies,
        ),
    );
    response
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /dashboard/oauth/callback`: GitHub's answer; a session for a member.
pub async fn callback(
    State(dash): State<Dashboard>,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let Some(sign_in) = dash.access.sign_in() else {
        return not_configured();
    };
    let result = finish(sign_in, &headers, query).await;
    match result {
        Ok((session, next)) => {
            tracing::info!(login = %session.login, "signed in to the dashboard with GitHub");
            let mut response = see_other(&next);
            let cookies = response.headers_mut();
            cookies.append(
                header::SET_COOKIE,
                set_cookie(
                    SESSION_COOKIE,
                    &session.seal(&sign_in.key),
                    "/dashboard",
                    SESSION_TTL.num_seconds(),
                    sign_in.secure_cookies,
                ),
            );
            cookies.append(
                header::SET_COOKIE,
                set_cookie(
                    STATE_COOKIE,
                    "",
                    "/dashboard/oauth",
                    0,
                    sign_in.secure_cookies,
                ),
            );
            response
        }
        Err(error) => refusal(sign_in, &error),
    }
}

async fn finish(
    sign_in: &GithubSignIn,
    headers: &HeaderMap,
    query: CallbackQuery,
) -> Result<(Session, String), SignInError> {
    if let Some(error) = query.error {
        return Err(SignInError::Denied {
            error,
            description: query.error_description.unwrap_or_default(),
        });
    }
    let pending = cookie_value(headers, STATE_COOKIE)
        .and_then(|value| PendingSignIn::open(&sign_in.key, &value, sign_in.clock.now()))
        .ok_or(SignInError::StateMissing)?;
    let returned = query.state.unwrap_or_default();
    if !bool::from(returned.as_bytes().ct_eq(pending.state.as_bytes())) {
        return Err(SignInError::StateMismatch);
    }
    let code = query
        .code
        .filter(|code| !code.is_empty())
        .ok_or(SignInError::MissingCode)?;
    let session = sign_in.sign_in(&code).await?;
    Ok((session, pending.next))
}

/// Sends a request to GitHub and reads the whole answer; a transport failure names `what`.
async fn read_answer(
    request: reqwest::RequestBuilder,
    what: &str,
) -> Result<(reqwest::StatusCode, String), SignInError> {
    let unreachable = |err: reqwest::Error| SignInError::Unreachable {
        what: what.to_owned(),
        detail: err.without_url().to_string(),
    };
    let response = request.send().await.map_err(unreachable)?;
    let status = response.status();
    let body = response.text().await.map_err(unreachable)?;
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dashboard_pages_are_returned_to() {
        assert_eq!(safe_next(None), "/dashboard");
        assert_eq!(safe_next(Some("/dashboard/runs/3")), "/dashboard/runs/3");
        assert_eq!(
            safe_next(Some("/dashboard?x=1")),
            "/dashboard?x=1".to_owned()
        );
        for bad in [
            "https://evil.example/",
            "//evil.example/dashboard",
            "/dashboardx",
            "/dashboard/login?next=/dashboard",
            "/dashboard/oauth/callback",
            "/dashboard/\\evil",
            "/dashboard/ spaced",
        ] {
            assert_eq!(safe_next(Some(bad)), "/dashboard", "{bad}");
        }
    }

    fn settings(public_url: &str) -> SignInSettings {
        SignInSettings {
            client_id: "Iv23liabc".to_owned(),
            client_secret: SecretString::from("secret".to_owned()),
            web_url: "https://github.com/".to_owned(),
            api_url: "https://api.github.com".to_owned(),
            public_url: public_url.to_owned(),
        }
    }

    #[test]
    fn settings_are_checked_and_name_the_bad_one() {
        let clock: Arc<dyn Clock> = Arc::new(promptops_core::clock::SystemClock);
        let sign_in = GithubSignIn::new(settings("https://ops.example.com/"), clock.clone())
            .expect("valid settings");
        assert!(sign_in.secure_cookies());
        let url = sign_in.authorize_url("abc");
        assert!(
            url.starts_with("https://github.com/login/oauth/authorize?client_id=Iv23liabc&redirect_uri=https%3A%2F%2Fops.example.com%2Fdashboard%2Foauth%2Fcallback&state=abc"),
            "{url}"
        );
        let plain = GithubSignIn::new(settings("http://127.0.0.1:3000"), clock.clone()).unwrap();
        assert!(!plain.secure_cookies());
        let err = GithubSignIn::new(settings("ops.example.com"), clock).unwrap_err();
        assert_eq!(err.setting, "PROMPTOPS_PUBLIC_URL");
        assert!(err.to_string().contains("ops.example.com"), "{err}");
    }
}
