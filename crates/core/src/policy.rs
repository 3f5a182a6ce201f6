//! The repository's limits on what a request may ask for.

use serde::{Deserialize, Serialize};

use crate::{Catalog, ValidationError};

/// Per-repository limits (the `policy:` section of `.github/promptops.yml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    pub max_vms: u32,
    pub max_gpus_per_vm: u32,
    pub max_hourly_usd: f64,
    /// Regions a deployment may use; empty allows every catalog region.
    pub allowed_regions: Vec<String>,
    /// GPU type ids a deployment may use; empty allows every catalog GPU type.
    pub allowed_gpu_types: Vec<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_vms: 20,
            max_gpus_per_vm: 8,
            max_hourly_usd: 100.0,
            allowed_regions: Vec::new(),
            allowed_gpu_types: Vec::new(),
        }
    }
}

impl Policy {
    pub fn allows_region(&self, region: &str) -> bool {
        self.allowed_regions.is_empty() || self.allowed_regions.iter().any(|r| r == region)
    }

    pub fn allows_gpu_type(&self, gpu_id: &str) -> bool {
        self.allowed_gpu_types.is_empty() || self.allowed_gpu_types.iter().any(|g| g == gpu_id)
    }

    /// Problems with the policy itself: names the catalog does not know, limits that
    /// allow nothing. Field names are prefixed with `policy.`.
    pub fn check_against(&self, catalog: &Catalog) -> Vec<ValidationError> {
        let mut errors = Vec::new();
        for (i, region) in self.allowed_regions.iter().enumerate() {
            if !catalog.is_known_region(region) {
                errors.push(ValidationError::new(
                    format!("policy.allowed_regions[{i}]"),
                    region,
                    format!(
                        "unknown region; known regions: {}",
                        catalog.regions().join(", ")
                    ),
                ));
            }
        }
        for (i, gpu) in self.allowed_gpu_types.iter().enumerate() {
            if catalog.gpu(gpu).is_none() {
                let ids: Vec<&str> = catalog.gpus().iter().map(|g| g.id.as_str()).collect();
                errors.push(ValidationError::new(
                    format!("policy.allowed_gpu_types[{i}]"),
                    gpu,
                    format!("unknown GPU type; known GPU types: {}", ids.join(", ")),
                ));
            }
        }
        for (field, value) in [
            ("max_vms", self.max_vms),
            ("max_gpus_per_vm", self.max_gpus_per_vm),
        ] {
            if value == 0 {
                errors.push(ValidationError::with_raw_value(
                    format!("policy.{field}"),
                    "0",
                    "must be at least 1 (0 would reject every request)",
                ));
            }
        }
        if !(self.max_hourly_usd.is_finite() && self.max_hourly_usd > 0.0) {
            errors.push(ValidationError::with_raw_value(
                "policy.max_hourly_usd",
                self.max_hourly_usd.to_string(),
                "must be a positive number of US dollars per hour",
            ));
        }
        errors
    }
}
