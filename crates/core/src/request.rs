//! `DeploymentRequest`: the typed, validated Terraform variables of one deployment.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::{Catalog, DeploymentDraft, Policy, ValidationError, ValidationErrors, resolve};

/// The pattern a deployment name must match (it becomes part of resource names and paths).
/// The longest deployment name (`NAME_PATTERN`'s bound: GCP resource names derive from it).
pub const MAX_NAME_CHARS: usize = 39;

/// `NAME_RULE` adds what this pattern cannot say without look-ahead.
pub const NAME_PATTERN: &str = "^[a-z][a-z0-9-]{0,38}$";

/// The whole rule for deployment names, for messages. Beyond `NAME_PATTERN`: GCP resource
/// names (`[a-z]([-a-z0-9]*[a-z0-9])?`, used for instances, firewall rules and network tags
/// made from the name) cannot end with a dash, and the name goes into the hidden
/// `<!-- ... -->` marker of the bot's comments, where `--` is not allowed.
pub const NAME_RULE: &str = "must match ^[a-z][a-z0-9-]{0,38}$ (a lower-case letter, then up to 38 lower-case letters, digits or dashes), must not end with a dash and must not contain two dashes in a row";

static NAME_REGEX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(NAME_PATTERN).expect("NAME_PATTERN is a valid regex"));

/// True when `name` is an acceptable deployment name (see `NAME_RULE`).
pub fn is_valid_name(name: &str) -> bool {
    NAME_REGEX.is_match(name) && !name.ends_with('-') && !name.contains("--")
}

/// A validated deployment: every value comes from the catalog's closed sets or matches a
/// strict pattern. `rationale` and `assumptions` are free text for the pull request and
/// never reach the tfvars file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentRequest {
    /// Satisfies `NAME_RULE` (see `is_valid_name`).
    pub name: String,
    pub vm_count: u32,
    /// A catalog GPU id, e.g. `nvidia-tesla-t4`.
    pub gpu_type: String,
    /// GPUs per VM.
    pub gpu_count: u32,
    pub machine_type: String,
    pub zone: String,
    pub boot_disk_size_gb: u32,
    #[serde(default)]
    pub rationale: String,
    #[serde(default)]
    pub assumptions: Vec<String>,
}

impl DeploymentRequest {
    /// The region of the zone (`us-central1-a` → `us-central1`).
    pub fn region(&self) -> &str {
        self.zone
            .rsplit_once('-')
            .map_or(self.zone.as_str(), |(region, _)| region)
    }

    /// Total GPUs over all VMs.
    pub fn total_gpus(&self) -> u64 {
        u64::from(self.vm_count) * u64::from(self.gpu_count)
    }

    /// Re-validates a request that was deserialized or edited, against the catalog and
    /// the policy, reporting all problems at once.
    pub fn validate(&self, catalog: &Catalog, policy: &Policy) -> Result<(), ValidationErrors> {
        let resolved = resolve(DeploymentDraft::from(self), catalog, policy)?;
        if resolved.gpu_type != self.gpu_type {
            return Err(ValidationErrors(vec![ValidationError::new(
                "gpu_type",
                &self.gpu_type,
                format!("must be the catalog id {:?}", resolved.gpu_type),
            )]));
        }
        Ok(())
    }
}
