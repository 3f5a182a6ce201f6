//! What someone signed in with GitHub sees and may do, repository by repository: only
//! the runs, deployments, locks and schedules of repositories GitHub lets them read, and
//! an unlock only with the repository's `permissions.min_permission` — as GitHub says
//! now, not as it said when they signed in. The operator (the dashboard token) keeps
//! seeing and doing everything. "Try a prompt" belongs to no repository but spends the
//! operator's model tokens: it needs that `min_permission` on at least one repository.

use std::sync::Arc;

use chrono::{Duration, Utc};
use promptops_core::{IssueNumber, PrNumber};
use promptops_store::{NewRun, RunKind, RunStatus};
use promptops_testkit::ManualClock;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, ORIGIN};

use crate::support::html::element_text;
use crate::support::oauth_browser::{Browser, HTML, public_bind, sign_in};
use crate::support::{INSTALLATION, Options, REPO, TestService, commit_sha, repo_name};

/// A repository of another account, on another installation of the same App.
const OTHER: &str = "Octo-Org/secret-infra";
const OTHER_INSTALLATION: u64 = 4343;
const TOKEN: &str = "operator-token-for-repo-access";
const PERMISSION_PATH: &str = "/repos/Codertocat/Hello-World/collaborators/octocat/permission";

fn other() -> promptops_core::RepoName {
    OTHER.parse().unwrap()
}

/// Sign-in and the operator's token; `octocat` is a member of the fixtures' installation
/// with `role` on its repository and nothing on `OTHER`.
async fn start(role: &str, clock: Option<ManualClock>) -> TestService {
    let service = TestService::start(Options {
        github_sign_in: true,
        dashboard_token: Some(TOKEN.to_owned()),
        dashboard_bind: public_bind(),
        sign_in_clock: clock.map(|clock| Arc::new(clock) as _),
        ..Options::default()
    })
    .await;
    let github = &service.github;
    github.add_repo(OTHER);
    github.add_installation(OTHER_INSTALLATION, "Octo-Org");
    github.add_installation_member(INSTALLATION, "octocat");
    github.set_permission(REPO, "octocat", role);
    github.set_permission(OTHER, "mona", "admin");
    service
}

/// A requested, planned, locked and drift-checked deployment; the run's id.
async fn deployment(service: &TestService, repo: &promptops_core::RepoName, name: &str) -> i64 {
    let store = &service.store;
    let (issue, pr) = (IssueNumber::new(3), PrNumber::new(4));
    store
        .upsert_request(repo, issue, name, &format!("promptops/{name}"), Some(pr))
        .await
        .unwrap();
    let run = plan_run(service, repo, name).await;
    store.acquire_lock(repo, name, pr).await.unwrap();
    store
        .record_drift_check(repo, name, "no_drift", &format!("{name} checked"), None)
        .await
        .unwrap();
    run
}

async fn plan_run(service: &TestService, repo: &promptops_core::RepoName, name: &str) -> i64 {
    let id = service
        .store
        .insert_run(&NewRun {
            repo: repo.clone(),
            pr: Some(PrNumber::new(4)),
            deployment: name.to_owned(),
            kind: RunKind::Plan,
            sha: Some(commit_sha("abc")),
        })
        .await
        .unwrap();
    service
        .store
        .finish_run(id, RunStatus::Succeeded, "Plan: 1 to add", "ok")
        .await
        .unwrap();
    id
}

async fn page(browser: &mut Browser, url: &str) -> (StatusCode, String) {
    let (status, _, page) = browser.open(url).await;
    (status, page)
}

/// The form token of the session's pages (the Sign out form carries it).
fn csrf(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let at = page.find(marker).unwrap_or_else(|| panic!("{page}")) + marker.len();
    page[at..at + page[at..].find('"').unwrap()].to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_in_user_sees_only_the_repositories_github_lets_them_read() {
    let service = start("read", None).await;
    let mine = deployment(&service, &repo_name(), "visible-t4").await;
    let theirs = deployment(&service, &other(), "hidden-a100").await;
    // A busier repository's runs do not push the visible one off the runs page.
    for _ in 0..101 {
        plan_run(&service, &other(), "hidden-a100").await;
    }
    let mut browser = sign_in(&service, "octocat").await;
    for path in [
        "/dashboard",
        "/dashboard/runs",
        "/dashboard/locks",
        "/dashboard/schedules",
    ] {
        let (status, html) = page(&mut browser, &service.url(path)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {html}");
        assert!(html.contains("visible-t4"), "{path}: {html}");
        assert!(
            !html.contains("hidden-a100") && !html.contains("secret-infra"),
            "{path} shows another repository: {html}"
        );
    }
    let (_, runs) = page(&mut browser, &service.url("/dashboard/runs")).await;
    assert!(runs.contains(&format!("id=\"run-{mine}\"")), "{runs}");
    assert!(!runs.contains(&format!("id=\"run-{theirs}\"")), "{runs}");

    let hidden = [
        format!("/dashboard/runs/{theirs}"),
        format!("/dashboard/deployments/{OTHER}/hidden-a100"),
    ];
    for path in &hidden {
        let (status, html) = page(&mut browser, &service.url(path)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        let refusal = element_text(&html, "refusal").unwrap_or_else(|| panic!("{html}"));
        assert!(
            refusal.contains("octocat cannot read on GitHub"),
            "{path}: {refusal}"
        );
        assert!(!html.contains("hidden-a100 checked"), "{html}");
    }

    // The operator sees every repository.
    let operator = service
        .http
        .get(service.url("/dashboard/runs"))
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(operator.contains("hidden-a100"), "{operator}");
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unlocking_needs_the_repositorys_min_permission_on_github() {
    let service = start("read", None).await;
    deployment(&service, &repo_name(), "train-t4").await;
    deployment(&service, &other(), "hidden-a100").await;
    let mut browser = sign_in(&service, "octocat").await;
    let (_, locks) = page(&mut browser, &service.url("/dashboard/locks")).await;
    let token = csrf(&locks);
    let unlock = |browser: &Browser, repo: &str, deployment: &str| {
        let request = browser
            .http
            .post(service.url("/dashboard/locks/unlock"))
            .header(ORIGIN, service.url(""))
            .header(reqwest::header::ACCEPT, HTML)
            .header(reqwest::header::COOKIE, browser.cookie_header())
            .form(&[
                ("repo", repo.to_owned()),
                ("deployment", deployment.to_owned()),
                ("csrf", token.clone()),
            ]);
        request.send()
    };
    let locked = |repo: promptops_core::RepoName, deployment: &'static str| {
        let store = service.store.clone();
        async move { store.lock(&repo, deployment).await.unwrap().is_some() }
    };

    // Read is not enough: the default min_permission is write.
    let refused = unlock(&browser, REPO, "train-t4").await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let html = refused.text().await.unwrap();
    let refusal = element_text(&html, "refusal").unwrap_or_else(|| panic!("{html}"));
    assert!(
        refusal.contains("octocat has read permission on Codertocat/Hello-World")
            && refusal.contains("needs write or higher")
            && refusal.contains("permissions.min_permission"),
        "{refusal}"
    );
    assert!(locked(repo_name(), "train-t4").await, "the lock stays");
    let confirm = format!("/dashboard/locks/unlock?repo={REPO}&deployment=train-t4");
    let (status, html) = page(&mut browser, &service.url(&confirm)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no form is offered: {html}");
    assert!(
        !html.contains("action=\"/dashboard/locks/unlock\""),
        "{html}"
    );

    // The repository asks for more, and GitHub is asked afresh at each attempt.
    service.github.set_file(
        REPO,
        "main",
        ".github/promptops.yml",
        "permissions:\n  min_permission: maintain\n",
    );
    service.github.set_permission(REPO, "octocat", "write");
    let refused = unlock(&browser, REPO, "train-t4").await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let html = refused.text().await.unwrap();
    assert!(
        element_text(&html, "refusal")
            .unwrap()
            .contains("has write permission on Codertocat/Hello-World, and unlocking a deployment there needs maintain"),
        "{html}"
    );
    service.github.set_permission(REPO, "octocat", "maintain");
    let unlocked = unlock(&browser, REPO, "train-t4").await.unwrap();
    assert_eq!(unlocked.status(), StatusCode::OK);
    let html = unlocked.text().await.unwrap();
    let notice = element_text(&html, "notice").unwrap_or_else(|| panic!("{html}"));
    assert!(notice.contains("by octocat"), "{notice}");
    assert!(!locked(repo_name(), "train-t4").await);

    // Another installation's repository, which octocat cannot read: refused, by name.
    let refused = unlock(&browser, OTHER, "hidden-a100").await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let html = refused.text().await.unwrap();
    assert!(
        element_text(&html, "refusal")
            .unwrap()
            .contains("octocat cannot read Octo-Org/secret-infra on GitHub"),
        "{html}"
    );
    assert!(locked(other(), "hidden-a100").await);
    // The operator may.
    let operator = service
        .http
        .post(service.url("/dashboard/locks/unlock"))
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .form(&[("repo", OTHER), ("deployment", "hidden-a100")])
        .send()
        .await
        .unwrap();
    assert_eq!(operator.status(), StatusCode::OK);
    assert!(!locked(other(), "hidden-a100").await);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_permission_stops_counting_within_a_minute_and_github_trouble_is_named() {
    let clock = ManualClock::new(Utc::now());
    let service = start("read", Some(clock.clone())).await;
    let run = deployment(&service, &repo_name(), "train-t4").await;
    let mut browser = sign_in(&service, "octocat").await;
    let row = format!("id=\"run-{run}\"");
    let asked = || service.github.requests_to("GET", PERMISSION_PATH).len();
    let before = asked();
    let (_, runs) = page(&mut browser, &service.url("/dashboard/runs")).await;
    assert!(runs.contains(&row), "{runs}");
    assert_eq!(
        asked(),
        before,
        "pages within a minute reuse GitHub's answer"
    );

    service.github.set_permission(REPO, "octocat", "none");
    clock.advance(Duration::seconds(61));
    let (status, runs) = page(&mut browser, &service.url("/dashboard/runs")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !runs.contains(&row),
        "the lost permission counts now: {runs}"
    );
    assert_eq!(asked(), before + 1);

    // GitHub failing while asked: a page that says so, not an empty list.
    clock.advance(Duration::seconds(61));
    service
        .github
        .fail_next("GET", PERMISSION_PATH, 503, &[], 20);
    let (status, html) = page(&mut browser, &service.url("/dashboard/runs")).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{html}");
    let refusal = element_text(&html, "refusal").unwrap_or_else(|| panic!("{html}"));
    assert!(
        refusal
            .contains("GitHub could not say what octocat may see or do in Codertocat/Hello-World"),
        "{refusal}"
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repository_whose_runs_are_all_older_than_the_newest_100_is_on_the_runs_page() {
    let service = start("read", None).await;
    // Runs only, no request: nothing but its runs says the repository exists.
    let mine = plan_run(&service, &repo_name(), "old-t4").await;
    for _ in 0..101 {
        plan_run(&service, &other(), "busy-a100").await;
    }
    let mut browser = sign_in(&service, "octocat").await;
    let (status, runs) = page(&mut browser, &service.url("/dashboard/runs")).await;
    assert_eq!(status, StatusCode::OK, "{runs}");
    assert!(runs.contains(&format!("id=\"run-{mine}\"")), "{runs}");
    assert!(!runs.contains("busy-a100"), "{runs}");
    service.stop().await;
}

/// The try page's form, as a browser submits it.
async fn try_prompt(browser: &Browser, service: &TestService, token: &str) -> reqwest::Response {
    browser
        .http
        .post(service.url("/dashboard/try"))
        .header(ORIGIN, service.url(""))
        .header(reqwest::header::ACCEPT, HTML)
        .header(reqwest::header::COOKIE, browser.cookie_header())
        .form(&[("prompt", "I need 5 T4 GPUs in us-west1"), ("csrf", token)])
        .send()
        .await
        .unwrap()
}

const TRY_FORM: &str = "<form method=\"post\" action=\"/dashboard/try\">";

#[tokio::test(flavor = "multi_thread")]
async fn trying_a_prompt_needs_a_repositorys_min_permission_on_github() {
    let service = start("read", None).await;
    deployment(&service, &repo_name(), "train-t4").await;
    deployment(&service, &other(), "hidden-a100").await;
    let mut browser = sign_in(&service, "octocat").await;

    // Read is not enough: the form is not offered, and a submitted one plans nothing.
    let (status, html) = page(&mut browser, &service.url("/dashboard/try")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
    assert!(!html.contains(TRY_FORM), "{html}");
    let refusal = element_text(&html, "refusal").unwrap_or_else(|| panic!("{html}"));
    assert!(
        refusal.starts_with("Trying a prompt (it spends the operator's model tokens) needs")
            && refusal.contains("permissions.min_permission")
            && refusal.contains("GitHub gives octocat that on none of them"),
        "{refusal}"
    );
    assert!(!refusal.contains("secret-infra"), "{refusal}");
    let token = csrf(&html);
    let refused = try_prompt(&browser, &service, &token).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let html = refused.text().await.unwrap();
    assert!(
        element_text(&html, "refusal")
            .unwrap_or_else(|| panic!("{html}"))
            .contains("GitHub gives octocat that on none of them"),
        "{html}"
    );
    assert_eq!(element_text(&html, "tfvars"), None, "{html}");

    // Write, the default min_permission, on a repository PromptOps serves: GitHub is asked
    // afresh at the POST, and the page follows within the minute.
    service.github.set_permission(REPO, "octocat", "write");
    let planned = try_prompt(&browser, &service, &token).await;
    assert_eq!(planned.status(), StatusCode::OK);
    let html = planned.text().await.unwrap();
    assert!(element_text(&html, "tfvars").is_some(), "{html}");
    let (status, html) = page(&mut browser, &service.url("/dashboard/try")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(TRY_FORM), "{html}");

    // The repository asks for more: write there is not enough any more, but the needed
    // permission on any other repository PromptOps serves is.
    service.github.set_file(
        REPO,
        "main",
        ".github/promptops.yml",
        "permissions:\n  min_permission: maintain\n",
    );
    let refused = try_prompt(&browser, &service, &token).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    service.github.set_permission(OTHER, "octocat", "write");
    assert_eq!(
        try_prompt(&browser, &service, &token).await.status(),
        StatusCode::OK
    );

    // GitHub failing while asked: a page that says so.
    service
        .github
        .fail_next("GET", PERMISSION_PATH, 503, &[], 20);
    let failed = try_prompt(&browser, &service, &token).await;
    assert_eq!(failed.status(), StatusCode::BAD_GATEWAY);
    let html = failed.text().await.unwrap();
    assert!(
        element_text(&html, "refusal")
            .unwrap_or_else(|| panic!("{html}"))
            .contains("GitHub could not say what octocat may see or do"),
        "{html}"
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operator_may_try_a_prompt_whatever_github_says() {
    let service = start("none", None).await;
    let operator = |request: reqwest::RequestBuilder| {
        request
            .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
            .send()
    };
    let form = operator(service.http.get(service.url("/dashboard/try")))
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    assert!(form.text().await.unwrap().contains(TRY_FORM));
    let planned = operator(
        service
            .http
            .post(service.url("/dashboard/try"))
            .form(&[("prompt", "I need 5 T4 GPUs in us-west1")]),
    )
    .await
    .unwrap();
    assert_eq!(planned.status(), StatusCode::OK);
    let html = planned.text().await.unwrap();
    assert!(element_text(&html, "tfvars").is_some(), "{html}");
    service.stop().await;
}
