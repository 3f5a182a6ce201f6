//! The client's observer hook against the fake GitHub: every attempt is reported with its
//! method, route template and status class; retries with their reason; rate-limit waits
//! with the time waited. No reported route carries a name, number, branch or path.

mod client_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use client_support::{FULL, INSTALLATION, OWNER, RecordingSleeper, key, repo_name};
use promptops_core::IssueNumber;
use promptops_github::client::{
    ApiRequest, ApiRetry, FileChange, GithubApp, GithubError, GithubObserver, RateLimitWait,
    RepoApi, RetryPolicy, RetryReason, StatusClass,
};
use promptops_testkit::FakeGithub;

/// What the client reported, in order.
#[derive(Default)]
struct Recorder {
    requests: Mutex<Vec<(String, String, StatusClass)>>,
    retries: Mutex<Vec<(String, String, RetryReason)>>,
    waits: Mutex<Vec<(String, Duration)>>,
}

impl GithubObserver for Recorder {
    fn api_request(&self, request: &ApiRequest<'_>) {
        self.requests.lock().unwrap().push((
            request.method.to_owned(),
            request.route.to_owned(),
            request.status,
        ));
    }
    fn api_retry(&self, retry: &ApiRetry<'_>) {
        self.retries.lock().unwrap().push((
            retry.method.to_owned(),
            retry.route.to_owned(),
            retry.reason,
        ));
    }
    fn rate_limit_wait(&self, wait: &RateLimitWait<'_>) {
        self.waits
            .lock()
            .unwrap()
            .push((wait.route.to_owned(), wait.wait));
    }
}

impl Recorder {
    fn statuses(&self, method: &str, route: &str) -> Vec<StatusClass> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, r, _)| m == method && r == route)
            .map(|(_, _, status)| *status)
            .collect()
    }
}

struct Env {
    gh: FakeGithub,
    api: RepoApi,
    recorder: Arc<Recorder>,
    sleeper: Arc<RecordingSleeper>,
}

async fn env() -> Env {
    let gh = FakeGithub::start().await;
    gh.add_repo(FULL);
    gh.add_installation(INSTALLATION, OWNER);
    gh.set_permission(FULL, "alice", "write");
    let recorder = Arc::new(Recorder::default());
    let sleeper = Arc::new(RecordingSleeper::default());
    let app = GithubApp::new(&gh.url(), gh.app_id(), &key())
        .expect("client for the fake")
        .with_retry_policy(RetryPolicy::default())
        .with_sleeper(sleeper.clone())
        .with_observer(recorder.clone());
    let api = app.installation(INSTALLATION).expect("installation handle");
    Env {
        gh,
        api,
        recorder,
        sleeper,
    }
}

const COMMENTS_ROUTE: &str = "/repos/{owner}/{repo}/issues/{number}/comments";

#[tokio::test]
async fn a_secondary_rate_limit_is_reported_as_a_wait_and_a_retry() {
    let e = env().await;
    let issue = e.gh.add_issue(FULL, "alice", "GPUs", "5 T4");
    e.gh.secondary_rate_limit_next("POST", "/repos/acme/infra/issues/1/comments", 7);

    e.api
        .create_comment(&repo_name(), IssueNumber::new(issue), "hello")
        .await
        .unwrap();

    assert_eq!(
        e.recorder.statuses("POST", COMMENTS_ROUTE),
        vec![StatusClass::ClientError, StatusClass::Success]
    );
    assert_eq!(
        *e.recorder.waits.lock().unwrap(),
        vec![(COMMENTS_ROUTE.to_owned(), Duration::from_secs(7))]
    );
    assert_eq!(e.sleeper.waits(), vec![Duration::from_secs(7)]);
    assert_eq!(
        *e.recorder.retries.lock().unwrap(),
        vec![(
            "POST".to_owned(),
            COMMENTS_ROUTE.to_owned(),
            RetryReason::RateLimited
        )]
    );
}

#[tokio::test]
async fn a_server_error_is_reported_then_the_retry() {
    let e = env().await;
    e.gh.fail_next("GET", "/repos/acme/infra", 502, &[], 1);
    assert_eq!(e.api.default_branch(&repo_name()).await.unwrap(), "main");
    assert_eq!(
        e.recorder.statuses("GET", "/repos/{owner}/{repo}"),
        vec![StatusClass::ServerError, StatusClass::Success]
    );
    assert_eq!(
        *e.recorder.retries.lock().unwrap(),
        vec![(
            "GET".to_owned(),
            "/repos/{owner}/{repo}".to_owned(),
            RetryReason::ServerError
        )]
    );
    assert!(e.recorder.waits.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_wait_beyond_the_cap_is_neither_waited_nor_retried() {
    let e = env().await;
    e.gh.fail_next(
        "GET",
        "/repos/acme/infra",
        429,
        &[("retry-after", "3600")],
        1,
    );
    let err = e.api.default_branch(&repo_name()).await.unwrap_err();
    assert!(matches!(err, GithubError::RateLimited { .. }), "{err:?}");
    assert_eq!(
        e.recorder.statuses("GET", "/repos/{owner}/{repo}"),
        vec![StatusClass::ClientError]
    );
    assert!(e.recorder.waits.lock().unwrap().is_empty());
    assert!(e.recorder.retries.lock().unwrap().is_empty());
}

#[tokio::test]
async fn routes_are_templates_without_names_numbers_or_paths() {
    let e = env().await;
    let issue = e.gh.add_issue(FULL, "alice", "GPUs", "5 T4");
    let main = e.gh.branch_head(FULL, "main").unwrap();
    e.api
        .ensure_branch(&repo_name(), "promptops/issue-1", &main.parse().unwrap())
        .await
        .unwrap();
    let commit = e
        .api
        .commit_change_on(
            &repo_name(),
            &main.parse().unwrap(),
            "terraform/deployments/web/terraform.tfvars",
            FileChange::Write("vm_count = 1\n"),
            "web: 1 VM",
        )
        .await
        .unwrap()
        .expect("a commit");
    e.api
        .advance_branch(&repo_name(), "promptops/issue-1", &commit)
        .await
        .unwrap();
    e.api
        .get_file(
            &repo_name(),
            "terraform/deployments/web/terraform.tfvars",
            "promptops/issue-1",
        )
        .await
        .unwrap()
        .expect("the file just written");
    e.api
        .collaborator_permission(&repo_name(), "alice")
        .await
        .unwrap();
    e.api
        .create_comment(&repo_name(), IssueNumber::new(issue), "first")
        .await
        .unwrap();
    e.api
        .create_comment(&repo_name(), IssueNumber::new(issue), "second")
        .await
        .unwrap();

    let requests = e.recorder.requests.lock().unwrap().clone();
    assert!(requests.len() >= 6, "{requests:?}");
    for (method, route, _) in &requests {
        for leaked in [
            "acme",
            "infra",
            "alice",
            "promptops",
            "terraform",
            "issue-1",
        ] {
            assert!(!route.contains(leaked), "{method} {route} names {leaked:?}");
        }
        assert!(
            !route.chars().any(|c| c.is_ascii_digit()),
            "{method} {route} carries a number"
        );
    }
    // Both comments are one series.
    assert_eq!(
        e.recorder.statuses("POST", COMMENTS_ROUTE),
        vec![StatusClass::Success, StatusClass::Success]
    );
    for (method, route) in [
        ("GET", "/repos/{owner}/{repo}/git/commits/{sha}"),
        ("POST", "/repos/{owner}/{repo}/git/trees"),
        ("POST", "/repos/{owner}/{repo}/git/commits"),
        ("PATCH", "/repos/{owner}/{repo}/git/refs/heads/{branch}"),
    ] {
        assert!(
            e.recorder
                .statuses(method, route)
                .contains(&StatusClass::Success),
            "{method} {route}: {requests:?}"
        );
    }
    assert!(
        e.recorder
            .statuses(
                "GET",
                "/repos/{owner}/{repo}/collaborators/{username}/permission"
            )
            .contains(&StatusClass::Success),
        "{requests:?}"
    );
}

#[tokio::test]
async fn a_refused_connection_is_reported_and_retried_as_a_transport_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let recorder = Arc::new(Recorder::default());
    let sleeper = Arc::new(RecordingSleeper::default());
    let policy = RetryPolicy {
        max_attempts: 3,
        ..RetryPolicy::default()
    };
    let app = GithubApp::new(&url, 1, &key())
        .expect("client")
        .with_retry_policy(policy)
        .with_sleeper(sleeper.clone())
        .with_observer(recorder.clone());
    let api = app.installation(INSTALLATION).expect("installation handle");
    let err = api.default_branch(&repo_name()).await.unwrap_err();
    assert!(
        matches!(err, GithubError::Exhausted { attempts: 3, .. }),
        "{err:?}"
    );
    assert_eq!(
        recorder.statuses("GET", "/repos/{owner}/{repo}"),
        vec![StatusClass::Transport; 3]
    );
    let retries: Vec<RetryReason> = recorder
        .retries
        .lock()
        .unwrap()
        .iter()
        .map(|(_, _, reason)| *reason)
        .collect();
    assert_eq!(retries, vec![RetryReason::Transport; 2]);
    assert_eq!(sleeper.waits().len(), 2, "a back-off between attempts");
}
