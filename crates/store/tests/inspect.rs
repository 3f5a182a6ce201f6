//! `inspect` (what `promptops check` reports) reads a database's schema without changing
//! it: pending migrations are counted, not applied; a SQLite file keeps its bytes, its
//! permissions and its directory's listing (no -wal, -shm or tables added).

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use common::{Backend, TestDb};
use promptops_store::{ConnectOptions, MigrationReport, SchemaState, Store, inspect};

async fn execute(url: &str, statement: &str) {
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query(statement).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(statement).execute(&pool).await.unwrap();
        pool.close().await;
    }
}

async fn schema(url: &str) -> SchemaState {
    inspect(url, &ConnectOptions::default())
        .await
        .unwrap_or_else(|err| panic!("inspecting {url}: {err}"))
        .state
}

async fn pending_migrations_are_counted_not_applied(backend: Backend) {
    let db = TestDb::new(backend).await;
    if let Some(file) = db.url.strip_prefix("sqlite://") {
        // An empty file is an empty SQLite database.
        std::fs::write(file, b"").unwrap();
    }
    let SchemaState::Unmigrated {
        pending,
        other_tables: 0,
    } = schema(&db.url).await
    else {
        panic!("an empty database has no schema");
    };
    assert!(pending >= 6, "{pending}");

    // Nothing was applied: opening the store still creates the whole schema.
    let store = Store::connect(&db.url).await.unwrap();
    assert_eq!(
        store.migrations(),
        MigrationReport::Created {
            migrations: pending
        }
    );
    store.close().await;
    assert_eq!(
        schema(&db.url).await,
        SchemaState::Migrated {
            applied: pending,
            pending: 0,
            unknown: 0
        }
    );

    // Migration 4 recorded under a version this release does not have: one pending, one
    // unknown (a newer release's).
    execute(
        &db.url,
        "UPDATE _sqlx_migrations SET version = 9999 WHERE version = 4",
    )
    .await;
    assert_eq!(
        schema(&db.url).await,
        SchemaState::Migrated {
            applied: pending,
            pending: 1,
            unknown: 1
        }
    );
}

on_both_backends!(pending_migrations_are_counted_not_applied);

/// Every entry of `dir` with its bytes and permissions.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>, u32)> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            (path.clone(), std::fs::read(&path).unwrap(), mode)
        })
        .collect();
    entries.sort();
    entries
}

#[tokio::test]
async fn a_foreign_sqlite_file_is_read_without_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("other.db");
    let other = rusqlite::Connection::open(&file).unwrap();
    other
        .execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me');")
        .unwrap();
    other.close().unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let before = snapshot(dir.path());

    let url = format!("sqlite://{}", file.display());
    let SchemaState::Unmigrated {
        pending,
        other_tables: 1,
    } = schema(&url).await
    else {
        panic!("a file with one table of something else");
    };
    assert!(pending >= 6, "{pending}");
    assert_eq!(snapshot(dir.path()), before, "no table, no mode 0600");
}

#[tokio::test]
async fn a_promptops_sqlite_database_is_read_without_leaving_log_files() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("p.db").display());
    let store = Store::connect(&url).await.unwrap();
    store.close().await;
    drop(store);
    // The delivery writer's connection closes on its own thread; the last connection to
    // close removes the log, then the shared-memory file: both must be gone before the
    // snapshot, or it races that close.
    let (wal, shm) = (dir.path().join("p.db-wal"), dir.path().join("p.db-shm"));
    let gone = || !wal.exists() && !shm.exists();
    for _ in 0..100 {
        if gone() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // When the pool's connections close at the same moment, each finds another still open
    // and none removes the log (about one run in fifteen). A connection that reads the
    // database and closes alone afterwards is the last one, and removes both.
    if !gone() {
        let last = rusqlite::Connection::open(dir.path().join("p.db")).unwrap();
        last.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
            .unwrap();
        last.close().unwrap();
    }
    assert!(gone(), "a closed database keeps no -wal or -shm");
    let before = snapshot(dir.path());

    let SchemaState::Migrated { pending: 0, .. } = schema(&url).await else {
        panic!("a migrated database");
    };
    assert_eq!(snapshot(dir.path()), before, "no -wal or -shm left behind");
}

#[tokio::test]
async fn a_missing_sqlite_file_is_an_error_and_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("absent.db");
    let url = format!("sqlite://{}", file.display());
    assert!(inspect(&url, &ConnectOptions::default()).await.is_err());
    assert!(!file.exists());
}

#[test]
fn in_memory_urls_are_told_from_files() {
    for url in [
        "sqlite://:memory:",
        "sqlite::memory:",
        "sqlite://p.db?mode=memory",
        "sqlite://p.db?cache=shared&mode=memory",
    ] {
        assert!(promptops_store::is_in_memory(url), "{url}");
    }
    for url in [
        "sqlite://p.db",
        "sqlite:///var/lib/memory.db",
        "sqlite://p.db?mode=rwc",
        "postgres://db/memory",
    ] {
        assert!(!promptops_store::is_in_memory(url), "{url}");
    }
}
