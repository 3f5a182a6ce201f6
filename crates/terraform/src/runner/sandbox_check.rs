//! Whether the runner's sandbox can be used now. Every run needs it (unless the sandbox is
//! off), and so does a service that calls itself ready; bubblewrap may be installed, or a
//! container given the profile it lacks, while the service runs, so a failure is asked
//! again after a while rather than kept for good.

use std::time::Duration;

use tokio::time::Instant;

use super::Runner;
use crate::error::RunnerError;
use crate::sandbox::SandboxMode;

/// A failed check is answered from memory for this long: a readiness probe every few
/// seconds does not start bubblewrap every time, and a fix is seen within it.
const RECHECK_FAILURE_AFTER: Duration = Duration::from_secs(10);

/// The last answer. A success is kept until a run fails to start Terraform: that run asks
/// again ([`Runner::sandbox_failed`]), so that bubblewrap removed (or its profile taken
/// away) under a running service is named as such, on the thread and in readiness.
#[derive(Default)]
pub(super) struct SandboxCheck(tokio::sync::Mutex<Option<Checked>>);

enum Checked {
    Usable,
    Unusable { at: Instant, problem: String },
}

impl Runner {
    /// `Ok` when Terraform can be started in its sandbox (always, with the sandbox off);
    /// otherwise the reason, naming the fix.
    pub async fn sandbox_usable(&self) -> Result<(), RunnerError> {
        // Held across the probe: concurrent callers wait for one answer, not one each.
        let mut last = self.inner.sandbox_check.0.lock().await;
        match &*last {
            Some(Checked::Usable) => return Ok(()),
            Some(Checked::Unusable { at, problem }) if at.elapsed() < RECHECK_FAILURE_AFTER => {
                return Err(RunnerError::SandboxUnusable(problem.clone()));
            }
            _ => {}
        }
        self.probe(&mut last).await
    }

    /// Called when a run could not start Terraform: whether that is because the sandbox
    /// can no longer be used (then the reason, kept as the answer for readiness too).
    /// `None` when the sandbox is off or still starts: the failure is Terraform's own.
    pub(super) async fn sandbox_failed(&self) -> Option<RunnerError> {
        if self.inner.config.sandbox.mode == SandboxMode::Off {
            return None;
        }
        let mut last = self.inner.sandbox_check.0.lock().await;
        self.probe(&mut last).await.err()
    }

    async fn probe(&self, last: &mut Option<Checked>) -> Result<(), RunnerError> {
        let sandbox = self.inner.config.sandbox.clone();
        let probed = tokio::task::spawn_blocking(move || sandbox.probe())
            .await
            .map_err(|err| {
                RunnerError::io("check the Terraform sandbox")(std::io::Error::other(err))
            })?;
        match probed {
            Ok(()) => {
                *last = Some(Checked::Usable);
                Ok(())
            }
            Err(err) => {
                let problem = err.to_string();
                *last = Some(Checked::Unusable {
                    at: Instant::now(),
                    problem: problem.clone(),
                });
                Err(RunnerError::SandboxUnusable(problem))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RunnerConfig;

    /// A bind that does not exist makes the sandbox unusable without starting bubblewrap;
    /// once it exists, the next check after the wait finds the sandbox usable (bubblewrap
    /// itself is needed for that second answer, as on every machine that runs Terraform).
    #[tokio::test(start_paused = true)]
    async fn a_failure_is_kept_for_a_while_then_asked_again() {
        let scratch = tempfile::tempdir().unwrap();
        let bind = scratch.path().join("state");
        let mut config = RunnerConfig::new(scratch.path().join("work"));
        config.sandbox.writable.push(bind.clone());
        let runner = Runner::new(config).unwrap();
        let first = runner.sandbox_usable().await.unwrap_err().to_string();
        assert!(first.contains("sandbox cannot be used"), "{first}");
        assert!(first.contains(&bind.display().to_string()), "{first}");

        std::fs::create_dir(&bind).unwrap();
        let kept = runner.sandbox_usable().await.unwrap_err().to_string();
        assert_eq!(kept, first, "answered from memory within the wait");
        tokio::time::advance(RECHECK_FAILURE_AFTER + Duration::from_secs(1)).await;
        runner
            .sandbox_usable()
            .await
            .expect("asked again after the wait: the bind exists now");
    }
}
