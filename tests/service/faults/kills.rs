//! The process killed (kill -9) mid-burst and mid-job, and stopped (SIGTERM) while a GitHub
//! request hangs.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use promptops_store::{JobStatus, Store};

use super::support::REPO;
use super::support::serve_process::ServeProcess;
use super::{
    Answer, Figures, Sender, count_stored, eventually, github_with_issue, issue_ref, plan_done,
    sqlite_url,
};

// ----- kill -9 mid-burst -----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_mid_burst_loses_nothing_acknowledged_and_redelivery_completes_it() {
    const SENDERS: usize = 8;
    const PER_SENDER: usize = 50;
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir.path().join("promptops.db"));
    let (github, issue) = github_with_issue("I need 2 T4 GPUs in us-west1").await;
    let env = [("DATABASE_URL", url.clone())];
    let server = ServeProcess::start(&github, &[], &env).await;
    let base = server.base.clone();
    let accepted = Arc::new(AtomicUsize::new(0));
    let sender = Arc::new(Sender::new(issue));
    let mut burst = tokio::task::JoinSet::new();
    for s in 0..SENDERS {
        let (sender, base, accepted) = (Arc::clone(&sender), base.clone(), Arc::clone(&accepted));
        burst.spawn(async move {
            let mut answers = Vec::new();
            for n in 0..PER_SENDER {
                let id = format!("burst-{s}-{n}");
                // Every tenth delivery is a command (a job); the rest are plain comments.
                let body = if n % 10 == 0 {
                    "/promptops help"
                } else {
                    "thanks!"
                };
                let answer = sender.send(&base, &id, body).await;
                if matches!(answer, Answer::Accepted { .. }) {
                    accepted.fetch_add(1, Ordering::SeqCst);
                }
                answers.push((id, body, answer));
            }
            answers
        });
    }
    eventually(
        "half the burst acknowledged",
        Duration::from_secs(60),
        || accepted.load(Ordering::SeqCst) >= SENDERS * PER_SENDER / 2,
    )
    .await;
    server.kill().await;
    let mut answers = Vec::new();
    while let Some(done) = burst.join_next().await {
        answers.extend(done.unwrap());
    }
    let acknowledged: BTreeSet<String> = answers
        .iter()
        .filter(|(_, _, answer)| matches!(answer, Answer::Accepted { .. }))
        .map(|(id, _, _)| id.clone())
        .collect();
    let (stored, doubled) = count_stored(&url, &acknowledged).await;
    let mut figures = Figures {
        scenario: "kill -9 mid-burst (8 senders)",
        sent: answers.len(),
        acknowledged: acknowledged.len(),
        refused: answers.len() - acknowledged.len(),
        stored,
        lost: acknowledged.len() - stored,
        doubled,
        recovery: None,
    };

    // GitHub redelivers what was not acknowledged; a redelivery of an acknowledged one is
    // answered "duplicate".
    let restarted = Instant::now();
    let server = ServeProcess::start(&github, &[], &env).await;
    figures.recovery = Some(restarted.elapsed());
    for (id, body, answer) in &answers {
        let again = sender.send(&server.base, id, body).await;
        let was_acknowledged = matches!(answer, Answer::Accepted { .. });
        // One that was committed but whose answer the kill cut off is stored already: its
        // redelivery is a duplicate too. Either way it must be accepted now, and stored once
        // (counted below).
        let acceptable = if was_acknowledged {
            again == Answer::Accepted { duplicate: true }
        } else {
            matches!(again, Answer::Accepted { .. })
        };
        assert!(acceptable, "{id}: {again:?} after {answer:?}");
    }
    let (status, _) = server.stop().await;
    assert!(status.success());
    let every: BTreeSet<String> = answers.iter().map(|(id, _, _)| id.clone()).collect();
    let (all_stored, doubled_after) = count_stored(&url, &every).await;
    figures.report();
    assert_eq!(figures.lost, 0, "{figures}");
    assert_eq!(figures.doubled + doubled_after, 0, "{figures}");
    assert_eq!(
        all_stored,
        every.len(),
        "after redelivery every delivery is stored once"
    );
}

// ----- kill -9 mid-job -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_mid_job_the_next_process_takes_the_job_over_within_30_s() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir.path().join("promptops.db"));
    let (github, issue) = github_with_issue("I need 2 T4 GPUs in us-west1").await;
    // Opening the PR takes 3 s (GitHub finishes it even if the client is gone): the job is
    // surely in flight when the process dies, and the request lands after its death.
    github.hold_next(
        "POST",
        &format!("/repos/{REPO}/pulls"),
        Duration::from_secs(3),
    );
    let env = [
        ("DATABASE_URL", url.clone()),
        ("PROMPTOPS_RESUME_PAUSE_SECS", "5".to_owned()),
    ];
    let server = ServeProcess::start(&github, &[], &env).await;
    let sender = Sender::new(issue_ref(&issue));
    let answer = sender
        .send(&server.base, "mid-job-1", "/promptops plan")
        .await;
    assert_eq!(answer, Answer::Accepted { duplicate: false });
    eventually(
        "the job reaches the PR step",
        Duration::from_secs(30),
        || github.pending_faults() == 0,
    )
    .await;
    server.kill().await;

    let restarted = Instant::now();
    let server = ServeProcess::start(&github, &[], &env).await;
    plan_done(&github, issue.number, Duration::from_secs(30)).await;
    let recovery = restarted.elapsed();
    // Whatever else lands later would land within GitHub's request time; look again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let prs = github.prs().len();
    let comments = github.comments(REPO, issue.number).len();
    let (status, _) = server.stop().await;
    assert!(status.success());
    let figures = Figures {
        scenario: "kill -9 mid-job",
        sent: 1,
        acknowledged: 1,
        stored: 1,
        doubled: (prs - 1) + (comments - 1),
        recovery: Some(recovery),
        ..Figures::default()
    };
    figures.report();
    assert_eq!((prs, comments), (1, 1), "one PR and one comment: {figures}");
    assert!(recovery < Duration::from_secs(30), "{figures}");
}

// ----- SIGTERM while a GitHub request hangs -----------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_with_a_hung_github_call_posts_one_comment_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir.path().join("promptops.db"));
    let (github, issue) = github_with_issue("I need 2 T4 GPUs in us-west1").await;
    // The plan's comment hangs 6 s — past the 1 s grace — and lands anyway.
    let hold = Duration::from_secs(6);
    github.hold_next(
        "POST",
        &format!("/repos/{REPO}/issues/{}/comments", issue.number),
        hold,
    );
    let env = [
        ("DATABASE_URL", url.clone()),
        ("PROMPTOPS_SHUTDOWN_GRACE_SECS", "1".to_owned()),
        ("PROMPTOPS_RESUME_PAUSE_SECS", "8".to_owned()),
    ];
    let server = ServeProcess::start(&github, &[], &env).await;
    let sender = Sender::new(issue_ref(&issue));
    let answer = sender.send(&server.base, "hung-1", "/promptops plan").await;
    assert_eq!(answer, Answer::Accepted { duplicate: false });
    eventually("the job posts its comment", Duration::from_secs(30), || {
        github.pending_faults() == 0
    })
    .await;
    let held_at = Instant::now();
    let stopping = Instant::now();
    let (status, log) = server.stop().await;
    let stopped_in = stopping.elapsed();
    assert!(status.success(), "{status:?}\n{log}");
    assert!(log.contains("job released at shutdown"), "{log}");

    let restarted = Instant::now();
    let server = ServeProcess::start(&github, &[], &env).await;
    plan_done(&github, issue.number, Duration::from_secs(30)).await;
    let recovery = restarted.elapsed();
    // Past the held request's landing.
    tokio::time::sleep((hold + Duration::from_secs(1)).saturating_sub(held_at.elapsed())).await;
    // The released job runs again only after its resume pause (8 s after the stop), in a
    // process that has just started: the test waits for that job's end, not for a fixed
    // time after the landing that a loaded machine can overrun. The bound is only there
    // so that a job that never ends fails the test, saying where it stands.
    let store = Store::connect(&url).await.unwrap();
    let finished = job_done(&store, "hung-1", Duration::from_secs(120)).await;
    store.close().await;
    if let Err(job) = finished {
        let (_, log) = server.stop().await;
        panic!("the released job did not finish after the restart: {job}\n{log}");
    }
    let comments = github.comments(REPO, issue.number).len();
    let prs = github.prs().len();
    let (status, _) = server.stop().await;
    assert!(status.success());
    let figures = Figures {
        scenario: "SIGTERM with a hung GitHub call",
        sent: 1,
        acknowledged: 1,
        stored: 1,
        doubled: (comments - 1) + (prs - 1),
        recovery: Some(recovery),
        ..Figures::default()
    };
    figures.report();
    eprintln!(
        "fault figures: SIGTERM to exit took {:.1} s",
        stopped_in.as_secs_f64()
    );
    assert_eq!((prs, comments), (1, 1), "one PR and one comment: {figures}");
}

/// Waits until the job of delivery `delivery_id` is done; `Err` describes where it stands
/// (status, attempts, when it may run, its last error) when it is not within `limit`.
async fn job_done(store: &Store, delivery_id: &str, limit: Duration) -> Result<(), String> {
    let started = Instant::now();
    loop {
        let jobs = store.list_jobs(None, 100).await.unwrap();
        let job = jobs
            .iter()
            .find(|job| job.delivery_id.as_deref() == Some(delivery_id));
        if job.is_some_and(|job| job.status == JobStatus::Done) {
            return Ok(());
        }
        if started.elapsed() > limit {
            return Err(format!("not done within {limit:?}: {job:#?}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
