//! Connecting GitHub through the setup page with the real binary: a service started
//! without App credentials refuses webhooks, `/setup` offers the App manifest (exactly
//! `deploy/github-app-manifest.json` with this service's URLs), GitHub's redirect with a
//! code connects the App — credentials file written 0600, webhooks accepted with the new
//! secret, jobs run — without a restart, and a restarted service starts from the file.
//! (Error pages: `setup_pages`; the credentials file: `setup_credentials`.)

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use promptops_testkit::FakeGithub;
use serde_json::Value;

use crate::support::comment_payload;
use crate::support::local_link::open_local_link;
use crate::support::serve_process::{free_port, read_log, wait_for_local_link};
use crate::support::setup_flow::{
    assert_manifest_for, deliver, github_with_issue, query, setup_form,
};

/// A running `promptops serve`; its stderr is collected as it comes (a full pipe would
/// block the process).
struct Server {
    child: Child,
    log: std::thread::JoinHandle<String>,
    log_so_far: Arc<Mutex<Vec<u8>>>,
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
        let stderr = child.stderr.take().unwrap();
        let log_so_far = Arc::default();
        let log = read_log(stderr, Arc::clone(&log_so_far));
        Server {
            child,
            log,
            log_so_far,
        }
    }

    /// Opens the link the start log names (the loopback-open pages' key); the cookie it
    /// leaves, as `name=value`.
    async fn local_cookie(&self) -> String {
        open_local_link(&wait_for_local_link(&self.log_so_far).await).await
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
    let cookie = server.local_cookie().await;
    let page = http
        .get(format!("{base}/setup"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
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
        .header("cookie", &cookie)
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
    // A new start makes a new link: the dashboard's now, whose cookie serves /setup too.
    let old_cookie = http
        .get(format!("{base}/setup"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(old_cookie.status(), 401, "the last start's cookie");
    let cookie = server.local_cookie().await;
    let setup = http
        .get(format!("{base}/setup"))
        .header("cookie", &cookie)
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
