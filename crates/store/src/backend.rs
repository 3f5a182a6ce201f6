//! Opening the database named by a URL, and running the same code against either pool.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::{FileAction, Result, StoreError};

pub(crate) static SQLITE_MIGRATIONS: sqlx::migrate::Migrator =
    sqlx::migrate!("./migrations/sqlite");
pub(crate) static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator =
    sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to whichever pool the backend holds. The body is
/// compiled once per backend, so the same statements serve both (placeholders are `$n`,
/// which SQLite accepts too).
macro_rules! with_pool {
    ($backend:expr, $pool:ident => $body:expr) => {
        match $backend {
            $crate::backend::Backend::Sqlite($pool) => $body,
            $crate::backend::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// Settings for opening a database; `Default` suits a single service process.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectOptions {
    /// Pool size. SQLite has one writer at a time whatever this is; extra connections serve
    /// concurrent readers (WAL). Default: 4 for SQLite, 10 for PostgreSQL.
    pub max_connections: Option<u32>,
    /// How long a SQLite statement waits for another connection's write lock.
    pub sqlite_busy_timeout: Duration,
    /// How long to wait for a pooled connection before failing.
    pub acquire_timeout: Duration,
    /// SQLite's `synchronous` setting. `Full` (default) fsyncs the log at every COMMIT, so
    /// an acknowledged delivery survives a power cut. `Normal` only survives a process crash
    /// (the last commits can be lost with the machine) in exchange for fewer fsyncs; choose
    /// it only where that loss is acceptable.
    pub sqlite_synchronous: SqliteDurability,
    /// How often a background task checkpoints the SQLite write-ahead log, so that the
    /// delivery writer never pays for a checkpoint inside a commit.
    pub sqlite_checkpoint_interval: Duration,
}

/// What opening the database did to its schema (`promptops migrate` reports it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationReport {
    /// The database had no schema: it was created by applying every migration.
    Created { migrations: u64 },
    /// The database had a schema: `applied` pending migrations ran (0: up to date).
    Upgraded { applied: u64, total: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteDurability {
    #[default]
    Full,
    Normal,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: None,
            sqlite_busy_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(10),
            sqlite_synchronous: SqliteDurability::Full,
            sqlite_checkpoint_interval: Duration::from_millis(500),
        }
    }
}

impl Backend {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    pub(crate) async fn open(
        url: &str,
        options: &ConnectOptions,
    ) -> Result<(Backend, MigrationReport)> {
        let scheme = url.split(':').next().unwrap_or_default();
        let backend = match scheme {
            "sqlite" => Backend::Sqlite(open_sqlite(url, options).await?),
            "postgres" | "postgresql" => {
                let connect = postgres_connect_options(url)?;
                Backend::Postgres(open_postgres(connect, options).await?)
            }
            other => {
                return Err(StoreError::UnsupportedUrl {
                    scheme: other.to_owned(),
                });
            }
        };
        let before = backend.applied_migrations().await?;
        backend.migrate().await?;
        let after = backend.applied_migrations().await?.unwrap_or_default();
        let report = match before {
            None => MigrationReport::Created { migrations: after },
            Some(before) => MigrationReport::Upgraded {
                applied: after.saturating_sub(before),
                total: after,
            },
        };
        Ok((backend, report))
    }

    async fn migrate(&self) -> Result<()> {
        let result = match self {
            Backend::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await,
            Backend::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await,
        };
        result.map_err(|cause| StoreError::Migrate {
            backend: self.name(),
            cause,
        })
    }

    /// How many migrations the database has applied; `None` when it has no schema yet
    /// (sqlx's bookkeeping table does not exist).
    pub(crate) async fn applied_migrations(&self) -> Result<Option<u64>> {
        let exists_sql = match self {
            Backend::Sqlite(_) => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
            }
            Backend::Postgres(_) => {
                "SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE tablename = '_sqlx_migrations' \
                 AND schemaname = ANY (current_schemas(false))"
            }
        };
        let exists: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(exists_sql).fetch_one(pool).await?
        });
        if exists == 0 {
            return Ok(None);
        }
        let applied: i64 = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(pool)
                .await?
        });
        Ok(Some(u64::try_from(applied).unwrap_or_default()))
    }

    pub(crate) async fn close(&self) {
        match self {
            Backend::Sqlite(pool) => pool.close().await,
            Backend::Postgres(pool) => pool.close().await,
        }
    }
}

/// SQLite's automatic checkpoint threshold, in log pages, on every connection (the pool's
/// and the delivery writer's own).
pub(crate) const WAL_AUTOCHECKPOINT_PAGES: u32 = 10_000;

/// How every connection to the SQLite database named by `url` is opened, and whether it is
/// an in-memory database.
pub(crate) fn sqlite_connect_options(
    url: &str,
    options: &ConnectOptions,
) -> Result<(SqliteConnectOptions, bool)> {
    // Durability: WAL with synchronous=FULL fsyncs the log at every COMMIT, so a delivery
    // acknowledged with 202 survives a power cut, not just a process crash (NORMAL would only
    // guarantee the latter). Group commit pays one fsync for many deliveries instead (and
    // the delivery writer syncs the log itself, see `sqlite_writer`).
    let synchronous = match options.sqlite_synchronous {
        SqliteDurability::Full => SqliteSynchronous::Full,
        SqliteDurability::Normal => SqliteSynchronous::Normal,
    };
    let connect = sqlite_url_options(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(synchronous)
        // Checkpoints run in the background (see `checkpoint_wal`); this only bounds the log
        // (~40 MB) should they fall behind.
        .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES.to_string())
        .busy_timeout(options.sqlite_busy_timeout)
        // A group commit returns one row per new delivery; let them all through at once.
        .row_buffer_size(1024)
        .foreign_keys(true);
    Ok((connect, is_in_memory(url)))
}

/// The options a `sqlite:` URL gives, or why it cannot be read.
pub(crate) fn sqlite_url_options(url: &str) -> Result<SqliteConnectOptions> {
    SqliteConnectOptions::from_str(url).map_err(|cause| StoreError::BadUrl {
        backend: "sqlite",
        cause,
    })
}

/// The options a `postgres:` URL gives, or why it cannot be read.
pub(crate) fn postgres_connect_options(url: &str) -> Result<PgConnectOptions> {
    PgConnectOptions::from_str(url).map_err(|cause| StoreError::BadUrl {
        backend: "postgres",
        cause,
    })
}

/// Opening the SQLite database `connect` names failed.
pub(crate) fn sqlite_open_error(connect: &SqliteConnectOptions, cause: sqlx::Error) -> StoreError {
    StoreError::SqliteOpen {
        path: connect.get_filename().to_path_buf(),
        cause,
    }
}

async fn open_sqlite(url: &str, options: &ConnectOptions) -> Result<SqlitePool> {
    let (connect, in_memory) = sqlite_connect_options(url, options)?;
    if !in_memory {
        owner_only_files(connect.get_filename())?;
    }
    let mut pool = SqlitePoolOptions::new()
        .max_connections(options.max_connections.unwrap_or(4))
        .acquire_timeout(options.acquire_timeout)
        .after_release(|conn, _| Box::pin(async move { Ok(!in_transaction(conn).await?) }));
    if in_memory {
        // Every connection to ":memory:" is its own empty database: keep exactly one, forever.
        pool = pool
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
    }
    pool.connect_with(connect.clone())
        .await
        .map_err(|cause| sqlite_open_error(&connect, cause))
}

/// Whether SQLite itself has a transaction open on `conn`. A COMMIT that fails (disk full,
/// I/O error) can leave the transaction open while sqlx takes it as ended; back in the pool,
/// such a connection would hold the database's write lock for good ("database is locked"
/// for every other writer) and its later writes would never become durable. The pool
/// closes it instead, whichever code path the failed write came from.
async fn in_transaction(conn: &mut sqlx::SqliteConnection) -> Result<bool, sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    // SAFETY: the handle is locked for this call, so the pointer is a live connection that
    // no other thread uses meanwhile; sqlite3_get_autocommit only reads its state.
    let autocommit =
        unsafe { libsqlite3_sys::sqlite3_get_autocommit(handle.as_raw_handle().as_ptr()) };
    Ok(autocommit == 0)
}

/// Whether `url` names an in-memory SQLite database (`sqlite::memory:`,
/// `sqlite://:memory:`, `mode=memory`): one that is gone when its last connection closes.
/// Read from the URL: sqlx renames `:memory:` to a `file:sqlx-in-memory-<n>` name of its
/// own, which would otherwise be taken for a file.
pub fn is_in_memory(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return false;
    };
    let (database, params) = rest.split_once('?').unwrap_or((rest, ""));
    database == ":memory:"
        || params
            .split('&')
            .any(|param| param.split_once('=') == Some(("mode", "memory")))
}

/// Creates the database's directory, and the database file readable and writable by its
/// owner only (it holds every delivery and job payload). SQLite gives the write-ahead log
/// and shared-memory files the database file's permissions; files left by an older version
/// with wider permissions are narrowed.
fn owner_only_files(database: &Path) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let failed = |action| {
        move |cause| StoreError::SqliteFile {
            path: database.to_path_buf(),
            action,
            cause,
        }
    };
    if let Some(dir) = database.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(failed(FileAction::CreateDirectory))?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(database)
        .map_err(failed(FileAction::Create))?;
    let mut wal = database.as_os_str().to_owned();
    wal.push("-wal");
    let mut shm = database.as_os_str().to_owned();
    shm.push("-shm");
    for file in [database.as_os_str().to_owned(), wal, shm] {
        match std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                return Err(failed(FileAction::NarrowPermissions)(err));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Checkpoints the write-ahead log every `interval` (PASSIVE: never blocks writers) on a pool
/// connection of its own, until the store is dropped (`alive` can no longer be upgraded).
pub(crate) async fn checkpoint_wal<T>(
    pool: SqlitePool,
    interval: Duration,
    alive: tokio::sync::mpsc::WeakSender<T>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if alive.upgrade().is_none() || pool.is_closed() {
            return;
        }
        if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::warn!(error = %err, "checkpointing the SQLite write-ahead log failed");
        }
    }
}

pub(crate) async fn open_postgres(
    connect: PgConnectOptions,
    options: &ConnectOptions,
) -> Result<PgPool> {
    // The pool retries a failed connection until `acquire_timeout` and then reports only
    // "pool timed out". One direct attempt first says why (connection refused, unknown
    // host, password rejected) and where, at once.
    let address = format!("{}:{}", connect.get_host(), connect.get_port());
    let probe = sqlx::ConnectOptions::connect(&connect);
    match tokio::time::timeout(options.acquire_timeout, probe).await {
        Ok(Ok(probe)) => {
            let _ = sqlx::Connection::close(probe).await;
        }
        Ok(Err(cause)) => return Err(StoreError::Unreachable { address, cause }),
        Err(_) => {
            let waited = std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "no answer within {} s (a firewall dropping the connection, or the wrong host?)",
                    options.acquire_timeout.as_secs()
                ),
            );
            return Err(StoreError::Unreachable {
                address,
                cause: sqlx::Error::Io(waited),
            });
        }
    }
    PgPoolOptions::new()
        .max_connections(options.max_connections.unwrap_or(10))
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect)
        .await
        .map_err(|cause| StoreError::Unreachable { address, cause })
}
