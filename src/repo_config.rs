//! Per-repository settings read from `.github/promptops.yml` on the default branch.
//!
//! Every key is optional; an unknown key is an error that names it, so that a typo such as
//! `max_vm: 3` never silently leaves the default limit in force.

use std::collections::BTreeMap;

use promptops_core::Policy;
use serde::Deserialize;

/// Where the file lives in the repository.
pub const REPO_CONFIG_PATH: &str = ".github/promptops.yml";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RepoConfig {
    pub trigger_label: String,
    pub terraform: TerraformSettings,
    pub policy: Policy,
    pub permissions: PermissionSettings,
}

impl Default for RepoConfig {
    fn default() -> Self {
        Self {
            trigger_label: "promptops".to_owned(),
            terraform: TerraformSettings::default(),
            policy: Policy::default(),
            permissions: PermissionSettings::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TerraformSettings {
    /// The root module, relative to the repository root.
    pub dir: String,
    /// Where `<deployment>/terraform.tfvars` files live, relative to the repository root.
    pub deployments_dir: String,
    /// Each entry becomes `-backend-config=KEY=VALUE` at init; `{deployment}` is replaced.
    pub backend_config: BTreeMap<String, String>,
}

impl Default for TerraformSettings {
    fn default() -> Self {
        Self {
            dir: "terraform".to_owned(),
            deployments_dir: "terraform/deployments".to_owned(),
            backend_config: BTreeMap::from([(
                "prefix".to_owned(),
                "promptops/{deployment}".to_owned(),
            )]),
        }
    }
}

impl TerraformSettings {
    /// Path of a deployment's variables file, relative to the repository root.
    pub fn tfvars_path(&self, deployment: &str) -> String {
        format!(
            "{}/{deployment}/terraform.tfvars",
            self.deployments_dir.trim_end_matches('/')
        )
    }

    /// The backend settings for one deployment, with `{deployment}` substituted.
    pub fn backend_config_for(&self, deployment: &str) -> Vec<(String, String)> {
        self.backend_config
            .iter()
            .map(|(k, v)| (k.clone(), v.replace("{deployment}", deployment)))
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MinPermission {
    Read,
    Triage,
    Write,
    Maintain,
    Admin,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PermissionSettings {
    pub min_permission: MinPermission,
}

impl Default for PermissionSettings {
    fn default() -> Self {
        Self {
            min_permission: MinPermission::Write,
        }
    }
}

/// Why `.github/promptops.yml` could not be used. Shown to users in an issue comment.
#[derive(Debug, thiserror::Error)]
#[error("`{path}` is not valid: {message}")]
pub struct RepoConfigError {
    pub path: &'static str,
    pub message: String,
}

impl RepoConfig {
    /// Parses the file's text. An empty file means "all defaults".
    pub fn parse(text: &str) -> Result<Self, RepoConfigError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_yaml_ng::from_str(text).map_err(|err| RepoConfigError {
            path: REPO_CONFIG_PATH,
            message: err.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_all_defaults() {
        assert_eq!(RepoConfig::parse("").unwrap(), RepoConfig::default());
        assert_eq!(
            RepoConfig::parse("# nothing\n").unwrap(),
            RepoConfig::default()
        );
    }

    #[test]
    fn handbook_example_parses() {
        let text = r#"
trigger_label: gpu-request
terraform:
  dir: infra
  deployments_dir: infra/deployments
  backend_config:
    prefix: "promptops/{deployment}"
    bucket: my-state
policy:
  max_vms: 4
  max_gpus_per_vm: 2
  max_hourly_usd: 10
  allowed_regions: [us-west1]
  allowed_gpu_types: [nvidia-tesla-t4]
permissions:
  min_permission: maintain
"#;
        let config = RepoConfig::parse(text).unwrap();
        assert_eq!(config.trigger_label, "gpu-request");
        assert_eq!(config.policy.max_vms, 4);
        assert_eq!(config.policy.allowed_regions, vec!["us-west1".to_owned()]);
        assert_eq!(config.permissions.min_permission, MinPermission::Maintain);
        assert_eq!(
            config.terraform.tfvars_path("web"),
            "infra/deployments/web/terraform.tfvars"
        );
        assert_eq!(
            config.terraform.backend_config_for("web"),
            vec![
                ("bucket".to_owned(), "my-state".to_owned()),
                ("prefix".to_owned(), "promptops/web".to_owned())
            ]
        );
    }

    #[test]
    fn unknown_key_is_named() {
        let err = RepoConfig::parse("policy:\n  max_vm: 3\n").unwrap_err();
        assert!(err.to_string().contains("max_vm"), "{err}");
        let err = RepoConfig::parse("trigger_labels: x\n").unwrap_err();
        assert!(err.to_string().contains("trigger_labels"), "{err}");
    }

    #[test]
    fn bad_permission_level_is_named() {
        let err = RepoConfig::parse("permissions:\n  min_permission: owner\n").unwrap_err();
        assert!(err.to_string().contains("owner"), "{err}");
    }
}
