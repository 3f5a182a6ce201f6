//! One batch of deliveries written on the delivery writer's own SQLite connection.
//!
//! The writer runs on a thread of its own and calls SQLite directly (rusqlite, on the same
//! SQLite library sqlx links). Through sqlx every statement of a batch — BEGIN, the insert,
//! each returned row, COMMIT — was a hand-off to sqlx's connection thread and back; on a
//! small VM each hand-off that wakes an idle thread costs tens of microseconds, and one
//! delivery alone took 0.58 ms without any fsync. Here a batch is plain calls on one thread.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior, named_params};

use crate::backend::WAL_AUTOCHECKPOINT_PAGES;
use crate::error::Result;
use crate::group_commit::{
    DeliveryColumns, SQLITE_INSERT_DELIVERIES, SQLITE_INSERT_JOBS, WriteRequest, Written, outcomes,
    sorted_deliveries,
};

/// Opens the writer's connection to the database file the pool has already created and
/// migrated. `synchronous=NORMAL`: a COMMIT appends to the log without waiting for the disk;
/// the writer syncs the log itself before it answers the batch's callers (`sqlite_writer`).
pub(crate) fn open(path: &Path, busy_timeout: Duration) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy_timeout)?;
    // The same settings as the pool's connections (`sqlite_connect_options`), but NORMAL.
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
         PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES};"
    ))?;
    Ok(conn)
}

/// Writes the batch in one transaction on `conn`, COMMIT included (not synced). Returns
/// each request's outcome, in order, and whether any job was inserted.
pub(crate) fn write(
    conn: &mut Connection,
    batch: &[WriteRequest],
    max_attempts: i64,
    now: i64,
) -> Written {
    let by_id = sorted_deliveries(batch);
    let deliveries = DeliveryColumns::new(&by_id).as_json_rows();
    // IMMEDIATE: take the write lock at BEGIN, so that a pool connection writing at the
    // same moment makes this wait (busy timeout) rather than fail half-way.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let inserted: Vec<String> = {
        let mut insert = tx.prepare_cached(SQLITE_INSERT_DELIVERIES)?;
        let rows = insert.query_map(named_params! { "$1": deliveries, "$2": now }, |row| {
            row.get::<_, String>(0)
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let (outcomes, jobs) = outcomes(batch, inserted);
    if !jobs.is_empty() {
        let mut insert = tx.prepare_cached(SQLITE_INSERT_JOBS)?;
        insert.execute(named_params! {
            "$1": jobs.as_json_rows(), "$2": max_attempts, "$3": now
        })?;
    }
    tx.commit()?;
    Ok((outcomes, !jobs.is_empty()))
}
