//! `/setup` and dashboard sign-in as one product: the App the setup page creates brings
//! its OAuth client, and people sign in with it — from the next start, never in the
//! middle of a run (who may see the dashboard does not change under anyone's feet). The
//! environment's client wins over the file's; a file without `PROMPTOPS_PUBLIC_URL`
//! leaves sign-in off. Every secret the App holds is masked in Terraform's output, and
//! `promptops check` reports sign-in and dashboard access.

use crate::support::{self, serve_settings};

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use promptops::setup::{AppCredentials, AppSlot};
use promptops_testkit::FakeGithub;
use reqwest::header::{ACCEPT, COOKIE, LOCATION, SET_COOKIE};
use secrecy::SecretString;
use serde_json::Value;
use support::{INSTALLATION, OWNER, REPO};
use tokio_util::sync::CancellationToken;

const HTML: &str = "text/html,application/xhtml+xml";

/// `serve` assembled by `promptops::app::App::build` on `listener`, bound (for the access
/// rule) to a loopback address, its database and work directory in `dir`.
struct Running {
    base: String,
    /// The service's App slot, to look at the App a setup installs.
    slot: AppSlot,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    async fn start(
        github: &FakeGithub,
        dir: &Path,
        listener: tokio::net::TcpListener,
        extra: &[&str],
    ) -> Running {
        let base = format!("http://{}", listener.local_addr().unwrap());
        let db = format!("sqlite://{}/promptops.db", dir.display());
        let work = dir.join("work").display().to_string();
        let api = github.url();
        let mut args = vec![
            "--github-api-url",
            &api,
            "--github-web-url",
            &api,
            "--database-url",
            &db,
            "--workdir",
            &work,
        ];
        if !extra.contains(&"--bind") {
            args.extend(["--bind", "127.0.0.1:3000"]);
        }
        args.extend_from_slice(extra);
        let prepared = promptops::app::App::build(&serve_settings(&args), Default::default())
            .await
            .unwrap();
        let slot = prepared.service.app.clone();
        let stop = CancellationToken::new();
        let token = stop.clone();
        let task = tokio::spawn(async move { prepared.serve(listener, token).await.unwrap() });
        Running {
            base,
            slot,
            stop,
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn stop(self) {
        self.stop.cancel();
        self.task.await.unwrap();
    }
}

/// A browser: follows redirects by hand, keeps every cookie it is given, asks for HTML.
struct Browser {
    http: reqwest::Client,
    jar: BTreeMap<String, String>,
    /// Every address visited, in order.
    visited: Vec<String>,
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: BTreeMap::new(),
            visited: Vec::new(),
        }
    }

    /// GETs `url`, following redirects: the last status, address and page.
    async fn open(&mut self, url: &str) -> (u16, String, String) {
        let mut url = url::Url::parse(url).unwrap();
        for _ in 0..10 {
            self.visited.push(url.to_string());
            let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let response = self
                .http
                .get(url.clone())
                .header(ACCEPT, HTML)
                .header(COOKIE, cookies.join("; "))
                .send()
                .await
                .unwrap();
            for value in response.headers().get_all(SET_COOKIE) {
                let line = value.to_str().unwrap();
                let pair = line.split(';').next().unwrap();
                let (name, value) = pair.split_once('=').unwrap();
                if line.contains("Max-Age=0") {
                    self.jar.remove(name);
                } else {
                    self.jar.insert(name.to_owned(), value.to_owned());
                }
            }
            if response.status().is_redirection() {
                url = url
                    .join(response.headers()[LOCATION].to_str().unwrap())
                    .unwrap();
                continue;
            }
            let status = response.status().as_u16();
            return (status, url.to_string(), response.text().await.unwrap());
        }
        panic!("more than 10 redirects: {:#?}", self.visited);
    }
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of attribute `attr` of the element whose `id` is `id`, entities decoded.
fn attribute(html: &str, id: &str, attr: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let key = format!(" {attr}=\"");
    let value_at = tag.find(&key)? + key.len();
    let value_end = value_at + tag[value_at..].find('"')?;
    Some(unescape(&tag[value_at..value_end]))
}

/// The text of the element with `id="<id>"`, entities decoded.
fn element_text(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let open_end = start + html[start..].find('>')? + 1;
    let close = open_end + html[open_end..].find("</")?;
    Some(unescape(&html[open_end..close]))
}

/// The fake GitHub with the fixtures' repository installed on `OWNER`, and `octocat`
/// about to approve sign-in as a member of that installation.
async fn github_with_member() -> FakeGithub {
    let github = FakeGithub::start().await;
    github.add_repo(REPO);
    github.add_installation(INSTALLATION, OWNER);
    github.set_oauth_user("octocat");
    github.add_installation_member(INSTALLATION, "octocat");
    github
}

/// The setup page's form posted to the fake GitHub, which redirects to the callback:
/// the manifest sent and the page the callback answers with.
async fn connect_through_setup(service: &Running, setup_path: &str) -> (Value, String) {
    let http = reqwest::Client::new();
    let page = http
        .get(service.url(setup_path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let action =
        attribute(&page, "create-app", "action").unwrap_or_else(|| panic!("no setup form: {page}"));
    let manifest: Value =
        serde_json::from_str(&attribute(&page, "manifest", "value").unwrap()).unwrap();
    let connected = http
        .post(&action)
        .form(&[("manifest", manifest.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(connected.status(), 200);
    (manifest, connected.text().await.unwrap())
}

/// What Terraform output becomes once the App's runner masked it.
fn masked_by_the_app(slot: &AppSlot, text: &str) -> String {
    let app = slot.load().expect("an App is configured");
    let runner = app.handlers.terraform.as_ref().expect("a Terraform runner");
    runner.masker().mask_str(text)
}

/// A line of the key's base64 body (not its BEGIN/END lines).
fn key_body_line(pem: &str) -> &str {
    pem.lines()
        .find(|line| !line.starts_with("-----") && line.len() > 40)
        .unwrap()
}

fn check(envs: &[(&str, &str)]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_promptops"))
        .arg("check")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TERRAFORM_BIN", "/nonexistent/terraform")
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

/// The report's line about `what`.
fn line<'r>(report: &'r str, what: &str) -> &'r str {
    report
        .lines()
        .find(|line| line.contains(&format!("  {what}: ")))
        .unwrap_or_else(|| panic!("no line about {what}:\n{report}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_setup_sign_in_uses_the_new_apps_client_from_the_next_start() {
    let github = github_with_member().await;
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let public = ["--public-url", base.as_str()];
    let service = Running::start(&github, dir.path(), listener, &public).await;

    // Loopback, no token, no sign-in: the dashboard is open to this machine.
    let (status, _, _) = Browser::new().open(&service.url("/dashboard")).await;
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
    let (status, url, _) = Browser::new().open(&service.url("/dashboard/runs")).await;
    assert_eq!(
        (status, url.as_str()),
        (200, service.url("/dashboard/runs").as_str())
    );
    let (status, _, page) = Browser::new().open(&service.url("/dashboard/login")).await;
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
    let service = Running::start(&github, dir.path(), listener, &public).await;
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
    assert_eq!(status, 200, "{page}\n{:#?}", browser.visited);
    assert_eq!(url, service.url("/dashboard/runs"));
    assert_eq!(
        element_text(&page, "login").as_deref(),
        Some("octocat"),
        "{page}"
    );
    let authorize = browser
        .visited
        .iter()
        .find(|url| url.contains("/login/oauth/authorize"))
        .unwrap_or_else(|| panic!("{:#?}", browser.visited));
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
    let service = Running::start(&github, dir.path(), listener, &[]).await;
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
    let service = Running::start(
        &github,
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
    let (status, _, _) = Browser::new().open(&service.url("/dashboard/login")).await;
    assert_eq!(status, 404, "sign-in is not switched on mid-run");
    service.stop().await;
}

/// An App's credentials file as `/setup` writes it, for the fake's App (so that `check`
/// authenticates at once).
fn credentials(github: &FakeGithub, client_secret: &str) -> AppCredentials {
    AppCredentials {
        id: github.app_id(),
        slug: "promptops-file".into(),
        html_url: None,
        client_id: "Iv1.fromthefile".into(),
        client_secret: SecretString::from(client_secret.to_owned()),
        webhook_secret: SecretString::from("file-webhook-secret-0123".to_owned()),
        pem: SecretString::from(github.private_key_pem().to_owned()),
    }
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
    let service = Running::start(&github, dir.path(), listener, &[]).await;
    assert_eq!(
        service.slot.load().unwrap().slug.as_deref(),
        Some("promptops-file"),
        "the App is the file's"
    );
    let (status, url, _) = Browser::new().open(&service.url("/dashboard/runs")).await;
    assert_eq!(
        (status, url.as_str()),
        (200, service.url("/dashboard/runs").as_str()),
        "still open to this machine, no sign-in asked"
    );
    let (status, _, _) = Browser::new().open(&service.url("/dashboard/login")).await;
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
    let service = Running::start(
        &github,
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
    let mut browser = Browser::new();
    let (status, _, page) = browser.open(&service.url("/dashboard")).await;
    assert_eq!(status, 200, "{page}\n{:#?}", browser.visited);
    assert_eq!(element_text(&page, "login").as_deref(), Some("octocat"));
    let masked = masked_by_the_app(
        &service.slot,
        &format!("{client_secret} file-client-secret-4567"),
    );
    assert_eq!(masked, "*** ***", "both clients' secrets are masked");
    service.stop().await;
}

#[test]
fn check_reports_dashboard_access_and_sign_in_settings() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/p.db", dir.path().display());
    let db = db.as_str();

    let (_, report) = check(&[("DATABASE_URL", db)]);
    assert!(
        line(&report, "dashboard sign-in").starts_with("ok       dashboard sign-in: off"),
        "{report}"
    );
    assert!(
        line(&report, "dashboard access").starts_with("ok       dashboard access: loopback-open"),
        "{report}"
    );

    let (_, report) = check(&[("DATABASE_URL", db), ("PROMPTOPS_BIND", "0.0.0.0:3000")]);
    let access = line(&report, "dashboard access");
    assert!(
        access.starts_with("warning  dashboard access: refused"),
        "{report}"
    );
    assert!(access.contains("PROMPTOPS_DASHBOARD_TOKEN"), "{report}");

    let (_, report) = check(&[
        ("DATABASE_URL", db),
        ("PROMPTOPS_BIND", "0.0.0.0:3000"),
        ("PROMPTOPS_DASHBOARD_TOKEN", "t0ken-t0ken"),
    ]);
    assert!(
        line(&report, "dashboard access").starts_with("ok       dashboard access: token:"),
        "{report}"
    );
    assert!(
        !report.contains("t0ken-t0ken"),
        "the token is never printed: {report}"
    );

    // Half a configuration names what is missing, and `serve` would not start.
    let (passed, report) = check(&[("DATABASE_URL", db), ("GITHUB_CLIENT_ID", "Iv23liabc")]);
    assert!(!passed, "{report}");
    let sign_in = line(&report, "dashboard sign-in");
    assert!(sign_in.starts_with("MISSING"), "{report}");
    assert!(
        sign_in.contains("GITHUB_CLIENT_SECRET, PROMPTOPS_PUBLIC_URL missing"),
        "{report}"
    );
    assert!(
        line(&report, "dashboard access").starts_with("MISSING"),
        "{report}"
    );

    let (_, report) = check(&[
        ("DATABASE_URL", db),
        ("PROMPTOPS_BIND", "0.0.0.0:3000"),
        ("PROMPTOPS_DASHBOARD_TOKEN", "t0ken-t0ken"),
        ("GITHUB_CLIENT_ID", "Iv23liabc"),
        ("GITHUB_CLIENT_SECRET", "client-s3cret"),
        ("PROMPTOPS_PUBLIC_URL", "https://ops.example.com"),
    ]);
    let sign_in = line(&report, "dashboard sign-in");
    assert!(sign_in.starts_with("ok"), "{report}");
    assert!(
        sign_in.contains("Iv23liabc from the environment"),
        "{report}"
    );
    assert!(
        sign_in.contains("https://ops.example.com/dashboard/oauth/callback"),
        "{report}"
    );
    assert!(!report.contains("client-s3cret"), "{report}");
    assert!(
        line(&report, "dashboard access")
            .starts_with("ok       dashboard access: token or sign-in:"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_secret_the_settings_hold_is_masked_in_terraform_output() {
    assert!(
        promptops::app::SECRET_ENV_VARS.contains(&"GITHUB_CLIENT_SECRET"),
        "terraform inherits the environment's client secret"
    );
    let github = FakeGithub::start().await;
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("key.pem");
    std::fs::write(&key_path, github.private_key_pem()).unwrap();
    let key_path = key_path.display().to_string();
    let app_id = github.app_id().to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service = Running::start(
        &github,
        dir.path(),
        listener,
        &[
            "--github-app-id",
            &app_id,
            "--github-private-key-path",
            &key_path,
            "--github-webhook-secret",
            "old-hook-secret-1111,new-hook-secret-2222",
            "--github-client-id",
            "Iv23liabc",
            "--github-client-secret",
            "client-secret-3333",
            "--public-url",
            "http://127.0.0.1:3000",
            "--dashboard-token",
            "dashboard-token-4444",
        ],
    )
    .await;
    let masked = masked_by_the_app(
        &service.slot,
        &format!(
            "old-hook-secret-1111 new-hook-secret-2222 client-secret-3333 dashboard-token-4444 {}",
            key_body_line(github.private_key_pem())
        ),
    );
    assert_eq!(masked, "*** *** *** *** ***");
    service.stop().await;
}
