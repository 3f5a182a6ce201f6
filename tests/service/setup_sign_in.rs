//! `/setup` and dashboard sign-in as one product: the App the setup page creates brings
//! its OAuth client, and people sign in with it — from the next start, never in the
//! middle of a run (who may see the dashboard does not change under anyone's feet). The
//! environment's client wins over the file's; a file without `PROMPTOPS_PUBLIC_URL`
//! leaves sign-in off. (What `promptops check` reports and what Terraform output masks:
//! `setup_check`.)

use reqwest::header::{ACCEPT, LOCATION};

use crate::support::html::element_text;
use crate::support::oauth_browser::{Browser, HTML};
use crate::support::setup_flow::InProcess;
use crate::support::sign_in_flow::{
    check, connect_through_setup, credentials, github_with_member, key_body_line, line,
    masked_by_the_app,
};

#[tokio::test(flavor = "multi_thread")]
async fn after_a_setup_sign_in_uses_the_new_apps_client_from_the_next_start() {
    let github = github_with_member().await;
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let public = ["--public-url", base.as_str()];
    let service = InProcess::start_on(&github.url(), dir.path(), listener, &public).await;

    // Loopback, no token, no sign-in: the dashboard opens through the link logged at start.
    let (status, _, _) = service.browser().open(&service.url("/dashboard")).await;
    assert_eq!(status, 200);

    let (manifest, connected) = connect_through_setup(&service, "/setup").await;
    assert_eq!(
        manifest["callback_urls"],
        serde_json::json!([format!("{base}/dashboard/oauth/callback")]),
        "the App is registered with the dashboard's sign-in callback"
    );
    let app = github.created_apps()[0].clone();
    let next = element_text(&connected, "sign-in-next")
        .unwrap_or_else(|| panic!("the page says what becomes of sign-in: {connected}"));
    assert!(next.contains("at the next start"), "{next}");
    assert!(next.contains("on this machine too"), "{next}");
    assert!(next.contains("install the App first"), "{next}");
    assert!(
        next.contains(&format!("{base}/dashboard/oauth/callback")),
        "{next}"
    );

    // Same run: who may see the dashboard is unchanged, and sign-in is not offered yet.
    let (status, url, _) = service
        .browser()
        .open(&service.url("/dashboard/runs"))
        .await;
    assert_eq!(
        (status.as_u16(), url.as_str()),
        (200, service.url("/dashboard/runs").as_str())
    );
    let (status, _, page) = service
        .browser()
        .open(&service.url("/dashboard/login"))
        .await;
    assert_eq!(status, 404, "{page}");
    assert!(page.contains("not configured"), "{page}");

    // The new App masks its own secrets in Terraform's output.
    let secrets = [
        app.webhook_secret.as_str(),
        app.client_secret.as_str(),
        key_body_line(&app.pem),
    ];
    let output = format!("a: {} b: {} c: {}", secrets[0], secrets[1], secrets[2]);
    let masked = masked_by_the_app(&service.slot, &output);
    assert_eq!(masked, "a: *** b: *** c: ***");
    service.stop().await;

    // The next start: the file's OAuth client signs people in, on loopback too.
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let service = InProcess::start_on(&github.url(), dir.path(), listener, &public).await;
    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(service.url("/dashboard"))
        .header(ACCEPT, HTML)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 303);
    assert!(
        anonymous.headers()[LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/dashboard/login"),
        "{:?}",
        anonymous.headers()
    );
    let mut browser = Browser::new();
    let (status, url, page) = browser.open(&service.url("/dashboard/runs")).await;
    assert_eq!(status, 200, "{page}\n{:#?}", browser.hops);
    assert_eq!(url, service.url("/dashboard/runs"));
    assert_eq!(
        element_text(&page, "login").as_deref(),
        Some("octocat"),
        "{page}"
    );
    let authorize = browser
        .hops
        .iter()
        .map(|hop| &hop.url)
        .find(|url| url.contains("/login/oauth/authorize"))
        .unwrap_or_else(|| panic!("{:#?}", browser.hops));
    let client_id: String = url::Url::parse(authorize)
        .unwrap()
        .query_pairs()
        .find(|(name, _)| name == "client_id")
        .map(|(_, value)| value.into_owned())
        .unwrap();
    assert_eq!(client_id, app.client_id, "the created App's OAuth client");
    assert_eq!(github.oauth_tokens_issued(), 1, "its secret was accepted");
    service.stop().await;

    // `promptops check` says where sign-in's client comes from, and who gets in.
    let db = format!("sqlite://{}/promptops.db", dir.path().display());
    let api = github.url();
    let (_, report) = check(&[
        ("DATABASE_URL", &db),
        ("GITHUB_API_URL", &api),
        ("GITHUB_WEB_URL", &api),
        ("PROMPTOPS_PUBLIC_URL", &base),
    ]);
    let sign_in = line(&report, "dashboard sign-in");
    assert!(sign_in.starts_with("ok"), "{report}");
    assert!(sign_in.contains(&app.client_id), "{report}");
    assert!(
        sign_in.contains(&format!(
            "the credentials file {}",
            dir.path().join("promptops-app.json").display()
        )),
        "{report}"
    );
    let access = line(&report, "dashboard access");
    assert!(
        access.starts_with("ok       dashboard access: sign-in:"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_connected_page_says_what_becomes_of_sign_in_without_a_public_url_or_with_a_token() {
    // Loopback, no public URL: sign-in stays off, and the page names what it needs.
    let github = github_with_member().await;
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service = InProcess::start_on(&github.url(), dir.path(), listener, &[]).await;
    let (_, connected) = connect_through_setup(&service, "/setup").await;
    let next = element_text(&connected, "sign-in-next").unwrap_or_else(|| panic!("{connected}"));
    assert!(next.contains("stays off"), "{next}");
    assert!(next.contains("PROMPTOPS_PUBLIC_URL"), "{next}");
    service.stop().await;

    // A network bind guarded by a token: members will sign in besides the token holders.
    let github = github_with_member().await;
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let service = InProcess::start_on(
        &github.url(),
        dir.path(),
        listener,
        &[
            "--bind",
            "0.0.0.0:3000",
            "--dashboard-token",
            "setup-token-5555",
            "--public-url",
            &base,
        ],
    )
    .await;
    let (_, connected) = connect_through_setup(&service, "/setup?token=setup-token-5555").await;
    let next = element_text(&connected, "sign-in-next").unwrap_or_else(|| panic!("{connected}"));
    assert!(next.contains("at the next start"), "{next}");
    assert!(next.contains("besides the dashboard token"), "{next}");
    assert!(!next.contains("on this machine too"), "{next}");
    // Until then, the token alone opens the dashboard.
    let status = reqwest::Client::new()
        .get(service.url("/dashboard"))
        .bearer_auth("setup-token-5555")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    let (status, _, _) = service
        .browser()
        .open(&service.url("/dashboard/login"))
        .await;
    assert_eq!(status, 404, "sign-in is not switched on mid-run");
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_credentials_file_without_a_public_url_keeps_sign_in_off_and_the_dashboard_as_it_was() {
    let github = github_with_member().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("promptops-app.json");
    credentials(&github, "file-client-secret-4567")
        .create_new(&file)
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service = InProcess::start_on(&github.url(), dir.path(), listener, &[]).await;
    assert_eq!(
        service.slot.load().unwrap().slug.as_deref(),
        Some("promptops-file"),
        "the App is the file's"
    );
    let (status, url, _) = service
        .browser()
        .open(&service.url("/dashboard/runs"))
        .await;
    assert_eq!(
        (status.as_u16(), url.as_str()),
        (200, service.url("/dashboard/runs").as_str()),
        "still open to this machine, no sign-in asked"
    );
    let (status, _, _) = service
        .browser()
        .open(&service.url("/dashboard/login"))
        .await;
    assert_eq!(status, 404);
    // Every secret of the file is masked, the key however it is printed.
    let key = github.private_key_pem();
    let escaped_key = serde_json::to_string(key).unwrap();
    let masked = masked_by_the_app(
        &service.slot,
        &format!("{escaped_key} file-webhook-secret-0123 file-client-secret-4567 {key}"),
    );
    assert!(!masked.contains(key_body_line(key)), "{masked}");
    assert!(!masked.contains("file-webhook-secret-0123"), "{masked}");
    assert!(!masked.contains("file-client-secret-4567"), "{masked}");
    assert!(masked.contains("***"), "{masked}");
    service.stop().await;

    let db = format!("sqlite://{}/promptops.db", dir.path().display());
    let api = github.url();
    let (_, report) = check(&[("DATABASE_URL", &db), ("GITHUB_API_URL", &api)]);
    assert!(
        line(&report, "GitHub App").contains("authenticated as"),
        "{report}"
    );
    let sign_in = line(&report, "dashboard sign-in");
    assert!(sign_in.starts_with("warning"), "{report}");
    assert!(sign_in.contains("PROMPTOPS_PUBLIC_URL"), "{report}");
    assert!(sign_in.contains(&file.display().to_string()), "{report}");
    assert!(
        line(&report, "dashboard access").starts_with("ok       dashboard access: loopback-open"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_environments_client_wins_over_the_files() {
    let github = github_with_member().await;
    let dir = tempfile::tempdir().unwrap();
    credentials(&github, "file-client-secret-4567")
        .create_new(&dir.path().join("promptops-app.json"))
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (client_id, client_secret) = (github.oauth_client_id(), github.oauth_client_secret());
    let service = InProcess::start_on(
        &github.url(),
        dir.path(),
        listener,
        &[
            "--public-url",
            &base,
            "--github-client-id",
            &client_id,
            "--github-client-secret",
            &client_secret,
        ],
    )
    .await;
    // The fake knows only its own client: signing in works only with the environment's.
    let mut browser = service.browser();
    let (status, _, page) = browser.open(&service.url("/dashboard")).await;
    assert_eq!(status, 200, "{page}\n{:#?}", browser.hops);
    assert_eq!(element_text(&page, "login").as_deref(), Some("octocat"));
    let masked = masked_by_the_app(
        &service.slot,
        &format!("{client_secret} file-client-secret-4567"),
    );
    assert_eq!(masked, "*** ***", "both clients' secrets are masked");
    service.stop().await;
}
