//! The delivery writer of a SQLite database file: group commit on a thread of its own, with
//! the log's fsync done by the writer rather than inside SQLite's COMMIT.
//!
//! The writer has a connection of its own (`sqlite_batch`) with `synchronous=NORMAL`: its
//! COMMIT appends the batch to the write-ahead log without waiting for the disk. The writer
//! then `fdatasync`s the log and only after that answers the batch's callers — so a 202
//! still means "on disk", as with `synchronous=FULL`. (SQLite syncs the log's header itself
//! when it starts reusing the log after a checkpoint.) The next batch is everything that
//! arrived during the commit and the sync.
//!
//! Committing the next batch while the previous one was being synced (on a second thread)
//! was measured against this: once a commit is direct calls rather than hand-offs to
//! sqlx's connection thread, it takes a fraction of a sync, so overlapping them only made
//! batches smaller and syncs more frequent. At 16 connections on the 2-core Intel VM the
//! ingress did 14,011–14,781 deliveries/s overlapped against 18,052–19,686/s in turn, with
//! 91–93 against 66–72 µs of CPU per delivery (`bench/ingress/run.sh`, same binary).
//!
//! Syncing the log ourselves is what lets a failed sync be seen for what it is: what was
//! committed since the last good one may not be on disk although readers see it (a row is
//! visible between its COMMIT and the sync; workers are woken for its jobs only after the
//! sync), and a retried fsync may "succeed" without the lost pages. The store then takes no
//! more deliveries (every one is refused, readiness fails) until the service is restarted
//! and SQLite recovers the log.

use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, watch};

use crate::backend::SqliteDurability;
use crate::clock::{Clock, to_micros};
use crate::error::{Result, StoreError};
use crate::group_commit::{WriteRequest, Written};
use crate::model::RecordOutcome;
use crate::sqlite_batch;

/// Why the store takes no more deliveries: a sync of the log failed (set once, for good).
pub(crate) type SyncFailure = Arc<OnceLock<String>>;

pub(crate) struct SqliteWriter {
    /// The database file; opened again after a failed write.
    path: PathBuf,
    busy_timeout: Duration,
    conn: Option<rusqlite::Connection>,
    log: WalLog,
    clock: Arc<dyn Clock>,
    max_batch: usize,
    max_attempts: i64,
    jobs_enqueued: Arc<Notify>,
    failure: SyncFailure,
}

/// What the writer needs besides its connection.
pub(crate) struct SqliteWriterParts {
    pub path: PathBuf,
    pub busy_timeout: Duration,
    pub durability: SqliteDurability,
    pub clock: Arc<dyn Clock>,
    pub max_batch: usize,
    pub max_attempts: u32,
    pub jobs_enqueued: Arc<Notify>,
    pub failure: SyncFailure,
}

impl SqliteWriter {
    /// Starts the writer's thread. It takes batches off `requests` until every sender is
    /// gone or the store is `closed`.
    pub(crate) fn start(
        parts: SqliteWriterParts,
        requests: mpsc::Receiver<WriteRequest>,
        closed: watch::Receiver<bool>,
    ) -> Result<()> {
        let mut wal = parts.path.as_os_str().to_owned();
        wal.push("-wal");
        let writer = SqliteWriter {
            path: parts.path,
            busy_timeout: parts.busy_timeout,
            conn: None,
            log: WalLog {
                path: PathBuf::from(wal),
                // With `Normal` durability the log is synced only at checkpoints, as
                // SQLite's NORMAL does: the callers are answered at once.
                sync: parts.durability == SqliteDurability::Full,
                file: None,
            },
            clock: parts.clock,
            max_batch: parts.max_batch,
            max_attempts: i64::from(parts.max_attempts),
            jobs_enqueued: parts.jobs_enqueued,
            failure: parts.failure,
        };
        // The writer waits for requests on the runtime's channel from its own thread.
        let runtime = tokio::runtime::Handle::current();
        std::thread::Builder::new()
            .name("promptops-sqlite-writer".to_owned())
            .spawn(move || writer.run(&runtime, requests, closed))
            .map(drop)
            .map_err(|cause| StoreError::WriterThread { cause })
    }

    fn run(
        mut self,
        runtime: &tokio::runtime::Handle,
        mut requests: mpsc::Receiver<WriteRequest>,
        mut closed: watch::Receiver<bool>,
    ) {
        let mut batch = Vec::with_capacity(self.max_batch);
        loop {
            let received = runtime.block_on(async {
                tokio::select! {
                    received = requests.recv_many(&mut batch, self.max_batch) => received,
                    _ = closed.wait_for(|closed| *closed) => 0,
                }
            });
            if received == 0 {
                break;
            }
            self.write(std::mem::take(&mut batch));
            batch.reserve(self.max_batch);
        }
        // Dropping the writer closes its connection.
    }

    fn write(&mut self, mut batch: Vec<WriteRequest>) {
        // Callers that gave up (dropped their future) need no write.
        batch.retain(|request| !request.reply.is_closed());
        if batch.is_empty() {
            return;
        }
        if let Some(problem) = self.failure.get() {
            refuse(batch, problem);
            return;
        }
        match self.commit(&batch) {
            Ok(written) => self.sync_and_answer(batch, written),
            Err(err) if batch.len() == 1 => {
                let _ = batch.remove(0).reply.send(Err(err));
            }
            Err(err) => {
                // One bad item must not fail the others: each on its own, answered alone.
                tracing::warn!(error = %err, size = batch.len(), "group commit failed; writing its deliveries one by one");
                for request in batch {
                    match self.commit(std::slice::from_ref(&request)) {
                        Ok(written) => self.sync_and_answer(vec![request], written),
                        Err(err) => {
                            let _ = request.reply.send(Err(err));
                        }
                    }
                }
            }
        }
    }

    /// Makes a committed batch durable, then answers its callers and wakes the workers for
    /// its jobs; after a failed sync, refuses them and every later delivery.
    fn sync_and_answer(
        &mut self,
        batch: Vec<WriteRequest>,
        (outcomes, enqueued): (Vec<RecordOutcome>, bool),
    ) {
        if let Err(err) = self.log.sync() {
            let problem = format!("{}: {err}", self.log.path.display());
            tracing::error!(
                problem,
                "syncing the SQLite write-ahead log failed; no more deliveries are accepted until a restart"
            );
            let _ = self.failure.set(problem);
        }
        if let Some(problem) = self.failure.get() {
            refuse(batch, problem);
            return;
        }
        if enqueued {
            self.jobs_enqueued.notify_waiters();
        }
        for (request, outcome) in batch.into_iter().zip(outcomes) {
            let _ = request.reply.send(Ok(outcome));
        }
    }

    /// Commits the batch on the writer's connection, opened first if need be. After a
    /// failed write the connection is closed and the next batch opens a fresh one: a COMMIT
    /// that failed (disk full, I/O error) can leave SQLite's transaction open, and the next
    /// one on that connection would then not be what it seems.
    fn commit(&mut self, batch: &[WriteRequest]) -> Written {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => {
                let conn = sqlite_batch::open(&self.path, self.busy_timeout)?;
                // While a connection is open SQLite keeps its log file; a new connection
                // may find another one (every connection closed in between), so the log
                // is opened again at the next sync.
                self.log.file = None;
                self.conn.insert(conn)
            }
        };
        let now = to_micros(self.clock.now());
        let written = sqlite_batch::write(conn, batch, self.max_attempts, now);
        if let Err(err) = &written {
            tracing::warn!(error = %err, "writing deliveries failed; replacing the database connection");
            self.conn = None;
        }
        written
    }
}

fn refuse(batch: Vec<WriteRequest>, problem: &str) {
    for request in batch {
        let _ = request.reply.send(Err(StoreError::LogSyncFailed {
            reason: problem.to_owned(),
        }));
    }
}

/// The database's write-ahead log, synced after each commit.
struct WalLog {
    path: PathBuf,
    sync: bool,
    /// The log, opened at the first sync after the writer's connection was opened.
    file: Option<File>,
}

impl WalLog {
    /// `fdatasync`s the log, after checking that the file still has a name: a log deleted
    /// from under the open database (by hand, or by a restore) takes the commits written
    /// into it with it, so they must not be acknowledged.
    ///
    /// Nothing else touches the file on the way. A `stat` would ask for the file's times,
    /// and Linux (6.13 on) then gives the next write a fine-grained modification time,
    /// which dirties the inode; ext4 writes a dirty inode's block at every `fdatasync`, a
    /// second device round trip. On the 2-core VM a sync then took 0.13 ms instead of
    /// 0.09 ms and 64 instead of 44 µs of system CPU (`python3 bench/ingress/fsync_latency.py
    /// --overwrite [--stat]`). Asking only for the link count (`statx` with `STATX_NLINK`)
    /// does not ask for the times. Whether SQLite replaced the file need not be asked: it
    /// deletes the log only when the database's last connection closes, and the writer's
    /// stays open until `commit` opens another one, which drops this handle.
    fn sync(&mut self) -> std::io::Result<()> {
        if !self.sync {
            return Ok(());
        }
        let file = match &self.file {
            Some(file) => file,
            None => self.file.insert(File::open(&self.path)?),
        };
        if link_count(file)? == 0 {
            return Err(std::io::Error::other(
                "the write-ahead log was deleted while the database was open; what was committed since is in a file that no longer has a name",
            ));
        }
        file.sync_data()
    }
}

/// How many names the open file has (0 once it is deleted), without asking for its times.
#[cfg(target_os = "linux")]
fn link_count(file: &File) -> std::io::Result<u64> {
    use rustix::fs::{AtFlags, StatxFlags, statx};
    match statx(file, "", AtFlags::EMPTY_PATH, StatxFlags::NLINK) {
        Ok(stat) => Ok(u64::from(stat.stx_nlink)),
        // Kernels before 4.11 have no statx.
        Err(rustix::io::Errno::NOSYS) => {
            Ok(std::os::unix::fs::MetadataExt::nlink(&file.metadata()?))
        }
        Err(errno) => Err(errno.into()),
    }
}

#[cfg(not(target_os = "linux"))]
fn link_count(file: &File) -> std::io::Result<u64> {
    Ok(std::os::unix::fs::MetadataExt::nlink(&file.metadata()?))
}
