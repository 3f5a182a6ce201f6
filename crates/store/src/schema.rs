//! What a database's schema is, learnt without changing anything (`promptops check`): no
//! migration runs, no file or directory is created or has its permissions narrowed, and on
//! PostgreSQL the session is read-only, so that checking a shared production database can
//! never upgrade it in place.

use sqlx::sqlite::SqlitePoolOptions;
use std::path::Path;

use crate::backend::{
    Backend, ConnectOptions, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS, open_postgres,
    postgres_connect_options, sqlite_open_error, sqlite_url_options, with_pool,
};
use crate::error::{Result, StoreError};

/// The schema of a database as this version of PromptOps sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaState {
    /// No PromptOps schema: sqlx's bookkeeping table is absent. `other_tables` tables of
    /// something else are there (0: an empty database).
    Unmigrated { pending: u64, other_tables: u64 },
    /// A PromptOps schema: `pending` migrations of this version are not applied yet, and
    /// `unknown` applied ones are none of this version's (a newer release migrated it,
    /// and this version would refuse to start on it).
    Migrated {
        applied: u64,
        pending: u64,
        unknown: u64,
    },
}

/// What `inspect` found: the backend and the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaInspection {
    /// "sqlite" or "postgres".
    pub backend: &'static str,
    pub state: SchemaState,
}

/// Reads the schema of the database `url` names, read-only. A SQLite file that does not
/// exist is an error, not created.
pub async fn inspect(url: &str, options: &ConnectOptions) -> Result<SchemaInspection> {
    let scheme = url.split(':').next().unwrap_or_default();
    let backend = match scheme {
        "sqlite" => Backend::Sqlite(open_sqlite_read_only(url, options).await?),
        "postgres" | "postgresql" => {
            let connect = postgres_connect_options(url)?
                // Every statement of the session is refused a write, whatever it is.
                .options([("default_transaction_read_only", "on")]);
            let single = ConnectOptions {
                max_connections: Some(1),
                ..options.clone()
            };
            Backend::Postgres(open_postgres(connect, &single).await?)
        }
        other => {
            return Err(StoreError::UnsupportedUrl {
                scheme: other.to_owned(),
            });
        }
    };
    let state = schema_state(&backend).await;
    backend.close().await;
    Ok(SchemaInspection {
        backend: backend.name(),
        state: state?,
    })
}

/// One read-only connection to the SQLite file. Without a write-ahead log beside it the
/// file holds every commit, and it is read as immutable: a read-only connection to a WAL
/// database would otherwise create the -wal and -shm files and leave them behind.
async fn open_sqlite_read_only(url: &str, options: &ConnectOptions) -> Result<sqlx::SqlitePool> {
    let connect = sqlite_url_options(url)?;
    let mut wal = connect.get_filename().as_os_str().to_owned();
    wal.push("-wal");
    let connect = connect
        .create_if_missing(false)
        .read_only(true)
        .immutable(!Path::new(&wal).exists())
        .busy_timeout(options.sqlite_busy_timeout);
    SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect.clone())
        .await
        .map_err(|cause| sqlite_open_error(&connect, cause))
}

async fn schema_state(backend: &Backend) -> Result<SchemaState> {
    let known: Vec<i64> = match backend {
        Backend::Sqlite(_) => &SQLITE_MIGRATIONS,
        Backend::Postgres(_) => &POSTGRES_MIGRATIONS,
    }
    .iter()
    .filter(|migration| migration.migration_type.is_up_migration())
    .map(|migration| migration.version)
    .collect();
    let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    let Some(applied) = applied_versions(backend).await? else {
        return Ok(SchemaState::Unmigrated {
            pending: count(known.len()),
            other_tables: table_count(backend).await?,
        });
    };
    Ok(SchemaState::Migrated {
        applied: count(applied.len()),
        pending: count(known.iter().filter(|v| !applied.contains(v)).count()),
        unknown: count(applied.iter().filter(|v| !known.contains(v)).count()),
    })
}

/// The versions of the migrations the database has applied; `None` when it has no
/// bookkeeping table.
async fn applied_versions(backend: &Backend) -> Result<Option<Vec<i64>>> {
    if backend.applied_migrations().await?.is_none() {
        return Ok(None);
    }
    let versions = with_pool!(backend, pool => {
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await?
    });
    Ok(Some(versions))
}

/// The tables the database holds (in the schemas a session sees, on PostgreSQL).
async fn table_count(backend: &Backend) -> Result<u64> {
    let sql = match backend {
        Backend::Sqlite(_) => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        }
        Backend::Postgres(_) => {
            "SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE schemaname = ANY (current_schemas(false))"
        }
    };
    let tables: i64 = with_pool!(backend, pool => {
        sqlx::query_scalar(sql).fetch_one(pool).await?
    });
    Ok(u64::try_from(tables).unwrap_or_default())
}
