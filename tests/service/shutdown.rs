//! Graceful shutdown: a job still running when the grace period ends goes back to the
//! queue, without counting as a failed attempt, for the next process to take.

use crate::support;

use promptops_store::JobStatus;
use support::{IssueRef, Options, REPO, TestService, comment_payload};

#[tokio::test(flavor = "multi_thread")]
async fn a_job_in_flight_at_shutdown_is_released() {
    let service = TestService::start(Options::default()).await;
    let body = "I need 2 T4 GPUs in us-west1";
    let number = service.github.add_issue(REPO, "alice", "GPUs", body);
    let issue = IssueRef {
        number,
        title: "GPUs".into(),
        body: body.into(),
        is_pull_request: false,
    };
    // GitHub asks the bot to wait 50 s before opening the PR: the job is in flight.
    service
        .github
        .secondary_rate_limit_next("POST", &format!("/repos/{REPO}/pulls"), 50);
    service
        .deliver(
            "issue_comment",
            &comment_payload(&issue, "alice", "/promptops plan"),
        )
        .await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while service.github.pending_faults() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the job never reached GitHub"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let store = service.store.clone();
    let mut events = service.events.resubscribe();
    service.stop().await;
    let event = events.recv().await.unwrap();
    assert_eq!(
        event.outcome,
        promptops::pipeline::jobs::JobOutcome::Released
    );
    let job = store.job(event.job_id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Queued);
    assert_eq!(job.locked_by, None);
    assert_eq!(job.attempts, 0, "a released job does not use up an attempt");
}
