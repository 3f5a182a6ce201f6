//! One Terraform command of a run, and `init`, the one step that holds the plugin-cache
//! lock (concurrent inits into a shared cache corrupt it).

use std::path::PathBuf;

use super::{Runner, Step, Workspace};
use crate::capture::OutputCapture;
use crate::error::RunnerError;
use crate::process::{self, Exit};
use crate::report::{FailureReason, StepFailure};
use crate::spec::PlanSpec;
use crate::step_server::StepRequest;

impl Runner {
    pub(super) async fn init(
        &self,
        ws: &Workspace,
        spec: &PlanSpec,
        capture: OutputCapture,
    ) -> Result<(Option<StepFailure>, OutputCapture), RunnerError> {
        let backend = spec.backend_args();
        let mut args = vec!["init", "-input=false", "-no-color"];
        args.extend(backend.iter().map(String::as_str));
        let cache = self
            .inner
            .plugin_cache
            .acquire()
            .await
            .map_err(RunnerError::io(format!(
                "lock the plugin cache {}",
                self.inner.config.plugin_cache_dir.display()
            )))?;
        let (step, capture) = self.step(ws, capture, "init", &args, None).await?;
        drop(cache);
        let failure = step.failure("init");
        Ok((failure, capture))
    }

    /// Runs one terraform command in the module dir, its output into `capture` (or its
    /// stdout into `stdout_file`).
    pub(super) async fn step(
        &self,
        ws: &Workspace,
        mut capture: OutputCapture,
        name: &str,
        args: &[&str],
        stdout_file: Option<PathBuf>,
    ) -> Result<(Step, OutputCapture), RunnerError> {
        let config = &self.inner.config;
        let mut shown = format!("$ terraform {}", args.join(" "));
        if stdout_file.is_some() {
            shown.push_str(" > (file)");
        }
        capture
            .note(&shown)
            .map_err(RunnerError::io("write the run log"))?;
        let request = StepRequest {
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
            stdout_file: stdout_file.clone(),
            cwd: Some(ws.module.clone()),
        };
        let limits = (config.timeout, config.kill_grace);
        let started = std::time::Instant::now();
        let ran = if args.first() == Some(&"init") {
            // Taken, and so ended with this step: nothing `init` started may go on with the
            // plugin cache writable while later commands run the configuration's code.
            let session = ws
                .sessions
                .init
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take();
            match session {
                Some(session) => session.run(&request, capture, ws.deadline, limits).await,
                None => self.run_alone(ws, args, stdout_file, capture).await,
            }
        } else {
            match &ws.sessions.steps {
                Some(session) => session.run(&request, capture, ws.deadline, limits).await,
                None => self.run_alone(ws, args, stdout_file, capture).await,
            }
        };
        let (exit, mut capture) = match ran {
            Ok(ran) => ran,
            Err(err) => return Err(self.not_started(err).await),
        };
        // Where a run's time goes, step by step (the sandbox's start included).
        tracing::debug!(
            step = name,
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "terraform step finished"
        );
        let step = match exit {
            Exit::Code(code) => Step::Exited(code),
            Exit::Signal(signal) => Step::Failed(StepFailure {
                step: name.into(),
                reason: FailureReason::Signal(signal),
            }),
            Exit::TimedOut { after_secs } => {
                let failure = StepFailure {
                    step: name.into(),
                    reason: FailureReason::TimedOut { after_secs },
                };
                capture
                    .note(&format!("\n{failure}"))
                    .map_err(RunnerError::io("write the run log"))?;
                Step::Failed(failure)
            }
        };
        Ok((step, capture))
    }

    /// Why Terraform could not be started. The sandbox may have stopped working since it
    /// was last checked (bubblewrap removed under a running service): then that is the
    /// reason to give, with its fix; otherwise it is Terraform's.
    async fn not_started(&self, err: process::SpawnError) -> RunnerError {
        match self.sandbox_failed().await {
            Some(unusable) => unusable,
            None => RunnerError::TerraformUnavailable {
                bin: self.inner.config.terraform_bin.clone(),
                message: err.to_string(),
            },
        }
    }

    /// One command started on its own (in a sandbox of its own, unless that is off).
    async fn run_alone(
        &self,
        ws: &Workspace,
        args: &[&str],
        stdout_file: Option<PathBuf>,
        capture: OutputCapture,
    ) -> Result<(process::Exit, OutputCapture), process::SpawnError> {
        let config = &self.inner.config;
        let invocation = self.invocation(ws, args, stdout_file);
        process::run(
            invocation,
            capture,
            ws.deadline,
            config.timeout,
            config.kill_grace,
        )
        .await
    }
}
