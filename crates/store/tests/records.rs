//! Requests, runs and deployment locks.

mod common;

use std::time::Duration;

use common::{Backend, TestDb, issue, pr, repo, sha, test_options};
use promptops_store::{LockOutcome, NewJob, NewRun, RunFilter, RunKind, RunStatus, StoreError};

async fn lock_is_held_by_one_pr(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open(test_options()).await;
    let since = db.clock.now_rounded();

    assert_eq!(
        store
            .acquire_lock(&repo("o/r"), "gpu-a", pr(7))
            .await
            .unwrap(),
        LockOutcome::Acquired
    );
    db.clock.advance(Duration::from_secs(60));
    assert_eq!(
        store
            .acquire_lock(&repo("o/r"), "gpu-a", pr(8))
            .await
            .unwrap(),
        LockOutcome::HeldBy { pr: pr(7), since }
    );
    assert_eq!(
        store
            .acquire_lock(&repo("o/r"), "gpu-a", pr(7))
            .await
            .unwrap(),
        LockOutcome::Acquired
    );
    assert_eq!(
        store
            .lock(&repo("o/r"), "gpu-a")
            .await
            .unwrap()
            .unwrap()
            .since,
        since,
        "re-acquiring keeps since"
    );
    // Other deployment and other repository are independent.
    assert_eq!(
        store
            .acquire_lock(&repo("o/r"), "gpu-b", pr(8))
            .await
            .unwrap(),
        LockOutcome::Acquired
    );
    assert_eq!(
        store
            .acquire_lock(&repo("o/other"), "gpu-a", pr(8))
            .await
            .unwrap(),
        LockOutcome::Acquired
    );

    assert!(
        !store
            .release_lock(&repo("o/r"), "gpu-a", pr(8))
            .await
            .unwrap(),
        "only the holder releases"
    );
    assert_eq!(
        store.lock(&repo("o/r"), "gpu-a").await.unwrap().unwrap().pr,
        pr(7)
    );
    assert!(
        store
            .release_lock(&repo("o/r"), "gpu-a", pr(7))
            .await
            .unwrap()
    );
    assert!(
        !store
            .release_lock(&repo("o/r"), "gpu-a", pr(7))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .acquire_lock(&repo("o/r"), "gpu-a", pr(8))
            .await
            .unwrap(),
        LockOutcome::Acquired
    );

    let removed = store
        .force_unlock(&repo("o/r"), "gpu-a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(removed.pr, pr(8));
    assert!(
        store
            .force_unlock(&repo("o/r"), "gpu-a")
            .await
            .unwrap()
            .is_none()
    );
    let all = store.list_locks(None).await.unwrap();
    let names: Vec<_> = all
        .iter()
        .map(|l| (l.repo.to_string(), l.deployment.as_str(), l.pr))
        .collect();
    assert_eq!(
        names,
        [
            ("o/other".to_owned(), "gpu-a", pr(8)),
            ("o/r".to_owned(), "gpu-b", pr(8))
        ]
    );
    assert_eq!(store.list_locks(Some(&repo("o/r"))).await.unwrap().len(), 1);
}

/// PRs racing for a free lock: exactly one wins, the others see it as the holder.
async fn racing_prs_get_one_lock(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open(test_options()).await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 1..=16_u64 {
        let store = store.clone();
        tasks.spawn(async move {
            let outcome = store.acquire_lock(&repo("o/r"), "race", pr(n)).await;
            (pr(n), outcome.unwrap())
        });
    }
    let mut winners = Vec::new();
    let mut seen_holders = Vec::new();
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            (holder, LockOutcome::Acquired) => winners.push(holder),
            (_, LockOutcome::HeldBy { pr: holder, .. }) => seen_holders.push(holder),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    assert!(seen_holders.iter().all(|holder| *holder == winners[0]));
    assert_eq!(
        store.lock(&repo("o/r"), "race").await.unwrap().unwrap().pr,
        winners[0]
    );
}

async fn requests_link_issue_branch_and_pr(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open(test_options()).await;
    assert!(
        store
            .request_for_issue(&repo("o/r"), issue(3))
            .await
            .unwrap()
            .is_none()
    );

    let created = store
        .upsert_request(
            &repo("o/r"),
            issue(3),
            "llm-a100",
            "promptops/issue-3",
            None,
        )
        .await
        .unwrap();
    assert_eq!((created.issue, created.pr), (issue(3), None));
    db.clock.advance(Duration::from_secs(5));
    let with_pr = store
        .upsert_request(
            &repo("o/r"),
            issue(3),
            "llm-a100",
            "promptops/issue-3",
            Some(pr(12)),
        )
        .await
        .unwrap();
    assert_eq!(with_pr.pr, Some(pr(12)));
    assert_eq!(with_pr.updated_at, db.clock.now_rounded());
    // A later update that does not know the PR keeps it.
    let renamed = store
        .upsert_request(
            &repo("o/r"),
            issue(3),
            "llm-h100",
            "promptops/issue-3",
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        (renamed.deployment.as_str(), renamed.pr),
        ("llm-h100", Some(pr(12)))
    );

    let by_pr = store
        .request_for_pr(&repo("o/r"), pr(12))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (by_pr.issue, by_pr.branch.as_str()),
        (issue(3), "promptops/issue-3")
    );
    assert!(
        store
            .request_for_pr(&repo("o/other"), pr(12))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .request_for_deployment(&repo("o/r"), "llm-h100")
            .await
            .unwrap()
            .unwrap()
            .issue,
        issue(3)
    );
    assert_eq!(
        store
            .request_for_issue(&repo("o/r"), issue(3))
            .await
            .unwrap()
            .unwrap(),
        renamed
    );

    store
        .upsert_request(&repo("o/s"), issue(1), "x", "promptops/issue-1", None)
        .await
        .unwrap();
    assert_eq!(store.list_requests(None).await.unwrap().len(), 2);
    assert_eq!(
        store.list_requests(Some(&repo("o/s"))).await.unwrap()[0].deployment,
        "x"
    );
    assert!(matches!(
        store
            .upsert_request(&repo("o/r"), issue(u64::MAX), "x", "b", None)
            .await,
        Err(StoreError::OutOfRange { field: "issue", .. })
    ));
}

async fn runs_are_recorded_and_listed(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open(test_options()).await;
    let started = db.clock.now_rounded();
    let plan = store
        .insert_run(&NewRun {
            repo: repo("o/r"),
            pr: Some(pr(12)),
            deployment: "llm".into(),
            kind: RunKind::Plan,
            sha: Some(sha('a')),
        })
        .await
        .unwrap();
    db.clock.advance(Duration::from_secs(90));
    let apply = store
        .insert_run(&NewRun {
            repo: repo("o/r"),
            pr: None,
            deployment: "other".into(),
            kind: RunKind::Apply,
            sha: None,
        })
        .await
        .unwrap();

    let running = store.run(plan).await.unwrap().unwrap();
    assert_eq!(
        (running.status, running.started_at, running.finished_at),
        (RunStatus::Running, started, None)
    );

    store
        .finish_run(plan, RunStatus::Succeeded, "Plan: 2 to add", "masked ***")
        .await
        .unwrap();
    let finished = store.run(plan).await.unwrap().unwrap();
    assert_eq!(finished.status, RunStatus::Succeeded);
    assert_eq!(finished.summary.as_deref(), Some("Plan: 2 to add"));
    assert_eq!(finished.output.as_deref(), Some("masked ***"));
    assert_eq!(finished.finished_at, Some(db.clock.now_rounded()));
    assert!(matches!(
        store.finish_run(424_242, RunStatus::Failed, "", "").await,
        Err(StoreError::RunNotFound(424_242))
    ));

    let all = store.list_runs(&RunFilter::default()).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.id).collect::<Vec<_>>(),
        [apply, plan],
        "newest first"
    );
    let for_pr = store
        .list_runs(&RunFilter {
            pr: Some(pr(12)),
            ..RunFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(for_pr.len(), 1);
    assert_eq!(for_pr[0].sha, Some(sha('a')));
    let for_deployment = store
        .list_runs(&RunFilter {
            repo: Some(repo("o/r")),
            deployment: Some("other".into()),
            ..RunFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        for_deployment.iter().map(|r| r.id).collect::<Vec<_>>(),
        [apply]
    );
    let limited = store
        .list_runs(&RunFilter {
            limit: Some(1),
            ..RunFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(limited.len(), 1);
}

/// The repositories with runs, each once, however many newer runs other repositories have.
async fn run_repos_names_each_repository_with_runs_once(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open(test_options()).await;
    assert!(store.run_repos().await.unwrap().is_empty());
    let run = |name: &str| NewRun {
        repo: repo(name),
        pr: None,
        deployment: "llm".into(),
        kind: RunKind::Plan,
        sha: None,
    };
    // Upper case sorts before lower case whatever the database's collation.
    for name in ["o/r", "o/r", "B/x"] {
        store.insert_run(&run(name)).await.unwrap();
    }
    for _ in 0..101 {
        store.insert_run(&run("a/busy")).await.unwrap();
    }
    let newest = store.list_runs(&RunFilter::default()).await.unwrap();
    assert!(newest.iter().all(|r| r.repo == repo("a/busy")));
    assert_eq!(
        store.run_repos().await.unwrap(),
        [repo("B/x"), repo("a/busy"), repo("o/r")]
    );
}

/// Runs `sql` on the test's database beside the store, as someone editing rows by hand.
async fn edit_by_hand(db: &TestDb, sql: &str) {
    if db.url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
    }
}

/// A row whose repository or SHA is not one GitHub could give is an error naming the
/// table, the column and the value, not a panic or a silently wrong value.
async fn a_row_with_a_bad_sha_or_repository_is_a_corrupt_error(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open(test_options()).await;
    let run = NewRun {
        repo: repo("o/r"),
        pr: Some(pr(12)),
        deployment: "llm".into(),
        kind: RunKind::Plan,
        sha: Some(sha('b')),
    };
    let id = store.insert_run(&run).await.unwrap();
    edit_by_hand(&db, "UPDATE runs SET sha = 'abc123'").await;
    let err = store.run(id).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt { field: "runs.sha", value, .. } if value == "abc123"),
        "{err:?}"
    );
    assert!(err.to_string().contains("runs.sha"), "{err}");
    assert!(err.to_string().contains("\"abc123\""), "{err}");

    edit_by_hand(
        &db,
        &format!("UPDATE runs SET sha = '{}', repo = 'octo'", sha('b')),
    )
    .await;
    let err = store.list_runs(&RunFilter::default()).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt { field: "runs.repo", value, .. } if value == "octo"),
        "{err:?}"
    );
    let err = store.run_repos().await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt { field: "runs.repo", value, .. } if value == "octo"),
        "{err:?}"
    );
    edit_by_hand(&db, "UPDATE runs SET repo = 'o/r', kind = 'planned'").await;
    let err = store.run(id).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt { field: "runs.kind", value, .. } if value == "planned"),
        "{err:?}"
    );

    store
        .acquire_lock(&repo("o/r"), "llm", pr(12))
        .await
        .unwrap();
    edit_by_hand(&db, "UPDATE locks SET repo = 'o/a b'").await;
    let err = store.list_locks(None).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt { field: "locks.repo", value, .. } if value == "o/a b"),
        "{err:?}"
    );
    assert!(err.to_string().contains("owner/name"), "{err}");

    let job = NewJob::new("command", repo("o/r"), serde_json::json!({}));
    store.enqueue(job).await.unwrap();
    edit_by_hand(&db, "UPDATE jobs SET repo = 'o/'").await;
    let err = store.list_jobs(None, 10).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt { field: "jobs.repo", value, .. } if value == "o/"),
        "{err:?}"
    );
}

on_both_backends!(
    a_row_with_a_bad_sha_or_repository_is_a_corrupt_error,
    lock_is_held_by_one_pr,
    racing_prs_get_one_lock,
    requests_link_issue_branch_and_pr,
    runs_are_recorded_and_listed,
    run_repos_names_each_repository_with_runs_once,
);
