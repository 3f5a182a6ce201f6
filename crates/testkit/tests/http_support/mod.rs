//! What the tests of the fake over plain HTTP share: App JWTs and installation tokens.

#![allow(dead_code)] // each test binary uses a different part

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use promptops_testkit::FakeGithub;
use serde_json::{Value, json};

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn jwt(gh: &FakeGithub, iat: i64, exp: i64) -> String {
    let key = EncodingKey::from_rsa_pem(gh.private_key_pem().as_bytes()).unwrap();
    let claims = json!({ "iss": gh.app_id(), "iat": iat, "exp": exp });
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key).unwrap()
}

pub async fn token(gh: &FakeGithub, installation: u64) -> String {
    let jwt = jwt(gh, now() - 60, now() + 540);
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/app/installations/{installation}/access_tokens",
            gh.url()
        ))
        .bearer_auth(jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let v: Value = resp.json().await.unwrap();
    assert!(v["expires_at"].as_str().unwrap().ends_with('Z'));
    v["token"].as_str().unwrap().to_string()
}

pub async fn setup() -> (FakeGithub, reqwest::Client, String) {
    let gh = FakeGithub::start().await;
    gh.add_repo("acme/infra");
    gh.add_installation(9, "acme");
    let t = token(&gh, 9).await;
    (gh, reqwest::Client::new(), t)
}

/// GET `path` under the fake's URL with the installation token `t`, as JSON.
pub async fn get_json(gh: &FakeGithub, c: &reqwest::Client, t: &str, path: &str) -> Value {
    c.get(format!("{}{path}", gh.url()))
        .bearer_auth(t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
