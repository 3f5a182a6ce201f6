//! A run's place, taken before its source is at hand: the deployment's lock, a run permit,
//! the run's work dir and its two sandboxes, starting. Starting bubblewrap costs
//! milliseconds; a caller that reserves before it fetches the source from GitHub (and
//! creates the check run) gets sandboxes that are ready when Terraform is to run.

use std::path::PathBuf;

use tempfile::TempDir;
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit};

use super::Runner;
use crate::error::RunnerError;
use crate::private_files::create_private_dir;
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
    pub(super) dir: TempDir,
    pub(super) run_dir: PathBuf,
    pub(super) deployment: String,
    pub(super) guard: OwnedMutexGuard<()>,
    pub(super) permit: OwnedSemaphorePermit,
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

impl Runner {
    /// Reserves a run of `deployment` (see [`Reservation`]); waits for the deployment's
    /// lock (a run of it already going on) and then for a run permit.
    pub async fn reserve(
        &self,
        deployment: &str,
        purpose: RunPurpose,
    ) -> Result<Reservation, RunnerError> {
        crate::spec::check_deployment_name(deployment)?;
        let config = &self.inner.config;
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
        let dir = tempfile::Builder::new()
            .prefix(&format!("{deployment}-{}-", purpose.label()))
            .tempdir_in(&config.work_root)
            .map_err(RunnerError::io(format!(
                "create a work dir in {}",
                config.work_root.display()
            )))?;
        let run_dir = dir.path().to_path_buf();
        for sub in [run_dir.clone(), run_dir.join("src"), run_dir.join("home")] {
            create_private_dir(&sub)
                .map_err(RunnerError::io(format!("create {}", sub.display())))?;
        }
        let sessions = Sessions {
            init: std::sync::Mutex::new(self.start_session(&run_dir, true)),
            steps: self.start_session(&run_dir, false),
        };
        tracing::debug!(
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "run reserved"
        );
        Ok(Reservation {
            sessions,
            dir,
            run_dir,
            deployment: deployment.to_owned(),
            guard,
            permit,
        })
    }
}
