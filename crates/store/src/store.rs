//! The `Store` handle: opening, health, and delivery recording.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, watch};

use crate::backend::{Backend, ConnectOptions, MigrationReport, with_pool};
use crate::clock::{Clock, SystemClock};
use crate::error::Result;
use crate::group_commit::{self, WriteRequest, Writer};
use crate::model::{Delivery, NewJob, RecordOutcome};
use crate::sqlite_writer::{SqliteWriter, SqliteWriterParts, SyncFailure};
use crate::write_health::WriteHealth;

/// Tuning of the store; `Default` suits the service.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreOptions {
    pub connect: ConnectOptions,
    /// Most deliveries written in one group-commit transaction.
    pub group_commit_max: usize,
    /// Group-commit transactions in flight at once. Default: 1 on SQLite (one write lock),
    /// 4 on PostgreSQL.
    pub group_commit_writers: Option<usize>,
    /// Claims a job gets before `fail` marks it failed for good.
    pub max_attempts: u32,
    /// Retry delay after the first failed attempt; doubles with each attempt...
    pub backoff_base: Duration,
    /// ...up to this.
    pub backoff_max: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            connect: ConnectOptions::default(),
            group_commit_max: 512,
            group_commit_writers: None,
            max_attempts: 5,
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(15 * 60),
        }
    }
}

/// Handle to the durable store. Cheap to clone; all clones share one pool and one
/// group-commit writer, which stops when the last clone is dropped.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub backend: Backend,
    /// What opening the database did to its schema.
    pub migrations: MigrationReport,
    pub clock: Arc<dyn Clock>,
    pub options: StoreOptions,
    pub writer: mpsc::Sender<WriteRequest>,
    /// Jitter for retry backoff.
    pub rng: Mutex<fastrand::Rng>,
    pub jobs_enqueued: Arc<Notify>,
    /// Set (for good) when syncing SQLite's write-ahead log failed.
    pub sync_failure: SyncFailure,
    /// The pooled delivery writer's latest outcome (PostgreSQL).
    pub write_health: Arc<WriteHealth>,
    /// Tells the SQLite delivery writer that the store is closed.
    pub closed: watch::Sender<bool>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.inner.backend.name())
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens `sqlite://<path>` (file and parent directories created; WAL) or
    /// `postgres://...`, and applies the migrations. Must run inside a tokio runtime: it
    /// starts the group-commit writer task.
    pub async fn connect(url: &str) -> Result<Store> {
        Self::connect_with(url, StoreOptions::default(), Arc::new(SystemClock)).await
    }

    pub async fn connect_with(
        url: &str,
        options: StoreOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Store> {
        let (backend, migrations) = Backend::open(url, &options.connect).await?;
        let max_batch = options.group_commit_max.max(1);
        let (sender, receiver) = mpsc::channel(max_batch * 4);
        let jobs_enqueued = Arc::new(Notify::new());
        let sync_failure = SyncFailure::default();
        let write_health = Arc::new(WriteHealth::default());
        let (closed, closed_receiver) = watch::channel(false);
        let writer = WriterParts {
            clock: Arc::clone(&clock),
            max_batch,
            jobs_enqueued: Arc::clone(&jobs_enqueued),
            sync_failure: Arc::clone(&sync_failure),
            write_health: Arc::clone(&write_health),
        };
        start_writer(url, &backend, &options, writer, receiver, closed_receiver)?;
        if let Backend::Sqlite(pool) = &backend {
            tokio::spawn(crate::backend::checkpoint_wal(
                pool.clone(),
                options.connect.sqlite_checkpoint_interval,
                sender.downgrade(),
            ));
        }
        Ok(Store {
            inner: Arc::new(Inner {
                backend,
                migrations,
                clock,
                options,
                writer: sender,
                rng: Mutex::new(fastrand::Rng::new()),
                jobs_enqueued,
                sync_failure,
                write_health,
                closed,
            }),
        })
    }

    /// What opening the database did to its schema.
    pub fn migrations(&self) -> MigrationReport {
        self.inner.migrations
    }

    /// "sqlite" or "postgres".
    pub fn backend_name(&self) -> &'static str {
        self.inner.backend.name()
    }

    /// Succeeds when the database answers a query.
    pub async fn ping(&self) -> Result<()> {
        with_pool!(&self.inner.backend, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// Notified after a delivery commit (or `enqueue`) put jobs on the queue in this process;
    /// workers wait on it between polls.
    pub fn jobs_enqueued(&self) -> Arc<Notify> {
        Arc::clone(&self.inner.jobs_enqueued)
    }

    /// Stores the delivery and its jobs in one transaction, shared with other deliveries
    /// arriving at the same moment (group commit); returns after COMMIT. A delivery id seen
    /// before is `Duplicate` and none of its jobs are inserted. A job whose dedupe key a
    /// queued or running job already has is left out.
    pub async fn record_delivery(
        &self,
        delivery: Delivery,
        jobs: Vec<NewJob>,
    ) -> Result<RecordOutcome> {
        group_commit::submit(&self.inner.writer, delivery, jobs).await
    }

    /// Closes the pool's connections. Deliveries whose `record_delivery` has not returned
    /// yet fail with an error (they were not acknowledged, so nothing is lost).
    pub async fn close(&self) {
        self.inner.closed.send_replace(true);
        self.inner.backend.close().await;
    }

    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.inner.clock.now()
    }
}

/// What every delivery writer shares with the store.
struct WriterParts {
    clock: Arc<dyn Clock>,
    max_batch: usize,
    jobs_enqueued: Arc<Notify>,
    sync_failure: SyncFailure,
    write_health: Arc<WriteHealth>,
}

/// Starts the delivery writer: on a SQLite file, one that syncs the log beside the commits
/// (`sqlite_writer`); otherwise group commit on the pool (several writers on PostgreSQL).
fn start_writer(
    url: &str,
    backend: &Backend,
    options: &StoreOptions,
    parts: WriterParts,
    requests: mpsc::Receiver<WriteRequest>,
    closed: watch::Receiver<bool>,
) -> Result<()> {
    let sqlite = match backend {
        Backend::Sqlite(_) => Some(crate::backend::sqlite_connect_options(
            url,
            &options.connect,
        )?),
        Backend::Postgres(_) => None,
    };
    if let Some((connect, false)) = sqlite {
        let parts = SqliteWriterParts {
            path: connect.get_filename().to_path_buf(),
            busy_timeout: options.connect.sqlite_busy_timeout,
            durability: options.connect.sqlite_synchronous,
            clock: parts.clock,
            max_batch: parts.max_batch,
            max_attempts: options.max_attempts,
            jobs_enqueued: parts.jobs_enqueued,
            failure: parts.sync_failure,
        };
        SqliteWriter::start(parts, requests, closed)?;
        return Ok(());
    }
    let writer = Arc::new(Writer {
        backend: backend.clone(),
        clock: parts.clock,
        max_batch: parts.max_batch,
        max_attempts: options.max_attempts,
        jobs_enqueued: parts.jobs_enqueued,
        // An in-memory SQLite database: its one pooled connection cannot be replaced.
        in_memory: sqlite.is_some(),
        health: parts.write_health,
    });
    let writers = options.group_commit_writers.unwrap_or(match backend {
        Backend::Sqlite(_) => 1,
        Backend::Postgres(_) => 4,
    });
    let requests = Arc::new(tokio::sync::Mutex::new(requests));
    for _ in 0..writers.max(1) {
        tokio::spawn(Arc::clone(&writer).run(Arc::clone(&requests)));
    }
    Ok(())
}
