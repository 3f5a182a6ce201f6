//! What a dashboard session allows: a forged or modified cookie is refused, logout ends
//! the session and sessions expire, unlocking needs a session and its form token, the
//! token and sign-in work side by side, and half a sign-in configuration is an error.

use std::sync::Arc;

use chrono::{Duration, Utc};
use promptops::web::session::{SESSION_COOKIE, Session, SessionKey};
use promptops_store::LockOutcome;
use promptops_testkit::ManualClock;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, ORIGIN};
use secrecy::SecretString;

use crate::support::html::element_text;
use crate::support::oauth_browser::{Browser, public_bind, sign_in, with_sign_in};
use crate::support::{INSTALLATION, Options, REPO, TestService, repo_name, serve_settings};
use promptops_core::PrNumber;

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
    // The repository's min_permission (write by default), as for its /promptops commands.
    service.github.set_permission(REPO, "octocat", "write");
    assert_eq!(
        service
            .store
            .acquire_lock(&repo_name(), "train-t4", PrNumber::new(8))
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
            .lock(&repo_name(), "train-t4")
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
            .lock(&repo_name(), "train-t4")
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
