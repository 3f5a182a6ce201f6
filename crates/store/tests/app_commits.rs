//! The commits the App made, recorded by SHA: found again in their repository only, after
//! a restart, and among more SHAs than one statement binds; records older than the
//! retention are pruned, the others kept.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{Backend, TestDb, repo, sha, test_options};
use promptops_core::CommitSha;

/// The `n`th of many distinct SHAs.
fn numbered(n: usize) -> CommitSha {
    format!("{n:040x}").parse().unwrap()
}

async fn recorded_commits_are_found_in_their_repository_only(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open(test_options()).await;
    let own = sha('a');
    store.record_app_commit(&repo("o/r"), &own).await.unwrap();
    // Recording it again (a retried job) changes nothing.
    store.record_app_commit(&repo("o/r"), &own).await.unwrap();

    let asked = [sha('a'), sha('b')];
    assert_eq!(
        store.app_commits_among(&repo("o/r"), &asked).await.unwrap(),
        BTreeSet::from([own.clone()])
    );
    assert!(
        store
            .app_commits_among(&repo("o/other"), &asked)
            .await
            .unwrap()
            .is_empty(),
        "a commit is the App's in the repository it made it in"
    );
    assert!(
        store
            .app_commits_among(&repo("o/r"), &[])
            .await
            .unwrap()
            .is_empty()
    );
    store.close().await;

    let store = db.open(test_options()).await;
    assert_eq!(
        store.app_commits_among(&repo("o/r"), &asked).await.unwrap(),
        BTreeSet::from([own])
    );
    store.close().await;
}

async fn many_shas_are_looked_up_in_chunks(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open(test_options()).await;
    let shas: Vec<CommitSha> = (0..1_200).map(numbered).collect();
    for n in [3, 700, 1_199] {
        store
            .record_app_commit(&repo("o/r"), &shas[n])
            .await
            .unwrap();
    }
    assert_eq!(
        store.app_commits_among(&repo("o/r"), &shas).await.unwrap(),
        BTreeSet::from([shas[3].clone(), shas[700].clone(), shas[1_199].clone()])
    );
    store.close().await;
}

async fn records_older_than_the_retention_are_pruned_the_rest_kept(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open(test_options()).await;
    let (old, other_repo, recent) = (sha('a'), sha('b'), sha('c'));
    store.record_app_commit(&repo("o/r"), &old).await.unwrap();
    store
        .record_app_commit(&repo("o/other"), &other_repo)
        .await
        .unwrap();
    db.clock.advance(Duration::from_secs(3600));
    store
        .record_app_commit(&repo("o/r"), &recent)
        .await
        .unwrap();
    db.clock.advance(Duration::from_secs(60));
    // Recording an old commit again (a retried job) does not make it recent.
    store.record_app_commit(&repo("o/r"), &old).await.unwrap();

    // Kept for an hour: the first two are 61 minutes old, the third 1 minute.
    let kept_for = Duration::from_secs(3600);
    assert_eq!(store.prune_app_commits(kept_for).await.unwrap(), 2);
    let asked = [old.clone(), other_repo.clone(), recent.clone()];
    assert_eq!(
        store.app_commits_among(&repo("o/r"), &asked).await.unwrap(),
        BTreeSet::from([recent.clone()])
    );
    assert!(
        store
            .app_commits_among(&repo("o/other"), &asked)
            .await
            .unwrap()
            .is_empty()
    );
    // Nothing left to prune; exactly as old as the retention is kept, older goes.
    assert_eq!(store.prune_app_commits(kept_for).await.unwrap(), 0);
    assert_eq!(
        store
            .prune_app_commits(Duration::from_secs(60))
            .await
            .unwrap(),
        0
    );
    db.clock.advance(Duration::from_micros(1));
    assert_eq!(
        store
            .prune_app_commits(Duration::from_secs(60))
            .await
            .unwrap(),
        1
    );
    store.close().await;
}

on_both_backends!(
    recorded_commits_are_found_in_their_repository_only,
    many_shas_are_looked_up_in_chunks,
    records_older_than_the_retention_are_pruned_the_rest_kept,
);
