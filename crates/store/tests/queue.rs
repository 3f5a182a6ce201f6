//! The job queue: claims, leases, retries with backoff, release, exactly-once completion.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Backend, TestDb, repo, test_options};
use promptops_store::{
    Delivery, FailOutcome, JobStatus, NewJob, RecordOutcome, StoreError, StoreOptions,
};
use serde_json::json;

const LEASE: Duration = Duration::from_secs(30);

fn job(n: u32) -> NewJob {
    NewJob::new("plan", repo("octo/infra"), json!({ "n": n }))
}

/// Many workers claiming at once from many jobs: every job is claimed by exactly one worker.
async fn each_job_is_claimed_once_under_concurrency(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open(test_options()).await;
    let mut ids = HashSet::new();
    for n in 0..120 {
        ids.insert(store.enqueue(job(n)).await.unwrap().unwrap());
    }
    let now = db.clock.now_rounded();
    let claimed = Arc::new(Mutex::new(Vec::new()));
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..12 {
        let store = store.clone();
        let claimed = Arc::clone(&claimed);
        workers.spawn(async move {
            let worker = format!("worker-{w}");
            while let Some(job) = store.claim(&worker, LEASE, now).await.unwrap() {
                assert_eq!(job.locked_by.as_deref(), Some(worker.as_str()));
                assert_eq!(job.attempts, 1);
                claimed.lock().unwrap().push(job.id);
                store.complete(job.id, &worker).await.unwrap();
            }
        });
    }
    while let Some(result) = workers.join_next().await {
        result.unwrap();
    }
    let claimed = claimed.lock().unwrap().clone();
    let unique: HashSet<i64> = claimed.iter().copied().collect();
    assert_eq!(claimed.len(), unique.len(), "a job was claimed twice");
    assert_eq!(unique, ids);
    let stats = store.queue_stats(now).await.unwrap();
    assert_eq!((stats.queued, stats.running, stats.done), (0, 0, 120));
}

/// Claims go oldest first and skip jobs that are not yet due.
async fn claims_due_jobs_in_order(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open(test_options()).await;
    let now = db.clock.now_rounded();
    let later = store
        .enqueue(job(0).with_run_after(now + chrono::Duration::seconds(60)))
        .await
        .unwrap()
        .unwrap();
    let first = store.enqueue(job(1)).await.unwrap().unwrap();
    let second = store.enqueue(job(2)).await.unwrap().unwrap();

    assert_eq!(
        store.claim("w", LEASE, now).await.unwrap().unwrap().id,
        first
    );
    assert_eq!(
        store.claim("w", LEASE, now).await.unwrap().unwrap().id,
        second
    );
    assert!(
        store.claim("w", LEASE, now).await.unwrap().is_none(),
        "the delayed job is not due"
    );
    let stats = store.queue_stats(now).await.unwrap();
    assert_eq!((stats.queued, stats.due, stats.running), (1, 0, 2));
    assert_eq!(stats.oldest_due_age, None);

    store.complete(first, "w").await.unwrap();
    store.complete(second, "w").await.unwrap();
    let at = now + chrono::Duration::seconds(75);
    let stats = store.queue_stats(at).await.unwrap();
    assert_eq!(stats.due, 1);
    assert_eq!(stats.oldest_due_age, Some(Duration::from_secs(15)));
    let claimed = store.claim("w", LEASE, at).await.unwrap().unwrap();
    assert_eq!(claimed.id, later);
    assert_eq!(claimed.payload, json!({ "n": 0 }));
    assert_eq!(
        claimed.locked_until,
        Some(at + chrono::Duration::seconds(30))
    );
}

/// A crashed worker's job is claimable again once its lease ran out, and the late worker
/// can no longer finish it: it is finished exactly once.
async fn expired_lease_is_reclaimed_and_late_worker_refused(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open(test_options()).await;
    let id = store.enqueue(job(1)).await.unwrap().unwrap();
    let t0 = db.clock.now_rounded();

    let first = store.claim("crashed", LEASE, t0).await.unwrap().unwrap();
    assert_eq!(first.id, id);
    assert!(
        store
            .claim("other", LEASE, t0 + chrono::Duration::seconds(29))
            .await
            .unwrap()
            .is_none()
    );

    let t1 = t0 + chrono::Duration::seconds(31);
    let second = store.claim("other", LEASE, t1).await.unwrap().unwrap();
    assert_eq!(second.id, id);
    assert_eq!(second.attempts, 2);
    assert_eq!(second.locked_by.as_deref(), Some("other"));

    let err = store.complete(id, "crashed").await.unwrap_err();
    assert!(
        matches!(&err, StoreError::NotLeaseHolder { holder: Some(h), .. } if h == "other"),
        "{err}"
    );
    assert!(store.fail(id, "crashed", "late", t1).await.is_err());
    assert!(store.release(id, "crashed").await.is_err());
    assert!(store.extend_lease(id, "crashed", LEASE, t1).await.is_err());

    store.complete(id, "other").await.unwrap();
    let done = store.job(id).await.unwrap().unwrap();
    assert_eq!(done.status, JobStatus::Done);
    assert_eq!(done.finished_at, Some(db.clock.now_rounded()));
    assert!(
        store.complete(id, "other").await.is_err(),
        "completing twice is refused"
    );
    assert!(matches!(
        store.complete(999_999, "other").await,
        Err(StoreError::JobNotFound(999_999))
    ));
}

/// Extending the lease keeps the job from being taken over.
async fn extended_lease_holds_the_job(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open(test_options()).await;
    let id = store.enqueue(job(1)).await.unwrap().unwrap();
    let t0 = db.clock.now_rounded();
    store.claim("w1", LEASE, t0).await.unwrap().unwrap();

    let until = store
        .extend_lease(id, "w1", LEASE, t0 + chrono::Duration::seconds(20))
        .await
        .unwrap();
    assert_eq!(until, t0 + chrono::Duration::seconds(50));
    assert!(
        store
            .claim("w2", LEASE, t0 + chrono::Duration::seconds(40))
            .await
            .unwrap()
            .is_none()
    );
    let taken = store
        .claim("w2", LEASE, t0 + chrono::Duration::seconds(51))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.id, id);
}

/// Failures retry after a growing, jittered backoff; after max_attempts the job is failed
/// with its last error kept and is not claimed again.
async fn failures_back_off_then_fail_for_good(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open(test_options()).await; // max_attempts 3, base 10 s
    let id = store.enqueue(job(1)).await.unwrap().unwrap();
    let mut now = db.clock.now_rounded();

    for (attempt, full_delay) in [(1_u32, 10_i64), (2, 20)] {
        let claimed = store.claim("w", LEASE, now).await.unwrap().unwrap();
        assert_eq!((claimed.id, claimed.attempts), (id, attempt));
        let outcome = store
            .fail(id, "w", &format!("boom {attempt}"), now)
            .await
            .unwrap();
        let FailOutcome::Retrying {
            attempts,
            run_after,
        } = outcome
        else {
            panic!("attempt {attempt} should retry, got {outcome:?}");
        };
        assert_eq!(attempts, attempt);
        let delay = (run_after - now).num_milliseconds();
        assert!(
            (full_delay * 500..=full_delay * 1000).contains(&delay),
            "attempt {attempt}: delay {delay} ms outside [{}, {}] ms",
            full_delay * 500,
            full_delay * 1000
        );
        let queued = store.job(id).await.unwrap().unwrap();
        assert_eq!(queued.status, JobStatus::Queued);
        assert_eq!(queued.run_after, run_after);
        assert_eq!(
            queued.last_error.as_deref(),
            Some(format!("boom {attempt}").as_str())
        );
        assert_eq!(queued.locked_by, None);
        assert!(
            store
                .claim("w", LEASE, run_after - chrono::Duration::milliseconds(1))
                .await
                .unwrap()
                .is_none(),
            "not claimable before the backoff ends"
        );
        now = run_after;
    }

    let last = store.claim("w", LEASE, now).await.unwrap().unwrap();
    assert_eq!(last.attempts, 3);
    assert_eq!(
        store.fail(id, "w", "final error", now).await.unwrap(),
        FailOutcome::Failed { attempts: 3 }
    );
    let failed = store.job(id).await.unwrap().unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert_eq!(failed.last_error.as_deref(), Some("final error"));
    assert!(failed.finished_at.is_some());
    assert!(
        store
            .claim("w", LEASE, now + chrono::Duration::days(1))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.queue_stats(now).await.unwrap().failed, 1);
}

/// A job whose worker dies on every attempt ends failed instead of circulating forever.
async fn lease_expiring_on_last_attempt_fails_the_job(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db
        .open(StoreOptions {
            max_attempts: 1,
            ..test_options()
        })
        .await;
    let id = store.enqueue(job(1)).await.unwrap().unwrap();
    let t0 = db.clock.now_rounded();
    store.claim("dies", LEASE, t0).await.unwrap().unwrap();
    assert!(
        store
            .claim("w", LEASE, t0 + chrono::Duration::seconds(31))
            .await
            .unwrap()
            .is_none()
    );
    let failed = store.job(id).await.unwrap().unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert!(failed.last_error.unwrap().contains("lease expired"));
}

/// Release (graceful shutdown) puts the job back without counting the attempt.
async fn release_requeues_without_counting(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open(test_options()).await;
    let id = store.enqueue(job(1)).await.unwrap().unwrap();
    let now = db.clock.now_rounded();
    store.claim("w1", LEASE, now).await.unwrap().unwrap();
    assert!(matches!(
        store.release(id, "w2").await,
        Err(StoreError::NotLeaseHolder { .. })
    ));
    store.release(id, "w1").await.unwrap();
    let queued = store.job(id).await.unwrap().unwrap();
    assert_eq!(
        (queued.status, queued.attempts, queued.locked_by.clone()),
        (JobStatus::Queued, 0, None)
    );

    let again = store.claim("w2", LEASE, now).await.unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (id, 1));
}

/// A comment may carry U+0000 (JSON writes it `\u0000`), which PostgreSQL's jsonb refuses:
/// both backends store the replacement character instead, so the delivery is not refused
/// again and again; every other character, and payloads without U+0000, are untouched.
async fn a_nul_character_in_a_payload_is_stored_as_the_replacement_character(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open(test_options()).await;
    let hostile = serde_json::json!({
        "body": "/promptops plan\u{0}2 T4\u{0}",
        "nested": [{ "ke\u{0}y": "x\u{0}" }],
        "plain": "caf\u{e9} \\u0000 stays as written",
    });
    let outcome = store
        .record_delivery(
            Delivery {
                id: "nul-delivery".to_owned(),
                event: "issue_comment".to_owned(),
                action: Some("created".to_owned()),
            },
            vec![NewJob::new("command", repo("octo/infra"), hostile.clone())],
        )
        .await
        .expect("a payload with U+0000 is stored");
    assert_eq!(outcome, RecordOutcome::New);
    store
        .enqueue(NewJob::new("command", repo("octo/infra"), hostile))
        .await
        .expect("enqueue stores it too")
        .expect("no dedupe key");
    let jobs = store.list_jobs(None, 10).await.unwrap();
    assert_eq!(jobs.len(), 2);
    for job in jobs {
        assert_eq!(job.payload["body"], "/promptops plan\u{fffd}2 T4\u{fffd}");
        assert_eq!(job.payload["nested"][0]["ke\u{fffd}y"], "x\u{fffd}");
        assert_eq!(job.payload["plain"], "caf\u{e9} \\u0000 stays as written");
    }
}

on_both_backends!(
    a_nul_character_in_a_payload_is_stored_as_the_replacement_character,
    each_job_is_claimed_once_under_concurrency,
    claims_due_jobs_in_order,
    expired_lease_is_reclaimed_and_late_worker_refused,
    extended_lease_holds_the_job,
    failures_back_off_then_fail_for_good,
    lease_expiring_on_last_attempt_fails_the_job,
    release_requeues_without_counting,
);
