//! Catalog facts about what is *not* offered but named as a reference: consumer and other
//! clouds' GPUs ("like my RTX 4090", "an A10G"), and other clouds' GPU instance types
//! ("p4d.24xlarge"). The planners read a reference through these facts (GPU memory, the
//! Google Cloud equivalent) and state the reading; a request for another cloud is refused.

use serde::{Deserialize, Serialize};

use crate::Catalog;

/// A GPU this catalog does not offer, known by its memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceGpu {
    /// Display name, e.g. `NVIDIA GeForce RTX 4090`.
    pub name: String,
    /// Spellings matched in requests, lower case, words separated by single spaces
    /// ("rtx 4090", "4090").
    pub aliases: Vec<String>,
    pub memory_gb: u32,
    /// Where it comes from, for messages ("consumer GPU", "AWS GPU").
    pub kind: String,
}

/// Another cloud's GPU instance type and its Google Cloud equivalent in this catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtherCloudInstance {
    /// Lower case, e.g. `p4d.24xlarge`, `standard_nc6s_v3`.
    pub name: String,
    /// e.g. `AWS`, `Azure`.
    pub cloud: String,
    /// A catalog GPU id.
    pub gpu: String,
    pub gpu_count: u32,
}

impl Catalog {
    pub fn reference_gpus(&self) -> &[ReferenceGpu] {
        &self.reference_gpus
    }

    pub fn other_cloud_instances(&self) -> &[OtherCloudInstance] {
        &self.other_cloud_instances
    }

    /// The other cloud's instance type with this name (case-insensitive).
    pub fn other_cloud_instance(&self, name: &str) -> Option<&OtherCloudInstance> {
        let name = name.to_ascii_lowercase();
        self.other_cloud_instances.iter().find(|i| i.name == name)
    }
}

/// Problems with the reference sections: unknown GPU ids, impossible counts.
pub(crate) fn problems(catalog: &Catalog, problems: &mut Vec<String>) {
    for instance in catalog.other_cloud_instances() {
        match catalog.gpu(&instance.gpu) {
            None => problems.push(format!(
                "other_cloud_instances {}: unknown GPU {}",
                instance.name, instance.gpu
            )),
            Some(_) if instance.gpu_count == 0 => problems.push(format!(
                "other_cloud_instances {}: gpu_count must be at least 1",
                instance.name
            )),
            Some(_) => {}
        }
    }
    for gpu in catalog.reference_gpus() {
        if gpu
            .aliases
            .iter()
            .any(|a| catalog.gpu_by_alias(a).is_some())
        {
            problems.push(format!(
                "reference_gpus {}: an alias names a catalog GPU",
                gpu.name
            ));
        }
    }
}
