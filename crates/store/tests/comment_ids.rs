//! The ids of the App's comments, by issue and comment key.

mod common;

use common::{Backend, TestDb, issue, repo, test_options};

async fn comment_ids_are_remembered_replaced_listed_by_prefix_and_forgotten(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open(test_options()).await;
    let key = "plan:web:part:1";
    assert_eq!(
        store.comment_id(&repo("o/r"), issue(7), key).await.unwrap(),
        None
    );
    store
        .remember_comment(&repo("o/r"), issue(7), key, 11)
        .await
        .unwrap();
    store
        .remember_comment(&repo("o/r"), issue(7), "plan:web:part:2", 12)
        .await
        .unwrap();
    store
        .remember_comment(&repo("o/r"), issue(7), key, 21)
        .await
        .unwrap();
    store
        .remember_comment(&repo("o/r"), issue(8), "plan:web:part:3", 13)
        .await
        .unwrap();
    store
        .remember_comment(&repo("o/other"), issue(7), "plan:web:part:3", 15)
        .await
        .unwrap();
    store
        .remember_comment(&repo("o/r"), issue(7), "plan:db:part:1", 14)
        .await
        .unwrap();
    assert_eq!(
        store.comment_id(&repo("o/r"), issue(7), key).await.unwrap(),
        Some(21)
    );
    assert_eq!(
        store
            .comments_with_prefix(&repo("o/r"), issue(7), "plan:web:part:")
            .await
            .unwrap(),
        [
            ("plan:web:part:1".to_owned(), 21),
            ("plan:web:part:2".to_owned(), 12)
        ]
    );
    store
        .forget_comment(&repo("o/r"), issue(7), key)
        .await
        .unwrap();
    assert_eq!(
        store.comment_id(&repo("o/r"), issue(7), key).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .comment_id(&repo("o/r"), issue(8), "plan:web:part:3")
            .await
            .unwrap(),
        Some(13)
    );
}

on_both_backends!(comment_ids_are_remembered_replaced_listed_by_prefix_and_forgotten);
