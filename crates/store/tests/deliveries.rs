//! Recording deliveries: exactly once, with their jobs, in group-committed transactions.

mod common;

use std::collections::{BTreeSet, HashMap};

use common::{Backend, TestDb, repo, test_options};
use promptops_store::{Delivery, JobStatus, NewJob, RecordOutcome, Store, StoreError};
use serde_json::json;

fn delivery(id: &str) -> Delivery {
    Delivery {
        id: id.to_owned(),
        event: "issue_comment".to_owned(),
        action: Some("created".to_owned()),
    }
}

fn job_for(id: &str) -> NewJob {
    NewJob::new("command", repo("octo/infra"), json!({ "delivery": id }))
}

async fn all_jobs(store: &Store) -> Vec<promptops_store::Job> {
    store.list_jobs(None, 10_000).await.unwrap()
}

async fn new_then_duplicate_inserts_jobs_once(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open(test_options()).await;

    let first = store
        .record_delivery(delivery("d-1"), vec![job_for("d-1"), job_for("d-1b")])
        .await
        .unwrap();
    assert_eq!(first, RecordOutcome::New);
    let again = store
        .record_delivery(delivery("d-1"), vec![job_for("d-1")])
        .await
        .unwrap();
    assert_eq!(again, RecordOutcome::Duplicate);

    let jobs = all_jobs(&store).await;
    assert_eq!(jobs.len(), 2, "the redelivery added no job: {jobs:?}");
    assert!(
        jobs.iter()
            .all(|j| j.status == JobStatus::Queued && j.attempts == 0)
    );
    assert!(jobs.iter().all(|j| j.run_after == db.clock.now_rounded()));
    let stored = store
        .delivery("d-1")
        .await
        .unwrap()
        .expect("delivery stored");
    assert_eq!(stored.event, "issue_comment");
    assert_eq!(stored.action.as_deref(), Some("created"));
    assert_eq!(stored.received_at, db.clock.now_rounded());
    assert!(store.delivery("d-2").await.unwrap().is_none());
}

/// Many concurrent submissions of the same ids, through two independent store handles on
/// one database (as two replicas would): each id is New exactly once, and its jobs exist once.
async fn concurrent_duplicates_are_recorded_exactly_once(backend: Backend) {
    let db = TestDb::new(backend).await;
    let stores = [db.open(test_options()).await, db.open(test_options()).await];
    let ids: Vec<String> = (0..40).map(|i| format!("dup-{i}")).collect();

    let mut tasks = tokio::task::JoinSet::new();
    for copy in 0..6 {
        for id in &ids {
            let store = stores[copy % 2].clone();
            let id = id.clone();
            tasks.spawn(async move {
                let outcome = store
                    .record_delivery(delivery(&id), vec![job_for(&id)])
                    .await
                    .unwrap();
                (id, outcome)
            });
        }
    }
    let mut new_per_id: HashMap<String, usize> = HashMap::new();
    while let Some(result) = tasks.join_next().await {
        let (id, outcome) = result.unwrap();
        *new_per_id.entry(id).or_default() += usize::from(outcome == RecordOutcome::New);
    }
    for id in &ids {
        assert_eq!(
            new_per_id[id], 1,
            "{id} recorded as new {} times",
            new_per_id[id]
        );
    }
    assert_eq!(stores[0].delivery_count().await.unwrap(), ids.len() as u64);
    let jobs = all_jobs(&stores[1]).await;
    let payload_ids: BTreeSet<String> = jobs
        .iter()
        .map(|j| j.payload["delivery"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(jobs.len(), ids.len(), "one job per delivery");
    assert_eq!(payload_ids, ids.iter().cloned().collect());
}

/// Requests waiting together are written in one transaction, and the per-item answers are
/// right: the first of two identical ids in the same batch is New, the second Duplicate;
/// a later batch sees both as Duplicate.
async fn group_commit_answers_each_item(backend: Backend) {
    let db = TestDb::new(backend).await;
    // On a current-thread runtime every spawned submission is queued before the writer task
    // runs again, so all twenty land in one batch deterministically.
    let url = db.url.clone();
    let clock = db.clock.clone();
    let answers = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let store =
                Store::connect_with(&url, test_options(), std::sync::Arc::new(clock.clone()))
                    .await
                    .unwrap();
            let mut handles = Vec::new();
            for copy in 0..2 {
                for i in 0..10 {
                    let store = store.clone();
                    let id = format!("batch-{i}");
                    handles.push(tokio::spawn(async move {
                        let jobs = vec![job_for(&format!("{id}/{copy}"))];
                        let outcome = store.record_delivery(delivery(&id), jobs).await.unwrap();
                        (id, copy, outcome)
                    }));
                }
            }
            let mut answers = Vec::new();
            for handle in handles {
                answers.push(handle.await.unwrap());
            }
            // The clock moves, so a second batch would carry a later received_at.
            clock.advance(std::time::Duration::from_secs(1));
            let mut later = Vec::new();
            for i in 0..10 {
                let id = format!("batch-{i}");
                later.push(
                    store
                        .record_delivery(delivery(&id), vec![job_for("late")])
                        .await
                        .unwrap(),
                );
            }
            (answers, later)
        })
    })
    .join()
    .unwrap();
    let (first_round, second_round) = answers;

    for (id, copy, outcome) in &first_round {
        let expected = if *copy == 0 {
            RecordOutcome::New
        } else {
            RecordOutcome::Duplicate
        };
        assert_eq!(*outcome, expected, "{id} copy {copy}");
    }
    assert!(second_round.iter().all(|o| *o == RecordOutcome::Duplicate));

    let store = db.open(test_options()).await;
    let jobs = all_jobs(&store).await;
    let mut payloads: Vec<String> = jobs
        .iter()
        .map(|j| j.payload["delivery"].as_str().unwrap().to_owned())
        .collect();
    payloads.sort();
    let mut expected: Vec<String> = (0..10).map(|i| format!("batch-{i}/0")).collect();
    expected.sort();
    assert_eq!(
        payloads, expected,
        "only the first copy's jobs were inserted"
    );
    // All twenty requests went into one transaction: a single received_at.
    let mut received = BTreeSet::new();
    for i in 0..10 {
        received.insert(
            store
                .delivery(&format!("batch-{i}"))
                .await
                .unwrap()
                .unwrap()
                .received_at,
        );
    }
    assert_eq!(
        received.len(),
        1,
        "one group commit for the batch: {received:?}"
    );
}

/// A dedupe key blocks a second live job, but not one after the first finished.
async fn dedupe_key_keeps_one_live_job(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open(test_options()).await;
    let keyed = |n: u32| {
        NewJob::new("plan", repo("octo/infra"), json!({ "n": n }))
            .with_dedupe_key("plan:octo/infra#7")
    };

    assert_eq!(
        store
            .record_delivery(delivery("k-1"), vec![keyed(1), keyed(2)])
            .await
            .unwrap(),
        RecordOutcome::New
    );
    assert_eq!(
        store
            .record_delivery(delivery("k-2"), vec![keyed(3)])
            .await
            .unwrap(),
        RecordOutcome::New,
        "the delivery is new even if its job is already covered"
    );
    assert_eq!(store.enqueue(keyed(4)).await.unwrap(), None);
    let jobs = all_jobs(&store).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].payload["n"], 1);

    // Still blocked while running.
    let job = store
        .claim(
            "w",
            std::time::Duration::from_secs(60),
            db.clock.now_rounded(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.enqueue(keyed(5)).await.unwrap(), None);
    store.complete(job.id, "w").await.unwrap();

    let next = store
        .enqueue(keyed(6))
        .await
        .unwrap()
        .expect("a finished job no longer blocks its key");
    assert!(next > job.id);
    assert_eq!(
        store
            .record_delivery(delivery("k-3"), vec![keyed(7)])
            .await
            .unwrap(),
        RecordOutcome::New
    );
    assert_eq!(all_jobs(&store).await.len(), 2);
    assert_eq!(
        store
            .list_jobs(Some(JobStatus::Queued), 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Recorded deliveries survive closing and reopening the database.
async fn deliveries_survive_reopen(backend: Backend) {
    let db = TestDb::new(backend).await;
    {
        let store = db.open(test_options()).await;
        store
            .record_delivery(delivery("keep"), vec![job_for("keep")])
            .await
            .unwrap();
        store.close().await;
    }
    let store = db.open(test_options()).await;
    assert_eq!(
        store
            .record_delivery(delivery("keep"), vec![job_for("keep")])
            .await
            .unwrap(),
        RecordOutcome::Duplicate
    );
    assert_eq!(all_jobs(&store).await.len(), 1);
    store.ping().await.unwrap();
}

on_both_backends!(
    new_then_duplicate_inserts_jobs_once,
    concurrent_duplicates_are_recorded_exactly_once,
    group_commit_answers_each_item,
    dedupe_key_keeps_one_live_job,
    deliveries_survive_reopen,
);

#[tokio::test]
async fn unsupported_url_names_the_allowed_schemes() {
    let err = Store::connect("mysql://localhost/db").await.unwrap_err();
    assert!(matches!(err, StoreError::UnsupportedUrl { ref scheme } if scheme == "mysql"));
    let message = err.to_string();
    assert!(
        message.contains("sqlite://") && message.contains("postgres://"),
        "{message}"
    );
}

#[tokio::test]
async fn sqlite_file_and_directories_are_created_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/deeper/promptops.db");
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    assert!(path.exists(), "database file created");
    assert_eq!(store.backend_name(), "sqlite");
    store
        .record_delivery(delivery("wal"), vec![])
        .await
        .unwrap();
    let wal = path.with_file_name("promptops.db-wal");
    assert!(wal.exists(), "write-ahead log present at {}", wal.display());
}

/// PostgreSQL refuses a NUL character in a text column. A delivery carrying one fails on its own:
/// the deliveries that shared its group-commit batch are still recorded (each retried alone).
/// Submissions spawned together on a current-thread runtime form one batch (shown by
/// `group_commit_answers_each_item`).
#[test]
fn postgres_one_bad_delivery_does_not_fail_its_batch() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let db = TestDb::new(Backend::Postgres).await;
        let store = db.open(test_options()).await;
        let mut handles = Vec::new();
        for i in 0..6 {
            let store = store.clone();
            handles.push(tokio::spawn(async move {
                let id = format!("mixed-{i}");
                // PostgreSQL refuses U+0000 in a text column (payloads are cleaned of it,
                // other columns are not: the service never writes one there).
                let kind = if i == 3 { "com\u{0}mand" } else { "command" };
                let jobs = vec![NewJob::new(
                    kind,
                    repo("octo/infra"),
                    json!({ "text": "fine" }),
                )];
                store.record_delivery(delivery(&id), jobs).await
            }));
        }
        let mut results = Vec::new();
        for handle in handles {
            results.push(handle.await.unwrap());
        }
        for (i, result) in results.iter().enumerate() {
            if i == 3 {
                assert!(result.is_err(), "the NUL kind is refused: {result:?}");
            } else {
                assert_eq!(
                    *result.as_ref().unwrap(),
                    RecordOutcome::New,
                    "delivery {i}"
                );
            }
        }
        assert_eq!(store.delivery_count().await.unwrap(), 5);
        assert!(
            store.delivery("mixed-3").await.unwrap().is_none(),
            "nothing of the bad one"
        );
        assert_eq!(all_jobs(&store).await.len(), 5);
    });
}
