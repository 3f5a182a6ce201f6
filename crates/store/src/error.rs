//! The one error type of the store.
//!
//! Each message carries the text of its cause, and the cause is not also the error's
//! `source()`: errors are printed with anyhow's `{:#}`, which appends every source, so a
//! cause that were both would be printed twice (three times for sqlx's I/O errors, which
//! do the same themselves).

use std::path::PathBuf;

use thiserror::Error;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Error)]
pub enum StoreError {
    /// The database URL names no backend this store speaks.
    #[error(
        "unsupported database URL scheme {scheme:?}: use sqlite://<path> (file created when missing) or postgres://user@host:port/db"
    )]
    UnsupportedUrl { scheme: String },

    /// The database URL names a backend but the driver cannot read the rest.
    #[error("the {backend} database URL cannot be read: {cause}")]
    BadUrl {
        backend: &'static str,
        cause: sqlx::Error,
    },

    /// The SQLite database file or its directory could not be created, or the file's
    /// permissions not narrowed to its owner.
    #[error("cannot {action} the sqlite database {}: {cause}", path.display())]
    SqliteFile {
        path: PathBuf,
        action: FileAction,
        cause: std::io::Error,
    },

    #[error("cannot open the sqlite database {}: {cause}", path.display())]
    SqliteOpen { path: PathBuf, cause: sqlx::Error },

    /// The database server could not be reached or refused the connection.
    #[error("cannot connect to the postgres database at {address}: {cause}")]
    Unreachable { address: String, cause: sqlx::Error },

    #[error("migrating the {backend} database failed: {cause}")]
    Migrate {
        backend: &'static str,
        cause: sqlx::migrate::MigrateError,
    },

    /// The thread of the SQLite delivery writer could not be started.
    #[error("cannot start the SQLite delivery writer's thread: {cause}")]
    WriterThread { cause: std::io::Error },

    #[error("database error: {0}")]
    Database(sqlx::Error),

    /// An error of the delivery writer's own SQLite connection (`sqlite_batch`).
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),

    /// The job is not (or no longer) running under this worker's lease: it finished, was
    /// released, or its lease ran out and another worker took it over.
    #[error(
        "job {job_id} is not held by worker {worker_id:?} (status {status}, held by {holder:?}); its lease may have expired and been taken over"
    )]
    NotLeaseHolder {
        job_id: i64,
        worker_id: String,
        status: String,
        holder: Option<String>,
    },

    #[error("job {0} does not exist")]
    JobNotFound(i64),

    #[error("run {0} does not exist")]
    RunNotFound(i64),

    /// A stored value could not be read back (edited by hand, or written by a newer version).
    #[error("stored {field} has an unexpected value {value:?}: {expected}")]
    Corrupt {
        field: &'static str,
        value: String,
        expected: &'static str,
    },

    /// A value does not fit the column (e.g. a number above i64::MAX).
    #[error("{field} = {value} cannot be stored: {allowed}")]
    OutOfRange {
        field: &'static str,
        value: String,
        allowed: &'static str,
    },

    /// A sync of SQLite's write-ahead log failed (an I/O error): what was committed since
    /// the last good sync may not be on disk, so the store takes no more deliveries.
    #[error(
        "syncing the SQLite write-ahead log failed ({reason}): deliveries committed since the last good sync may not be on disk, so no more are accepted; check the disk, then restart the service (SQLite recovers the log when it opens the database)"
    )]
    LogSyncFailed { reason: String },

    /// The delivery writer's latest batch failed (PostgreSQL: a full disk, a read-only
    /// database) and none has committed since; the readiness probe's own write may still
    /// succeed, so this is what tells that deliveries are refused.
    #[error(
        "the latest delivery write failed {seconds_ago} s ago and none has committed since ({reason}): the database refuses new rows; free space on its disk or make it writable again (readiness returns with the next delivery that commits, or 30 s after the failure)"
    )]
    DeliveryWriteFailed { reason: String, seconds_ago: i64 },

    /// The group-commit writer task is gone (its runtime shut down).
    #[error("the delivery writer has stopped; the store must be reopened")]
    WriterStopped,
}

impl From<sqlx::Error> for StoreError {
    fn from(cause: sqlx::Error) -> Self {
        StoreError::Database(cause)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(cause: rusqlite::Error) -> Self {
        StoreError::Sqlite(cause)
    }
}

/// What was being done to a SQLite database file when it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileAction {
    CreateDirectory,
    Create,
    NarrowPermissions,
}

impl std::fmt::Display for FileAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileAction::CreateDirectory => "create the directory of",
            FileAction::Create => "create or open",
            FileAction::NarrowPermissions => "make owner-only",
        })
    }
}
