//! The fake's OAuth web application flow over plain HTTP: consent redirects, single-use
//! codes, client credentials, and the user endpoints that name the user and the
//! installations they can reach.

use std::collections::HashMap;

use promptops_testkit::FakeGithub;
use serde_json::Value;

const CALLBACK: &str = "http://127.0.0.1:9/dashboard/oauth/callback";

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Follows the authorization page once; returns the query GitHub sends back.
async fn authorize(gh: &FakeGithub, client_id: &str, state: &str) -> HashMap<String, String> {
    let response = no_redirects()
        .get(format!("{}/login/oauth/authorize", gh.url()))
        .query(&[
            ("client_id", client_id),
            ("redirect_uri", CALLBACK),
            ("state", state),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302, "authorize redirects back");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let (base, query) = location.split_once('?').unwrap();
    assert_eq!(base, CALLBACK);
    url_query(query)
}

fn url_query(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| {
            (
                k.to_owned(),
                percent_encoding::percent_decode_str(v)
                    .decode_utf8_lossy()
                    .into_owned(),
            )
        })
        .collect()
}

async fn exchange(gh: &FakeGithub, secret: &str, code: &str) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}/login/oauth/access_token", gh.url()))
        .header("accept", "application/json")
        .form(&[
            ("client_id", gh.oauth_client_id().as_str()),
            ("client_secret", secret),
            ("code", code),
            ("redirect_uri", CALLBACK),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "GitHub answers errors with 200 too");
    response.json().await.unwrap()
}

async fn get_json(gh: &FakeGithub, path: &str, token: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", gh.url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn an_approved_code_is_exchanged_once_for_a_token_that_names_the_user() {
    let gh = FakeGithub::start().await;
    gh.add_installation(7, "acme");
    gh.add_installation(8, "other-org");
    gh.add_installation_member(7, "Octocat");
    gh.set_oauth_user("octocat");

    let back = authorize(&gh, &gh.oauth_client_id(), "st4te/+x").await;
    assert_eq!(back["state"], "st4te/+x", "state comes back verbatim");
    let code = back["code"].clone();

    let wrong_secret = exchange(&gh, "not-the-secret", &code).await;
    assert_eq!(wrong_secret["error"], "incorrect_client_credentials");

    let granted = exchange(&gh, &gh.oauth_client_secret(), &code).await;
    let token = granted["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {granted}"))
        .to_owned();
    assert!(token.starts_with("ghu_"), "{token}");
    assert_eq!(gh.oauth_tokens_issued(), 1);

    let replayed = exchange(&gh, &gh.oauth_client_secret(), &code).await;
    assert_eq!(replayed["error"], "bad_verification_code");
    assert_eq!(gh.oauth_tokens_issued(), 1);

    let (status, user) = get_json(&gh, "/user", &token).await;
    assert_eq!(status, 200);
    assert_eq!(user["login"], "octocat");

    let (status, listed) = get_json(&gh, "/user/installations", &token).await;
    assert_eq!(status, 200);
    assert_eq!(listed["total_count"], 1, "{listed}");
    assert_eq!(listed["installations"][0]["id"], 7);
    assert_eq!(listed["installations"][0]["account"]["login"], "acme");

    let (status, _) = get_json(&gh, "/user", "ghu_forged").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_non_member_sees_no_installation_and_a_denial_redirects_with_an_error() {
    let gh = FakeGithub::start().await;
    gh.add_installation(7, "acme");
    gh.set_oauth_user("mallory");
    let code = authorize(&gh, &gh.oauth_client_id(), "s").await["code"].clone();
    let granted = exchange(&gh, &gh.oauth_client_secret(), &code).await;
    let token = granted["access_token"].as_str().unwrap().to_owned();
    let (_, listed) = get_json(&gh, "/user/installations", &token).await;
    assert_eq!(listed["total_count"], 0, "{listed}");
    assert_eq!(listed["installations"], Value::Array(vec![]));

    gh.deny_oauth();
    let back = authorize(&gh, &gh.oauth_client_id(), "s2").await;
    assert_eq!(back["error"], "access_denied");
    assert_eq!(back["state"], "s2");
    assert!(!back.contains_key("code"));

    let unknown_client = no_redirects()
        .get(format!("{}/login/oauth/authorize", gh.url()))
        .query(&[("client_id", "Iv1.unknown"), ("redirect_uri", CALLBACK)])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_client.status(), 404);
}
