//! App authentication: JWTs the fake verifies against the App's public key, installation
//! tokens minted once and reused, refreshed when revoked or about to expire.

mod client_support;

use std::time::Duration;

use client_support::{FULL, INSTALLATION, OWNER, env, key, repo_name};
use promptops_core::IssueNumber;
use promptops_github::client::{GithubApp, GithubError};
use promptops_testkit::{AuthKind, FakeGithub};
use secrecy::SecretString;

#[tokio::test]
async fn installation_token_is_minted_once_and_reused() {
    let e = env().await;
    for _ in 0..3 {
        e.api.default_branch(&repo_name()).await.unwrap();
    }
    // A second handle for the same installation shares the cached token.
    let again = e.app.installation(INSTALLATION).unwrap();
    again.branch_head(&repo_name(), "main").await.unwrap();
    assert_eq!(e.gh.token_requests(), 1);
    let installs =
        e.gh.auth_log()
            .into_iter()
            .filter(|a| *a == AuthKind::Installation(INSTALLATION))
            .count();
    assert_eq!(
        installs, 4,
        "every repository call used the installation token"
    );
}

#[tokio::test]
async fn a_revoked_token_is_replaced() {
    let e = env().await;
    e.api.default_branch(&repo_name()).await.unwrap();
    e.gh.revoke_tokens();
    assert_eq!(e.api.default_branch(&repo_name()).await.unwrap(), "main");
    assert_eq!(e.gh.token_requests(), 2);
    assert!(e.gh.auth_log().contains(&AuthKind::Rejected));
}

/// A job's first requests go out at once; the installation's token is minted for the
/// first of them and the others wait for it, instead of each minting its own.
#[tokio::test]
async fn concurrent_first_requests_mint_one_token() {
    let e = env().await;
    let repo = repo_name();
    let read = || e.api.default_branch(&repo);
    let answers = tokio::join!(read(), read(), read(), read(), read(), read());
    for branch in [
        answers.0, answers.1, answers.2, answers.3, answers.4, answers.5,
    ] {
        assert_eq!(branch.unwrap(), "main");
    }
    assert_eq!(e.gh.token_requests(), 1);
}

#[tokio::test]
async fn a_token_about_to_expire_is_refreshed_before_use() {
    let e = env().await;
    // A token that expires within a minute is renewed before a request (octocrab itself
    // renews within 30 s).
    e.gh.set_token_ttl(Duration::from_secs(45));
    e.api.default_branch(&repo_name()).await.unwrap();
    e.api.default_branch(&repo_name()).await.unwrap();
    assert_eq!(e.gh.token_requests(), 2);
    assert!(!e.gh.auth_log().contains(&AuthKind::Rejected));
}

#[tokio::test]
async fn a_key_that_is_not_the_apps_is_refused() {
    let gh = FakeGithub::start().await;
    gh.add_repo(FULL);
    gh.add_installation(1, OWNER);
    let wrong = SecretString::from(include_str!("fixtures/wrong-app-key.pem"));
    let app = GithubApp::new(&gh.url(), gh.app_id(), &wrong).unwrap();
    let err = app.app_info().await.unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    let api = app.installation(1).unwrap();
    let err = api.default_branch(&repo_name()).await.unwrap_err();
    assert!(err.to_string().contains("JSON web token"), "{err}");
    assert_eq!(gh.token_requests(), 0);
}

#[tokio::test]
async fn a_wrong_app_id_is_refused() {
    let gh = FakeGithub::start().await;
    let app = GithubApp::new(&gh.url(), gh.app_id() + 1, &key()).unwrap();
    let err = app.app_info().await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(err.to_string().contains("iss"), "{err}");
}

#[tokio::test]
async fn repositories_outside_the_installation_are_not_found() {
    let e = env().await;
    e.gh.add_repo("other-org/infra");
    let err = e
        .api
        .default_branch(&"other-org/infra".parse().unwrap())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn bad_settings_are_named() {
    let not_pem = SecretString::from("not a key");
    let err = GithubApp::new("http://127.0.0.1:9", 1, &not_pem)
        .err()
        .unwrap();
    assert!(matches!(err, GithubError::Config(_)));
    assert!(err.to_string().contains("private key"), "{err}");
    let err = GithubApp::new("ftp://example.invalid", 1, &key())
        .err()
        .unwrap();
    assert!(err.to_string().contains("GITHUB_API_URL"), "{err}");
    let err = GithubApp::new("not a url", 1, &key()).err().unwrap();
    assert!(err.to_string().contains("not a URL"), "{err}");
}

/// An error and its sources as anyhow's `{:#}` prints them (the service's error lines).
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn a_settings_error_prints_its_cause_once() {
    let err = GithubApp::new("api.github.com", 1, &key()).err().unwrap();
    let printed = chain(&err);
    assert_eq!(
        printed.matches("relative URL without a base").count(),
        1,
        "{printed}"
    );
    assert_eq!(printed.matches("GITHUB_API_URL").count(), 1, "{printed}");
    assert!(
        printed.contains("with its scheme, e.g. https://api.github.com"),
        "{printed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_share_one_handle() {
    let e = env().await;
    let issue = e.gh.add_issue(FULL, "alice", "t", "b");
    e.api.default_branch(&repo_name()).await.unwrap(); // token cached before the burst
    let mut tasks = Vec::new();
    for i in 0..8 {
        let api = e.api.clone();
        tasks.push(tokio::spawn(async move {
            api.create_comment(
                &repo_name(),
                IssueNumber::new(issue),
                &format!("comment {i}"),
            )
            .await
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap().unwrap());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 8);
    assert_eq!(e.gh.comments(FULL, issue).len(), 8);
    assert_eq!(
        e.gh.token_requests(),
        1,
        "clones of a handle share the cached token"
    );
}

#[test]
fn a_key_that_cannot_sign_is_refused_with_the_reason() {
    use promptops_github::client::{KeyProblem, signing_key};
    use promptops_testkit::{APP_PRIVATE_KEY_PEM, APP_PUBLIC_KEY_PEM};
    assert!(signing_key(APP_PRIVATE_KEY_PEM).is_ok());
    assert_eq!(
        signing_key(APP_PUBLIC_KEY_PEM).err(),
        Some(KeyProblem::PublicKey {
            label: "PUBLIC KEY".into()
        })
    );
    let escaped = APP_PRIVATE_KEY_PEM.trim().replace('\n', "\\n");
    assert_eq!(
        signing_key(&escaped).err(),
        Some(KeyProblem::EscapedLineBreaks)
    );
    assert_eq!(signing_key("not a key").err(), Some(KeyProblem::NotPem));
    // A private key's label on a public key's body: decoding takes it, signing does not.
    let body = APP_PUBLIC_KEY_PEM.replace("PUBLIC KEY", "RSA PRIVATE KEY");
    assert!(
        matches!(signing_key(&body), Err(KeyProblem::NotRsa { .. })),
        "{:?}",
        signing_key(&body).err()
    );
    // GithubApp::new checks the same way.
    let public = SecretString::from(APP_PUBLIC_KEY_PEM);
    let err = GithubApp::new("http://127.0.0.1:9", 1, &public)
        .err()
        .unwrap();
    assert!(err.to_string().contains("it is a public key"), "{err}");
}

#[tokio::test]
async fn a_repositorys_installation_is_found_as_the_app() {
    let e = env().await;
    assert_eq!(
        e.app.repo_installation(&repo_name()).await.unwrap(),
        Some(INSTALLATION)
    );
    // A repository of an account the App is not installed on, and one that does not exist.
    e.gh.add_repo("elsewhere/infra");
    let elsewhere = promptops_core::RepoName::new("elsewhere", "infra").unwrap();
    assert_eq!(e.app.repo_installation(&elsewhere).await.unwrap(), None);
    let missing = promptops_core::RepoName::new(OWNER, "missing").unwrap();
    assert_eq!(e.app.repo_installation(&missing).await.unwrap(), None);
    assert!(
        e.gh.auth_log().iter().all(|auth| *auth == AuthKind::AppJwt),
        "asked with the App's JWT, not an installation token: {:?}",
        e.gh.auth_log()
    );
}
