//! Connecting GitHub through the setup page: a service started without App credentials
//! refuses webhooks, `/setup` offers the App manifest (exactly
//! `deploy/github-app-manifest.json` with this service's URLs), GitHub's redirect with a
//! code connects the App — credentials file written 0600, webhooks accepted with the new
//! secret, jobs run — without a restart, and a restarted service starts from the file.
//! Bad, replayed and failed callbacks get a page that names the problem.

use crate::support::{self, serve_settings};

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use promptops_testkit::{FakeGithub, sign_webhook};
use serde_json::Value;
use support::{INSTALLATION, IssueRef, OWNER, REPO, comment_payload};
use tokio_util::sync::CancellationToken;

// ----- helpers ------------------------------------------------------------------------

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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

/// The setup form: where it posts, and the manifest it carries.
fn setup_form(html: &str) -> (String, Value) {
    let action = attribute(html, "create-app", "action")
        .unwrap_or_else(|| panic!("no setup form in the page: {html}"));
    let manifest = attribute(html, "manifest", "value")
        .unwrap_or_else(|| panic!("no manifest input in the page: {html}"));
    (action, serde_json::from_str(&manifest).unwrap())
}

fn query(url: &str) -> BTreeMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// `deploy/github-app-manifest.json`, the single source of the App's permissions.
fn deploy_manifest() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/github-app-manifest.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn assert_manifest_for(manifest: &Value, base: &str) {
    let deploy = deploy_manifest();
    assert_eq!(
        manifest["default_permissions"],
        deploy["default_permissions"]
    );
    assert_eq!(manifest["default_events"], deploy["default_events"]);
    assert_eq!(manifest["name"], deploy["name"]);
    assert_eq!(manifest["public"], false);
    assert_eq!(manifest["url"], base);
    assert_eq!(
        manifest["hook_attributes"]["url"],
        format!("{base}/webhook")
    );
    assert_eq!(manifest["redirect_url"], format!("{base}/setup/callback"));
    assert_eq!(
        manifest["callback_urls"],
        serde_json::json!([format!("{base}/dashboard/oauth/callback")]),
        "sign-in with GitHub returns to the dashboard"
    );
}

async fn deliver(http: &reqwest::Client, base: &str, secret: &str, payload: &Value) -> u16 {
    let body = serde_json::to_vec(payload).unwrap();
    http.post(format!("{base}/webhook"))
        .header("content-type", "application/json")
        .header("x-github-event", "issue_comment")
        .header("x-github-delivery", format!("{:032x}", fastrand::u128(..)))
        .header("x-hub-signature-256", sign_webhook(secret, &body))
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A fake GitHub with the fixtures' repository, installed, and an issue by `alice`.
async fn github_with_issue() -> (FakeGithub, IssueRef) {
    let github = FakeGithub::start().await;
    github.add_repo(REPO);
    github.add_installation(INSTALLATION, OWNER);
    github.set_permission(REPO, "alice", "admin");
    let body = "I need 3 L4 GPUs in us-central1";
    let number = github.add_issue(REPO, "alice", "Inference", body);
    let issue = IssueRef {
        number,
        title: "Inference".into(),
        body: body.into(),
        is_pull_request: false,
    };
    (github, issue)
}

// ----- the real binary: connect without a restart, then restart from the file ------------

/// A running `promptops serve`; its stderr is collected as it comes (a full pipe would
/// block the process).
struct Server {
    child: Child,
    log: std::thread::JoinHandle<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// `promptops serve` with no App settings: the fake is both GitHub's web and API.
    fn start(github: &FakeGithub, dir: &Path, port: u16) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_promptops"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("GITHUB_API_URL", github.url())
            .env("GITHUB_WEB_URL", github.url())
            .env(
                "DATABASE_URL",
                format!("sqlite://{}/promptops.db", dir.display()),
            )
            .env("PROMPTOPS_BIND", format!("127.0.0.1:{port}"))
            .env("PROMPTOPS_WORKDIR", dir.join("work"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let log = std::thread::spawn(move || {
            let mut log = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr, &mut log);
            log
        });
        Server { child, log }
    }

    /// SIGTERM, then the exit status and everything the process logged.
    async fn stop(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        tokio::task::spawn_blocking(move || {
            let status = self.child.wait().unwrap();
            // Dropping `self` afterwards only kills an exited process.
            let log = std::mem::replace(&mut self.log, std::thread::spawn(String::new));
            (status, log.join().unwrap())
        })
        .await
        .unwrap()
    }
}

/// Waits until serve answers (liveness: an unconfigured serve is not ready by design).
async fn wait_ready(http: &reqwest::Client, base: &str) {
    for _ in 0..400 {
        if let Ok(response) = http.get(format!("{base}/healthz")).send().await
            && response.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("serve did not become ready at {base}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_setup_page_connects_the_app_without_a_restart_and_a_restart_loads_the_file() {
    let (github, issue) = github_with_issue().await;
    let original_app_id = github.app_id();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let server = Server::start(&github, dir.path(), port);
    let http = reqwest::Client::new();
    wait_ready(&http, &base).await;

    let plan = comment_payload(&issue, "alice", "/promptops plan");
    assert_eq!(
        deliver(&http, &base, "any-secret", &plan).await,
        503,
        "no App yet: webhooks are refused"
    );

    // The page offers the manifest, posted to GitHub's web address with a state.
    let page = http.get(format!("{base}/setup")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let (action, manifest) = setup_form(&html);
    assert!(
        action.starts_with(&format!("{}/settings/apps/new?state=", github.url())),
        "{action}"
    );
    let state = query(&action)["state"].clone();
    assert_eq!(state.len(), 64, "{state}");
    assert_manifest_for(&manifest, &base);
    let credentials_path = dir.path().join("promptops-app.json");
    assert!(
        html.contains(&credentials_path.display().to_string()),
        "the page says where the credentials go (beside the SQLite database): {html}"
    );

    // The browser posts the form; GitHub (the fake) redirects back with a code.
    let connected = http
        .post(&action)
        .form(&[("manifest", manifest.to_string())])
        .send()
        .await
        .unwrap();
    let callback_url = connected.url().to_string();
    assert!(
        callback_url.starts_with(&format!("{base}/setup/callback?code=")),
        "{callback_url}"
    );
    assert_eq!(connected.status(), 200);
    let connected = connected.text().await.unwrap();
    let created = github.created_apps();
    assert_eq!(created.len(), 1, "one App was created");
    let app = &created[0];
    assert_ne!(app.id, original_app_id);
    assert!(connected.contains("Connected"), "{connected}");
    assert!(
        connected.contains(&format!("{}/installations/new", app.html_url)),
        "the page links to the App's install page: {connected}"
    );
    assert_eq!(github.registered_manifests()[0].manifest, manifest);

    // The credentials file: 0600, exactly what GitHub handed over.
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&credentials_path)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&credentials_path).unwrap()).unwrap();
    assert_eq!(saved["id"], app.id);
    assert_eq!(saved["slug"], app.slug);
    assert_eq!(saved["client_id"], app.client_id);
    assert_eq!(saved["client_secret"], app.client_secret);
    assert_eq!(saved["webhook_secret"], app.webhook_secret);
    assert_eq!(saved["pem"], app.pem);

    // Same process: the new secret is accepted and the job runs as the new App.
    assert_eq!(
        deliver(&http, &base, "any-secret", &plan).await,
        401,
        "a delivery signed with another secret is refused"
    );
    assert_eq!(deliver(&http, &base, &app.webhook_secret, &plan).await, 202);
    github
        .wait_for("the plan's pull request", Duration::from_secs(30), |gh| {
            (gh.prs().len() == 1).then_some(())
        })
        .await;
    assert_eq!(
        github.prs()[0].author,
        format!("{}[bot]", app.slug),
        "the PR is written by the new App"
    );

    // The callback cannot be used twice, and the page no longer offers a form.
    let replay = http.get(&callback_url).send().await.unwrap();
    assert_eq!(replay.status(), 400);
    let replay = replay.text().await.unwrap();
    assert!(replay.contains("already used"), "{replay}");
    assert!(replay.contains("nothing was changed"), "{replay}");
    let again = http
        .get(format!("{base}/setup"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        again.contains(&format!(
            "Already connected: App `{}` (id {})",
            app.slug, app.id
        )),
        "{again}"
    );
    assert!(!again.contains("id=\"manifest\""), "{again}");
    assert_eq!(github.created_apps().len(), 1);

    let (status, log) = server.stop().await;
    assert!(
        status.success(),
        "serve exits 0 on SIGTERM: {status:?}\n{log}"
    );
    assert!(log.contains("connected through the setup page"), "{log}");

    // A restart finds the file: configured from the start, and says so.
    let server = Server::start(&github, dir.path(), port);
    wait_ready(&http, &base).await;
    let followup = comment_payload(&issue, "alice", "/promptops help");
    assert_eq!(
        deliver(&http, &base, &app.webhook_secret, &followup).await,
        202
    );
    let setup = http
        .get(format!("{base}/setup"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        setup.contains("credentials from the credentials file"),
        "{setup}"
    );
    let (status, log) = server.stop().await;
    assert!(status.success(), "{log}");
    assert!(
        log.contains("GitHub App configured") && log.contains("credentials file"),
        "the log names the source: {log}"
    );

    // `promptops check` names the file and authenticates with it.
    let check = Command::new(env!("CARGO_BIN_EXE_promptops"))
        .arg("check")
        .env_clear()
        .env("GITHUB_API_URL", github.url())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/promptops.db", dir.path().display()),
        )
        .env("TERRAFORM_BIN", "/nonexistent/terraform")
        .output()
        .unwrap();
    let report = String::from_utf8(check.stdout).unwrap();
    let line = report
        .lines()
        .find(|l| l.contains("GitHub App credentials"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(
        line.starts_with("ok") && line.contains("credentials file") && line.contains(&app.slug),
        "{report}"
    );
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("ok") && l.contains(&format!("authenticated as `{}`", app.slug))),
        "{report}"
    );
    assert!(
        !report
            .lines()
            .any(|l| l.starts_with("MISSING") && l.contains("GITHUB_APP_ID")),
        "{report}"
    );
}

// ----- the service in-process: error pages and settings -------------------------------

struct InProcess {
    base: String,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl InProcess {
    /// `serve` as `promptops::cli::serve::run` assembles it, on a loopback port; `extra` flags
    /// come after the database and work directory.
    async fn start(api_url: &str, extra: &[&str]) -> InProcess {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}/promptops.db", dir.path().display());
        let work = dir.path().join("work").display().to_string();
        let mut args = vec![
            "--github-api-url",
            api_url,
            "--github-web-url",
            api_url,
            "--database-url",
            &db,
            "--workdir",
            &work,
        ];
        if !extra.contains(&"--bind") {
            args.extend(["--bind", "127.0.0.1:3000"]);
        }
        args.extend_from_slice(extra);
        let settings = serve_settings(&args);
        let prepared = promptops::app::App::build(&settings, Default::default())
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let stop = CancellationToken::new();
        let token = stop.clone();
        let task = tokio::spawn(async move { prepared.serve(listener, token).await.unwrap() });
        InProcess {
            base,
            stop,
            task,
            _dir: dir,
        }
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let response = reqwest::get(format!("{}{path}", self.base)).await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// A state issued by the page, as the form would hand it to GitHub.
    async fn issued_state(&self) -> String {
        let (status, html) = self.get("/setup").await;
        assert_eq!(status, 200, "{html}");
        let (action, _) = setup_form(&html);
        query(&action)["state"].clone()
    }

    async fn stop(self) {
        self.stop.cancel();
        self.task.await.unwrap();
    }
}

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
    let rebound = reqwest::Client::new()
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
    let (status, page) = guarded.get("/setup?token=t0ken-of-setup").await;
    assert_eq!(status, 400);
    assert!(
        page.contains("PROMPTOPS_PUBLIC_URL is not set"),
        "the page names the missing setting: {page}"
    );
    guarded.stop().await;
}

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

#[test]
fn an_unconfigured_serve_stops_cleanly_on_sigterm() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let github = FakeGithub::start().await;
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let server = Server::start(&github, dir.path(), port);
        let http = reqwest::Client::new();
        wait_ready(&http, &format!("http://127.0.0.1:{port}")).await;
        let (status, log) = server.stop().await;
        assert!(status.success(), "{status:?}\n{log}");
        assert!(log.contains("not configured"), "{log}");
        assert!(log.contains("stopped"), "{log}");
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn the_setup_pages_answer_only_loopback_hosts_and_send_security_headers() {
    let github = FakeGithub::start().await;
    let service = InProcess::start(&github.url(), &[]).await;
    let http = reqwest::Client::new();
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
