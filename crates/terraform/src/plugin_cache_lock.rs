//! One `terraform init` at a time per plugin cache. Terraform's plugin cache is not safe
//! for concurrent writers: two inits installing the same provider into an empty cache
//! interleave their writes, one of them records checksums of a half-written package, and
//! its plan then fails with "Required plugins are not installed" (Atlantis #2242). Only
//! `init` writes the cache (the sandbox binds it writable for init alone), so inits take
//! this lock and every other step runs in parallel as before.
//!
//! The lock is an async mutex within the process (waiters queue fairly and a cancelled
//! run stops waiting) plus an exclusive `flock` on a file in the cache directory for
//! other processes sharing the same cache (replicas on one host).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{FlockOperation, flock};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// The lock file's name inside the cache; Terraform ignores entries that are not
/// provider host directories.
const LOCK_FILE: &str = ".promptops-init.lock";

pub struct PluginCacheLock {
    in_process: Arc<Mutex<()>>,
    path: PathBuf,
}

/// Held while one init runs; dropping it releases both locks.
pub struct InitGuard {
    // Closing the file releases the flock.
    _file: File,
    _in_process: OwnedMutexGuard<()>,
}

impl PluginCacheLock {
    pub fn new(cache_dir: &Path) -> PluginCacheLock {
        PluginCacheLock {
            in_process: Arc::new(Mutex::new(())),
            path: cache_dir.join(LOCK_FILE),
        }
    }

    /// Waits until no other init of this process, nor of another process on the same
    /// cache, runs.
    pub async fn acquire(&self) -> io::Result<InitGuard> {
        let in_process = self.in_process.clone().lock_owned().await;
        let path = self.path.clone();
        // Another process holds the flock only for one init: waiting for it blocks this
        // thread, so it is done on the blocking pool.
        let file = tokio::task::spawn_blocking(move || -> io::Result<File> {
            let file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&path)?;
            flock(&file, FlockOperation::LockExclusive)?;
            Ok(file)
        })
        .await
        .map_err(io::Error::other)??;
        Ok(InitGuard {
            _file: file,
            _in_process: in_process,
        })
    }
}
