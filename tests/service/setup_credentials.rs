//! The App's credentials file: an existing one configures the service (the environment
//! wins), one that appears meanwhile is never overwritten and GitHub's code is not spent,
//! and one that others can read stops `serve` from starting.

use promptops_testkit::{FakeGithub, sign_webhook};

use crate::support::serve_settings;
use crate::support::setup_flow::{InProcess, query, setup_form};

#[tokio::test(flavor = "multi_thread")]
async fn an_existing_credentials_file_configures_the_service_and_the_environment_wins() {
    let github = FakeGithub::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.json");
    let credentials = promptops::setup::AppCredentials {
        id: github.app_id(),
        slug: "promptops".into(),
        html_url: None,
        client_id: "Iv1.test".into(),
        client_secret: secrecy::SecretString::from("cs".to_owned()),
        webhook_secret: secrecy::SecretString::from("file-secret".to_owned()),
        pem: secrecy::SecretString::from(github.private_key_pem().to_owned()),
    };
    credentials.create_new(&path).unwrap();
    let path_arg = path.display().to_string();

    let from_file = InProcess::start(&github.url(), &["--app-credentials", &path_arg]).await;
    let (_, page) = from_file.get("/setup").await;
    assert!(
        page.contains("Already connected: App `promptops`")
            && page.contains("credentials from the credentials file"),
        "{page}"
    );
    let http = reqwest::Client::new();
    let ping = serde_json::json!({"zen": "hi", "hook_id": 1});
    let status = |secret: &'static str| {
        let http = http.clone();
        let body = ping.to_string();
        let url = format!("{}/webhook", from_file.base);
        async move {
            http.post(url)
                .header("x-github-event", "ping")
                .header("x-github-delivery", format!("{:032x}", fastrand::u128(..)))
                .header("x-hub-signature-256", sign_webhook(secret, body.as_bytes()))
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(status("file-secret").await, 202);
    assert_eq!(status("env-webhook-secret-0123").await, 401);
    from_file.stop().await;

    let app_id = github.app_id().to_string();
    let key_arg = format!("--github-private-key={}", github.private_key_pem());
    let from_env = InProcess::start(
        &github.url(),
        &[
            "--app-credentials",
            &path_arg,
            "--github-app-id",
            &app_id,
            &key_arg,
            "--github-webhook-secret",
            "env-webhook-secret-0123",
        ],
    )
    .await;
    let (_, page) = from_env.get("/setup").await;
    assert!(page.contains("credentials from the environment"), "{page}");
    let body = ping.to_string();
    let response = reqwest::Client::new()
        .post(format!("{}/webhook", from_env.base))
        .header("x-github-event", "ping")
        .header("x-github-delivery", "env-1")
        .header(
            "x-hub-signature-256",
            sign_webhook("env-webhook-secret-0123", body.as_bytes()),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "the environment's secret wins");
    from_env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_credentials_file_that_appears_is_never_overwritten_and_the_code_is_not_spent() {
    let github = FakeGithub::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.json");
    let path_arg = path.display().to_string();
    let service = InProcess::start(&github.url(), &["--app-credentials", &path_arg]).await;
    let (status, html) = service.get("/setup").await;
    assert_eq!(status, 200);
    let (action, manifest) = setup_form(&html);
    let state = query(&action)["state"].clone();
    let code = github.register_manifest(&manifest);

    // Someone puts a file there meanwhile (by hand, or another setup).
    std::fs::write(&path, "{\"hand\": \"written\"}").unwrap();
    let (status, page) = service
        .get(&format!("/setup/callback?code={code}&state={state}"))
        .await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("PromptOps never replaces one"), "{page}");
    assert!(page.contains("code was not exchanged"), "{page}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\"hand\": \"written\"}"
    );
    assert!(
        github.created_apps().is_empty() && !github.registered_manifests()[0].converted,
        "the code is still unused"
    );
    let (status, page) = service.get("/setup").await;
    assert_eq!(status, 409);
    assert!(page.contains("Restart the service to load it"), "{page}");
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_refuses_to_start_with_a_credentials_file_others_can_read() {
    use std::os::unix::fs::PermissionsExt as _;
    let github = FakeGithub::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.json");
    promptops::setup::AppCredentials {
        id: github.app_id(),
        slug: "promptops".into(),
        html_url: None,
        client_id: "Iv1.test".into(),
        client_secret: secrecy::SecretString::from("cs".to_owned()),
        webhook_secret: secrecy::SecretString::from("file-secret".to_owned()),
        pem: secrecy::SecretString::from(github.private_key_pem().to_owned()),
    }
    .create_new(&path)
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let settings = serve_settings(&[
        "--database-url",
        &format!("sqlite://{}/p.db", dir.path().display()),
        "--workdir",
        &dir.path().join("work").display().to_string(),
        "--app-credentials",
        &path.display().to_string(),
    ]);
    let Err(err) = promptops::app::App::build(&settings, Default::default()).await else {
        panic!("serve started with a world-readable credentials file");
    };
    let message = format!("{err:#}");
    assert!(
        message.contains("chmod 600") && message.contains(&path.display().to_string()),
        "{message}"
    );
}
