//! An expiry's jobs live in the queue, not in a process: two service instances on one
//! SQLite database warn once, and after both are gone (killed mid-flight) a third one
//! started later opens the destroy pull request at the date.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use crate::support::repo_name;
use chrono::{SubsecRound, TimeDelta, Utc};
use promptops::pipeline::jobs::{ExpiryStage, JobPayload, RepoTarget};
use promptops_core::clock::Clock;
use promptops_core::{IssueNumber, PrNumber};
use promptops_store::{JobStatus, NewJob, Store};
use promptops_testkit::ManualClock;
use support::{INSTALLATION, OWNER, Options, REPO, TestService, comments_with};

fn expiry_job(deployment: &str, expires_at: chrono::DateTime<Utc>, stage: ExpiryStage) -> NewJob {
    let payload = JobPayload::Expiry {
        repo: RepoTarget {
            repo: promptops_core::RepoName::new(OWNER, "Hello-World").unwrap(),
            installation_id: INSTALLATION,
        },
        deployment: deployment.to_owned(),
        expires_at,
        stage,
    };
    let run_at = match stage {
        ExpiryStage::Warning => expires_at - TimeDelta::days(1),
        ExpiryStage::Due => expires_at,
    };
    NewJob::new(
        payload.kind(),
        repo_name(),
        serde_json::to_value(&payload).unwrap(),
    )
    .with_run_after(run_at)
}

/// Waits until job `id` is done (whichever process ran it).
async fn until_done(store: &Store, id: i64) -> promptops_store::Job {
    for _ in 0..300 {
        let job = store.job(id).await.unwrap().unwrap();
        if job.status == JobStatus::Done {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {id} did not finish in 30 s");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_replicas_warn_once_and_a_later_process_opens_the_destroy_pr() {
    let clock = ManualClock::new(Utc::now().trunc_subsecs(0));
    let dir = tempfile::tempdir().unwrap();
    let options = || Options {
        database: Some(dir.path().join("promptops.db")),
        clock: Some(Arc::new(clock.clone())),
        ..Options::default()
    };
    let first = TestService::start(options()).await;
    let github = first.github.clone();
    let second = TestService::start_with(github.clone(), options()).await;

    let issue = github.add_issue(REPO, "alice", "GPUs", "1 T4 VM for 2 days");
    github.set_file(
        REPO,
        "main",
        "terraform/deployments/gpu-a/terraform.tfvars",
        "deployment_name = \"gpu-a\"\n",
    );
    let store = first.store.clone();
    store
        .upsert_request(
            &repo_name(),
            IssueNumber::new(issue),
            "gpu-a",
            "promptops/issue-1",
            Some(PrNumber::new(issue + 1)),
        )
        .await
        .unwrap();
    store
        .set_expiry_request(
            &repo_name(),
            "gpu-a",
            IssueNumber::new(issue),
            &serde_json::json!({"kind": "for", "lifetime": "2d"}),
        )
        .await
        .unwrap();
    let date = clock.now() + TimeDelta::days(2);
    store
        .set_expires_at(&repo_name(), "gpu-a", date)
        .await
        .unwrap();
    let warning = store
        .enqueue(expiry_job("gpu-a", date, ExpiryStage::Warning))
        .await
        .unwrap()
        .unwrap();
    let due = store
        .enqueue(expiry_job("gpu-a", date, ExpiryStage::Due))
        .await
        .unwrap()
        .unwrap();

    clock.advance(TimeDelta::days(1) + TimeDelta::minutes(1));
    let ran = until_done(&store, warning).await;
    assert_eq!(ran.attempts, 1, "{ran:?}");
    // Give the other replica's workers time to (not) run it too.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let warned = comments_with(&github, issue, "in about a day");
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert_eq!(
        store.job(due).await.unwrap().unwrap().status,
        JobStatus::Queued,
        "the expiry itself waits for its date"
    );

    first.crash().await;
    second.crash().await;
    let third = TestService::start_with(github.clone(), options()).await;
    clock.advance(TimeDelta::days(1));
    until_done(&third.store, due).await;
    let prs = github.prs();
    assert_eq!(prs.len(), 1, "{prs:?}");
    assert!(prs[0].open && !prs[0].merged, "{:?}", prs[0]);
    assert_eq!(prs[0].head_ref, "promptops/destroy-gpu-a");
    let said = comments_with(&github, issue, "expired on");
    assert_eq!(said.len(), 1, "{said:?}");
    third.stop().await;
}
