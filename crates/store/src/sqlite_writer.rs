//! The delivery writer of a SQLite database file: group commit with the log's fsync taken
//! out of the commit, so that the next batch is written while the previous one is synced.
//!
//! The writer is a thread with a connection of its own (`sqlite_batch`) with
//! `synchronous=NORMAL`: its COMMIT appends the batch to the write-ahead log without waiting
//! for the disk. A thread of its own then
//! `fdatasync`s the log and only after that answers the batch's callers — so a 202 still
//! means "on disk", as with `synchronous=FULL`, while the writer has already gone on to the
//! next batch. One sync covers every batch committed before it started. (SQLite syncs the
//! log's header itself when it starts reusing the log after a checkpoint.)
//!
//! A row is visible to other connections between its COMMIT and the sync; workers are woken
//! for its jobs only after the sync. Should a sync fail, what was committed since the last
//! good one may not be on disk although readers see it: the store then takes no more
//! deliveries (every one is refused, readiness fails) until the service is restarted and
//! SQLite recovers the log.

use std::fs::File;
use std::os::unix::fs::MetadataExt as _;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, SyncSender, sync_channel};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, watch};

use crate::backend::SqliteDurability;
use crate::clock::{Clock, to_micros};
use crate::error::{Result, StoreError};
use crate::group_commit::{WriteRequest, Written};
use crate::model::RecordOutcome;
use crate::sqlite_batch;

/// Batches committed and not yet synced, at most: one being synced and one gathered
/// meanwhile. More would only make batches smaller (more commits for the same deliveries).
const UNSYNCED_BATCHES: usize = 2;

/// Why the store takes no more deliveries: a sync of the log failed (set once, for good).
pub(crate) type SyncFailure = Arc<OnceLock<String>>;

pub(crate) struct SqliteWriter {
    /// The database file; opened again after a failed write.
    path: PathBuf,
    busy_timeout: Duration,
    conn: Option<rusqlite::Connection>,
    clock: Arc<dyn Clock>,
    max_batch: usize,
    max_attempts: i64,
    unsynced: UnsyncedBatches,
    to_sync: Sender<Committed>,
    failure: SyncFailure,
}

/// A committed batch waiting for the sync that makes it durable.
struct Committed {
    batch: Vec<WriteRequest>,
    outcomes: Vec<RecordOutcome>,
    enqueued: bool,
    _unsynced: Unsynced,
}

/// Counts the batches committed and not yet synced: a token per batch that may be, taken
/// before a batch is gathered and given back when its callers have been answered.
struct UnsyncedBatches {
    take: Receiver<()>,
    give_back: SyncSender<()>,
}

/// One committed batch's place until it is synced: given back when dropped.
struct Unsynced(SyncSender<()>);

impl Drop for Unsynced {
    fn drop(&mut self) {
        let _ = self.0.try_send(());
    }
}

impl UnsyncedBatches {
    fn new(limit: usize) -> Self {
        let (give_back, take) = sync_channel(limit);
        for _ in 0..limit {
            let _ = give_back.try_send(());
        }
        Self { take, give_back }
    }

    /// Waits until fewer than the limit are unsynced.
    fn acquire(&self) -> Unsynced {
        // The writer holds a sender itself, so the channel never disconnects.
        let _ = self.take.recv();
        Unsynced(self.give_back.clone())
    }
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
    /// Starts the writer and sync threads. The writer takes batches off `requests` until
    /// every sender is gone or the store is `closed`.
    pub(crate) fn start(
        parts: SqliteWriterParts,
        requests: mpsc::Receiver<WriteRequest>,
        closed: watch::Receiver<bool>,
    ) -> Result<()> {
        let mut wal = parts.path.as_os_str().to_owned();
        wal.push("-wal");
        let (to_sync, committed) = std::sync::mpsc::channel();
        let syncer = WalSyncer {
            wal: PathBuf::from(wal),
            // With `Normal` durability the log is synced only at checkpoints, as SQLite's
            // NORMAL does: the callers are answered at once.
            sync: parts.durability == SqliteDurability::Full,
            file: None,
            jobs_enqueued: parts.jobs_enqueued,
            failure: Arc::clone(&parts.failure),
        };
        spawn("promptops-wal-sync", move || syncer.run(committed))?;
        let writer = SqliteWriter {
            path: parts.path,
            busy_timeout: parts.busy_timeout,
            conn: None,
            clock: parts.clock,
            max_batch: parts.max_batch,
            max_attempts: i64::from(parts.max_attempts),
            unsynced: UnsyncedBatches::new(UNSYNCED_BATCHES),
            to_sync,
            failure: parts.failure,
        };
        // The writer waits for requests on the runtime's channel from its own thread.
        let runtime = tokio::runtime::Handle::current();
        spawn("promptops-sqlite-writer", move || {
            writer.run(&runtime, requests, closed)
        })
    }

    fn run(
        mut self,
        runtime: &tokio::runtime::Handle,
        mut requests: mpsc::Receiver<WriteRequest>,
        mut closed: watch::Receiver<bool>,
    ) {
        let mut batch = Vec::with_capacity(self.max_batch);
        loop {
            // Before taking a batch: while the previous ones are synced, more requests arrive.
            let unsynced = self.unsynced.acquire();
            let received = runtime.block_on(async {
                tokio::select! {
                    received = requests.recv_many(&mut batch, self.max_batch) => received,
                    _ = closed.wait_for(|closed| *closed) => 0,
                }
            });
            if received == 0 {
                break;
            }
            self.write(std::mem::take(&mut batch), unsynced);
            batch.reserve(self.max_batch);
        }
        // Dropping the connection closes it.
    }

    fn write(&mut self, mut batch: Vec<WriteRequest>, unsynced: Unsynced) {
        // Callers that gave up (dropped their future) need no write.
        batch.retain(|request| !request.reply.is_closed());
        if batch.is_empty() {
            return;
        }
        if let Some(problem) = self.failure.get() {
            for request in batch {
                let _ = request.reply.send(Err(sync_failed(problem)));
            }
            return;
        }
        match self.commit(&batch) {
            Ok((outcomes, enqueued)) => self.hand_to_sync(batch, outcomes, enqueued, unsynced),
            Err(err) if batch.len() == 1 => {
                let _ = batch.remove(0).reply.send(Err(err));
            }
            Err(err) => {
                // One bad item must not fail the others: each on its own, answered alone.
                tracing::warn!(error = %err, size = batch.len(), "group commit failed; writing its deliveries one by one");
                drop(unsynced);
                for request in batch {
                    let single = std::slice::from_ref(&request);
                    match self.commit(single) {
                        Ok((outcomes, enqueued)) => {
                            let unsynced = self.unsynced.acquire();
                            self.hand_to_sync(vec![request], outcomes, enqueued, unsynced);
                        }
                        Err(err) => {
                            let _ = request.reply.send(Err(err));
                        }
                    }
                }
            }
        }
    }

    fn hand_to_sync(
        &self,
        batch: Vec<WriteRequest>,
        outcomes: Vec<RecordOutcome>,
        enqueued: bool,
        unsynced: Unsynced,
    ) {
        let committed = Committed {
            batch,
            outcomes,
            enqueued,
            _unsynced: unsynced,
        };
        if let Err(std::sync::mpsc::SendError(committed)) = self.to_sync.send(committed) {
            // The sync thread is gone (it panicked): nothing can be confirmed durable.
            for request in committed.batch {
                let _ = request.reply.send(Err(StoreError::WriterStopped));
            }
        }
    }

    /// Commits the batch on the writer's connection, opened first if need be. After a
    /// failed write the connection is closed and the next batch opens a fresh one: a COMMIT
    /// that failed (disk full, I/O error) can leave SQLite's transaction open, and the next
    /// one on that connection would then not be what it seems.
    fn commit(&mut self, batch: &[WriteRequest]) -> Written {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => self
                .conn
                .insert(sqlite_batch::open(&self.path, self.busy_timeout)?),
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

fn spawn(name: &str, run: impl FnOnce() + Send + 'static) -> Result<()> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(run)
        .map(drop)
        .map_err(|err| StoreError::Connect {
            backend: "sqlite",
            source: sqlx::Error::Io(err),
        })
}

fn sync_failed(problem: &str) -> StoreError {
    StoreError::LogSyncFailed {
        reason: problem.to_owned(),
    }
}

/// Syncs the write-ahead log and answers the batches committed before each sync.
struct WalSyncer {
    wal: PathBuf,
    sync: bool,
    /// The log, opened at the first sync (and again should SQLite have replaced the file).
    file: Option<File>,
    jobs_enqueued: Arc<Notify>,
    failure: SyncFailure,
}

impl WalSyncer {
    fn run(mut self, committed: std::sync::mpsc::Receiver<Committed>) {
        while let Ok(first) = committed.recv() {
            // Everything committed until now is covered by one sync.
            let mut ready = vec![first];
            ready.extend(committed.try_iter());
            let synced = if self.sync { self.sync_log() } else { Ok(()) };
            if let Err(err) = synced {
                let problem = format!("{}: {err}", self.wal.display());
                tracing::error!(
                    problem,
                    "syncing the SQLite write-ahead log failed; no more deliveries are accepted until a restart"
                );
                let _ = self.failure.set(problem);
            }
            let enqueued = ready.iter().any(|committed| committed.enqueued);
            if enqueued && self.failure.get().is_none() {
                self.jobs_enqueued.notify_waiters();
            }
            for committed in ready {
                answer(committed, self.failure.get().map(String::as_str));
            }
        }
    }

    fn sync_log(&mut self) -> std::io::Result<()> {
        // SQLite deletes the log only when its last connection closes, and the writer's
        // stays open; should the file have been replaced anyway, sync the one in use.
        let current = std::fs::metadata(&self.wal)?;
        let same = match &self.file {
            Some(file) => {
                let open = file.metadata()?;
                open.ino() == current.ino() && open.dev() == current.dev()
            }
            None => false,
        };
        if !same {
            self.file = Some(File::open(&self.wal)?);
        }
        self.file.as_ref().expect("opened just above").sync_data()
    }
}

fn answer(committed: Committed, failure: Option<&str>) {
    for (request, outcome) in committed.batch.into_iter().zip(committed.outcomes) {
        let answer = match failure {
            None => Ok(outcome),
            Some(problem) => Err(sync_failed(problem)),
        };
        let _ = request.reply.send(answer);
    }
}
