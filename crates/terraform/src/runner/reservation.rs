//! A run's place, taken before its source is at hand: the deployment's lock, a run permit,
//! the run's work dir and its two sandboxes, starting (or the spare's, started already:
//! see `spare.rs`). Starting bubblewrap costs milliseconds; a caller that reserves before
//! it fetches the source from GitHub (and creates the check run) gets sandboxes that are
//! ready when Terraform is to run.

use std::path::PathBuf;

use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit};

use super::Runner;
use super::spare::StartSpareAfter;
use super::work_dir::WorkDir;
use crate::error::RunnerError;
use crate::run_logs::run_stem;
use crate::spec::PlanMode;
use crate::step_server::PendingSession;

/// What a run is for: names its work dir and run logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunPurpose {
    Plan,
    DestroyPlan,
    Apply,
    Destroy,
    Invoke,
}

impl RunPurpose {
    /// A plan in `mode`: a destroy plan for [`PlanMode::Destroy`].
    pub fn planning(mode: PlanMode) -> RunPurpose {
        match mode.is_destroy() {
            true => RunPurpose::DestroyPlan,
            false => RunPurpose::Plan,
        }
    }

    /// An apply in `mode`: a destroy for [`PlanMode::Destroy`].
    pub fn applying(mode: PlanMode) -> RunPurpose {
        match mode.is_destroy() {
            true => RunPurpose::Destroy,
            false => RunPurpose::Apply,
        }
    }

    fn label(self) -> &'static str {
        match self {
            RunPurpose::Plan => "plan",
            RunPurpose::DestroyPlan => "destroy-plan",
            RunPurpose::Apply => "apply",
            RunPurpose::Destroy => "destroy",
            RunPurpose::Invoke => "invoke",
        }
    }
}

/// A reserved run (see the module comment). Dropping it unused gives everything back and
/// removes the work dir.
pub struct Reservation {
    pub(super) sessions: Sessions,
    pub(super) dir: WorkDir,
    pub(super) run_dir: PathBuf,
    /// The run's log files are named after it (deployment, purpose, the dir's unique part).
    pub(super) log_stem: String,
    pub(super) deployment: String,
    pub(super) guard: OwnedMutexGuard<()>,
    pub(super) permit: OwnedSemaphorePermit,
    /// Last: the next spare starts once the rest is given back.
    pub(super) then: StartSpareAfter,
}

/// The run's sandboxes with a step server in each (none when the sandbox is off or no
/// step server is set).
#[derive(Default)]
pub(super) struct Sessions {
    /// For `init` only: the plugin cache is writable in it. Ended as soon as `init` is.
    pub init: std::sync::Mutex<Option<PendingSession>>,
    /// For every later command: the plugin cache is read-only in it.
    pub steps: Option<PendingSession>,
}

impl Sessions {
    /// Whether both sandboxes are starting or up (neither ended nor failed to start).
    pub fn usable(&self) -> bool {
        let init = self
            .init
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        [init.as_ref(), self.steps.as_ref()]
            .into_iter()
            .flatten()
            .all(PendingSession::usable)
    }
}

impl Runner {
    /// Reserves a run of `deployment` (see [`Reservation`]); waits for the deployment's
    /// lock (a run of it already going on) and then for a run permit.
    pub async fn reserve(
        &self,
        deployment: &str,
        purpose: RunPurpose,
    ) -> Result<Reservation, RunnerError> {
        crate::spec::check_deployment_name(deployment)?;
        let started = std::time::Instant::now();
        // The deployment lock comes first so that waiting for it does not hold a permit.
        let guard = self.inner.deployments.lock(deployment).await;
        let permit = self
            .inner
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("the runner never closes its semaphore");
        let label = purpose.label();
        let (place, spare) = match self.take_spare() {
            Some(place) => (place, true),
            None => (self.new_place(&format!("{deployment}-{label}-"))?, false),
        };
        tracing::debug!(
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            spare,
            "run reserved"
        );
        Ok(Reservation {
            sessions: place.sessions,
            dir: place.dir,
            run_dir: place.run_dir,
            log_stem: run_stem(deployment, label, &place.id),
            deployment: deployment.to_owned(),
            guard,
            permit,
            then: StartSpareAfter(self.clone()),
        })
    }
}
