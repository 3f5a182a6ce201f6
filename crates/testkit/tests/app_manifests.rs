//! The fake's App manifest flow over HTTP: the form post redirects with a code and the
//! state, the code converts once into a new App, and from then on the fake authenticates
//! that App (its id and key) and refuses the previous one.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use promptops_testkit::{APP_PRIVATE_KEY_PEM, FakeGithub, MANIFEST_APP_PRIVATE_KEY_PEM};
use serde_json::{Value, json};

fn manifest(redirect: &str) -> Value {
    json!({
        "name": "PromptOps Test",
        "url": "https://promptops.example.com",
        "hook_attributes": { "url": "https://promptops.example.com/webhook" },
        "redirect_url": redirect,
        "public": false,
        "default_permissions": { "issues": "write", "metadata": "read" },
        "default_events": ["issues"],
    })
}

fn jwt(app_id: u64, pem: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
    let claims = json!({ "iss": app_id, "iat": now - 60, "exp": now + 540 });
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key).unwrap()
}

async fn get_app(gh: &FakeGithub, app_id: u64, pem: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}/app", gh.url()))
        .bearer_auth(jwt(app_id, pem))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_posted_manifest_redirects_with_a_code_that_converts_once_into_the_new_app() {
    let gh = FakeGithub::start().await;
    let old_id = gh.app_id();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = "https://promptops.example.com/setup/callback";
    let posted = http
        .post(format!(
            "{}/organizations/acme/settings/apps/new?state=s%2F1",
            gh.url()
        ))
        .form(&[("manifest", manifest(redirect).to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 302);
    let location = posted.headers()["location"].to_str().unwrap().to_string();
    let url = url_parts(&location);
    assert_eq!(url.0, redirect);
    assert_eq!(url.1.get("state").map(String::as_str), Some("s/1"));
    let code = url.1["code"].clone();
    let registered = gh.registered_manifests();
    assert_eq!(registered.len(), 1);
    assert_eq!(registered[0].organization.as_deref(), Some("acme"));
    assert_eq!(registered[0].manifest["name"], "PromptOps Test");
    assert!(!registered[0].converted);

    let convert = || {
        http.post(format!("{}/app-manifests/{code}/conversions", gh.url()))
            .send()
    };
    let first = convert().await.unwrap();
    assert_eq!(first.status(), 201);
    let app: Value = first.json().await.unwrap();
    let id = app["id"].as_u64().unwrap();
    assert_ne!(id, old_id);
    assert_eq!(app["slug"], "promptops-test");
    assert_eq!(app["owner"]["login"], "acme");
    assert_eq!(app["permissions"]["issues"], "write");
    assert_eq!(app["events"], json!(["issues"]));
    assert_eq!(app["pem"], MANIFEST_APP_PRIVATE_KEY_PEM);
    assert!(app["webhook_secret"].as_str().unwrap().len() >= 32);
    assert!(app["client_id"].as_str().unwrap().starts_with("Iv1."));
    assert!(
        app["html_url"]
            .as_str()
            .unwrap()
            .ends_with("/apps/promptops-test")
    );
    assert!(gh.registered_manifests()[0].converted);
    assert_eq!(gh.created_apps().len(), 1);
    assert_eq!(gh.created_apps()[0].webhook_secret, app["webhook_secret"]);

    let again = convert().await.unwrap();
    assert_eq!(again.status(), 404, "a code converts only once");
    assert_eq!(gh.created_apps().len(), 1);

    assert_eq!(gh.app_id(), id);
    assert_eq!(gh.private_key_pem(), MANIFEST_APP_PRIVATE_KEY_PEM);
    assert_eq!(
        get_app(&gh, id, MANIFEST_APP_PRIVATE_KEY_PEM)
            .await
            .status(),
        200
    );
    assert_eq!(
        get_app(&gh, id, APP_PRIVATE_KEY_PEM).await.status(),
        401,
        "the previous key no longer signs for the App"
    );
    assert_eq!(
        get_app(&gh, old_id, MANIFEST_APP_PRIVATE_KEY_PEM)
            .await
            .status(),
        401,
        "the previous App id is no longer accepted"
    );
}

#[tokio::test]
async fn unknown_codes_and_bad_manifests_are_refused() {
    let gh = FakeGithub::start().await;
    let http = reqwest::Client::new();
    let unknown = http
        .post(format!("{}/app-manifests/nope/conversions", gh.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    let mut bad = manifest("https://x.example/cb");
    bad["default_permissions"]["contents"] = json!("everything");
    let refused = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/settings/apps/new", gh.url()))
        .form(&[("manifest", bad.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("contents"),
        "{body}"
    );
    assert!(gh.registered_manifests().is_empty());

    let code = gh.register_manifest(&manifest("https://x.example/cb"));
    assert_eq!(gh.registered_manifests()[0].code, code);
    assert_eq!(gh.registered_manifests()[0].organization, None);
}

/// `(url without query, query pairs)`.
fn url_parts(url: &str) -> (String, std::collections::BTreeMap<String, String>) {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let pairs = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decoded = percent_encoding::percent_decode_str(v)
                .decode_utf8()
                .unwrap()
                .into_owned();
            (k.to_string(), decoded)
        })
        .collect();
    (base.to_string(), pairs)
}

/// `POST /login/oauth/access_token` with these client credentials: GitHub's JSON answer.
async fn exchange(gh: &FakeGithub, client_id: &str, secret: &str, code: &str) -> Value {
    reqwest::Client::new()
        .post(format!("{}/login/oauth/access_token", gh.url()))
        .header("accept", "application/json")
        .form(&[
            ("client_id", client_id),
            ("client_secret", secret),
            ("code", code),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The code `GET /login/oauth/authorize` hands back for `client_id`, or its status.
async fn authorize(gh: &FakeGithub, client_id: &str) -> Result<String, u16> {
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/login/oauth/authorize", gh.url()))
        .query(&[
            ("client_id", client_id),
            (
                "redirect_uri",
                "http://127.0.0.1:9/dashboard/oauth/callback",
            ),
            ("state", "s"),
        ])
        .send()
        .await
        .unwrap();
    if response.status() != 302 {
        return Err(response.status().as_u16());
    }
    let location = response.headers()["location"].to_str().unwrap().to_string();
    Ok(url_parts(&location).1["code"].clone())
}

#[tokio::test]
async fn the_created_apps_oauth_client_is_the_one_sign_in_accepts() {
    let gh = FakeGithub::start().await;
    gh.set_oauth_user("octocat");
    let (old_id, old_secret) = (gh.oauth_client_id(), gh.oauth_client_secret());
    let code = gh.register_manifest(&manifest("https://x.example/cb"));
    let converted = reqwest::Client::new()
        .post(format!("{}/app-manifests/{code}/conversions", gh.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(converted.status(), 201);
    let app = gh.created_apps()[0].clone();
    assert_eq!(gh.oauth_client_id(), app.client_id);
    assert_eq!(gh.oauth_client_secret(), app.client_secret);
    assert_ne!(app.client_id, old_id);

    assert_eq!(
        authorize(&gh, &old_id).await,
        Err(404),
        "the previous App's client is unknown now"
    );
    let code = authorize(&gh, &app.client_id).await.unwrap();
    let refused = exchange(&gh, &app.client_id, &old_secret, &code).await;
    assert_eq!(
        refused["error"], "incorrect_client_credentials",
        "{refused}"
    );
    let code = authorize(&gh, &app.client_id).await.unwrap();
    let granted = exchange(&gh, &app.client_id, &app.client_secret, &code).await;
    assert!(
        granted["access_token"]
            .as_str()
            .unwrap()
            .starts_with("ghu_"),
        "{granted}"
    );
    assert_eq!(gh.oauth_tokens_issued(), 1);
}
