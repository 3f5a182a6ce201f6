//! The setup pages in-process: bad, replayed and failed callbacks get a page that names
//! the problem; the public URL, the organization and the bind shape the form; only
//! loopback hosts are answered, with the security headers.

use promptops_testkit::FakeGithub;

use crate::support::serve_process::free_port;
use crate::support::setup_flow::{InProcess, assert_manifest_for, setup_form};

#[tokio::test(flavor = "multi_thread")]
async fn a_forged_missing_or_refused_callback_gets_a_page_naming_the_problem() {
    let github = FakeGithub::start().await;
    let service = InProcess::start(&github.url(), &[]).await;

    let (status, page) = service.get("/setup/callback?code=abc&state=forged").await;
    assert_eq!(status, 400);
    assert!(page.contains("unknown here"), "{page}");
    assert!(page.contains("Start again at /setup"), "{page}");

    let (status, page) = service.get("/setup/callback?code=abc").await;
    assert_eq!(status, 400);
    assert!(page.contains("carries no `state`"), "{page}");

    // A code GitHub does not know (or already exchanged): 404 from GitHub.
    let state = service.issued_state().await;
    let (status, page) = service
        .get(&format!("/setup/callback?code=stale&state={state}"))
        .await;
    assert_eq!(status, 400);
    assert!(page.contains("GitHub refused the code (404"), "{page}");
    let (_, page) = service
        .get(&format!("/setup/callback?code=stale&state={state}"))
        .await;
    assert!(
        page.contains("already used"),
        "the state went with the attempt: {page}"
    );

    // A state without a code.
    let state = service.issued_state().await;
    let (status, page) = service.get(&format!("/setup/callback?state={state}")).await;
    assert_eq!(status, 400);
    assert!(page.contains("no usable `code`"), "{page}");

    assert!(github.created_apps().is_empty());
    let (status, _) = service.get("/setup").await;
    assert_eq!(status, 200, "still unconfigured: the form is offered again");
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn github_unreachable_keeps_the_state_so_a_reload_retries() {
    let closed = format!("http://127.0.0.1:{}", free_port());
    let service = InProcess::start(&closed, &[]).await;
    let state = service.issued_state().await;
    let callback = format!("/setup/callback?code=c0ffee&state={state}");
    let (status, page) = service.get(&callback).await;
    assert_eq!(status, 502);
    assert!(page.contains("could not be reached"), "{page}");
    assert!(page.contains("Reload this page"), "{page}");
    let (status, page) = service.get(&callback).await;
    assert_eq!(
        status, 502,
        "the reload reached GitHub again instead of a spent state: {page}"
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_public_url_and_organization_shape_the_form() {
    let github = FakeGithub::start().await;
    let service = InProcess::start(
        &github.url(),
        &["--public-url", "https://promptops.example.com/"],
    )
    .await;
    let (status, html) = service.get("/setup?organization=acme-infra").await;
    assert_eq!(status, 200, "{html}");
    let (action, manifest) = setup_form(&html);
    assert!(
        action.starts_with(&format!(
            "{}/organizations/acme-infra/settings/apps/new?state=",
            github.url()
        )),
        "{action}"
    );
    assert_manifest_for(&manifest, "https://promptops.example.com");
    assert!(
        !html.contains("local-warning"),
        "a public address gets no warning"
    );
    let (status, page) = service.get("/setup?organization=acme%2Fevil").await;
    assert_eq!(status, 400);
    assert!(page.contains("not a GitHub organization name"), "{page}");
    service.stop().await;

    // Without a public URL, on loopback: the browser's own address, with a warning.
    let service = InProcess::start(&github.url(), &[]).await;
    let (_, html) = service.get("/setup").await;
    let (_, manifest) = setup_form(&html);
    assert_manifest_for(&manifest, &service.base);
    assert!(html.contains("id=\"local-warning\""), "{html}");
    // A page fetched under another name (DNS rebinding) is not answered.
    let rebound = service
        .http()
        .get(format!("{}/setup", service.base))
        .header("host", "evil.example:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), 421);
    assert!(
        rebound
            .text()
            .await
            .unwrap()
            .contains("\"evil.example:3000\"")
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_network_bind_needs_the_public_url_and_a_token() {
    let github = FakeGithub::start().await;
    let open = InProcess::start(&github.url(), &["--bind", "0.0.0.0:3000"]).await;
    let (status, page) = open.get("/setup").await;
    assert_eq!(status, 403, "no token on a network bind: {page}");
    assert!(page.contains("PROMPTOPS_DASHBOARD_TOKEN"), "{page}");
    open.stop().await;

    let guarded = InProcess::start(
        &github.url(),
        &[
            "--bind",
            "0.0.0.0:3000",
            "--dashboard-token",
            "t0ken-of-setup",
        ],
    )
    .await;
    let (status, _) = guarded.get("/setup").await;
    assert_eq!(status, 401, "the token is required");
    let cookie =
        crate::support::local_link::open_token_link(&guarded.url("/setup?token=t0ken-of-setup"))
            .await;
    let response = crate::support::local_link::client_with_cookie(Some(&cookie))
        .get(guarded.url("/setup"))
        .send()
        .await
        .unwrap();
    let (status, page) = (response.status().as_u16(), response.text().await.unwrap());
    assert_eq!(status, 400);
    assert!(
        page.contains("PROMPTOPS_PUBLIC_URL is not set"),
        "the page names the missing setting: {page}"
    );
    guarded.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_setup_pages_answer_only_loopback_hosts_and_send_security_headers() {
    let github = FakeGithub::start().await;
    let service = InProcess::start(&github.url(), &[]).await;
    let http = service.http();
    // A rebinding page cannot fetch the form (and its state) under its own name.
    for path in ["/setup", "/setup/callback?code=c&state=s"] {
        let response = http
            .get(format!("{}{path}", service.base))
            .header(reqwest::header::HOST, "evil.example:3000")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 421, "{path}");
    }
    let response = http
        .get(format!("{}/setup", service.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response.headers()[name]
            .to_str()
            .unwrap_or_else(|_| panic!("{name}"))
            .to_owned()
    };
    let policy = header("content-security-policy");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    // The form goes to GitHub (here the fake), from the page's one script, allowed by hash.
    assert!(
        policy.contains(&format!("form-action 'self' {};", github.url())),
        "{policy}"
    );
    assert!(policy.contains("script-src 'sha256-"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("referrer-policy"), "no-referrer");
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_public_url_the_callback_answers_its_host_and_the_page_stays_loopback_only() {
    // One machine: the service on loopback without a token, GitHub sending the browser
    // back through the operator's reverse proxy to the public URL.
    let github = FakeGithub::start().await;
    let service =
        InProcess::start(&github.url(), &["--public-url", "https://ops.example.com"]).await;
    let http = service.http();
    let get = |path: &str, host: &str| {
        http.get(format!("{}{path}", service.base))
            .header(reqwest::header::HOST, host)
            .send()
    };
    // Reached, and refused for its forged state, not for its host.
    let response = get("/setup/callback?code=c&state=forged", "ops.example.com")
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("unknown here"));
    for (path, host) in [
        ("/setup/callback?code=c&state=forged", "evil.example"),
        (
            "/setup/callback?code=c&state=forged",
            "ops.example.com:8443",
        ),
        ("/setup", "ops.example.com"),
        ("/dashboard", "ops.example.com"),
    ] {
        let response = get(path, host).await.unwrap();
        assert_eq!(response.status(), 421, "{path} for {host}");
    }
    service.stop().await;
}
