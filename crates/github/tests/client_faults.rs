//! Retries against injected faults: lost answers on creates never duplicate, server errors
//! are retried within bounds, rate limits are waited out as GitHub asks.

mod client_support;

use std::time::Duration;

use client_support::{FULL, OWNER, branch_with_change, env, env_with_policy, repo_name};
use promptops_core::IssueNumber;
use promptops_github::client::{
    BranchMove, CheckStatus, FileChange, GithubError, NewCheckRun, NewPullRequest, RetryPolicy,
};

fn new_pr(head: &str) -> NewPullRequest {
    NewPullRequest {
        head: head.into(),
        base: "main".into(),
        title: "web: 1 x T4".into(),
        body: "Closes #1".into(),
    }
}

const PULLS: &str = "/repos/acme/infra/pulls";

#[tokio::test]
async fn bad_gateway_then_created_yields_one_pr_and_one_comment() {
    let e = env().await;
    let issue = e.gh.add_issue(FULL, "alice", "GPUs", "5 T4");
    branch_with_change(&e.gh, "promptops/issue-1");
    e.gh.fail_next("POST", PULLS, 502, &[], 1);
    e.gh.fail_next("POST", "/repos/acme/infra/issues/1/comments", 502, &[], 1);

    let pr = e
        .api
        .create_pr(&repo_name(), &new_pr("promptops/issue-1"))
        .await
        .unwrap();
    let id = e
        .api
        .create_comment(
            &repo_name(),
            IssueNumber::new(issue),
            &format!("Opened #{}", pr.number),
        )
        .await
        .unwrap();

    assert_eq!(e.gh.prs().len(), 1);
    let comments = e.gh.comments(FULL, issue);
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].id, id);
    // Both creates were answered 502 once and then sent again.
    let pr_posts = e.gh.requests_to("POST", PULLS);
    assert_eq!(
        pr_posts.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![502, 201]
    );
    let comment_posts =
        e.gh.requests_to("POST", "/repos/acme/infra/issues/1/comments");
    assert_eq!(
        comment_posts.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![502, 201]
    );
    assert_eq!(e.gh.pending_faults(), 0);
}

#[tokio::test]
async fn lost_answers_on_creates_do_not_duplicate() {
    let e = env().await;
    let issue = e.gh.add_issue(FULL, "alice", "GPUs", "5 T4");
    let main = e.gh.branch_head(FULL, "main").unwrap();

    // Branch: created, answer lost; the retry finds it.
    e.gh.apply_then_fail("POST", "/repos/acme/infra/git/refs", 502);
    let b = e
        .api
        .ensure_branch(&repo_name(), "promptops/issue-1", &main.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(b.head_sha, main);
    assert_eq!(
        e.gh.requests_to("POST", "/repos/acme/infra/git/refs").len(),
        1
    );

    // Branch move: applied, answer lost; the branch holding the commit's own SHA settles
    // it, and the move is not sent again.
    let main_sha = main.parse().unwrap();
    let commit = e
        .api
        .commit_change_on(
            &repo_name(),
            &main_sha,
            "a.tfvars",
            FileChange::Write("vm_count = 1\n"),
            "Plan",
        )
        .await
        .unwrap()
        .expect("a commit");
    let moves = "/repos/acme/infra/git/refs/heads/promptops/issue-1";
    e.gh.apply_then_fail("PATCH", moves, 502);
    let moved = e
        .api
        .advance_branch(&repo_name(), "promptops/issue-1", &commit)
        .await
        .unwrap();
    assert_eq!(moved, BranchMove::Advanced);
    let head = e.gh.branch_head(FULL, "promptops/issue-1").unwrap();
    assert_eq!(head, commit.to_string());
    assert_eq!(e.gh.requests_to("PATCH", moves).len(), 1);

    // PR: opened, answer lost.
    e.gh.apply_then_fail("POST", PULLS, 502);
    let pr = e
        .api
        .create_pr(&repo_name(), &new_pr("promptops/issue-1"))
        .await
        .unwrap();
    assert_eq!(e.gh.prs().len(), 1);
    assert_eq!(e.gh.prs()[0].number, pr.number.get());
    assert_eq!(e.gh.requests_to("POST", PULLS).len(), 1);

    // Comment: posted, answer lost.
    e.gh.fail_after_apply("POST", "/repos/acme/infra/issues/1/comments");
    let id = e
        .api
        .create_comment(&repo_name(), IssueNumber::new(issue), "Opened the PR")
        .await
        .unwrap();
    let comments = e.gh.comments(FULL, issue);
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].id, id);

    // Check run: created, answer lost; found again by external id.
    e.gh.apply_then_fail("POST", "/repos/acme/infra/check-runs", 502);
    let run = NewCheckRun {
        name: "promptops/plan".into(),
        head_sha: head.parse().unwrap(),
        status: CheckStatus::Queued,
        conclusion: None,
        output: None,
        details_url: None,
        external_id: None,
        buttons: None,
    };
    let run_id = e.api.create_check_run(&repo_name(), &run).await.unwrap();
    assert_eq!(e.gh.check_runs().len(), 1);
    assert_eq!(e.gh.check_runs()[0].id, run_id);

    // Commit: made, answer lost; sent again it makes a second commit on no branch, and
    // the branch takes only the one whose SHA came back.
    let commits = "/repos/acme/infra/git/commits";
    let before = e.gh.requests_to("POST", commits).len();
    e.gh.apply_then_fail("POST", commits, 502);
    let removal = e
        .api
        .commit_change_on(
            &repo_name(),
            &commit,
            "a.tfvars",
            FileChange::Remove,
            "Destroy",
        )
        .await
        .unwrap()
        .expect("a commit");
    assert_eq!(e.gh.requests_to("POST", commits).len(), before + 2);
    assert_eq!(
        e.api
            .advance_branch(&repo_name(), "promptops/issue-1", &removal)
            .await
            .unwrap(),
        BranchMove::Advanced
    );
    assert_eq!(e.gh.file(FULL, "promptops/issue-1", "a.tfvars"), None);
    assert_eq!(
        e.gh.commit(FULL, removal.as_str()).unwrap().parents,
        vec![commit.to_string()]
    );
}

#[tokio::test]
async fn secondary_rate_limit_with_retry_after_is_waited_out() {
    let e = env().await;
    let issue = e.gh.add_issue(FULL, "alice", "GPUs", "5 T4");
    e.gh.secondary_rate_limit_next("POST", "/repos/acme/infra/issues/1/comments", 1);

    e.api
        .create_comment(&repo_name(), IssueNumber::new(issue), "hello")
        .await
        .unwrap();

    assert_eq!(
        e.sleeper.waits(),
        vec![Duration::from_secs(1)],
        "waited what retry-after asked"
    );
    assert_eq!(e.gh.comments(FULL, issue).len(), 1);
    let posts =
        e.gh.requests_to("POST", "/repos/acme/infra/issues/1/comments");
    assert_eq!(
        posts.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![403, 201]
    );
}

#[tokio::test]
async fn secondary_rate_limit_is_waited_out_in_real_time() {
    // Real sleeping: the fake's own arrival times show the gap (a lower bound only).
    let gh = promptops_testkit::FakeGithub::start().await;
    gh.add_repo(FULL);
    gh.add_installation(5, OWNER);
    let app =
        promptops_github::client::GithubApp::new(&gh.url(), gh.app_id(), &client_support::key())
            .unwrap();
    let api = app.installation(5).unwrap();
    gh.secondary_rate_limit_next("GET", "/repos/acme/infra", 1);

    assert_eq!(api.default_branch(&repo_name()).await.unwrap(), "main");

    let gets = gh.requests_to("GET", "/repos/acme/infra");
    assert_eq!(gets.len(), 2);
    assert_eq!((gets[0].status, gets[1].status), (403, 200));
    let gap = gets[1].at.duration_since(gets[0].at);
    assert!(
        gap >= Duration::from_secs(1),
        "retried after {gap:?}, before retry-after: 1 elapsed"
    );
}

#[tokio::test]
async fn primary_limit_waits_until_the_reset_time() {
    let policy = RetryPolicy {
        max_rate_limit_wait: Duration::from_secs(300),
        ..RetryPolicy::default()
    };
    let e = env_with_policy(policy).await;
    let reset = (chrono::Utc::now().timestamp() + 100).to_string();
    e.gh.fail_next(
        "GET",
        "/repos/acme/infra",
        403,
        &[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &reset),
        ],
        1,
    );
    assert_eq!(e.api.default_branch(&repo_name()).await.unwrap(), "main");
    let waits = e.sleeper.waits();
    assert_eq!(waits.len(), 1);
    // Up to the reset (100 s ahead when the fault was set) plus one second of margin.
    assert!(
        waits[0] > Duration::from_secs(60) && waits[0] <= Duration::from_secs(101),
        "wait {:?} should reach the reset",
        waits[0]
    );
}

#[tokio::test]
async fn a_wait_beyond_the_cap_is_reported_not_slept() {
    let e = env().await;
    e.gh.fail_next(
        "GET",
        "/repos/acme/infra",
        429,
        &[("retry-after", "3600")],
        1,
    );
    let err = e.api.default_branch(&repo_name()).await.unwrap_err();
    match &err {
        GithubError::RateLimited { retry_after, .. } => {
            assert_eq!(*retry_after, Duration::from_secs(3600))
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert!(err.is_transient());
    assert!(e.sleeper.waits().is_empty());
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    let policy = RetryPolicy {
        max_attempts: 3,
        ..RetryPolicy::default()
    };
    let e = env_with_policy(policy).await;
    e.gh.fail_next("GET", "/repos/acme/infra", 503, &[], 10);
    let err = e.api.default_branch(&repo_name()).await.unwrap_err();
    assert!(
        matches!(err, GithubError::Exhausted { attempts: 3, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("503"), "{err}");
    assert_eq!(e.gh.requests_to("GET", "/repos/acme/infra").len(), 3);
    // Two back-offs between three attempts, growing.
    let waits = e.sleeper.waits();
    assert_eq!(waits.len(), 2);
    assert!(waits[1] > waits[0], "{waits:?}");
}

#[tokio::test]
async fn permission_denied_is_not_retried() {
    let e = env().await;
    e.gh.fail_next_with_body(
        "GET",
        "/repos/acme/infra",
        403,
        &[],
        r#"{"message":"Resource not accessible by integration"}"#,
        1,
    );
    let err = e.api.default_branch(&repo_name()).await.unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert!(
        err.to_string()
            .contains("Resource not accessible by integration"),
        "{err}"
    );
    assert_eq!(e.gh.requests_to("GET", "/repos/acme/infra").len(), 1);
    assert!(e.sleeper.waits().is_empty());
}

#[tokio::test]
async fn a_rate_limit_that_names_no_wait_is_handed_back_at_once() {
    let e = env().await;
    // 403 with GitHub's secondary-rate-limit message and no `retry-after`.
    e.gh.fail_next("GET", "/repos/acme/infra", 403, &[], 1);
    let err = e.api.default_branch(&repo_name()).await.unwrap_err();
    match &err {
        GithubError::RateLimited { retry_after, .. } => {
            assert_eq!(
                *retry_after,
                RetryPolicy::default().secondary_limit_default_wait
            )
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert_eq!(e.gh.requests_to("GET", "/repos/acme/infra").len(), 1);
    assert!(e.sleeper.waits().is_empty());
}

#[tokio::test]
async fn rate_limits_on_every_attempt_exhaust_the_attempts_without_a_last_wait() {
    let policy = RetryPolicy {
        max_attempts: 3,
        ..RetryPolicy::default()
    };
    let e = env_with_policy(policy).await;
    e.gh.fail_next("GET", "/repos/acme/infra", 429, &[("retry-after", "2")], 10);
    let err = e.api.default_branch(&repo_name()).await.unwrap_err();
    match &err {
        GithubError::Exhausted { attempts, last, .. } => {
            assert_eq!(*attempts, 3);
            assert!(last.starts_with("429 Too Many Requests: "), "{last}");
        }
        other => panic!("expected Exhausted, got {other:?}"),
    }
    assert_eq!(e.gh.requests_to("GET", "/repos/acme/infra").len(), 3);
    assert_eq!(e.sleeper.waits(), vec![Duration::from_secs(2); 2]);
}
