//! GitHub failing: 502, an answer lost after the object was created, a secondary rate limit.

use std::time::Duration;

use promptops_store::Store;

use super::support::REPO;
use super::support::serve_process::ServeProcess;
use super::{
    Answer, Figures, Sender, add_issue, eventually, github_with_issue, issue_ref, sqlite_url,
};

// ----- GitHub faults ---------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn github_faults_one_pr_and_one_comment_and_a_rate_limit_frees_the_worker() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir.path().join("promptops.db"));
    let (github, flaky) = github_with_issue("I need 2 T4 GPUs in us-west1").await;
    let limited = add_issue(&github, "I need 1 T4 GPU in us-east1");
    let pulls = format!("/repos/{REPO}/pulls");
    // The flaky issue's plan: PR creation answered 502 once, its comment created but the
    // answer lost (502).
    github.fail_next("POST", &pulls, 502, &[], 1);
    github.apply_then_fail(
        "POST",
        &format!("/repos/{REPO}/issues/{}/comments", flaky.number),
        502,
    );
    // One worker: a rate limit that held it would hold everything.
    let env = [
        ("DATABASE_URL", url.clone()),
        ("PROMPTOPS_WORKERS", "1".to_owned()),
    ];
    let server = ServeProcess::start(&github, &[], &env).await;
    let flaky_sender = Sender::new(issue_ref(&flaky));
    let answer = flaky_sender
        .send(&server.base, "gh-flaky", "/promptops plan")
        .await;
    assert_eq!(answer, Answer::Accepted { duplicate: false });
    eventually(
        "the flaky plan's PR and comment",
        Duration::from_secs(60),
        || github.prs().len() == 1 && github.comments(REPO, flaky.number).len() == 1,
    )
    .await;

    // A secondary rate limit that names no time: the job goes back to the queue for a
    // minute; the one worker is free for the next job at once.
    github.fail_next("POST", &pulls, 403, &[], 1);
    let limited_sender = Sender::new(issue_ref(&limited));
    let answer = limited_sender
        .send(&server.base, "gh-limited", "/promptops plan")
        .await;
    assert_eq!(answer, Answer::Accepted { duplicate: false });
    eventually("the rate limit is hit", Duration::from_secs(30), || {
        github.pending_faults() == 0
    })
    .await;
    let third = add_issue(&github, "I need 4 T4 GPUs in us-west1");
    let answer = Sender::new(issue_ref(&third))
        .send(&server.base, "gh-third", "/promptops help")
        .await;
    assert_eq!(answer, Answer::Accepted { duplicate: false });
    let freed = eventually(
        "the next job runs while the limit lasts",
        Duration::from_secs(20),
        || !github.comments(REPO, third.number).is_empty(),
    )
    .await;
    let store = Store::connect(&url).await.unwrap();
    let deferred: Vec<_> = store
        .list_jobs(Some(promptops_store::JobStatus::Queued), 10)
        .await
        .unwrap()
        .into_iter()
        .filter(|job| job.delivery_id.as_deref() == Some("gh-limited"))
        .collect();
    assert_eq!(
        deferred.len(),
        1,
        "the limited job waits in the queue: {deferred:?}"
    );
    assert_eq!(deferred[0].attempts, 0, "a rate limit uses no attempt");
    assert!(
        deferred[0].run_after > chrono::Utc::now() + Duration::from_secs(30),
        "rescheduled for GitHub's minute: {:?}",
        deferred[0]
    );
    store.close().await;
    let (status, _) = server.stop().await;
    assert!(status.success());
    let prs = github.prs().len();
    let flaky_comments = github.comments(REPO, flaky.number).len();
    let figures = Figures {
        scenario: "GitHub 502, lost answer, 403 limit",
        sent: 3,
        acknowledged: 3,
        stored: 3,
        doubled: (prs - 1) + (flaky_comments - 1),
        recovery: Some(freed),
        ..Figures::default()
    };
    figures.report();
    assert_eq!((prs, flaky_comments), (1, 1), "{figures}");
}
