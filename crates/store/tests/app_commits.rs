//! The commits the App made, recorded by SHA: found again in their repository only, after
//! a restart, and among more SHAs than one statement binds.

mod common;

use std::collections::BTreeSet;

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

on_both_backends!(
    recorded_commits_are_found_in_their_repository_only,
    many_shas_are_looked_up_in_chunks,
);
