//! What the store promises when the disk fills: a delivery is `New` only once committed,
//! `Duplicate` only for an id a committed transaction holds, and writes work again once
//! space returns — on a real 2 MiB tmpfs. Also: the database files are the owner's only.

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{repo, test_options};
use promptops_store::{Delivery, NewJob, RecordOutcome, Store, SystemClock};
use serde_json::json;

/// A tmpfs of `size` mounted on a fresh directory; unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().expect("temporary directory");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status();
        match status {
            Ok(status) if status.success() => SmallDisk { dir },
            other => panic!(
                "cannot mount a {size} tmpfs on {} ({other:?}): this test needs root (or CAP_SYS_ADMIN) to fill a real disk",
                dir.path().display()
            ),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a ballast file until the disk is full.
    fn fill(&self) -> PathBuf {
        use std::io::Write as _;
        let ballast = self.path().join("ballast");
        let mut file = std::fs::File::create(&ballast).unwrap();
        let chunk = vec![0u8; 16 * 1024];
        while file.write_all(&chunk).is_ok() {}
        let _ = file.flush();
        ballast
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

fn delivery(id: &str) -> Delivery {
    Delivery {
        id: id.to_owned(),
        event: "issue_comment".to_owned(),
        action: Some("created".to_owned()),
    }
}

/// A job big enough that a few deliveries need new database pages.
fn job(id: &str) -> NewJob {
    NewJob::new(
        "command",
        repo("octo/infra"),
        json!({ "delivery": id, "text": "x".repeat(4000) }),
    )
}

/// Records one delivery with its job; a write that hangs (a wedged store) fails the test.
async fn record(store: &Store, id: &str) -> promptops_store::Result<RecordOutcome> {
    tokio::time::timeout(
        Duration::from_secs(15),
        store.record_delivery(delivery(id), vec![job(id)]),
    )
    .await
    .unwrap_or_else(|_| panic!("recording {id} hung for 15 s: the store is wedged"))
}

async fn open(url: &str) -> Store {
    Store::connect_with(url, test_options(), Arc::new(SystemClock))
        .await
        .unwrap_or_else(|err| panic!("opening {url}: {err}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_acknowledges_only_committed_deliveries_and_writes_resume_after() {
    let disk = SmallDisk::mount("2m");
    let url = format!("sqlite://{}", disk.path().join("store.db").display());
    let store = open(&url).await;
    let mut acknowledged = Vec::new();
    let mut refused = Vec::new();
    let ballast = disk.fill();
    for n in 0..200 {
        let id = format!("full-{n}");
        match record(&store, &id).await {
            Ok(RecordOutcome::New) => acknowledged.push(id),
            Ok(RecordOutcome::Duplicate) => panic!("{id} was never recorded, yet a duplicate"),
            Err(_) => refused.push(id),
        }
        if refused.len() == 10 {
            break;
        }
    }
    assert!(
        !refused.is_empty(),
        "the full disk refused no write ({} acknowledged)",
        acknowledged.len()
    );

    std::fs::remove_file(&ballast).unwrap();
    // Space is back: writes succeed again within seconds, with no restart.
    let freed = Instant::now();
    loop {
        let id = format!("after-{}", acknowledged.len());
        match record(&store, &id).await {
            Ok(RecordOutcome::New) => {
                acknowledged.push(id);
                break;
            }
            other => assert!(
                freed.elapsed() < Duration::from_secs(10),
                "writes did not resume within 10 s of space returning: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for n in 0..50 {
        let id = format!("later-{n}");
        let outcome = record(&store, &id).await;
        assert!(
            matches!(outcome, Ok(RecordOutcome::New)),
            "{id}: {outcome:?}"
        );
        acknowledged.push(id);
    }
    // A refused delivery is new when GitHub redelivers it: it was never committed.
    for id in refused.iter().take(5) {
        let outcome = record(&store, id).await;
        assert!(
            matches!(outcome, Ok(RecordOutcome::New)),
            "redelivery of refused {id}: {outcome:?}"
        );
        acknowledged.push(id.clone());
    }
    store.close().await;
    drop(store);

    let reopened = open(&url).await;
    let mut lost = Vec::new();
    for id in &acknowledged {
        if reopened.delivery(id).await.unwrap().is_none() {
            lost.push(id.clone());
        }
    }
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged deliveries are not in the database: {lost:?}",
        lost.len(),
        acknowledged.len()
    );
    let jobs = reopened.list_jobs(None, 10_000).await.unwrap();
    assert_eq!(
        jobs.len(),
        acknowledged.len(),
        "one job per acknowledged delivery"
    );
    reopened.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_and_its_log_files_are_the_owners_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("store.db");
    let store = open(&format!("sqlite://{}", path.display())).await;
    store
        .record_delivery(delivery("d-1"), vec![job("d-1")])
        .await
        .unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        let mode = std::fs::metadata(&file)
            .unwrap_or_else(|err| panic!("{}: {err}", file.display()))
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "{} has mode {:o}",
            file.display(),
            mode & 0o777
        );
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_database_with_wider_permissions_is_narrowed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    std::fs::write(&path, b"").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = open(&format!("sqlite://{}", path.display())).await;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    store.close().await;
}

/// A delivery is acknowledged only once the write-ahead log holding it is synced. When the
/// log cannot be synced (here: the file is gone from under the store), what was committed
/// since may not be on disk: the store refuses that delivery and every later one, and the
/// readiness probe fails, until it is reopened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_that_cannot_be_synced_stops_deliveries_and_readiness() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let url = format!("sqlite://{}", path.display());
    let store = open(&url).await;
    assert!(matches!(
        record(&store, "d-1").await,
        Ok(RecordOutcome::New)
    ));
    store.probe_write().await.unwrap();

    std::fs::remove_file(format!("{}-wal", path.display())).unwrap();
    for id in ["d-2", "d-3"] {
        let outcome = record(&store, id).await;
        assert!(
            matches!(
                outcome,
                Err(promptops_store::StoreError::LogSyncFailed { .. })
            ),
            "{id}: {outcome:?}"
        );
    }
    let probe = store.probe_write().await;
    assert!(
        matches!(
            probe,
            Err(promptops_store::StoreError::LogSyncFailed { .. })
        ),
        "{probe:?}"
    );
    store.close().await;
}

/// PostgreSQL refuses a delivery that needs new space (its tables on a full disk) while the
/// readiness probe's one-row update still fits in a page it has: readiness must report the
/// refused delivery all the same, until a delivery commits again or 30 s have passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_refusing_deliveries_fails_readiness_although_the_probe_row_commits() {
    let db = common::TestDb::new(common::Backend::Postgres).await;
    let store = db.open(test_options()).await;
    let disk = SmallDisk::mount("4m");
    let tablespace = SmallTablespace::create(&db.url, &disk).await;
    assert!(matches!(
        record(&store, "before").await,
        Ok(RecordOutcome::New)
    ));
    store.probe_write().await.unwrap();

    let ballast = disk.fill();
    let mut refused = None;
    for n in 0..2000 {
        if let Err(err) = record(&store, &format!("full-{n}")).await {
            refused = Some(err);
            break;
        }
    }
    let refused = refused.expect("the full disk refused no delivery");
    assert!(
        refused.to_string().contains("No space left on device"),
        "{refused}"
    );
    // The gap this closes: the probe's own row still commits on the full disk.
    tablespace.upsert_probe_row().await;
    let probe = store.probe_write().await;
    assert!(
        matches!(
            probe,
            Err(promptops_store::StoreError::DeliveryWriteFailed { .. })
        ),
        "readiness while deliveries are refused: {probe:?}"
    );

    // Out of rotation, no delivery comes to end the report: it ends by itself.
    db.clock.advance(Duration::from_secs(31));
    store.probe_write().await.unwrap();
    assert!(record(&store, "still-full").await.is_err());
    assert!(store.probe_write().await.is_err(), "reported anew");

    std::fs::remove_file(&ballast).unwrap();
    assert!(matches!(
        record(&store, "after").await,
        Ok(RecordOutcome::New)
    ));
    store.probe_write().await.unwrap();
    store.close().await;
}

/// A tablespace on a small disk holding the store's tables, so that they fill it. Dropped
/// (with the store's database) before the disk is unmounted, also when the test fails:
/// buffers of a database whose files are gone would fail every later checkpoint of the
/// server the other tests share.
struct SmallTablespace {
    name: String,
    database: String,
    store_db: sqlx::PgPool,
}

impl SmallTablespace {
    async fn create(store_url: &str, disk: &SmallDisk) -> SmallTablespace {
        let admin = sqlx::PgPool::connect(&admin_url()).await.unwrap();
        // The server's files belong to the user it runs as (`postgres` when the tests run
        // as root): the tablespace's directory must too.
        let data_dir: String = sqlx::query_scalar("SHOW data_directory")
            .fetch_one(&admin)
            .await
            .unwrap();
        let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&data_dir).unwrap());
        let dir = disk.path().join("tablespace");
        std::fs::create_dir(&dir).unwrap();
        std::os::unix::fs::chown(&dir, Some(owner), None).unwrap();
        let name = format!("small_{}_{}", std::process::id(), fastrand::u32(..));
        sqlx::query(&format!(
            "CREATE TABLESPACE {name} LOCATION '{}'",
            dir.display()
        ))
        .execute(&admin)
        .await
        .unwrap();
        admin.close().await;
        let store_db = sqlx::PgPool::connect(store_url).await.unwrap();
        let tablespace = SmallTablespace {
            name,
            database: url::Url::parse(store_url).unwrap().path()[1..].to_owned(),
            store_db,
        };
        for table in ["deliveries", "jobs", "write_probe"] {
            sqlx::query(&format!(
                "ALTER TABLE {table} SET TABLESPACE {}",
                tablespace.name
            ))
            .execute(&tablespace.store_db)
            .await
            .unwrap();
        }
        tablespace
    }

    /// The readiness probe's statement, on a connection of its own.
    async fn upsert_probe_row(&self) {
        sqlx::query(
            "INSERT INTO write_probe (id, at) VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET at = excluded.at",
        )
        .execute(&self.store_db)
        .await
        .expect("the probe's one-row update on the full disk");
    }
}

impl Drop for SmallTablespace {
    fn drop(&mut self) {
        let output = Command::new("psql")
            .arg(admin_url())
            .args(["-v", "ON_ERROR_STOP=1"])
            .args([
                "-c",
                &format!("DROP DATABASE {} WITH (FORCE)", self.database),
            ])
            .args(["-c", &format!("DROP TABLESPACE {}", self.name)])
            .output();
        match output {
            Ok(output) if output.status.success() => {}
            other => eprintln!(
                "dropping database {} and tablespace {} failed: {other:?}",
                self.database, self.name
            ),
        }
    }
}

fn admin_url() -> String {
    std::env::var(promptops_testkit::postgres::POSTGRES_ENV)
        .expect("the PostgreSQL server's URL (scripts/start-postgres.sh)")
}
