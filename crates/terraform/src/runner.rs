//! The runner: per-run work dirs, concurrency limits, and the init → plan → show → apply
//! sequences.

use std::path::PathBuf;
use std::sync::Arc;

use secrecy::SecretString;
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::capture::{OutputCapture, RunOutput};
pub use crate::config::RunnerConfig;
use crate::error::RunnerError;
use crate::keyed_lock::KeyedLocks;
use crate::mask::{MIN_SECRET_LEN, Masker, too_short_to_mask};
use crate::plan_json::{actions_line, summary_line};
use crate::plugin_cache_lock::PluginCacheLock;
use crate::private_files::create_private_dir;
use crate::report::{
    ApplyOutcome, ApplyReport, FailureReason, PlanOutcome, PlanReport, StepFailure,
};
use crate::run_logs::{LogPhase, log_path, prune_after_run};
use crate::source::{copy_dir, extract_tarball};
use crate::spec::{PlanMode, PlanSpec, Source};
use crate::summary::failure_summary;
use crate::version::TerraformVersion;
use reservation::Sessions;
pub use reservation::{Reservation, RunPurpose};

mod command;
mod invoke;
mod outputs;
mod plan;
mod renew;
mod reservation;
mod sandbox_check;
mod spare;
mod step;
mod terraform_version;
mod work_dir;

/// Runs Terraform for deployments. Cheap to clone; clones share the limits.
#[derive(Clone)]
pub struct Runner {
    inner: Arc<Inner>,
}

struct Inner {
    config: RunnerConfig,
    masker: Masker,
    permits: Arc<Semaphore>,
    deployments: KeyedLocks,
    /// Inits write the shared plugin cache: one at a time.
    plugin_cache: PluginCacheLock,
    /// The last `version -json` answer, valid while the binary is unchanged.
    version: terraform_version::VersionCache,
    /// Whether the sandbox could be used when last asked.
    sandbox_check: sandbox_check::SandboxCheck,
    /// Starts the runs' sandboxes (on first use: it needs the async runtime).
    launcher: std::sync::OnceLock<crate::step_server::Launcher>,
    /// A run's place started ahead (see `runner/spare.rs`).
    spare: spare::SpareSlot,
    /// The CLI configuration every command reads (see [`crate::cli_config`]).
    cli_config: PathBuf,
}

/// What the work dir holds while a run goes on.
struct Workspace {
    /// The run's sandboxes (see [`crate::step_server`]). First, so that they are killed
    /// before the dir goes.
    sessions: Sessions,
    // Dropped (deleted) when the run ends, whatever the outcome.
    _dir: work_dir::WorkDir,
    /// The run's own dir (0700): the source, HOME, the plan; the only writable place of
    /// the sandbox besides the plugin cache and the operator's binds.
    run_dir: PathBuf,
    root: PathBuf,
    module: PathBuf,
    log_stem: String,
    version: TerraformVersion,
    deadline: Instant,
    _deployment: OwnedMutexGuard<()>,
    _permit: OwnedSemaphorePermit,
    /// Last: the next spare starts once the run is over (see `runner/spare.rs`).
    _then: spare::StartSpareAfter,
}

/// The end of a run whose report was handed back before it (see
/// [`Runner::plan_reserved_then_end`]). Dropped without [`RunEnd::finish`], the work dir
/// is still removed and the lock released; only the log retention waits for the next run.
#[derive(Default)]
pub struct RunEnd(Option<(Workspace, Runner, String)>);

impl RunEnd {
    /// Applies the log retention while the deployment's lock is still held (so none of
    /// its own logs is being written), then removes the work dir and releases the lock.
    pub async fn finish(self) {
        let Some((workspace, runner, deployment)) = self.0 else {
            return;
        };
        let started = std::time::Instant::now();
        runner.prune_logs(&deployment).await;
        drop(workspace);
        tracing::debug!(
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "work dir removed"
        );
    }
}

/// The outcome of one step.
enum Step {
    Exited(i32),
    Failed(StepFailure),
}

impl Step {
    /// `None` when the step exited 0; otherwise why `name` failed.
    fn failure(self, name: &str) -> Option<StepFailure> {
        match self {
            Step::Exited(0) => None,
            Step::Exited(code) => Some(StepFailure {
                step: name.into(),
                reason: FailureReason::ExitCode(code),
            }),
            Step::Failed(failure) => Some(failure),
        }
    }
}

impl Runner {
    /// Checks the settings and creates the work root, plugin cache and log dirs.
    pub fn new(config: RunnerConfig) -> Result<Runner, RunnerError> {
        if config.max_concurrent_runs == 0 {
            return Err(RunnerError::InvalidConfig {
                setting: "max_concurrent_runs",
                message: "must be at least 1".into(),
            });
        }
        if config.timeout.is_zero() {
            return Err(RunnerError::InvalidConfig {
                setting: "timeout",
                message: "must be longer than zero".into(),
            });
        }
        if let Some((setting, message)) = config.log_retention.problem() {
            return Err(RunnerError::InvalidConfig { setting, message });
        }
        for dir in [&config.work_root, &config.plugin_cache_dir, &config.log_dir] {
            create_private_dir(dir).map_err(RunnerError::io(format!(
                "create {} (mode 0700)",
                dir.display()
            )))?;
        }
        let cli_config = crate::cli_config::write(&config)?;
        let abandoned = work_dir::sweep_abandoned(&config.work_root);
        if abandoned > 0 {
            tracing::info!(
                removed = abandoned,
                root = %config.work_root.display(),
                "removed the run dirs a process that ended left behind"
            );
        }
        if let Some((name, _)) = config
            .secret_env
            .iter()
            .find(|(_, value)| too_short_to_mask(value))
        {
            return Err(RunnerError::InvalidConfig {
                setting: "secret_env",
                message: format!(
                    "the value of {name} is shorter than {MIN_SECRET_LEN} characters and could not be masked in Terraform's output; use a longer credential"
                ),
            });
        }
        // A proxy setting is passed as it is (providers need it), but a password in it is
        // a secret like any credential.
        let proxy_passwords = config
            .env
            .iter()
            .filter(|(name, _)| crate::environment::is_proxy_var(name))
            .flat_map(|(_, value)| crate::mask::proxy_secrets(value))
            .map(SecretString::from);
        let masker = Masker::new(
            config
                .secret_env
                .iter()
                .map(|(_, value)| value.clone())
                .chain(config.mask_values.iter().cloned())
                .chain(proxy_passwords),
        );
        Ok(Runner {
            inner: Arc::new(Inner {
                permits: Arc::new(Semaphore::new(config.max_concurrent_runs)),
                deployments: KeyedLocks::default(),
                plugin_cache: PluginCacheLock::new(&config.plugin_cache_dir),
                version: terraform_version::VersionCache::default(),
                sandbox_check: sandbox_check::SandboxCheck::default(),
                launcher: std::sync::OnceLock::new(),
                spare: spare::SpareSlot::default(),
                cli_config,
                masker,
                config,
            }),
        })
    }

    pub fn config(&self) -> &RunnerConfig {
        &self.inner.config
    }

    /// Deployments with a run going on or waiting (for metrics and the dashboard).
    pub fn active_deployments(&self) -> usize {
        self.inner.deployments.active_keys()
    }

    /// The masker holding the configured secret values.
    pub fn masker(&self) -> &Masker {
        &self.inner.masker
    }

    /// init → plan → show for the deployment; with [`PlanMode::Destroy`] the plan is
    /// `plan -destroy` (for review: nothing is applied).
    pub async fn plan(&self, spec: &PlanSpec) -> Result<PlanReport, RunnerError> {
        let purpose = RunPurpose::planning(spec.mode);
        let reservation = self.reserve(&spec.deployment, purpose).await?;
        self.plan_reserved(reservation, spec).await
    }

    /// [`Runner::plan`] in a run reserved earlier (see [`Runner::reserve`]).
    pub async fn plan_reserved(
        &self,
        reservation: Reservation,
        spec: &PlanSpec,
    ) -> Result<PlanReport, RunnerError> {
        let (result, end) = self.plan_reserved_then_end(reservation, spec).await;
        end.finish().await;
        result
    }

    /// [`Runner::plan_reserved`], handing back the plan as soon as Terraform is done: the
    /// caller reports it, then finishes the run with [`RunEnd::finish`] (the work dir's
    /// removal and the log retention, under the deployment's lock).
    pub async fn plan_reserved_then_end(
        &self,
        reservation: Reservation,
        spec: &PlanSpec,
    ) -> (Result<PlanReport, RunnerError>, RunEnd) {
        let started = std::time::Instant::now();
        let ws = match self.prepare(reservation, spec, false).await {
            Ok(ws) => ws,
            Err(err) => return (Err(err), RunEnd::default()),
        };
        tracing::debug!(
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "work dir prepared"
        );
        let result = self.plan_in(&ws, spec).await.map(|(report, _)| report);
        tracing::debug!(
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "plan run finished"
        );
        (
            result,
            RunEnd(Some((ws, self.clone(), spec.deployment.clone()))),
        )
    }

    /// init → plan (in the spec's mode) → apply exactly that plan → outputs.
    pub async fn apply(&self, spec: &PlanSpec) -> Result<ApplyReport, RunnerError> {
        let purpose = RunPurpose::applying(spec.mode);
        let reservation = self.reserve(&spec.deployment, purpose).await?;
        self.apply_reserved(reservation, spec).await
    }

    /// [`Runner::apply`] in a run reserved earlier (see [`Runner::reserve`]); a destroy
    /// when the spec's mode is [`PlanMode::Destroy`].
    pub async fn apply_reserved(
        &self,
        reservation: Reservation,
        spec: &PlanSpec,
    ) -> Result<ApplyReport, RunnerError> {
        let (result, end) = self.apply_reserved_then_end(reservation, spec).await;
        end.finish().await;
        result
    }

    /// [`Runner::apply_reserved`], handing back the report as soon as Terraform is done:
    /// the caller reports it, then finishes the run with [`RunEnd::finish`] (as
    /// [`Runner::plan_reserved_then_end`]).
    pub async fn apply_reserved_then_end(
        &self,
        reservation: Reservation,
        spec: &PlanSpec,
    ) -> (Result<ApplyReport, RunnerError>, RunEnd) {
        let ws = match self.prepare(reservation, spec, false).await {
            Ok(ws) => ws,
            Err(err) => return (Err(err), RunEnd::default()),
        };
        let result = match self.plan_in(&ws, spec).await {
            Ok((plan, masker)) => self.apply_plan_in(&ws, plan, &masker).await,
            Err(err) => Err(err),
        };
        (
            result,
            RunEnd(Some((ws, self.clone(), spec.deployment.clone()))),
        )
    }

    /// init → `plan -destroy` → apply that plan, whatever the spec's mode.
    pub async fn destroy(&self, spec: &PlanSpec) -> Result<ApplyReport, RunnerError> {
        self.apply(&spec.clone().with_mode(PlanMode::Destroy)).await
    }

    /// Lays out the work dir of a reserved run: the source, checked.
    async fn prepare(
        &self,
        reservation: Reservation,
        spec: &PlanSpec,
        needs_actions: bool,
    ) -> Result<Workspace, RunnerError> {
        spec.validate()?;
        if reservation.deployment != spec.deployment {
            return Err(RunnerError::InvalidSpec {
                field: "deployment",
                value: spec.deployment.clone(),
                message: format!("the run was reserved for {}", reservation.deployment),
            });
        }
        let config = &self.inner.config;
        let deadline = Instant::now() + config.timeout;
        let Reservation {
            sessions,
            dir,
            run_dir,
            log_stem,
            guard,
            permit,
            then,
            ..
        } = reservation;
        let root = run_dir.join("src");
        match &spec.source {
            Source::Tarball(bytes) => {
                let (bytes, dest, limits) = (bytes.clone(), root.clone(), config.source_limits);
                tokio::task::spawn_blocking(move || extract_tarball(&bytes, &dest, limits))
                    .await
                    .map_err(|err| {
                        RunnerError::BadTarball(format!("extraction stopped: {err}"))
                    })??;
            }
            Source::Directory(path) => {
                let (from, dest) = (path.clone(), root.clone());
                tokio::task::spawn_blocking(move || copy_dir(&from, &dest))
                    .await
                    .map_err(|err| RunnerError::BadSourceDir {
                        path: path.clone(),
                        message: err.to_string(),
                    })??;
            }
        }
        let module = root.join(&spec.module_dir);
        if !module.is_dir() {
            return Err(RunnerError::MissingModule(spec.module_dir.clone()));
        }
        // A destroy may run without the var file (a module whose variables all have
        // defaults); Terraform names any required variable left without a value.
        if !module.join(&spec.var_file).is_file() && !spec.mode.is_destroy() {
            return Err(RunnerError::MissingVarFile(spec.var_file.clone()));
        }
        let version = self.checked_version(&module, needs_actions).await?;
        Ok(Workspace {
            sessions,
            log_stem,
            _dir: dir,
            run_dir,
            root,
            module,
            version,
            deadline,
            _deployment: guard,
            _permit: permit,
            _then: then,
        })
    }

    fn capture(
        &self,
        ws: &Workspace,
        phase: LogPhase,
        masker: &Masker,
    ) -> Result<OutputCapture, RunnerError> {
        let path = log_path(&self.inner.config.log_dir, &ws.log_stem, phase);
        OutputCapture::create(&path, masker, self.inner.config.output_limits).map_err(
            RunnerError::io(format!("create the run log {}", path.display())),
        )
    }

    /// Applies the log retention after a run of `deployment`, while its lock is still held
    /// (so none of its own logs is being written).
    async fn prune_logs(&self, deployment: &str) {
        let config = &self.inner.config;
        prune_after_run(&config.log_dir, deployment, config.log_retention).await;
    }

    /// Applies `plan.bin` (when the plan has changes), then reads the outputs.
    async fn apply_plan_in(
        &self,
        ws: &Workspace,
        plan: PlanReport,
        masker: &Masker,
    ) -> Result<ApplyReport, RunnerError> {
        match plan.outcome {
            PlanOutcome::Failed => {
                let failure = plan.failure.clone().unwrap_or(StepFailure {
                    step: "plan".into(),
                    reason: FailureReason::ExitCode(1),
                });
                return Ok(ApplyReport {
                    summary: format!("Nothing applied: {}", plan.summary),
                    plan,
                    outcome: ApplyOutcome::PlanFailed,
                    actions_summary: None,
                    outputs: Vec::new(),
                    failure: Some(failure),
                    output: RunOutput::default(),
                });
            }
            PlanOutcome::NoChanges => {
                let outputs = self.outputs(ws, masker).await?;
                return Ok(ApplyReport {
                    summary: "No changes; nothing to apply.".into(),
                    plan,
                    outcome: ApplyOutcome::NothingToApply,
                    actions_summary: None,
                    outputs,
                    failure: None,
                    output: RunOutput::default(),
                });
            }
            PlanOutcome::Changes => {}
        }
        let capture = self.capture(ws, LogPhase::Apply, masker)?;
        let (step, capture) = self
            .step(
                ws,
                capture,
                "apply",
                &["apply", "-input=false", "-no-color", "plan.bin"],
                None,
            )
            .await?;
        let output = capture
            .finish()
            .map_err(RunnerError::io("write the run log"))?;
        let failure = step.failure("apply");
        if let Some(failure) = failure {
            return Ok(self.failed_apply(plan, failure, output));
        }
        let outputs = self.outputs(ws, masker).await?;
        let text = output.text();
        Ok(ApplyReport {
            summary: summary_line(&text).unwrap_or_else(|| "Apply complete.".into()),
            actions_summary: actions_line(&text).map(|(_, line)| line),
            plan,
            outcome: ApplyOutcome::Applied,
            outputs,
            failure: None,
            output,
        })
    }

    fn failed_apply(
        &self,
        plan: PlanReport,
        failure: StepFailure,
        output: RunOutput,
    ) -> ApplyReport {
        ApplyReport {
            summary: failure_summary(&failure, &output),
            plan,
            outcome: ApplyOutcome::Failed,
            actions_summary: actions_line(&output.text()).map(|(_, line)| line),
            outputs: Vec::new(),
            failure: Some(failure),
            output,
        }
    }
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("terraform_bin", &self.inner.config.terraform_bin)
            .field(
                "max_concurrent_runs",
                &self.inner.config.max_concurrent_runs,
            )
            .finish_non_exhaustive()
    }
}
