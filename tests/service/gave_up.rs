//! A job whose every attempt fails tells the thread that asked for it, once it is out of
//! attempts — without the error, which stays in the log.

use crate::support;

use std::sync::Arc;

use chrono::{SubsecRound, TimeDelta, Utc};
use promptops::pipeline::jobs::JobOutcome;
use promptops_store::JobStatus;
use promptops_testkit::ManualClock;
use support::{IssueRef, Options, REPO, TestService, comment_payload};

/// A service on a clock the test moves past each retry's backoff.
async fn service_with_clock() -> (TestService, ManualClock) {
    // Ahead of the system clock, which stamps the jobs deliveries queue: those are due at once.
    let clock = ManualClock::new(Utc::now().trunc_subsecs(0) + TimeDelta::hours(1));
    let service = TestService::start(Options {
        clock: Some(Arc::new(clock.clone())),
        ..Options::default()
    })
    .await;
    (service, clock)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_out_of_attempts_tells_its_issue_that_it_gave_up_without_the_error() {
    let (mut service, clock) = service_with_clock().await;
    let issue = IssueRef::open(
        &service.github,
        "alice",
        "GPUs",
        "I need 2 T4 GPUs in us-west1",
    );
    let number = issue.number;
    // GitHub refuses every pull request the plan opens, with a message of its own.
    service.github.fail_next_with_body(
        "POST",
        &format!("/repos/{REPO}/pulls"),
        502,
        &[],
        r#"{"message":"upstream secret-ish detail"}"#,
        1000,
    );
    service
        .deliver(
            "issue_comment",
            &comment_payload(&issue, "alice", "/promptops plan"),
        )
        .await;
    let gave_up = |service: &TestService| -> Vec<String> {
        service
            .github
            .comments(REPO, number)
            .into_iter()
            .map(|comment| comment.body)
            .filter(|body| body.contains("gave up"))
            .collect()
    };
    let mut job_id = None;
    for attempt in 1..=5 {
        let event = service.jobs_finished(1).await.remove(0);
        assert!(
            matches!(event.outcome, JobOutcome::Failed { .. }),
            "attempt {attempt}: {event:?}"
        );
        job_id = Some(event.job_id);
        if attempt < 5 {
            assert!(gave_up(&service).is_empty(), "not before the last attempt");
            // Past the backoff of the next attempt.
            clock.advance(TimeDelta::hours(1));
        }
    }
    let job_id = job_id.unwrap();
    let job = service.store.job(job_id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    let said = gave_up(&service);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].contains("after 5 failed attempts"), "{}", said[0]);
    assert!(said[0].contains(&format!("job_id={job_id}")), "{}", said[0]);
    assert!(said[0].contains("Comment the command again"), "{}", said[0]);
    assert!(
        !said[0].contains("secret-ish") && !said[0].contains("502"),
        "the error stays in the log: {}",
        said[0]
    );
    service.stop().await;
}

/// The same failure under two comments: the maintainer's thread is told, the outsider's is
/// not (an outsider's comments never make the bot write, as with refused commands).
#[tokio::test(flavor = "multi_thread")]
async fn an_outsiders_comment_is_not_answered_when_its_job_gives_up() {
    let (mut service, clock) = service_with_clock().await;
    service.github.set_permission(REPO, "mallory", "read");
    // The repository's settings cannot be read, for anyone's commands.
    service.github.fail_next_with_body(
        "GET",
        &format!("/repos/{REPO}/contents/.github/promptops.yml"),
        502,
        &[],
        r#"{"message":"upstream"}"#,
        1000,
    );
    let mut threads = Vec::new();
    for author in ["alice", "mallory"] {
        let issue = IssueRef::open(
            &service.github,
            author,
            "GPUs",
            "I need 2 T4 GPUs in us-west1",
        );
        service
            .deliver(
                "issue_comment",
                &comment_payload(&issue, author, "/promptops plan"),
            )
            .await;
        threads.push(issue.number);
    }
    for attempt in 1..=5 {
        for event in service.jobs_finished(2).await {
            assert!(
                matches!(event.outcome, JobOutcome::Failed { .. }),
                "attempt {attempt}: {event:?}"
            );
        }
        clock.advance(TimeDelta::hours(1));
    }
    let bot_comments = |number| -> Vec<String> {
        service
            .github
            .comments(REPO, number)
            .into_iter()
            .map(|comment| comment.body)
            .collect()
    };
    let maintainers = bot_comments(threads[0]);
    assert_eq!(maintainers.len(), 1, "{maintainers:?}");
    assert!(maintainers[0].contains("gave up"), "{}", maintainers[0]);
    assert_eq!(bot_comments(threads[1]), Vec::<String>::new());
    service.stop().await;
}
