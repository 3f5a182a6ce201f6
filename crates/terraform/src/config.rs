//! Runner settings.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use crate::capture::OutputLimits;
use crate::error::RunnerError;
use crate::run_logs::LogRetention;
use crate::sandbox::SandboxConfig;
use crate::source::SourceLimits;
use crate::version::{ACTIONS_MIN_VERSION, TerraformVersion};

/// How the runner runs Terraform.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// The terraform binary (`TERRAFORM_BIN`); a bare name is looked up on PATH.
    pub terraform_bin: PathBuf,
    /// Per-run work dirs are created (and deleted) under this directory.
    pub work_root: PathBuf,
    /// Shared `TF_PLUGIN_CACHE_DIR`.
    pub plugin_cache_dir: PathBuf,
    /// Where each run's complete masked output is kept.
    pub log_dir: PathBuf,
    /// How many of those logs are kept (pruned after each run).
    pub log_retention: LogRetention,
    /// Limit for one whole run (init through apply).
    pub timeout: Duration,
    /// After the timeout, time between SIGTERM and SIGKILL to the process group.
    pub kill_grace: Duration,
    /// Runs at once across all deployments.
    pub max_concurrent_runs: usize,
    /// Terraform's environment besides what the runner sets itself (not secret). Nothing
    /// of this process's environment is passed unless it is here or in `secret_env`
    /// (see [`crate::environment::EnvAllowlist`]).
    pub env: Vec<(String, String)>,
    /// Terraform's environment whose values are masked everywhere (credentials).
    pub secret_env: Vec<(String, SecretString)>,
    /// How Terraform is isolated from the service's files and processes.
    pub sandbox: SandboxConfig,
    /// Further values to mask (e.g. secrets terraform inherits from the bot's environment).
    pub mask_values: Vec<SecretString>,
    /// A minimum Terraform version for every run.
    pub min_version: Option<TerraformVersion>,
    pub output_limits: OutputLimits,
    pub source_limits: SourceLimits,
    /// Keeps one run's work dir and sandboxes started ahead of the next run (see
    /// `Runner::start_spare`): six idle processes for a plan that starts sooner. Off by
    /// default; the service turns it on.
    pub spare_run: bool,
}

impl RunnerConfig {
    /// Defaults: `terraform` on PATH, plugin cache and logs under `work_root` (the logs of
    /// the newest 20 runs per deployment, none older than 30 days), 30 min timeout, one run
    /// per CPU core, an empty environment, the bubblewrap sandbox.
    pub fn new(work_root: impl Into<PathBuf>) -> RunnerConfig {
        let work_root = work_root.into();
        RunnerConfig {
            terraform_bin: PathBuf::from("terraform"),
            plugin_cache_dir: work_root.join("plugin-cache"),
            log_dir: work_root.join("logs"),
            log_retention: LogRetention::default(),
            work_root,
            timeout: Duration::from_secs(30 * 60),
            kill_grace: Duration::from_secs(10),
            max_concurrent_runs: std::thread::available_parallelism().map_or(2, |n| n.get()),
            env: Vec::new(),
            secret_env: Vec::new(),
            sandbox: SandboxConfig::default(),
            mask_values: Vec::new(),
            min_version: None,
            output_limits: OutputLimits::default(),
            source_limits: SourceLimits::default(),
            spare_run: false,
        }
    }

    /// Where `terraform_bin` is (a bare name is looked up on this process's PATH, as the
    /// sandbox does), when it is an executable file there. Cheap (no process is started),
    /// so readiness can ask it every time; whether that Terraform runs and is new enough
    /// is found out by the first run (`Runner::version`).
    pub fn terraform_found(&self) -> Result<PathBuf, RunnerError> {
        use std::os::unix::fs::PermissionsExt as _;
        let path = crate::sandbox::find_program(&self.terraform_bin);
        let missing = |message: &str| RunnerError::TerraformUnavailable {
            bin: self.terraform_bin.clone(),
            message: format!(
                "{message}; install Terraform (>= {ACTIONS_MIN_VERSION} for the PromptOps module's action) and set TERRAFORM_BIN to it"
            ),
        };
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() && meta.permissions().mode() & 0o111 != 0 => Ok(path),
            Ok(meta) if meta.is_file() => Err(missing("the file is not executable")),
            Ok(_) => Err(missing("it is not a file")),
            Err(_) if self.terraform_bin.components().count() == 1 => {
                Err(missing("there is no such program on PATH"))
            }
            Err(err) => Err(missing(&err.to_string())),
        }
    }

    /// Masks the current values of these variables of this process's environment (in
    /// case a configuration finds them some other way than its environment).
    pub fn mask_process_env_vars<S: AsRef<str>>(mut self, names: &[S]) -> RunnerConfig {
        for name in names {
            if let Ok(value) = std::env::var(name.as_ref()) {
                self.mask_values.push(SecretString::from(value));
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn config_with(bin: impl Into<PathBuf>) -> RunnerConfig {
        let mut config = RunnerConfig::new("/nonexistent/work");
        config.terraform_bin = bin.into();
        config
    }

    #[test]
    fn terraform_is_found_by_path_and_by_name_on_path() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("terraform");
        std::fs::write(&bin, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(config_with(&bin).terraform_found().unwrap(), bin);
        // `sh` is on every PATH this runs on.
        let sh = config_with("sh").terraform_found().unwrap();
        assert!(sh.is_absolute(), "{}", sh.display());
    }

    #[test]
    fn a_missing_or_unusable_terraform_is_named_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("terraform");
        std::fs::write(&plain, "not a program").unwrap();
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
        let cases = [
            (dir.path().join("absent"), "No such file"),
            (plain, "not executable"),
            (dir.path().to_path_buf(), "not a file"),
            (
                PathBuf::from("terraform-that-is-nowhere"),
                "no such program on PATH",
            ),
        ];
        for (bin, why) in cases {
            let message = config_with(&bin).terraform_found().unwrap_err().to_string();
            assert!(message.contains(&bin.display().to_string()), "{message}");
            assert!(message.contains(why), "{message}");
            assert!(message.contains("set TERRAFORM_BIN"), "{message}");
        }
    }
}
