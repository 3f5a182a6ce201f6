//! Per-repository settings read from `.github/promptops.yml` on the default branch.
//!
//! Every key is optional; an unknown key is an error that names it, so that a typo such as
//! `max_vm: 3` never silently leaves the default limit in force.

use std::collections::BTreeMap;

use promptops_core::{Catalog, Lifetime, Policy};
use promptops_github::client::Permission;
use serde::{Deserialize, Deserializer};

/// Where the file lives in the repository.
pub const REPO_CONFIG_PATH: &str = ".github/promptops.yml";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RepoConfig {
    pub trigger_label: String,
    pub terraform: TerraformSettings,
    pub policy: Policy,
    pub permissions: PermissionSettings,
    pub apply: ApplySettings,
    pub expiry: ExpirySettings,
    pub drift: DriftSettings,
}

impl Default for RepoConfig {
    fn default() -> Self {
        Self {
            trigger_label: "promptops".to_owned(),
            terraform: TerraformSettings::default(),
            policy: Policy::default(),
            permissions: PermissionSettings::default(),
            apply: ApplySettings::default(),
            expiry: ExpirySettings::default(),
            drift: DriftSettings::default(),
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
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PermissionSettings {
    /// The least role on the repository that may run commands, and that everyone whose
    /// code a plan runs (pull request author, pusher, commit authors) must have for an
    /// automatic plan.
    #[serde(deserialize_with = "min_permission")]
    pub min_permission: Permission,
}

impl Default for PermissionSettings {
    fn default() -> Self {
        Self {
            min_permission: Permission::Write,
        }
    }
}

/// A role name as GitHub spells it; `none` is refused, since it would let people with no
/// access to the repository run Terraform.
fn min_permission<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Permission, D::Error> {
    let text = String::deserialize(deserializer)?;
    match text.parse::<Permission>() {
        Ok(Permission::None) => Err(serde::de::Error::custom(
            "min_permission `none` would let anyone run Terraform; use read, triage, write, maintain or admin",
        )),
        Ok(permission) => Ok(permission),
        Err(err) => Err(serde::de::Error::custom(err)),
    }
}

/// Which merges are applied.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApplySettings {
    /// Base branches whose merges are applied besides the default branch (exact names).
    /// A merge into any other branch is never applied: it was not reviewed for production.
    pub branches: Vec<String>,
}

impl ApplySettings {
    /// Whether a merge into `base` is applied, given the repository's default branch.
    pub fn applies_to(&self, base: &str, default_branch: &str) -> bool {
        base == default_branch || self.branches.iter().any(|branch| branch == base)
    }
}

/// Deployments that expire (`expiry:`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExpirySettings {
    /// The longest lifetime a request may ask for (`7d`); none: no limit.
    pub max_lifetime: Option<Lifetime>,
    /// Merge the destroy pull request opened at expiry without waiting for a review.
    pub auto_merge: bool,
}

/// Scheduled drift checks (`drift:`); off unless `every` is set.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DriftSettings {
    /// How often every applied deployment is planned read-only (`24h`).
    pub every: Option<Lifetime>,
}

/// Why `.github/promptops.yml` could not be used. Shown to users in an issue comment.
#[derive(Debug, thiserror::Error)]
#[error("`{path}` is not valid: {message}")]
pub struct RepoConfigError {
    pub path: &'static str,
    pub message: String,
}

impl RepoConfig {
    /// Parses the file's text. An empty file means "all defaults". The policy is checked
    /// against `catalog` as well: a limit that is not a positive number (`.nan` would turn
    /// the cost limit off, `0` would refuse everything) or a region or GPU type the
    /// catalog does not know is named here, not discovered as a puzzling refusal later.
    pub fn parse(text: &str, catalog: &Catalog) -> Result<Self, RepoConfigError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let config: RepoConfig = serde_yaml_ng::from_str(text).map_err(|err| RepoConfigError {
            path: REPO_CONFIG_PATH,
            message: err.to_string(),
        })?;
        let problems = config.policy.check_against(catalog);
        if !problems.is_empty() {
            let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
            return Err(RepoConfigError {
                path: REPO_CONFIG_PATH,
                message: lines.join("\n"),
            });
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RepoConfig, RepoConfigError> {
        RepoConfig::parse(text, Catalog::embedded())
    }

    #[test]
    fn empty_file_is_all_defaults() {
        assert_eq!(parse("").unwrap(), RepoConfig::default());
        assert_eq!(parse("# nothing\n").unwrap(), RepoConfig::default());
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
        let config = parse(text).unwrap();
        assert_eq!(config.trigger_label, "gpu-request");
        assert_eq!(config.policy.max_vms, 4);
        assert_eq!(config.policy.allowed_regions, vec!["us-west1".to_owned()]);
        assert_eq!(config.permissions.min_permission, Permission::Maintain);
        assert_eq!(
            config.terraform.tfvars_path("web"),
            "infra/deployments/web/terraform.tfvars"
        );
        // `{deployment}` is kept: the Terraform runner substitutes it per run.
        assert_eq!(
            config.terraform.backend_config,
            BTreeMap::from([
                ("bucket".to_owned(), "my-state".to_owned()),
                ("prefix".to_owned(), "promptops/{deployment}".to_owned())
            ])
        );
    }

    #[test]
    fn unknown_key_is_named() {
        let err = parse("policy:\n  max_vm: 3\n").unwrap_err();
        assert!(err.to_string().contains("max_vm"), "{err}");
        let err = parse("trigger_labels: x\n").unwrap_err();
        assert!(err.to_string().contains("trigger_labels"), "{err}");
    }

    #[test]
    fn bad_permission_level_is_named() {
        let err = parse("permissions:\n  min_permission: owner\n").unwrap_err();
        assert!(err.to_string().contains("owner"), "{err}");
        let err = parse("permissions:\n  min_permission: none\n").unwrap_err();
        assert!(err.to_string().contains("anyone"), "{err}");
    }

    #[test]
    fn expiry_and_drift_settings_are_read_and_bad_values_named() {
        let config =
            parse("expiry:\n  max_lifetime: 7d\n  auto_merge: true\ndrift:\n  every: 24h\n")
                .unwrap();
        assert_eq!(config.expiry.max_lifetime.unwrap().hours(), 7 * 24);
        assert!(config.expiry.auto_merge);
        assert_eq!(config.drift.every.unwrap().hours(), 24);
        let defaults = RepoConfig::default();
        assert_eq!(
            defaults.drift.every, None,
            "drift checks are off by default"
        );
        assert_eq!(defaults.expiry.max_lifetime, None);
        let err = parse("drift:\n  every: daily\n").unwrap_err();
        assert!(err.to_string().contains("daily"), "{err}");
        let err = parse("expiry:\n  max: 3d\n").unwrap_err();
        assert!(err.to_string().contains("max"), "{err}");
    }

    #[test]
    fn merges_apply_into_the_default_branch_and_the_named_branches_only() {
        let config = parse("apply:\n  branches: [staging]\n").unwrap();
        assert!(config.apply.applies_to("main", "main"));
        assert!(config.apply.applies_to("staging", "main"));
        assert!(!config.apply.applies_to("side", "main"));
        assert!(!RepoConfig::default().apply.applies_to("staging", "main"));
        let err = parse("apply:\n  branch: [x]\n").unwrap_err();
        assert!(err.to_string().contains("branch"), "{err}");
    }

    #[test]
    fn a_policy_that_cannot_be_meant_is_named_field_by_field() {
        // `.nan` would compare false with every cost and so turn the cost limit off.
        for (text, field) in [
            ("policy:\n  max_hourly_usd: .nan\n", "policy.max_hourly_usd"),
            ("policy:\n  max_hourly_usd: -5\n", "policy.max_hourly_usd"),
            ("policy:\n  max_hourly_usd: .inf\n", "policy.max_hourly_usd"),
            ("policy:\n  max_vms: 0\n", "policy.max_vms"),
            ("policy:\n  max_gpus_per_vm: 0\n", "policy.max_gpus_per_vm"),
            (
                "policy:\n  allowed_regions: [mars-west9]\n",
                "policy.allowed_regions[0]",
            ),
            (
                "policy:\n  allowed_gpu_types: [T4]\n",
                "policy.allowed_gpu_types[0]",
            ),
        ] {
            let err = parse(text).expect_err(text).to_string();
            assert!(err.contains(field), "{text}: {err}");
            assert!(
                err.starts_with("`.github/promptops.yml` is not valid"),
                "{err}"
            );
        }
        let err = parse("policy:\n  max_vms: 0\n  allowed_gpu_types: [T4, nvidia-tesla-t4]\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("policy.max_vms") && err.contains("policy.allowed_gpu_types[0] = \"T4\""),
            "{err}"
        );
        assert!(
            err.contains("known GPU types: ") && err.contains("nvidia-tesla-t4"),
            "{err}"
        );
        assert!(
            !err.contains("allowed_gpu_types[1]"),
            "a known id is not named: {err}"
        );
        // What the README's example sets is fine.
        let config =
            parse("policy:\n  max_hourly_usd: 2.5\n  allowed_regions: [us-west1]\n").unwrap();
        assert_eq!(config.policy.max_hourly_usd, 2.5);
    }
}
