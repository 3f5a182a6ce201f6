//! Process registration and takeover, and the queue transitions the worker relies on for
//! rate limits and shutdown: on both backends.

mod common;

use std::time::Duration;

use common::{Backend, TestDb, repo, test_options};
use promptops_store::{JobStatus, NewJob, ProcessRecord};
use serde_json::json;

const LEASE: Duration = Duration::from_secs(300);

fn process(id: &str, at: chrono::DateTime<chrono::Utc>) -> ProcessRecord {
    ProcessRecord {
        id: id.to_owned(),
        host: "host-a".to_owned(),
        pid: 42,
        started_at: at,
        heartbeat_at: at,
    }
}

async fn a_gone_processs_leases_end_early_and_only_its_own(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open(test_options()).await;
    let now = db.clock.now_rounded();
    store
        .register_process(&process("host-a-42-1", now))
        .await
        .unwrap();
    store
        .register_process(&process("host-a-42-10", now))
        .await
        .unwrap();
    for n in 0..2 {
        store
            .enqueue(NewJob::new(
                "command",
                repo("octo/infra"),
                json!({ "n": n }),
            ))
            .await
            .unwrap();
    }
    // "host-a-42-1/0" must not be mistaken for a worker of "host-a-42-10" (a prefix).
    let dead_job = store
        .claim("host-a-42-1/0", LEASE, now)
        .await
        .unwrap()
        .unwrap();
    let live_job = store
        .claim("host-a-42-10/0", LEASE, now)
        .await
        .unwrap()
        .unwrap();

    let leases_end = now + Duration::from_secs(20);
    let shortened = store
        .take_over_process("host-a-42-1", leases_end)
        .await
        .unwrap();
    assert_eq!(shortened, 1);
    let registered: Vec<String> = store
        .processes()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(registered, ["host-a-42-10"]);
    assert!(
        !store.heartbeat("host-a-42-1", now).await.unwrap(),
        "a process taken for gone learns it must register again"
    );
    assert!(store.heartbeat("host-a-42-10", now).await.unwrap());

    // Not before the pause that lets its requests land...
    let early = now + Duration::from_secs(19);
    assert!(
        store
            .claim("host-b-7-1/0", LEASE, early)
            .await
            .unwrap()
            .is_none()
    );
    // ...then at once, 280 s before its lease would have ended.
    let taken = store
        .claim("host-b-7-1/0", LEASE, leases_end)
        .await
        .unwrap()
        .expect("the gone process's job is claimable");
    assert_eq!(taken.id, dead_job.id);
    let other = store.job(live_job.id).await.unwrap().unwrap();
    assert_eq!(other.locked_by.as_deref(), Some("host-a-42-10/0"));
    assert_eq!(other.locked_until, Some(now + LEASE));
}

async fn a_job_that_succeeds_on_a_retry_keeps_no_error(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open(test_options()).await;
    let id = store
        .enqueue(NewJob::new("command", repo("octo/infra"), json!({})))
        .await
        .unwrap()
        .unwrap();
    let now = db.clock.now_rounded();
    store.claim("w/0", LEASE, now).await.unwrap().unwrap();
    store
        .fail(id, "w/0", "GitHub answered 502", now)
        .await
        .unwrap();
    let later = now + Duration::from_secs(3600);
    store.claim("w/0", LEASE, later).await.unwrap().unwrap();
    store.complete(id, "w/0").await.unwrap();
    let job = store.job(id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Done);
    assert_eq!(
        job.last_error, None,
        "the old error no longer describes the job"
    );
}

async fn a_requeued_job_waits_without_using_an_attempt(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open(test_options()).await;
    let id = store
        .enqueue(NewJob::new("command", repo("octo/infra"), json!({})))
        .await
        .unwrap()
        .unwrap();
    let now = db.clock.now_rounded();
    store.claim("w/0", LEASE, now).await.unwrap().unwrap();
    let resume = now + Duration::from_secs(60);
    store
        .requeue(id, "w/0", resume, Some("rate limited"))
        .await
        .unwrap();
    let job = store.job(id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Queued);
    assert_eq!(job.attempts, 0);
    assert_eq!(job.run_after, resume);
    assert_eq!(job.last_error.as_deref(), Some("rate limited"));
    assert!(
        store
            .claim("w/0", LEASE, resume - Duration::from_secs(1))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.claim("w/0", LEASE, resume).await.unwrap().is_some());
}

async fn the_write_probe_commits(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open(test_options()).await;
    store.probe_write().await.unwrap();
    store.probe_write().await.unwrap();
}

on_both_backends!(
    a_gone_processs_leases_end_early_and_only_its_own,
    a_job_that_succeeds_on_a_retry_keeps_no_error,
    a_requeued_job_waits_without_using_an_attempt,
    the_write_probe_commits,
);
