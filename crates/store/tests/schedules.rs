//! Expiries and drift schedules: a date is warned about once and only while it stands,
//! and a due drift slot is claimed by exactly one of several racing replicas.

mod common;

use std::time::Duration;

use chrono::TimeDelta;
use common::{Backend, TestDb, issue, pr, repo, test_options};
use serde_json::json;

async fn an_expiry_is_warned_once_and_a_moved_date_is_not_warned(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open(test_options()).await;
    let requested = json!({"kind": "for", "lifetime": "2d"});
    store
        .set_expiry_request(&repo("o/r"), "gpu-a", issue(7), &requested)
        .await
        .unwrap();
    let record = store.expiry(&repo("o/r"), "gpu-a").await.unwrap().unwrap();
    assert_eq!(record.requested, requested);
    assert_eq!(record.expires_at, None, "no date before the apply");

    let date = db.clock.now_rounded() + TimeDelta::days(2);
    assert!(
        store
            .set_expires_at(&repo("o/r"), "gpu-a", date)
            .await
            .unwrap()
    );
    // Re-planning (here: no expiry any more) keeps the date until the next apply.
    store
        .set_expiry_request(&repo("o/r"), "gpu-a", issue(7), &serde_json::Value::Null)
        .await
        .unwrap();
    let record = store.expiry(&repo("o/r"), "gpu-a").await.unwrap().unwrap();
    assert_eq!(
        (record.requested.is_null(), record.expires_at),
        (true, Some(date))
    );
    assert!(
        store
            .mark_expiry_warned(&repo("o/r"), "gpu-a", date)
            .await
            .unwrap()
    );
    assert!(
        !store
            .mark_expiry_warned(&repo("o/r"), "gpu-a", date)
            .await
            .unwrap(),
        "warned once"
    );
    let later = date + TimeDelta::days(3);
    assert!(
        store
            .set_expires_at(&repo("o/r"), "gpu-a", later)
            .await
            .unwrap()
    );
    assert!(
        !store
            .mark_expiry_warned(&repo("o/r"), "gpu-a", date)
            .await
            .unwrap(),
        "the old date is not warned about"
    );
    assert!(
        store
            .set_expiry_destroy_pr(&repo("o/r"), "gpu-a", later, pr(9))
            .await
            .unwrap()
    );
    let record = store.expiry(&repo("o/r"), "gpu-a").await.unwrap().unwrap();
    assert_eq!(
        (record.expires_at, record.destroy_pr),
        (Some(later), Some(pr(9)))
    );
    assert_eq!(store.list_expiries(None).await.unwrap().len(), 1);
    assert!(store.clear_expiry(&repo("o/r"), "gpu-a").await.unwrap());
    assert!(store.expiry(&repo("o/r"), "gpu-a").await.unwrap().is_none());
}

async fn a_due_drift_slot_is_claimed_once_across_replicas(backend: Backend) {
    let db = TestDb::new(backend).await;
    let first = db.open(test_options()).await;
    let second = db.open(test_options()).await;
    let due = db.clock.now_rounded() + TimeDelta::hours(24);
    assert_eq!(
        first
            .ensure_drift_schedule(&repo("o/r"), due)
            .await
            .unwrap(),
        due
    );
    assert_eq!(
        second
            .ensure_drift_schedule(&repo("o/r"), due + TimeDelta::hours(1))
            .await
            .unwrap(),
        due,
        "a recorded schedule is kept"
    );
    db.clock.advance(Duration::from_secs(24 * 3600));
    let next = due + TimeDelta::hours(24);
    let racing = repo("o/r");
    let (a, b) = tokio::join!(
        first.claim_drift_slot(&racing, due, next),
        second.claim_drift_slot(&racing, due, next)
    );
    assert!(
        a.unwrap() ^ b.unwrap(),
        "exactly one replica runs the check"
    );
    assert!(
        !first
            .claim_drift_slot(&repo("o/r"), due, next)
            .await
            .unwrap()
    );

    first
        .record_drift_check(
            &repo("o/r"),
            "gpu-a",
            "drift",
            "Plan: 1 to add",
            Some(issue(12)),
        )
        .await
        .unwrap();
    first
        .record_drift_check(&repo("o/r"), "gpu-a", "no_drift", "No changes.", None)
        .await
        .unwrap();
    let check = second
        .drift_check(&repo("o/r"), "gpu-a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (check.result.as_str(), check.issue),
        ("no_drift", Some(issue(12))),
        "the drift issue is remembered"
    );
    second.clear_drift_schedule(&repo("o/r")).await.unwrap();
    assert!(
        !first
            .claim_drift_slot(&repo("o/r"), next, next)
            .await
            .unwrap()
    );
}

on_both_backends!(
    an_expiry_is_warned_once_and_a_moved_date_is_not_warned,
    a_due_drift_slot_is_claimed_once_across_replicas,
);
