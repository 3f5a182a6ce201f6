//! What the setup tests share: the setup form read from its page, the manifest it must
//! carry, a delivery signed with a given secret, and the service run in-process on the
//! settings `serve` reads.

use std::collections::BTreeMap;
use std::path::Path;

use promptops::setup::AppSlot;
use promptops_testkit::{FakeGithub, sign_webhook};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::html::attribute;
use super::oauth_browser::Browser;
use super::{INSTALLATION, IssueRef, OWNER, REPO, serve_settings};

/// The setup form: where it posts, and the manifest it carries.
pub fn setup_form(html: &str) -> (String, Value) {
    let action = attribute(html, "create-app", "action")
        .unwrap_or_else(|| panic!("no setup form in the page: {html}"));
    let manifest = attribute(html, "manifest", "value")
        .unwrap_or_else(|| panic!("no manifest input in the page: {html}"));
    (action, serde_json::from_str(&manifest).unwrap())
}

pub fn query(url: &str) -> BTreeMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// `deploy/github-app-manifest.json`, the single source of the App's permissions.
pub fn deploy_manifest() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/github-app-manifest.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn assert_manifest_for(manifest: &Value, base: &str) {
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

pub async fn deliver(http: &reqwest::Client, base: &str, secret: &str, payload: &Value) -> u16 {
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
pub async fn github_with_issue() -> (FakeGithub, IssueRef) {
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

/// `serve` as `promptops::app::App::build` assembles it from the command line's settings,
/// in this process, bound (for the access rule) to a loopback address unless `extra` says
/// `--bind`.
pub struct InProcess {
    pub base: String,
    /// The service's App slot, to look at the App a setup installs.
    pub slot: AppSlot,
    /// Loopback-open: the cookie the link logged at start leaves (`name=value`).
    pub local_cookie: Option<String>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    /// The database and work directory, when the service made them itself.
    _dir: Option<tempfile::TempDir>,
}

impl InProcess {
    /// On a free loopback port, its database and work directory in a directory of its
    /// own; `extra` flags come after the database and work directory.
    pub async fn start(api_url: &str, extra: &[&str]) -> InProcess {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut service = InProcess::start_on(api_url, dir.path(), listener, extra).await;
        service._dir = Some(dir);
        service
    }

    /// On `listener`, its database and work directory in `dir`.
    pub async fn start_on(
        api_url: &str,
        dir: &Path,
        listener: tokio::net::TcpListener,
        extra: &[&str],
    ) -> InProcess {
        let base = format!("http://{}", listener.local_addr().unwrap());
        let db = format!("sqlite://{}/promptops.db", dir.display());
        let work = dir.join("work").display().to_string();
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
        let prepared = promptops::app::App::build(&serve_settings(&args), Default::default())
            .await
            .unwrap();
        let slot = prepared.service.app.clone();
        let link = prepared.dashboard.access.local_link().map(|link| {
            let setup =
                promptops::setup::startup::setup_address(listener.local_addr().unwrap(), None);
            link.link_to(&setup)
        });
        let stop = CancellationToken::new();
        let token = stop.clone();
        let task = tokio::spawn(async move { prepared.serve(listener, token).await.unwrap() });
        let local_cookie = match link {
            Some(link) => Some(super::local_link::open_local_link(&link).await),
            None => None,
        };
        InProcess {
            base,
            slot,
            local_cookie,
            stop,
            task,
            _dir: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GETs `path` with the loopback-open cookie, if any.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .http()
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// A client that sends the loopback-open cookie, if any.
    pub fn http(&self) -> reqwest::Client {
        super::local_link::client_with_cookie(self.local_cookie.as_deref())
    }

    /// A browser holding the loopback-open cookie, if any.
    pub fn browser(&self) -> Browser {
        let mut browser = Browser::new();
        if let Some((name, value)) = self.local_cookie.as_deref().and_then(|c| c.split_once('=')) {
            browser.jar.insert(name.to_owned(), value.to_owned());
        }
        browser
    }

    /// A state issued by the page, as the form would hand it to GitHub.
    pub async fn issued_state(&self) -> String {
        let (status, html) = self.get("/setup").await;
        assert_eq!(status, 200, "{html}");
        let (action, _) = setup_form(&html);
        query(&action)["state"].clone()
    }

    pub async fn stop(self) {
        self.stop.cancel();
        self.task.await.unwrap();
    }
}
