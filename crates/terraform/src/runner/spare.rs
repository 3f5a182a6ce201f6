//! A run's place started before the run that takes it: a work dir with its two sandboxes
//! already up. Starting them (two bubblewraps, each with a step server) costs about 15 ms
//! of CPU and several of wall time; with a spare, that is paid when a run ends, after its
//! report, instead of while the next plan's author waits (and, on a small machine, while
//! Terraform's `init` competes with it for the cores).
//!
//! One spare at most (six idle processes: two bubblewraps each); a burst of runs takes it and starts the rest
//! as before. A spare holds no deployment's lock nor a run permit, and knows nothing of
//! the run that will take it: the sandbox's environment is the runner's, the same for
//! every run, and the work dir is empty until the run's source is laid out in it. A spare
//! is used once; the run that takes it removes it with its work dir.

use std::path::PathBuf;

use super::Runner;
use super::reservation::Sessions;
use super::work_dir::WorkDir;
use crate::error::RunnerError;
use crate::private_files::create_private_dir;

/// A work dir (`src/` and `home/` in it, all 0700) and the sandboxes of the run in it.
pub(super) struct RunPlace {
    pub dir: WorkDir,
    pub run_dir: PathBuf,
    /// What makes the dir's name unique (the part after its prefix).
    pub id: String,
    pub sessions: Sessions,
}

/// The prefix of a spare's work dir: the deployment is not known yet.
const SPARE_PREFIX: &str = "run-";

/// Where the runner keeps its spare.
#[derive(Default)]
pub(super) struct SpareSlot(std::sync::Mutex<Option<RunPlace>>);

/// Starts a spare when dropped: the last field of a reservation and of the workspace it
/// becomes, so the next spare starts once a run is over (its work dir gone, its lock and
/// permit given back), or once a reservation is given back unused.
pub(super) struct StartSpareAfter(pub Runner);

impl Drop for StartSpareAfter {
    fn drop(&mut self) {
        self.0.start_spare();
    }
}

impl Runner {
    /// A new work dir named `<prefix><random>` under the work root, with its sandboxes
    /// starting.
    pub(super) fn new_place(&self, prefix: &str) -> Result<RunPlace, RunnerError> {
        let work_root = &self.inner.config.work_root;
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(work_root)
            .map_err(RunnerError::io(format!(
                "create a work dir in {}",
                work_root.display()
            )))
            .map(WorkDir::own)?;
        let run_dir = dir.path().to_path_buf();
        for sub in [run_dir.clone(), run_dir.join("src"), run_dir.join("home")] {
            create_private_dir(&sub)
                .map_err(RunnerError::io(format!("create {}", sub.display())))?;
        }
        let id = run_dir
            .file_name()
            .map(|name| name.to_string_lossy())
            .and_then(|name| name.strip_prefix(prefix).map(str::to_owned))
            .unwrap_or_default();
        let sessions = Sessions {
            init: std::sync::Mutex::new(self.start_session(&run_dir, true)),
            steps: self.start_session(&run_dir, false),
        };
        Ok(RunPlace {
            dir,
            run_dir,
            id,
            sessions,
        })
    }

    /// The spare, when there is one whose sandboxes are still up (one that ended is
    /// dropped, with its dir).
    pub(super) fn take_spare(&self) -> Option<RunPlace> {
        let spare = self.spare_slot().take()?;
        spare.sessions.usable().then_some(spare)
    }

    /// Starts a spare unless there is one, the runner keeps none
    /// ([`crate::RunnerConfig::spare_run`]) or runs no sandbox (nothing to start ahead).
    /// Needs a Tokio runtime (the sandboxes are registered with it); without one it does
    /// nothing. Called when a run ends (so the first run of a runner starts its own).
    pub fn start_spare(&self) {
        if !self.inner.config.spare_run || tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let mut slot = self.spare_slot();
        if slot.is_some() {
            return;
        }
        match self.new_place(SPARE_PREFIX) {
            Ok(place) if place.sessions.steps.is_some() => *slot = Some(place),
            Ok(_) => {}
            // The next run creates its own and reports what fails then.
            Err(err) => tracing::warn!(error = %err, "could not start a spare run's sandboxes"),
        }
    }

    fn spare_slot(&self) -> std::sync::MutexGuard<'_, Option<RunPlace>> {
        self.inner
            .spare
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
