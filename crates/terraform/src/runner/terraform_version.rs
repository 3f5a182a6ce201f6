//! Which Terraform the runner finds, and whether it is new enough for a run.

use std::path::Path;
use std::time::Duration;

use super::Runner;
use crate::error::RunnerError;
use crate::version::{
    ACTIONS_MIN_VERSION, TerraformVersion, VersionRequirement, module_uses_actions,
};

const VERSION_CHECK_TIMEOUT: Duration = Duration::from_secs(60);

impl Runner {
    /// `terraform version -json`.
    pub async fn version(&self) -> Result<TerraformVersion, RunnerError> {
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
