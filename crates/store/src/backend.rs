//! Opening the database named by a URL, and running the same code against either pool.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::{Result, StoreError};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

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
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: None,
            sqlite_busy_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(10),
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

    pub(crate) async fn open(url: &str, options: &ConnectOptions) -> Result<Backend> {
        let scheme = url.split(':').next().unwrap_or_default();
        let backend = match scheme {
            "sqlite" => Backend::Sqlite(open_sqlite(url, options).await?),
            "postgres" | "postgresql" => Backend::Postgres(open_postgres(url, options).await?),
            other => {
                return Err(StoreError::UnsupportedUrl {
                    scheme: other.to_owned(),
                });
            }
        };
        backend.migrate().await?;
        Ok(backend)
    }

    async fn migrate(&self) -> Result<()> {
        let result = match self {
            Backend::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await,
            Backend::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await,
        };
        result.map_err(|source| StoreError::Migrate {
            backend: self.name(),
            source,
        })
    }

    pub(crate) async fn close(&self) {
        match self {
            Backend::Sqlite(pool) => pool.close().await,
            Backend::Postgres(pool) => pool.close().await,
        }
    }
}

async fn open_sqlite(url: &str, options: &ConnectOptions) -> Result<SqlitePool> {
    let connect_error = |source| StoreError::Connect {
        backend: "sqlite",
        source,
    };
    // Durability: WAL with synchronous=FULL fsyncs the log at every COMMIT, so a delivery
    // acknowledged with 202 survives a power cut, not just a process crash (NORMAL would only
    // guarantee the latter). Group commit pays one fsync for many deliveries instead.
    let connect = SqliteConnectOptions::from_str(url)
        .map_err(connect_error)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(options.sqlite_busy_timeout)
        // A group commit returns one row per new delivery; let them all through at once.
        .row_buffer_size(1024)
        .foreign_keys(true);
    let in_memory = connect.get_filename() == Path::new(":memory:") || url.contains("mode=memory");
    if let Some(dir) = connect.get_filename().parent()
        && !in_memory
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|err| connect_error(sqlx::Error::Io(err)))?;
    }
    let mut pool = SqlitePoolOptions::new()
        .max_connections(options.max_connections.unwrap_or(4))
        .acquire_timeout(options.acquire_timeout);
    if in_memory {
        // Every connection to ":memory:" is its own empty database: keep exactly one, forever.
        pool = pool
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
    }
    pool.connect_with(connect).await.map_err(connect_error)
}

async fn open_postgres(url: &str, options: &ConnectOptions) -> Result<PgPool> {
    let connect_error = |source| StoreError::Connect {
        backend: "postgres",
        source,
    };
    let connect = PgConnectOptions::from_str(url).map_err(connect_error)?;
    PgPoolOptions::new()
        .max_connections(options.max_connections.unwrap_or(10))
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect)
        .await
        .map_err(connect_error)
}
