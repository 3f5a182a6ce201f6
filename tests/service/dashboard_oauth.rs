//! Sign-in to the dashboard with GitHub, over HTTP against the fake GitHub's OAuth web
//! flow: the redirect dance a browser follows (redirects followed by hand, cookies kept
//! as a browser keeps them), who is let in, and what a session allows.

use crate::support::{self, serve_settings};

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{Duration, Utc};
use promptops::web::session::{SESSION_COOKIE, STATE_COOKIE, Session, SessionKey};
use promptops_store::{LockOutcome, NewRun, RunStatus};
use promptops_testkit::ManualClock;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, LOCATION, ORIGIN, SET_COOKIE};
use secrecy::SecretString;
use support::{INSTALLATION, Options, REPO, TestService};

const HTML: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// As if bound to every interface: without sign-in configured this would be refused.
fn public_bind() -> Option<SocketAddr> {
    Some("0.0.0.0:3000".parse().unwrap())
}

async fn with_sign_in() -> TestService {
    TestService::start(Options {
        github_sign_in: true,
        dashboard_bind: public_bind(),
        ..Options::default()
    })
    .await
}

/// One answer on the way, as the browser saw it.
#[derive(Debug)]
struct Hop {
    url: String,
    status: StatusCode,
    set_cookies: Vec<String>,
}

/// A browser: follows redirects by hand, keeps cookies per host (ports ignored, as
/// browsers do), sends them back, asks for HTML.
struct Browser {
    http: reqwest::Client,
    jar: BTreeMap<String, String>,
    hops: Vec<Hop>,
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: BTreeMap::new(),
            hops: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, response: &reqwest::Response) -> Vec<String> {
        let mut seen = Vec::new();
        for value in response.headers().get_all(SET_COOKIE) {
            let line = value.to_str().unwrap().to_owned();
            let (pair, attributes) = line.split_once(';').unwrap_or((&line, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_owned(), value.to_owned());
            }
            seen.push(line);
        }
        seen
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> reqwest::Response {
        let response = request
            .header(ACCEPT, HTML)
            .header(reqwest::header::COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        let set_cookies = self.keep_cookies(&response);
        self.hops.push(Hop {
            url: response.url().to_string(),
            status: response.status(),
            set_cookies,
        });
        response
    }

    /// GETs `url` and follows redirects; the last answer's status, address and page.
    async fn open(&mut self, url: &str) -> (StatusCode, String, String) {
        let mut url = url::Url::parse(url).unwrap();
        for _ in 0..10 {
            let response = self.send(self.http.get(url.clone())).await;
            if response.status().is_redirection() {
                let location = response.headers()[LOCATION].to_str().unwrap();
                url = url.join(location).unwrap();
                continue;
            }
            let status = response.status();
            return (status, url.to_string(), response.text().await.unwrap());
        }
        panic!("more than 10 redirects: {:#?}", self.hops);
    }

    fn session_cookie(&self) -> Option<&str> {
        self.jar.get(SESSION_COOKIE).map(String::as_str)
    }
}

/// The text of the element with `id="<id>"`.
fn element_text(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let open_end = start + html[start..].find('>')? + 1;
    let close = open_end + html[open_end..].find("</")?;
    Some(
        html[open_end..close]
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&"),
    )
}

/// Signs `login` in through the whole flow and checks where it ends.
async fn sign_in(service: &TestService, login: &str) -> Browser {
    service.github.set_oauth_user(login);
    let mut browser = Browser::new();
    let (status, url, page) = browser.open(&service.url("/dashboard/runs")).await;
    assert_eq!(status, StatusCode::OK, "{page}\n{:#?}", browser.hops);
    assert_eq!(
        url,
        service.url("/dashboard/runs"),
        "back on the page asked for"
    );
    assert_eq!(
        element_text(&page, "login").as_deref(),
        Some(login),
        "{page}"
    );
    browser
}

#[tokio::test(flavor = "multi_thread")]
async fn anonymous_pages_redirect_to_sign_in_and_other_requests_get_401() {
    let service = with_sign_in().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in [
        "/dashboard",
        "/dashboard/runs",
        "/dashboard/locks",
        "/dashboard/try",
    ] {
        let page = http
            .get(service.url(path))
            .header(ACCEPT, HTML)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::SEE_OTHER, "{path}");
        let location = page.headers()[LOCATION].to_str().unwrap().to_owned();
        let expected = format!(
            "/dashboard/login?next={}",
            url::form_urlencoded::byte_serialize(path.as_bytes()).collect::<String>()
        );
        assert_eq!(location, expected);

        let api = http.get(service.url(path)).send().await.unwrap();
        assert_eq!(api.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert!(
            api.text().await.unwrap().contains("sign in with GitHub"),
            "the 401 says how to get in"
        );
    }
    let post = http
        .post(service.url("/dashboard/locks/unlock"))
        .header(ACCEPT, HTML)
        .form(&[("repo", REPO), ("deployment", "d")])
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::UNAUTHORIZED);

    // The sign-in page itself sends the browser to GitHub with a state bound to a cookie.
    let login = http
        .get(service.url("/dashboard/login?next=/dashboard/locks"))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let authorize = url::Url::parse(login.headers()[LOCATION].to_str().unwrap()).unwrap();
    assert_eq!(
        authorize.as_str().split('?').next().unwrap(),
        format!("{}/login/oauth/authorize", service.github.url())
    );
    let query: BTreeMap<String, String> = authorize.query_pairs().into_owned().collect();
    assert_eq!(query["client_id"], service.github.oauth_client_id());
    assert_eq!(
        query["redirect_uri"],
        service.url("/dashboard/oauth/callback")
    );
    assert!(query["state"].len() >= 32, "a random state: {query:?}");
    let state_cookie = login.headers()[SET_COOKIE].to_str().unwrap();
    assert!(state_cookie.starts_with(&format!("{STATE_COOKIE}=")));
    assert!(state_cookie.contains("HttpOnly") && state_cookie.contains("SameSite=Lax"));
    assert!(state_cookie.contains("Max-Age=600"), "{state_cookie}");
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_signs_in_through_github_and_sees_the_runs_page_with_their_login() {
    let service = with_sign_in().await;
    service
        .github
        .add_installation_member(INSTALLATION, "octocat");
    let id = service
        .store
        .insert_run(&NewRun {
            repo: REPO.to_owned(),
            pr: Some(4),
            deployment: "serve-l4".to_owned(),
            kind: "plan".to_owned(),
            sha: Some("abc".to_owned()),
        })
        .await
        .unwrap();
    service
        .store
        .finish_run(id, RunStatus::Succeeded, "Plan: 1 to add", "ok")
        .await
        .unwrap();

    service.github.set_oauth_user("octocat");
    let mut browser = Browser::new();
    let (status, url, page) = browser.open(&service.url("/dashboard/runs")).await;
    assert_eq!(status, StatusCode::OK, "{page}\n{:#?}", browser.hops);
    assert_eq!(url, service.url("/dashboard/runs"));
    assert_eq!(element_text(&page, "login").as_deref(), Some("octocat"));
    assert!(page.contains(&format!("id=\"run-{id}\"")), "{page}");
    assert!(page.contains("serve-l4"));

    // The way there: dashboard → sign-in → GitHub → callback → the page asked for.
    let path_of = |hop: &Hop| url::Url::parse(&hop.url).unwrap().path().to_owned();
    let paths: Vec<String> = browser.hops.iter().map(path_of).collect();
    let statuses: Vec<u16> = browser.hops.iter().map(|hop| hop.status.as_u16()).collect();
    assert_eq!(statuses, [303, 303, 302, 303, 200], "{:#?}", browser.hops);
    assert_eq!(
        paths,
        [
            "/dashboard/runs",
            "/dashboard/login",
            "/login/oauth/authorize",
            "/dashboard/oauth/callback",
            "/dashboard/runs"
        ]
    );
    let callback = &browser.hops[3];
    let session_line = callback
        .set_cookies
        .iter()
        .find(|line| line.starts_with(&format!("{SESSION_COOKIE}=")))
        .unwrap_or_else(|| panic!("no session cookie: {callback:?}"));
    for attribute in [
        "HttpOnly",
        "SameSite=Lax",
        "Path=/dashboard",
        "Max-Age=28800",
    ] {
        assert!(session_line.contains(attribute), "{session_line}");
    }
    assert!(
        !session_line.contains("Secure"),
        "served over http here, so not Secure: {session_line}"
    );
    assert!(
        !browser.jar.contains_key(STATE_COOKIE),
        "the sign-in state is single-use"
    );
    assert_eq!(service.github.oauth_tokens_issued(), 1);

    // The session serves the next pages without asking GitHub again.
    let (status, _, locks) = browser.open(&service.url("/dashboard/locks")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(element_text(&locks, "login").as_deref(), Some("octocat"));
    assert_eq!(service.github.oauth_tokens_issued(), 1);

    // Another replica with the same client secret accepts the session: nothing is kept
    // in memory.
    let replica = TestService::start_with(
        service.github.clone(),
        Options {
            github_sign_in: true,
            dashboard_bind: public_bind(),
            ..Options::default()
        },
    )
    .await;
    let (status, url, page) = browser.open(&replica.url("/dashboard")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(url, replica.url("/dashboard"));
    assert_eq!(element_text(&page, "login").as_deref(), Some("octocat"));
    replica.stop().await;
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_non_member_is_refused_with_a_clear_message() {
    let service = with_sign_in().await;
    service
        .github
        .add_installation_member(INSTALLATION, "octocat");
    service.github.set_oauth_user("mallory");
    let mut browser = Browser::new();
    let (status, url, page) = browser.open(&service.url("/dashboard")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    assert!(url.starts_with(&service.url("/dashboard/oauth/callback")));
    let message = element_text(&page, "sign-in-error").unwrap_or_else(|| panic!("{page}"));
    assert!(
        message.contains("mallory") && message.contains("not a member"),
        "{message}"
    );
    assert_eq!(browser.session_cookie(), None);
    // Still not in.
    let (_, url, _) = browser.open(&service.url("/dashboard/runs")).await;
    assert!(
        url.starts_with(&service.url("/dashboard/oauth/callback")),
        "{url}"
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn denied_consent_a_bad_state_and_a_failing_github_are_refused_by_name() {
    let service = with_sign_in().await;
    service
        .github
        .add_installation_member(INSTALLATION, "octocat");

    service.github.deny_oauth();
    let mut denied = Browser::new();
    let (status, _, page) = denied.open(&service.url("/dashboard")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let message = element_text(&page, "sign-in-error").unwrap();
    assert!(
        message.contains("cancelled") && message.contains("access_denied"),
        "{message}"
    );
    assert_eq!(denied.session_cookie(), None);

    // GitHub approves, but the state that comes back is not the one this browser got.
    service.github.set_oauth_user("octocat");
    let mut browser = Browser::new();
    let login = browser
        .send(browser.http.get(service.url("/dashboard/login")))
        .await;
    let authorize = url::Url::parse(login.headers()[LOCATION].to_str().unwrap()).unwrap();
    let back = browser.send(browser.http.get(authorize.clone())).await;
    let callback = url::Url::parse(back.headers()[LOCATION].to_str().unwrap()).unwrap();
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let forged = format!(
        "{}?code={code}&state=0123456789abcdef0123456789abcdef",
        service.url("/dashboard/oauth/callback")
    );
    let (status, _, page) = browser.open(&forged).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        element_text(&page, "sign-in-error")
            .unwrap()
            .contains("does not match"),
        "{page}"
    );
    assert_eq!(browser.session_cookie(), None);
    assert_eq!(
        service.github.oauth_tokens_issued(),
        0,
        "a bad state stops before the code is exchanged"
    );

    // The callback in a browser that never started a sign-in (no state cookie).
    let mut stranger = Browser::new();
    let (status, _, page) = stranger.open(callback.as_str()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        element_text(&page, "sign-in-error")
            .unwrap()
            .contains("cookie is missing or expired"),
        "{page}"
    );

    // GitHub fails while listing the user's installations.
    service
        .github
        .fail_next("GET", "/user/installations", 503, &[], 1);
    let mut unlucky = Browser::new();
    let (status, _, page) = unlucky.open(&service.url("/dashboard")).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    let message = element_text(&page, "sign-in-error").unwrap();
    assert!(
        message.contains("/user/installations") && message.contains("503"),
        "{message}"
    );
    assert_eq!(unlucky.session_cookie(), None);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_github_is_named_on_the_refusal_page() {
    // Nothing listens on the web address given for GitHub.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let web_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let service = TestService::start(Options {
        github_sign_in: true,
        github_web_url: Some(web_url.clone()),
        dashboard_bind: public_bind(),
        ..Options::default()
    })
    .await;
    let mut browser = Browser::new();
    let login = browser
        .send(browser.http.get(service.url("/dashboard/login")))
        .await;
    let authorize = url::Url::parse(login.headers()[LOCATION].to_str().unwrap()).unwrap();
    assert!(authorize.as_str().starts_with(&web_url));
    let state = authorize
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let (status, _, page) = browser
        .open(&format!(
            "{}?code=abc&state={state}",
            service.url("/dashboard/oauth/callback")
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    let message = element_text(&page, "sign-in-error").unwrap();
    assert!(
        message.contains("could not be reached")
            && message.contains(&format!("{web_url}/login/oauth/access_token")),
        "{message}"
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forged_or_modified_session_cookie_is_refused() {
    let service = with_sign_in().await;
    service
        .github
        .add_installation_member(INSTALLATION, "octocat");
    let browser = sign_in(&service, "octocat").await;
    let genuine = browser.session_cookie().unwrap().to_owned();
    let http = reqwest::Client::new();
    let with_cookie = |value: String| {
        http.get(service.url("/dashboard/runs"))
            .header(reqwest::header::COOKIE, format!("{SESSION_COOKIE}={value}"))
            .send()
    };
    assert_eq!(
        with_cookie(genuine.clone()).await.unwrap().status(),
        StatusCode::OK
    );

    let (login, rest) = genuine.split_once('.').unwrap();
    assert_eq!(login, "octocat");
    let (expiry, mac) = rest.split_once('.').unwrap();
    let later: i64 = expiry.parse::<i64>().unwrap() + 86_400 * 365;
    let mut flipped_mac = mac.to_owned();
    let last = flipped_mac.pop().unwrap();
    flipped_mac.push(if last == '0' { '1' } else { '0' });
    // Signed as the session format says, but with a key not derived from this secret.
    let other_key = SessionKey::derive(&SecretString::from("not-the-client-secret".to_owned()));
    let foreign = Session {
        login: "octocat".to_owned(),
        expires_at: Utc::now() + Duration::hours(1),
    }
    .seal(&other_key);
    for forged in [
        format!("admin.{rest}"),
        format!("{login}.{later}.{mac}"),
        format!("{login}.{expiry}.{flipped_mac}"),
        format!("{login}.{later}"),
        foreign,
        "octocat".to_owned(),
    ] {
        let response = with_cookie(forged.clone()).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{forged}");
    }
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_callback_code_fails() {
    let service = with_sign_in().await;
    service
        .github
        .add_installation_member(INSTALLATION, "octocat");
    let mut browser = sign_in(&service, "octocat").await;
    let callback = browser
        .hops
        .iter()
        .find(|hop| hop.url.contains("/dashboard/oauth/callback"))
        .unwrap()
        .url
        .clone();
    // The state cookie as it was when the callback first arrived, so that only the code
    // is stale on the second try.
    let state_cookie = browser
        .hops
        .iter()
        .flat_map(|hop| &hop.set_cookies)
        .find(|line| line.starts_with(&format!("{STATE_COOKIE}=")) && !line.contains("Max-Age=0"))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    browser.jar.clear();
    browser.jar.insert(STATE_COOKIE.to_owned(), state_cookie);
    let (status, _, page) = browser.open(&callback).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    let message = element_text(&page, "sign-in-error").unwrap();
    assert!(
        message.contains("GitHub refused the sign-in code")
            && message.contains("bad_verification_code"),
        "{message}"
    );
    assert_eq!(browser.session_cookie(), None);
    assert_eq!(service.github.oauth_tokens_issued(), 1);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_ends_the_session_and_sessions_expire() {
    let clock = ManualClock::new(Utc::now());
    let service = TestService::start(Options {
        github_sign_in: true,
        dashboard_bind: public_bind(),
        sign_in_clock: Some(Arc::new(clock.clone())),
        ..Options::default()
    })
    .await;
    service
        .github
        .add_installation_member(INSTALLATION, "octocat");
    let mut browser = sign_in(&service, "octocat").await;
    let session = browser.session_cookie().unwrap().to_owned();
    // The Sign out button's form carries the session's token.
    let (_, _, page) = browser.open(&service.url("/dashboard/runs")).await;
    let marker = "action=\"/dashboard/logout\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"";
    let at = page
        .find(marker)
        .unwrap_or_else(|| panic!("the sign-out form carries a csrf field: {page}"))
        + marker.len();
    let csrf = page[at..at + page[at..].find('"').unwrap()].to_owned();
    // Another site cannot sign people out, nor a form without the token.
    for (origin, form) in [
        (
            "https://evil.example".to_owned(),
            vec![("csrf", csrf.clone())],
        ),
        (service.url(""), vec![("csrf", "0".repeat(csrf.len()))]),
        (service.url(""), vec![("next", "/".to_owned())]),
    ] {
        let refused = browser
            .send(
                browser
                    .http
                    .post(service.url("/dashboard/logout"))
                    .header(ORIGIN, &origin)
                    .form(&form),
            )
            .await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{origin} {form:?}");
        assert_eq!(browser.session_cookie(), Some(session.as_str()));
    }
    let signed_out_by_get = browser
        .send(browser.http.get(service.url("/dashboard/logout")))
        .await;
    assert_eq!(signed_out_by_get.status(), StatusCode::METHOD_NOT_ALLOWED);
    let logout = browser
        .send(
            browser
                .http
                .post(service.url("/dashboard/logout"))
                .header(ORIGIN, service.url(""))
                .form(&[("csrf", csrf)]),
        )
        .await;
    assert_eq!(logout.status(), StatusCode::OK);
    assert!(logout.text().await.unwrap().contains("signed out"));
    assert_eq!(browser.session_cookie(), None, "the cookie was deleted");
    let response = browser
        .send(browser.http.get(service.url("/dashboard/runs")))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // A copy of the cookie lasts 8 hours, not longer.
    let with_copy = |browser: &Browser| {
        browser
            .http
            .get(service.url("/dashboard/runs"))
            .header(
                reqwest::header::COOKIE,
                format!("{SESSION_COOKIE}={session}"),
            )
            .send()
    };
    clock.advance(Duration::hours(7));
    assert_eq!(with_copy(&browser).await.unwrap().status(), StatusCode::OK);
    clock.advance(Duration::hours(1) + Duration::seconds(1));
    assert_eq!(
        with_copy(&browser).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unlock_requires_a_session_and_its_form_token_and_records_the_login() {
    let service = with_sign_in().await;
    service
        .github
        .add_installation_member(INSTALLATION, "octocat");
    assert_eq!(
        service
            .store
            .acquire_lock(REPO, "train-t4", 8)
            .await
            .unwrap(),
        LockOutcome::Acquired
    );
    let unlock = |browser: &Browser, form: Vec<(&'static str, String)>| {
        browser
            .http
            .post(service.url("/dashboard/locks/unlock"))
            .header(ORIGIN, service.url(""))
            .header(reqwest::header::COOKIE, browser.cookie_header())
            .form(&form)
            .send()
    };
    let base_form = vec![
        ("repo", REPO.to_owned()),
        ("deployment", "train-t4".to_owned()),
    ];

    let anonymous = unlock(&Browser::new(), base_form.clone()).await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let mut browser = sign_in(&service, "octocat").await;
    let (_, _, locks) = browser.open(&service.url("/dashboard/locks")).await;
    let marker = "name=\"csrf\" value=\"";
    let at = locks
        .find(marker)
        .unwrap_or_else(|| panic!("the unlock form carries a csrf field: {locks}"))
        + marker.len();
    let csrf = locks[at..at + locks[at..].find('"').unwrap()].to_owned();

    let without_token = unlock(&browser, base_form.clone()).await.unwrap();
    assert_eq!(without_token.status(), StatusCode::FORBIDDEN);
    let mut wrong = base_form.clone();
    wrong.push(("csrf", "0".repeat(csrf.len())));
    assert_eq!(
        unlock(&browser, wrong).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert!(
        service
            .store
            .lock(REPO, "train-t4")
            .await
            .unwrap()
            .is_some(),
        "refused unlocks leave the lock"
    );

    let mut form = base_form.clone();
    form.push(("csrf", csrf));
    let unlocked = unlock(&browser, form).await.unwrap();
    assert_eq!(unlocked.status(), StatusCode::OK);
    let page = unlocked.text().await.unwrap();
    let notice = element_text(&page, "notice").unwrap_or_else(|| panic!("{page}"));
    assert!(
        notice.contains("train-t4") && notice.contains("#8") && notice.contains("by octocat"),
        "{notice}"
    );
    assert!(
        service
            .store
            .lock(REPO, "train-t4")
            .await
            .unwrap()
            .is_none()
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_both_configured_the_token_still_works_and_sign_in_too() {
    let service = TestService::start(Options {
        github_sign_in: true,
        dashboard_token: Some("both-token".to_owned()),
        dashboard_bind: public_bind(),
        ..Options::default()
    })
    .await;
    service
        .github
        .add_installation_member(INSTALLATION, "octocat");
    let by_token = service
        .http
        .get(service.url("/dashboard/runs"))
        .header(AUTHORIZATION, "Bearer both-token")
        .send()
        .await
        .unwrap();
    assert_eq!(by_token.status(), StatusCode::OK);
    let page = by_token.text().await.unwrap();
    assert!(element_text(&page, "login").is_none(), "nobody signed in");
    let wrong = service
        .http
        .get(service.url("/dashboard/runs"))
        .header(AUTHORIZATION, "Bearer wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let message = wrong.text().await.unwrap();
    assert!(
        message.contains("sign in with GitHub") && message.contains("PROMPTOPS_DASHBOARD_TOKEN"),
        "{message}"
    );
    sign_in(&service, "octocat").await;
    service.stop().await;
}

#[test]
fn half_a_sign_in_configuration_is_an_error_naming_what_is_missing() {
    assert!(serve_settings(&[]).dashboard_sign_in().unwrap().is_none());
    let complete = serve_settings(&[
        "--github-client-id",
        "Iv23liabc",
        "--github-client-secret",
        "s3cret",
        "--public-url",
        "https://ops.example.com",
    ])
    .dashboard_sign_in()
    .unwrap()
    .expect("sign-in configured");
    assert_eq!(complete.client_id, "Iv23liabc");
    assert_eq!(
        complete.web_url, "https://github.com",
        "the default web root"
    );
    assert_eq!(complete.api_url, "https://api.github.com");
    assert_eq!(complete.public_url, "https://ops.example.com");

    let no_secret = serve_settings(&["--github-client-id", "Iv23liabc"])
        .dashboard_sign_in()
        .unwrap_err()
        .to_string();
    assert!(no_secret.contains("GITHUB_CLIENT_SECRET"), "{no_secret}");
    let no_public_url = serve_settings(&[
        "--github-client-id",
        "Iv23liabc",
        "--github-client-secret",
        "s3cret",
    ])
    .dashboard_sign_in()
    .unwrap_err()
    .to_string();
    assert!(
        no_public_url.contains("PROMPTOPS_PUBLIC_URL"),
        "{no_public_url}"
    );
}
