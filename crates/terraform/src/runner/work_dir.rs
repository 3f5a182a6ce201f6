//! A run's work dir under the work root, marked as in use for as long as this process has
//! it, and the sweep that removes the ones a process left behind when it was killed.
//!
//! A work dir holds a run's source, its HOME and its plan — what a killed process (kill
//! -9, OOM, power loss) never got to delete. The work root may be shared with other
//! processes (the plugin cache in it is locked for that), so "every dir in the root is
//! stale at start" cannot be assumed. Instead each work dir carries a lock file, locked
//! (`flock`) by its owner for the dir's life; the kernel drops the lock when the owner
//! dies, however it dies. A dir whose lock file can be locked has no owner and is removed;
//! a dir without one is not a work dir of this kind and is left alone.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::Path;

use tempfile::TempDir;

/// The lock file's name in a work dir. It only ever appears already locked: it is created
/// under [`PENDING_LOCK_FILE`], locked, then renamed, so that a sweep never takes the dir
/// of a live owner in the moment between the file's creation and its lock.
const LOCK_FILE: &str = ".owner.lock";
const PENDING_LOCK_FILE: &str = ".owner.lock.pending";

/// A work dir, deleted when dropped.
pub(super) struct WorkDir {
    /// First: the dir goes before its lock is given up, so that no sweep races the removal.
    dir: TempDir,
    /// `None` where the dir could not be marked (see [`WorkDir::own`]).
    _owner: Option<File>,
}

impl WorkDir {
    /// Takes `dir` (just created, empty) as this process's work dir. Where it cannot be
    /// marked (a file system without `flock`, say) the run goes on in an unmarked dir: it is
    /// only not swept should this process be killed.
    pub fn own(dir: TempDir) -> WorkDir {
        let owner = match mark(dir.path()) {
            Ok(owner) => Some(owner),
            Err(err) => {
                tracing::warn!(dir = %dir.path().display(), error = %err, "could not mark a run dir as in use; it is not removed at the next start should this process be killed");
                None
            }
        };
        WorkDir { dir, _owner: owner }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Creates the dir's lock file, locked (see [`LOCK_FILE`]).
fn mark(dir: &Path) -> io::Result<File> {
    let pending = dir.join(PENDING_LOCK_FILE);
    let owner = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&pending)?;
    owner.lock()?;
    std::fs::rename(&pending, dir.join(LOCK_FILE))?;
    Ok(owner)
}

/// Removes the work dirs under `work_root` whose owner has ended; returns how many. A dir
/// that cannot be read or removed is logged and left for the next start.
pub(super) fn sweep_abandoned(work_root: &Path) -> usize {
    let entries = match std::fs::read_dir(work_root) {
        Ok(entries) => entries,
        Err(err) => {
            tracing::warn!(root = %work_root.display(), error = %err, "could not list the work root for abandoned run dirs");
            return 0;
        }
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let dir = entry.path();
        let Ok(lock) = File::open(dir.join(LOCK_FILE)) else {
            continue; // Not a work dir (the plugin cache, the logs), or not one of ours.
        };
        match lock.try_lock() {
            Ok(()) => match std::fs::remove_dir_all(&dir) {
                Ok(()) => removed += 1,
                Err(err) => {
                    tracing::warn!(dir = %dir.display(), error = %err, "could not remove a run dir left by a process that ended")
                }
            },
            Err(TryLockError::WouldBlock) => {} // A live process's run.
            Err(TryLockError::Error(err)) => {
                tracing::warn!(dir = %dir.display(), error = %err, "could not check whether a run dir is in use")
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work_dir(root: &Path, prefix: &str) -> WorkDir {
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(root)
            .unwrap();
        WorkDir::own(dir)
    }

    #[test]
    fn a_dir_whose_owner_ended_is_removed_and_a_live_one_kept() {
        let root = tempfile::tempdir().unwrap();
        let live = work_dir(root.path(), "live-");
        std::fs::write(live.path().join("plan.tfplan"), "plan").unwrap();
        // What a killed process leaves: the dir with its lock file, nobody holding it.
        let abandoned = work_dir(root.path(), "run-").dir.keep();
        assert!(abandoned.join(LOCK_FILE).exists());
        std::fs::create_dir_all(abandoned.join("src/terraform")).unwrap();

        assert_eq!(sweep_abandoned(root.path()), 1);
        assert!(!abandoned.exists(), "the abandoned dir is removed");
        assert!(
            live.path().join("plan.tfplan").exists(),
            "the live run is untouched"
        );
    }

    #[test]
    fn dirs_without_a_lock_file_are_left_alone() {
        let root = tempfile::tempdir().unwrap();
        for name in ["plugin-cache", "logs", "run-from-an-older-version"] {
            std::fs::create_dir(root.path().join(name)).unwrap();
        }
        std::fs::write(root.path().join(LOCK_FILE), "").unwrap();
        assert_eq!(sweep_abandoned(root.path()), 0);
        for name in ["plugin-cache", "logs", "run-from-an-older-version"] {
            assert!(root.path().join(name).is_dir(), "{name} is kept");
        }
    }

    #[test]
    fn a_pending_lock_file_does_not_mark_a_dir_abandoned() {
        // A dir caught between its lock file's creation and its rename.
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("deploy-x");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join(PENDING_LOCK_FILE), "").unwrap();
        assert_eq!(sweep_abandoned(root.path()), 0);
        assert!(dir.is_dir());
    }

    #[test]
    fn a_new_runner_removes_what_an_ended_process_left() {
        let root = tempfile::tempdir().unwrap();
        // The lock is given up as the kernel gives it up when its holder is killed.
        let abandoned = work_dir(root.path(), "web-plan-").dir.keep();
        let _runner = crate::Runner::new(crate::RunnerConfig::new(root.path())).unwrap();
        assert!(!abandoned.exists());
        assert!(root.path().join("plugin-cache").is_dir());
    }

    #[test]
    fn a_dir_that_cannot_be_marked_is_still_a_work_dir_and_never_swept() {
        let root = tempfile::tempdir().unwrap();
        let dir = tempfile::Builder::new()
            .prefix("run-")
            .tempdir_in(root.path())
            .unwrap();
        // Marking fails: the pending lock file's name is taken.
        std::fs::write(dir.path().join(PENDING_LOCK_FILE), "").unwrap();
        let work = WorkDir::own(dir);
        assert!(work._owner.is_none());
        assert!(!work.path().join(LOCK_FILE).exists());
        assert_eq!(sweep_abandoned(root.path()), 0);
        let path = work.path().to_path_buf();
        drop(work);
        assert!(!path.exists(), "dropped, it is deleted all the same");
    }

    #[test]
    fn dropping_a_work_dir_deletes_it() {
        let root = tempfile::tempdir().unwrap();
        let dir = work_dir(root.path(), "run-");
        let path = dir.path().to_path_buf();
        drop(dir);
        assert!(!path.exists());
    }
}
