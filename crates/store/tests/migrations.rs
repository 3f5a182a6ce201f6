//! What opening a database did to its schema, as `promptops migrate` reports it: created
//! from nothing, upgraded by the migrations a database of an earlier release lacks, or
//! already up to date. On both backends.

mod common;

use common::{Backend, TestDb};
use promptops_store::{MigrationReport, Store};

/// Turns the database into one of the release before migration 4: its table and its
/// record gone.
async fn forget_migration_4(url: &str) {
    const STATEMENTS: [&str; 2] = [
        "DROP TABLE request_details",
        "DELETE FROM _sqlx_migrations WHERE version = 4",
    ];
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        for statement in STATEMENTS {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        for statement in STATEMENTS {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
}

async fn opening_reports_a_created_an_upgraded_and_a_current_schema(backend: Backend) {
    let db = TestDb::new(backend).await;

    let store = Store::connect(&db.url).await.unwrap();
    let MigrationReport::Created { migrations } = store.migrations() else {
        panic!(
            "an empty database gets the whole schema: {:?}",
            store.migrations()
        );
    };
    assert!(migrations >= 4, "{migrations}");
    store.close().await;

    forget_migration_4(&db.url).await;
    let store = Store::connect(&db.url).await.unwrap();
    assert_eq!(
        store.migrations(),
        MigrationReport::Upgraded {
            applied: 1,
            total: migrations
        }
    );
    store.close().await;

    let store = Store::connect(&db.url).await.unwrap();
    assert_eq!(
        store.migrations(),
        MigrationReport::Upgraded {
            applied: 0,
            total: migrations
        }
    );
    store.close().await;
}

on_both_backends!(opening_reports_a_created_an_upgraded_and_a_current_schema);
