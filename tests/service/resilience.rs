//! GitHub misbehaving and processes dying: the request still ends as one PR and one
//! comment, and a job is finished exactly once.

use crate::support;

use std::time::Duration;

use support::{IssueRef, Options, REPO, TestService, comment_payload};

fn an_issue(service: &TestService) -> IssueRef {
    let body = "I need 2 T4 GPUs in us-west1";
    let number = service.github.add_issue(REPO, "alice", "GPUs", body);
    IssueRef {
        number,
        title: "GPUs".into(),
        body: body.into(),
        is_pull_request: false,
    }
}

fn pulls_path() -> String {
    format!("/repos/{REPO}/pulls")
}

fn comments_path(issue: u64) -> String {
    format!("/repos/{REPO}/issues/{issue}/comments")
}

#[tokio::test(flavor = "multi_thread")]
async fn github_answering_502_then_201_yields_one_pr_and_one_comment() {
    let mut service = TestService::start(Options::default()).await;
    let issue = an_issue(&service);
    service.github.fail_next("POST", &pulls_path(), 502, &[], 1);
    service
        .github
        .fail_next("POST", &comments_path(issue.number), 502, &[], 1);
    service
        .deliver(
            "issue_comment",
            &comment_payload(&issue, "alice", "/promptops plan"),
        )
        .await;
    service.job_done().await;
    assert_eq!(service.github.pending_faults(), 0, "both faults were hit");
    assert_eq!(service.github.prs().len(), 1);
    assert_eq!(service.github.comments(REPO, issue.number).len(), 1);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_answer_to_a_create_does_not_create_twice() {
    let mut service = TestService::start(Options::default()).await;
    let issue = an_issue(&service);
    // The PR and the comment are created, but the answers are lost (502).
    service.github.apply_then_fail("POST", &pulls_path(), 502);
    service
        .github
        .apply_then_fail("POST", &comments_path(issue.number), 502);
    service
        .deliver(
            "issue_comment",
            &comment_payload(&issue, "alice", "/promptops plan"),
        )
        .await;
    service.job_done().await;
    assert_eq!(service.github.pending_faults(), 0);
    assert_eq!(service.github.prs().len(), 1);
    assert_eq!(service.github.comments(REPO, issue.number).len(), 1);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secondary_rate_limit_is_waited_out() {
    let mut service = TestService::start(Options::default()).await;
    let issue = an_issue(&service);
    service
        .github
        .secondary_rate_limit_next("POST", &pulls_path(), 1);
    service
        .deliver(
            "issue_comment",
            &comment_payload(&issue, "alice", "/promptops plan"),
        )
        .await;
    service.job_done().await;
    let attempts = service.github.requests_to("POST", &pulls_path());
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(attempts[0].status, 403);
    assert_eq!(attempts[1].status, 201);
    let waited = attempts[1].since_start - attempts[0].since_start;
    assert!(
        waited >= Duration::from_secs(1),
        "retry-after: 1 was obeyed (waited {waited:?})"
    );
    assert_eq!(service.github.prs().len(), 1);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_process_killed_mid_job_is_finished_once_by_the_next_one() {
    let lease = Duration::from_secs(1);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    let first = TestService::start(Options {
        lease,
        database: Some(db.clone()),
        ..Options::default()
    })
    .await;
    let github = first.github.clone();
    let issue = an_issue(&first);
    // The PR creation fails a few times, so the job is surely in flight when we kill it.
    github.fail_next("POST", &pulls_path(), 502, &[], 3);
    first
        .deliver(
            "issue_comment",
            &comment_payload(&issue, "alice", "/promptops plan"),
        )
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while github.requests_to("POST", &pulls_path()).is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the job never reached the PR step"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.crash().await;
    assert!(
        github.prs().is_empty(),
        "the first process died before opening the PR"
    );
    assert!(
        github
            .branch_head(REPO, &format!("promptops/issue-{}", issue.number))
            .is_some(),
        "it had already pushed the branch"
    );

    let mut second = TestService::start_with(
        github.clone(),
        Options {
            lease,
            database: Some(db),
            ..Options::default()
        },
    )
    .await;
    let event = second.job_done().await;
    let job = second.store.job(event.job_id).await.unwrap().unwrap();
    assert_eq!(job.attempts, 2, "claimed again after the lease expired");
    assert_eq!(github.prs().len(), 1);
    assert_eq!(github.comments(REPO, issue.number).len(), 1);
    let jobs = second.store.list_jobs(None, 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    // Nothing else runs the job again.
    tokio::time::sleep(lease * 2).await;
    assert_eq!(github.prs().len(), 1);
    assert_eq!(github.comments(REPO, issue.number).len(), 1);
    second.stop().await;
}
