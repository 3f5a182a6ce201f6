//! One batch of deliveries written on the delivery writer's own SQLite connection.
//!
//! The writer runs on a thread of its own and calls SQLite directly (rusqlite, on the same
//! SQLite library sqlx links). Through sqlx every statement of a batch — BEGIN, the insert,
//! each returned row, COMMIT — was a hand-off to sqlx's connection thread and back; on a
//! small VM each hand-off that wakes an idle thread costs tens of microseconds, and one
//! delivery alone took 0.58 ms without any fsync. Here a batch is plain calls on one thread.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};

use crate::backend::WAL_AUTOCHECKPOINT_PAGES;
use crate::error::Result;
use crate::group_commit::{WriteRequest, Written, outcomes, sorted_deliveries};

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
///
/// One prepared statement executed per row: with direct calls there is no round trip to
/// save, and encoding the batch as JSON for `json_each` (what the pool's connections do)
/// cost more than the rows' own inserts.
pub(crate) fn write(
    conn: &mut Connection,
    batch: &[WriteRequest],
    max_attempts: i64,
    now: i64,
) -> Written {
    // IMMEDIATE: take the write lock at BEGIN, so that a pool connection writing at the
    // same moment makes this wait (busy timeout) rather than fail half-way.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut inserted: Vec<&str> = Vec::with_capacity(batch.len());
    {
        let mut insert = tx.prepare_cached(INSERT_DELIVERY)?;
        for delivery in sorted_deliveries(batch) {
            let rows =
                insert.execute(params![delivery.id, delivery.event, delivery.action, now])?;
            if rows == 1 {
                inserted.push(&delivery.id);
            }
        }
    }
    let (outcomes, jobs) = outcomes(batch, &inserted);
    if !jobs.is_empty() {
        let mut insert = tx.prepare_cached(INSERT_JOB)?;
        for job in jobs.rows() {
            insert.execute(params![
                job.kind,
                job.repo,
                job.dedupe_key,
                job.payload,
                max_attempts,
                job.run_after,
                now,
                job.delivery_id
            ])?;
        }
    }
    tx.commit()?;
    Ok((outcomes, !jobs.is_empty()))
}

/// A delivery id seen before is left alone: ON CONFLICT DO NOTHING, no row changed.
const INSERT_DELIVERY: &str = "INSERT INTO deliveries (delivery_id, event, action, received_at) \
     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (delivery_id) DO NOTHING";
/// A live job with the same dedupe key already covers a job: ON CONFLICT DO NOTHING.
const INSERT_JOB: &str = "INSERT INTO jobs (kind, repo, dedupe_key, payload, status, attempts, max_attempts, run_after, created_at, delivery_id) \
     VALUES (?1, ?2, ?3, ?4, 'queued', 0, ?5, COALESCE(?6, ?7), ?7, ?8) ON CONFLICT DO NOTHING";
