//! The loopback-open dashboard (no token, no sign-in, loopback bind) opens only through
//! the link the service logs at start: any other process on the machine — code a
//! Terraform plan runs, say — reaches the port but not the pages nor the unlock. The link
//! leaves a cookie and sends the browser on without the secret; the secret is logged in
//! that one start line and nowhere else.

use promptops_core::PrNumber;
use promptops_store::LockOutcome;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, COOKIE, LOCATION, ORIGIN};

use crate::support::html::element_text;
use crate::support::local_link::{cookies, open_local_link};
use crate::support::serve_process::ServeProcess;
use crate::support::{Options, REPO, TestService, dashboard_form_token, repo_name};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn locked(service: &TestService) -> bool {
    let lock = service.store.lock(&repo_name(), "train-t4").await.unwrap();
    lock.is_some()
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_link_pages_and_the_unlock_are_refused_with_where_to_find_it() {
    let service = TestService::start(Options::default()).await;
    let acquired = service
        .store
        .acquire_lock(&repo_name(), "train-t4", PrNumber::new(8))
        .await
        .unwrap();
    assert_eq!(acquired, LockOutcome::Acquired);
    // Another process on this machine: the right host name, no cookie, no secret.
    let local = no_redirects();
    for path in [
        "/dashboard",
        "/dashboard/runs",
        "/dashboard/runs/1",
        "/dashboard/locks",
        "/dashboard/schedules",
        "/dashboard/try",
        "/dashboard/try?prompt=one+T4",
        "/setup",
    ] {
        let response = local.get(service.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        let page = response.text().await.unwrap();
        let message = element_text(&page, "access-needed").unwrap_or_else(|| panic!("{page}"));
        assert!(message.contains("link"), "{path}: {message}");
        assert!(
            page.contains("dashboard: open http://127.0.0.1:&lt;port&gt;/dashboard?access="),
            "{path}: the page quotes the log line to look for: {page}"
        );
    }
    let form = [("repo", REPO), ("deployment", "train-t4"), ("csrf", "x.y")];
    let unlock = local
        .post(service.url("/dashboard/locks/unlock"))
        .header(ORIGIN, service.url(""))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(unlock.status(), StatusCode::UNAUTHORIZED);
    let spend = local
        .post(service.url("/dashboard/try"))
        .header(ORIGIN, service.url(""))
        .form(&[("prompt", "one T4 in us-west1")])
        .send()
        .await
        .unwrap();
    assert_eq!(spend.status(), StatusCode::UNAUTHORIZED);
    assert!(locked(&service).await, "the refused unlock left the lock");

    // A link from an earlier start, or a guessed one, is refused by name.
    let stale = local
        .get(service.url(&format!("/dashboard?access={}", "0".repeat(64))))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);
    let page = stale.text().await.unwrap();
    assert!(
        element_text(&page, "access-needed")
            .unwrap()
            .contains("not this service's"),
        "{page}"
    );

    // Health, readiness, metrics and the webhook are not the dashboard's.
    for path in ["/healthz", "/readyz", "/metrics"] {
        let response = local.get(service.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_link_leaves_a_cookie_that_opens_the_pages_and_the_unlock() {
    let service = TestService::start(Options::default()).await;
    service
        .store
        .acquire_lock(&repo_name(), "train-t4", PrNumber::new(8))
        .await
        .unwrap();
    let link = service.local_link.clone().expect("loopback-open");
    let secret = link.split_once("?access=").unwrap().1.to_owned();
    let cookie = open_local_link(&link).await;
    assert!(!cookie.contains(&secret), "the cookie is not the secret");

    let browser = no_redirects();
    let locks = browser
        .get(service.url("/dashboard/locks"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(locks.status(), StatusCode::OK);
    assert!(locks.text().await.unwrap().contains("#8"));

    // The link keeps the page's own query, without the secret.
    let with_query = browser
        .get(service.url(&format!("/dashboard/try?prompt=one+T4&access={secret}")))
        .send()
        .await
        .unwrap();
    assert_eq!(with_query.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        with_query.headers()[LOCATION].to_str().unwrap(),
        "/dashboard/try?prompt=one+T4"
    );

    let token = dashboard_form_token(
        &browser,
        &service.url("/dashboard/locks/unlock?repo=Codertocat%2FHello-World&deployment=train-t4"),
        &[("cookie", cookie.clone())],
    )
    .await;
    let unlocked = browser
        .post(service.url("/dashboard/locks/unlock"))
        .header(ORIGIN, service.url(""))
        .header(COOKIE, cookies(&[Some(&cookie), token.cookie.as_deref()]))
        .form(&[
            ("repo", REPO),
            ("deployment", "train-t4"),
            ("csrf", &token.csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(unlocked.status(), StatusCode::OK);
    let page = unlocked.text().await.unwrap();
    let notice = element_text(&page, "notice").unwrap_or_else(|| panic!("{page}"));
    assert!(notice.contains("by the operator"), "{notice}");
    assert!(!locked(&service).await);

    // Scripts send the secret itself.
    let script = browser
        .get(service.url("/dashboard/runs"))
        .header(AUTHORIZATION, format!("Bearer {secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_secret_is_logged_in_the_start_line_only() {
    let github = promptops_testkit::FakeGithub::start().await;
    let server = ServeProcess::start(&github, &[], &[("RUST_LOG", "debug".to_owned())]).await;
    let link = server.local_link().await;
    let secret = link.split_once("?access=").unwrap().1.to_owned();
    let http = no_redirects();
    // The link, the link again with a query, a POST carrying it, a request under another
    // host name and a wrong secret: none of them may bring the secret into the log.
    let cookie = open_local_link(&link).await;
    for path in [
        format!("/dashboard/runs?access={secret}&x=1"),
        format!("/dashboard/nothing-here?access={secret}"),
        format!("/dashboard?access={secret}x"),
    ] {
        http.get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
    }
    http.post(format!("{}/dashboard/try?access={secret}", server.base))
        .form(&[("prompt", "one T4")])
        .send()
        .await
        .unwrap();
    http.get(format!("{}/dashboard?access={secret}", server.base))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    let page = http
        .get(format!("{}/dashboard", server.base))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let (_, log) = server.stop().await;
    let lines: Vec<&str> = log.lines().filter(|line| line.contains(&secret)).collect();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].contains("dashboard: open http://127.0.0.1:"),
        "{}",
        lines[0]
    );
}
