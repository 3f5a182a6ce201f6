//! Which Terraform the runner finds, and whether it is new enough for a run.

use std::path::Path;
use std::time::Duration;

use super::Runner;
use crate::cli_config::{CLI_CONFIG_ERRORS, CLI_CONFIG_VAR};
use crate::error::RunnerError;
use crate::version::{
    ACTIONS_MIN_VERSION, TerraformVersion, VersionRequirement, module_uses_actions,
};

const VERSION_CHECK_TIMEOUT: Duration = Duration::from_secs(60);

/// The version of the binary as it was when last asked. Starting Terraform (in its
/// sandbox) only to print its version costs tens of milliseconds before every run; the
/// answer is reused while the binary's size and modification time are unchanged, so an
/// upgrade in place is still noticed on the next run.
#[derive(Default)]
pub(super) struct VersionCache(std::sync::Mutex<Option<(BinaryStamp, TerraformVersion)>>);

#[derive(Clone, Copy, PartialEq, Eq)]
struct BinaryStamp {
    len: u64,
    modified: std::time::SystemTime,
}

impl BinaryStamp {
    /// `None` when the binary cannot be looked at (a bare name resolved through `PATH`):
    /// then nothing is cached.
    fn of(bin: &Path) -> Option<Self> {
        let meta = std::fs::metadata(bin).ok()?;
        Some(Self {
            len: meta.len(),
            modified: meta.modified().ok()?,
        })
    }
}

impl VersionCache {
    fn get(&self, stamp: Option<BinaryStamp>) -> Option<TerraformVersion> {
        let stamp = stamp?;
        let cached = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cached
            .as_ref()
            .filter(|(at, _)| *at == stamp)
            .map(|(_, version)| *version)
    }

    fn put(&self, stamp: Option<BinaryStamp>, version: TerraformVersion) {
        if let Some(stamp) = stamp {
            *self
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some((stamp, version));
        }
    }
}

impl Runner {
    /// `terraform version -json`, asked once per binary (see [`VersionCache`]).
    pub async fn version(&self) -> Result<TerraformVersion, RunnerError> {
        let stamp = BinaryStamp::of(&self.inner.config.terraform_bin);
        if let Some(version) = self.inner.version.get(stamp) {
            return Ok(version);
        }
        let version = self.ask_version().await?;
        self.inner.version.put(stamp, version);
        Ok(version)
    }

    async fn ask_version(&self) -> Result<TerraformVersion, RunnerError> {
        // `version -json` is the first command of a runner's first run, and it runs in the
        // sandbox: a sandbox that cannot start is named as such here, rather than as a
        // terraform that cannot be run (see `sandbox_check` for how often it is asked).
        self.sandbox_usable().await?;
        let bin = &self.inner.config.terraform_bin;
        let unavailable = |message: String| RunnerError::TerraformUnavailable {
            bin: bin.clone(),
            message,
        };
        let mut command = self.version_command();
        command
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        let output = tokio::time::timeout(VERSION_CHECK_TIMEOUT, command.output())
            .await
            .map_err(|_| {
                unavailable(format!(
                    "`version -json` did not finish within {} s",
                    VERSION_CHECK_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|err| unavailable(err.to_string()))?;
        if !output.status.success() {
            return Err(unavailable(format!(
                "`version -json` exited with {}: {}",
                output.status,
                self.inner
                    .masker
                    .mask_str(&String::from_utf8_lossy(&output.stderr))
            )));
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains(CLI_CONFIG_ERRORS) {
            // Terraform goes on without a CLI configuration it cannot use, and then installs
            // providers from the implied mirrors, the module's terraform.d/plugins among them
            // (see `crate::cli_config`): no run starts until it is fixed.
            return Err(RunnerError::InvalidConfig {
                setting: CLI_CONFIG_VAR,
                message: format!(
                    "Terraform cannot use its CLI configuration {} (made from the operator's TF_CLI_CONFIG_FILE, if any): {}",
                    self.inner.cli_config.display(),
                    self.inner.masker.mask_str(stderr.trim())
                ),
            });
        }
        TerraformVersion::from_version_json(&String::from_utf8_lossy(&output.stdout))
            .map_err(unavailable)
    }

    /// Fails with a clear message when the installed terraform is older than `required`.
    pub async fn require_version(
        &self,
        required: &VersionRequirement,
    ) -> Result<TerraformVersion, RunnerError> {
        let found = self.version().await?;
        if found < required.min {
            return Err(RunnerError::TerraformTooOld {
                bin: self.inner.config.terraform_bin.clone(),
                found,
                required: required.min,
                reason: required.reason.clone(),
            });
        }
        Ok(found)
    }

    /// The installed version, checked against the configured minimum and, when the module
    /// uses Terraform actions or the run invokes one, the version that has them.
    pub(super) async fn checked_version(
        &self,
        module: &Path,
        needs_actions: bool,
    ) -> Result<TerraformVersion, RunnerError> {
        let uses_actions = module_uses_actions(module)
            .map_err(RunnerError::io(format!("read {}", module.display())))?;
        let mut required = self.inner.config.min_version.map(|min| VersionRequirement {
            min,
            reason: "the runner configuration".into(),
        });
        if (uses_actions || needs_actions)
            && required
                .as_ref()
                .is_none_or(|r| r.min < ACTIONS_MIN_VERSION)
        {
            required = Some(VersionRequirement {
                min: ACTIONS_MIN_VERSION,
                reason: if needs_actions {
                    "`apply -invoke` (Terraform actions)".into()
                } else {
                    "the configuration uses Terraform actions, which".into()
                },
            });
        }
        match &required {
            Some(required) => self.require_version(required).await,
            None => self.version().await,
        }
    }
}
