//! Jobs remember the webhook delivery that enqueued them (`Job::delivery_id`), so that a
//! job's logs can name it: filled by `record_delivery` — also for deliveries group-committed
//! in one batch — kept through claim and retry, and empty for jobs enqueued directly.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{Backend, TestDb, repo, test_options};
use promptops_store::{Delivery, NewJob, RecordOutcome, Store};
use serde_json::json;

fn delivery(id: &str) -> Delivery {
    Delivery {
        id: id.to_owned(),
        event: "issue_comment".to_owned(),
        action: Some("created".to_owned()),
    }
}

fn job(tag: &str) -> NewJob {
    NewJob::new("command", repo("octo/infra"), json!({ "tag": tag }))
}

fn tag_of(job: &promptops_store::Job) -> String {
    job.payload["tag"].as_str().unwrap().to_owned()
}

async fn recorded_jobs_carry_their_delivery_id(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open(test_options()).await;
    store
        .record_delivery(delivery("delivery-a"), vec![job("a1"), job("a2")])
        .await
        .unwrap();
    store
        .record_delivery(delivery("delivery-b"), vec![job("b1")])
        .await
        .unwrap();
    let direct = store.enqueue(job("direct")).await.unwrap().unwrap();

    let by_tag: HashMap<String, Option<String>> = store
        .list_jobs(None, 100)
        .await
        .unwrap()
        .iter()
        .map(|j| (tag_of(j), j.delivery_id.clone()))
        .collect();
    assert_eq!(by_tag.len(), 4, "{by_tag:?}");
    assert_eq!(by_tag["a1"].as_deref(), Some("delivery-a"));
    assert_eq!(by_tag["a2"].as_deref(), Some("delivery-a"));
    assert_eq!(by_tag["b1"].as_deref(), Some("delivery-b"));
    assert_eq!(by_tag["direct"], None, "an enqueued job has no delivery");
    assert_eq!(store.job(direct).await.unwrap().unwrap().delivery_id, None);
}

/// The id survives the queue's transitions: a claimed job, a failed and re-claimed job.
async fn claimed_and_retried_jobs_keep_the_delivery_id(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open(test_options()).await;
    store
        .record_delivery(delivery("delivery-claimed"), vec![job("only")])
        .await
        .unwrap();
    let lease = Duration::from_secs(60);
    let claimed = store
        .claim("worker-1", lease, db.clock.now_rounded())
        .await
        .unwrap()
        .expect("a job to claim");
    assert_eq!(claimed.delivery_id.as_deref(), Some("delivery-claimed"));
    store
        .fail(
            claimed.id,
            "worker-1",
            "GitHub was down",
            db.clock.now_rounded(),
        )
        .await
        .unwrap();
    db.clock.advance(Duration::from_secs(3600));
    let again = store
        .claim("worker-2", lease, db.clock.now_rounded())
        .await
        .unwrap()
        .expect("the retried job");
    assert_eq!(again.id, claimed.id);
    assert_eq!(again.attempts, 2);
    assert_eq!(again.delivery_id.as_deref(), Some("delivery-claimed"));
}

/// Deliveries written in one group-commit transaction each give their own id to their own
/// jobs, and a redelivery in the same batch adds no jobs.
async fn one_batch_keeps_each_delivery_on_its_own_jobs(backend: Backend) {
    let db = TestDb::new(backend).await;
    let url = db.url.clone();
    let clock = db.clock.clone();
    // On a current-thread runtime every spawned submission is queued before the writer task
    // runs again, so they land in one batch.
    let outcomes = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let store = Store::connect_with(&url, test_options(), std::sync::Arc::new(clock))
                .await
                .unwrap();
            let mut handles = Vec::new();
            for i in 0..12 {
                let store = store.clone();
                // Delivery 11 repeats delivery 0's id, with a job of its own.
                let id = format!("batch-{}", i % 11);
                handles.push(tokio::spawn(async move {
                    let jobs = vec![job(&format!("{i}-x")), job(&format!("{i}-y"))];
                    store.record_delivery(delivery(&id), jobs).await.unwrap()
                }));
            }
            let mut outcomes = Vec::new();
            for handle in handles {
                outcomes.push(handle.await.unwrap());
            }
            store.close().await;
            outcomes
        })
    })
    .join()
    .unwrap();
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == RecordOutcome::Duplicate)
            .count(),
        1
    );

    let store = db.open(test_options()).await;
    let jobs = store.list_jobs(None, 100).await.unwrap();
    assert_eq!(jobs.len(), 22, "two jobs per new delivery");
    let mut first_or_repeat = std::collections::BTreeSet::new();
    for stored in &jobs {
        let tag = tag_of(stored);
        let index: usize = tag.split('-').next().unwrap().parse().unwrap();
        if index.is_multiple_of(11) {
            first_or_repeat.insert(index);
        }
        assert_eq!(
            stored.delivery_id.as_deref(),
            Some(format!("batch-{}", index % 11).as_str()),
            "job {tag}"
        );
    }
    assert_eq!(
        first_or_repeat.len(),
        1,
        "only one of the two copies of batch-0 has jobs: {first_or_repeat:?}"
    );
}

on_both_backends!(
    recorded_jobs_carry_their_delivery_id,
    claimed_and_retried_jobs_keep_the_delivery_id,
    one_batch_keeps_each_delivery_on_its_own_jobs,
);
