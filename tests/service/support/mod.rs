//! The service as the end-to-end tests drive it: the real router and workers on a
//! loopback port, a per-test SQLite database, the stateful fake GitHub from
//! `promptops-testkit`, and GitHub's own example webhook payloads, signed for real.

pub mod chromium;
pub mod exposition;
pub mod html;
pub mod local_link;
pub mod oauth_browser;
pub mod serve_process;
pub mod setup_flow;
pub mod sign_in_flow;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser as _;
use promptops::app::{App, Overrides, TerraformChoice};
use promptops::pipeline::jobs::JobOutcome;
use promptops::pipeline::worker::{JobEvent, WorkerSettings};
use promptops_github::client::RetryPolicy;
use promptops_planner::PlannerSettings;
use promptops_store::Store;
use promptops_testkit::{
    CommentedIssue, FakeGithub, issue_comment_payload, pull_request_payload, sign_webhook,
};
use serde_json::Value;
use tokio::sync::broadcast;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub const REPO: &str = "Codertocat/Hello-World";

/// A full commit SHA that starts with `prefix` (zeros after it).
pub fn commit_sha(prefix: &str) -> promptops_core::CommitSha {
    format!("{prefix:0<40}").parse().expect("hex digits")
}

/// [`REPO`] as the store and the GitHub client take it.
pub fn repo_name() -> promptops_core::RepoName {
    REPO.parse().expect("REPO is a repository name")
}
pub const OWNER: &str = "Codertocat";
pub const INSTALLATION: u64 = 4242;
pub const SECRET: &str = "webhook-secret-for-tests";

/// GitHub's example payloads, as split from the octokit collection (see its README).
pub use promptops_testkit::example_payload as fixture;

/// `issue_comment.created` for `issue`, written by `author`, with GitHub's App-delivery
/// `installation` added.
pub fn comment_payload(issue: &IssueRef, author: &str, body: &str) -> Value {
    let commented = CommentedIssue {
        repo: REPO,
        number: issue.number,
        title: &issue.title,
        body: &issue.body,
        is_pull_request: issue.is_pull_request,
    };
    issue_comment_payload(INSTALLATION, &commented, author, body)
}

pub struct IssueRef {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub is_pull_request: bool,
}

impl IssueRef {
    /// Opens issue `title` with `body` by `author` in the fake's repository.
    pub fn open(github: &FakeGithub, author: &str, title: &str, body: &str) -> IssueRef {
        IssueRef {
            number: github.add_issue(REPO, author, title, body),
            title: title.to_owned(),
            body: body.to_owned(),
            is_pull_request: false,
        }
    }
}

/// Waits until `check` holds, checking every 50 ms; fails naming `what` after `limit`.
/// Returns how long it took.
pub async fn eventually(what: &str, limit: Duration, mut check: impl FnMut() -> bool) -> Duration {
    let started = std::time::Instant::now();
    while !check() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

/// The bodies of the comments on `issue` that contain `needle`.
pub fn comments_with(github: &FakeGithub, issue: u64, needle: &str) -> Vec<String> {
    github
        .comments(REPO, issue)
        .into_iter()
        .map(|c| c.body)
        .filter(|body| body.contains(needle))
        .collect()
}

pub struct Options {
    pub planner: PlannerSettings,
    pub lease: Duration,
    pub workers: usize,
    pub database: Option<PathBuf>,
    /// A `postgres://` URL; when set it is used instead of any SQLite file (`database`).
    pub database_url: Option<String>,
    /// Runner settings for Terraform; `None`: the service runs no Terraform.
    pub terraform: Option<promptops_terraform::RunnerConfig>,
    /// `PROMPTOPS_DASHBOARD_TOKEN`; without one the dashboard is open (loopback bind).
    pub dashboard_token: Option<String>,
    /// Sign-in with GitHub against the fake (its OAuth client id and secret, its URL as
    /// both `GITHUB_WEB_URL` and `GITHUB_API_URL`, the service's own address as
    /// `PROMPTOPS_PUBLIC_URL`).
    pub github_sign_in: bool,
    /// `GITHUB_WEB_URL` for sign-in, instead of the fake's.
    pub github_web_url: Option<String>,
    /// The clock sign-in sessions are issued and checked with.
    pub sign_in_clock: Option<Arc<dyn promptops_core::clock::Clock>>,
    /// The address the dashboard is told it listens on, instead of the real loopback one
    /// (e.g. `0.0.0.0:3000`, to be treated as reachable from the network).
    pub dashboard_bind: Option<SocketAddr>,
    /// `PROMPTOPS_PUBLIC_URL` as comments use it for links to the dashboard.
    pub public_url: Option<String>,
    /// The clock the workers claim jobs by and handlers date things by (expiries); the
    /// system clock when `None`.
    pub clock: Option<Arc<dyn promptops_core::clock::Clock>>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            planner: PlannerSettings::default(),
            lease: Duration::from_secs(60),
            workers: 2,
            database: None,
            database_url: None,
            terraform: None,
            dashboard_token: None,
            github_sign_in: false,
            github_web_url: None,
            sign_in_clock: None,
            dashboard_bind: None,
            public_url: None,
            clock: None,
        }
    }
}

pub struct TestService {
    pub github: Arc<FakeGithub>,
    pub store: Store,
    pub addr: SocketAddr,
    /// Sends `local_cookie` when there is one (see `local_link::client_with_cookie`).
    pub http: reqwest::Client,
    /// Loopback-open (no token, no sign-in): the link the service logs at start.
    pub local_link: Option<String>,
    /// The cookie that link left, as `name=value`.
    pub local_cookie: Option<String>,
    pub events: broadcast::Receiver<JobEvent>,
    /// The SQLite file; empty when the service runs on `options.database_url`.
    pub db_path: PathBuf,
    shutdown: CancellationToken,
    tasks: JoinSet<()>,
    _dir: Option<tempfile::TempDir>,
}

impl TestService {
    /// A fake GitHub holding the fixtures' repository, installed for the App, with
    /// `alice` (write, the author of the commits the tests make) and `rita` (read).
    pub async fn start(options: Options) -> TestService {
        let github = Arc::new(FakeGithub::start().await);
        github.add_repo(REPO);
        github.add_installation(INSTALLATION, OWNER);
        github.set_permission(REPO, "alice", "write");
        github.set_permission(REPO, "rita", "read");
        // The branches tests push are alice's work, as GitHub would attribute them.
        github.set_commit_author(Some("alice"));
        Self::start_with(github, options).await
    }

    /// Another service process on the same fake GitHub (and, with `options.database` or
    /// `options.database_url`, the same database).
    pub async fn start_with(github: Arc<FakeGithub>, options: Options) -> TestService {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
            )
            .with_test_writer()
            .try_init();
        let (dir, db_path, url) = match (options.database_url.clone(), options.database.clone()) {
            (Some(url), _) => (None, PathBuf::new(), url),
            (None, Some(path)) => {
                let url = format!("sqlite://{}", path.display());
                (None, path, url)
            }
            (None, None) => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("promptops.db");
                let url = format!("sqlite://{}", path.display());
                (Some(dir), path, url)
            }
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = App::build(
            &settings_for(&github, &options, &url, addr),
            overrides(&options),
        )
        .await
        .unwrap_or_else(|err| panic!("building the service on {url}: {err:#}"));
        let store = app.service.store.clone();
        let local_link = app
            .dashboard
            .access
            .local_link()
            .map(|link| link.link_to(&format!("http://{addr}/dashboard")));
        let events = app.service.signals.events.subscribe();
        let shutdown = CancellationToken::new();
        let mut tasks = app
            .service
            .workers(WorkerSettings {
                workers: options.workers,
                lease: options.lease,
                idle_poll: Duration::from_millis(100),
                shutdown_grace: Duration::from_secs(5),
                identity: promptops::pipeline::heartbeat::ProcessIdentity {
                    id: format!("test-{}", fastrand::u32(..)),
                    // A host of its own: services of one test share a pid, not a host.
                    host: format!("test-host-{}", fastrand::u32(..)),
                    pid: std::process::id(),
                },
                ..WorkerSettings::default()
            })
            .unwrap()
            .spawn(shutdown.clone());
        let router = app.router();
        let stop = shutdown.clone();
        tasks.spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
                .unwrap();
        });
        let local_cookie = match &local_link {
            Some(link) => Some(local_link::open_local_link(link).await),
            None => None,
        };
        TestService {
            github,
            store,
            addr,
            http: local_link::client_with_cookie(local_cookie.as_deref()),
            local_link,
            local_cookie,
            events,
            db_path,
            shutdown,
            tasks,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Posts a signed delivery with a fresh delivery id.
    pub async fn deliver(&self, event: &str, payload: &Value) -> reqwest::Response {
        let id = format!("{:032x}", fastrand::u128(..));
        self.deliver_as(event, &id, payload).await
    }

    pub async fn deliver_as(
        &self,
        event: &str,
        delivery_id: &str,
        payload: &Value,
    ) -> reqwest::Response {
        let body = serde_json::to_vec(payload).unwrap();
        self.http
            .post(self.url("/webhook"))
            .header("content-type", "application/json")
            .header("x-github-event", event)
            .header("x-github-delivery", delivery_id)
            .header("x-hub-signature-256", sign_webhook(SECRET, &body))
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Delivers `body` as `author`'s comment on `issue` and waits for its job to succeed.
    pub async fn command(&mut self, issue: &IssueRef, author: &str, body: &str) -> JobEvent {
        let response = self
            .deliver("issue_comment", &comment_payload(issue, author, body))
            .await;
        assert_eq!(response.status(), 202);
        self.job_done().await
    }

    /// Waits for `count` job outcomes and returns them.
    pub async fn jobs_finished(&mut self, count: usize) -> Vec<JobEvent> {
        let mut seen = Vec::new();
        while seen.len() < count {
            let event = tokio::time::timeout(Duration::from_secs(30), self.events.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "only {} of {count} jobs finished within 30 s: {seen:?}",
                        seen.len()
                    )
                })
                .unwrap();
            seen.push(event);
        }
        seen
    }

    /// Waits for one job and asserts that it succeeded.
    pub async fn job_done(&mut self) -> JobEvent {
        let event = self.jobs_finished(1).await.remove(0);
        assert_eq!(event.outcome, JobOutcome::Done, "{event:?}");
        event
    }

    /// Stops accepting, lets in-flight jobs finish or releases them.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        while self.tasks.join_next().await.is_some() {}
    }

    /// Ends the process abruptly: workers and server are aborted mid-flight, nothing is
    /// released — as a crash or `kill -9` would leave it.
    pub async fn crash(mut self) {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
    }
}

/// `promptops serve`'s settings as its command line gives them.
pub fn serve_settings(args: &[&str]) -> promptops::config::ServeSettings {
    let mut all = vec!["promptops", "serve"];
    all.extend_from_slice(args);
    match promptops::cli::Cli::try_parse_from(all).unwrap().command {
        promptops::cli::Command::Serve(settings) => *settings,
        _ => unreachable!("parsed `serve`"),
    }
}

/// The settings of a service on `database_url` whose App (id, key, webhook secret) is the
/// fake GitHub's, its dashboard told it listens on `addr` (or `options.dashboard_bind`).
fn settings_for(
    github: &FakeGithub,
    options: &Options,
    database_url: &str,
    addr: SocketAddr,
) -> promptops::config::ServeSettings {
    let app_id = github.app_id().to_string();
    let private_key = format!("--github-private-key={}", github.private_key_pem());
    let api_url = github.url();
    let web_url = options
        .github_web_url
        .clone()
        .unwrap_or_else(|| github.url());
    let bind = options.dashboard_bind.unwrap_or(addr).to_string();
    // Comments link to the dashboard only when a public URL is set.
    let public_url = options
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let client_id = github.oauth_client_id();
    let client_secret = github.oauth_client_secret();
    let mut args = vec![
        "--github-app-id",
        &app_id,
        // One argument: the PEM starts with dashes, which would read as a flag.
        &private_key,
        "--github-webhook-secret",
        SECRET,
        "--github-api-url",
        &api_url,
        "--github-web-url",
        &web_url,
        "--database-url",
        database_url,
        "--bind",
        &bind,
    ];
    if let Some(token) = &options.dashboard_token {
        args.extend(["--dashboard-token", token]);
    }
    if options.github_sign_in {
        args.extend([
            "--github-client-id",
            &client_id,
            "--github-client-secret",
            &client_secret,
            "--public-url",
            &public_url,
        ]);
    } else if options.public_url.is_some() {
        args.extend(["--public-url", &public_url]);
    }
    serve_settings(&args)
}

/// The fakes and short timings a test service runs with.
fn overrides(options: &Options) -> Overrides {
    Overrides {
        planner: Some(options.planner.clone()),
        terraform: match &options.terraform {
            Some(config) => TerraformChoice::Config(Box::new(config.clone())),
            None => TerraformChoice::Off,
        },
        github_retry: Some(RetryPolicy {
            base_backoff: Duration::from_millis(20),
            ..RetryPolicy::default()
        }),
        sign_in_clock: options.sign_in_clock.clone(),
        clock: options.clock.clone(),
    }
}

/// `pull_request.<action>` for PR `number` of the fake GitHub as it stands now (head,
/// merge state), sent by the PR's author, with GitHub's App-delivery `installation` added.
/// The author opened it and pushed to it (tests that need another pusher set `sender`).
pub fn pr_payload(github: &FakeGithub, action: &str, number: u64) -> Value {
    pull_request_payload(github, REPO, INSTALLATION, action, number)
        .unwrap_or_else(|| panic!("fake GitHub has no PR #{number}"))
}

/// What a browser would send back with a dashboard page's form: the page's `csrf` field
/// and, when the page set one, the form cookie (as a `Cookie` header value).
pub struct FormToken {
    pub csrf: String,
    pub cookie: Option<String>,
}

/// Opens the dashboard page at `url` (with `headers`) and reads its form token.
pub async fn dashboard_form_token(
    http: &reqwest::Client,
    url: &str,
    headers: &[(&str, String)],
) -> FormToken {
    let mut request = http.get(url);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "opening {url}");
    let cookie = response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("promptops_csrf="))
        .map(|value| value.split(';').next().unwrap().to_owned());
    let html = response.text().await.unwrap();
    let marker = "name=\"csrf\" value=\"";
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("no csrf field in {url}: {html}"))
        + marker.len();
    let csrf = html[at..at + html[at..].find('"').unwrap()].to_owned();
    FormToken { csrf, cookie }
}
