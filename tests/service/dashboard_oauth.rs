//! Sign-in to the dashboard with GitHub, over HTTP against the fake GitHub's OAuth web
//! flow: the redirect dance a browser follows (redirects followed by hand, cookies kept
//! as a browser keeps them) and who is let in. (What a session allows: `dashboard_sessions`.)

use promptops_store::RunKind;
use std::collections::BTreeMap;

use promptops::web::session::{SESSION_COOKIE, STATE_COOKIE};
use promptops_store::{NewRun, RunStatus};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, LOCATION, SET_COOKIE};

use crate::support::html::element_text;
use crate::support::oauth_browser::{Browser, HTML, Hop, public_bind, sign_in, with_sign_in};
use crate::support::{INSTALLATION, Options, REPO, TestService, commit_sha, repo_name};
use promptops_core::PrNumber;

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
    // The runs of a repository are shown to those GitHub lets read it.
    service.github.set_permission(REPO, "octocat", "read");
    let id = service
        .store
        .insert_run(&NewRun {
            repo: repo_name(),
            pr: Some(PrNumber::new(4)),
            deployment: "serve-l4".to_owned(),
            kind: RunKind::Plan,
            sha: Some(commit_sha("abc")),
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
