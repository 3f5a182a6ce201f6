//! The Google Cloud GPU catalog: GPU types, machine types, regions/zones and prices.
//!
//! One data file (`catalog/gcp.toml`) is compiled in; a different file can be loaded from
//! a path. Either way the data is checked for consistency before it is used
//! (see `catalog_check`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::catalog_check;

/// The catalog shipped with the crate.
const EMBEDDED_CATALOG: &str = include_str!("../catalog/gcp.toml");

/// How a GPU type reaches a VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum GpuAttachment {
    /// Added to a VM of `family` as guest accelerators, `counts` per VM allowed.
    Attached { family: String, counts: Vec<u32> },
    /// Part of the machine type (A2, G2, A3); the machine type fixes the count.
    BuiltIn,
}

/// One GPU type, e.g. `nvidia-tesla-t4`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpuType {
    /// The Compute Engine accelerator type, e.g. `nvidia-tesla-t4`.
    pub id: String,
    /// Display name, e.g. `NVIDIA T4`.
    pub name: String,
    pub memory_gb: u32,
    /// Common spellings accepted by `Catalog::gpu_by_alias` (besides id and name).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// On-demand price per GPU and hour; for built-in GPUs informational only
    /// (the machine type's price includes them).
    pub usd_per_gpu_hour: f64,
    pub attachment: GpuAttachment,
    /// For attached GPUs: the most vCPUs a VM may have with `counts[i]` GPUs.
    #[serde(default)]
    pub attached_max_vcpus: Vec<u32>,
    /// Zones where this GPU type is offered.
    pub zones: Vec<String>,
}

impl GpuType {
    /// True when the GPU is part of its machine types rather than attached.
    pub fn is_built_in(&self) -> bool {
        matches!(self.attachment, GpuAttachment::BuiltIn)
    }

    /// The counts per VM allowed for an attached GPU (empty for built-in GPUs).
    pub fn attached_counts(&self) -> &[u32] {
        match &self.attachment {
            GpuAttachment::Attached { counts, .. } => counts,
            GpuAttachment::BuiltIn => &[],
        }
    }

    /// The most vCPUs a VM may have with `count` attached GPUs of this type.
    pub fn max_vcpus_for(&self, count: u32) -> Option<u32> {
        let position = self.attached_counts().iter().position(|c| *c == count)?;
        self.attached_max_vcpus.get(position).copied()
    }

    pub fn is_offered_in(&self, zone: &str) -> bool {
        self.zones.iter().any(|z| z == zone)
    }
}

/// One machine type, e.g. `n1-standard-4` or `a2-highgpu-1g`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineType {
    pub name: String,
    /// Machine family: `n1`, `a2`, `g2`, `a3`.
    pub family: String,
    pub vcpus: u32,
    pub memory_gb: f64,
    /// On-demand price of the VM per hour (whole machine, built-in GPUs included).
    pub usd_per_hour: f64,
    /// The GPU built into this machine type and how many: (GPU id, count).
    #[serde(default)]
    pub builtin_gpu: Option<(String, u32)>,
}

/// A region and its zones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    pub name: String,
    pub zones: Vec<String>,
    /// Places people name instead of the region ("Oregon", "Northern Virginia", "São Paulo"),
    /// matched by `Catalog::region_for_place` ignoring case, accents and punctuation.
    #[serde(default)]
    pub places: Vec<String>,
}

/// A wider area holding several regions ("Europe", "the US"): a request naming it gets the
/// first of its regions (in the listed order) that offers the GPU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Area {
    /// Display name, e.g. `Europe`.
    pub name: String,
    /// Spellings matched like places ("europe", "the eu").
    pub names: Vec<String>,
    /// The area's regions, in the order they are tried.
    pub regions: Vec<String>,
}

/// A Google Cloud region this catalog does not offer, listed so that a request naming it
/// (or one of its places, "Zurich") is told so instead of getting the default region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtherRegion {
    pub name: String,
    #[serde(default)]
    pub places: Vec<String>,
}

/// Boot disk size bounds, in GB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootDiskLimits {
    pub default_gb: u32,
    pub min_gb: u32,
    pub max_gb: u32,
}

/// The machine type used for `gpu_count` attached GPUs when a request names none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachedDefault {
    pub gpu_count: u32,
    pub machine_type: String,
}

/// The whole catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    prices_as_of: String,
    default_region: String,
    default_gpu: String,
    boot_disk: BootDiskLimits,
    attached_defaults: Vec<AttachedDefault>,
    regions: Vec<Region>,
    #[serde(default)]
    areas: Vec<Area>,
    #[serde(default)]
    other_regions: Vec<OtherRegion>,
    gpus: Vec<GpuType>,
    machine_types: Vec<MachineType>,
    #[serde(default)]
    pub(crate) reference_gpus: Vec<crate::ReferenceGpu>,
    #[serde(default)]
    pub(crate) other_cloud_instances: Vec<crate::OtherCloudInstance>,
}

/// Why a catalog could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The cause's text is in the message and not also `source()`: printed with anyhow's
    /// `{:#}`, it would appear twice.
    #[error("cannot read catalog file {path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("catalog is not valid TOML for the catalog schema: {0}")]
    Parse(String),
    #[error("catalog is inconsistent:\n{}", .0.join("\n"))]
    Inconsistent(Vec<String>),
}

impl Catalog {
    /// The catalog compiled into the crate, parsed and checked once.
    pub fn embedded() -> &'static Catalog {
        static EMBEDDED: OnceLock<Catalog> = OnceLock::new();
        EMBEDDED.get_or_init(|| {
            Catalog::from_toml_str(EMBEDDED_CATALOG)
                .expect("the embedded catalog is checked by the crate's tests")
        })
    }

    /// The text of the embedded catalog file (for prompts and documentation).
    pub fn embedded_source() -> &'static str {
        EMBEDDED_CATALOG
    }

    /// Parses and checks a catalog.
    pub fn from_toml_str(text: &str) -> Result<Catalog, CatalogError> {
        let catalog: Catalog =
            toml::from_str(text).map_err(|e| CatalogError::Parse(e.to_string()))?;
        let problems = catalog_check::problems(&catalog);
        if problems.is_empty() {
            Ok(catalog)
        } else {
            Err(CatalogError::Inconsistent(problems))
        }
    }

    /// Reads, parses and checks a catalog file.
    pub fn load(path: impl AsRef<Path>) -> Result<Catalog, CatalogError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|cause| CatalogError::Io {
            path: path.to_path_buf(),
            cause,
        })?;
        Catalog::from_toml_str(&text)
    }

    /// The date the prices were taken (YYYY-MM-DD).
    pub fn prices_as_of(&self) -> &str {
        &self.prices_as_of
    }

    /// The region used when a request names none.
    pub fn default_region(&self) -> &str {
        &self.default_region
    }

    /// The GPU type used when a request names neither a GPU nor a machine type with one.
    pub fn default_gpu(&self) -> &str {
        &self.default_gpu
    }

    pub fn boot_disk(&self) -> BootDiskLimits {
        self.boot_disk
    }

    pub fn attached_defaults(&self) -> &[AttachedDefault] {
        &self.attached_defaults
    }

    pub fn gpus(&self) -> &[GpuType] {
        &self.gpus
    }

    /// The GPU type with exactly this id.
    pub fn gpu(&self, id: &str) -> Option<&GpuType> {
        self.gpus.iter().find(|g| g.id == id)
    }

    /// The GPU type a human or model spelling refers to: the id, the name or an alias,
    /// ignoring case, spaces, dashes and underscores, and an optional "nvidia"/"tesla"
    /// prefix ("T4", "tesla t4", "a100 80gb", "H100", "nvidia-tesla-t4").
    pub fn gpu_by_alias(&self, text: &str) -> Option<&GpuType> {
        let wanted = alias_keys(text);
        if wanted.is_empty() {
            return None;
        }
        self.gpus.iter().find(|gpu| {
            gpu_spellings(gpu)
                .flat_map(alias_keys)
                .any(|key| wanted.contains(&key))
        })
    }

    pub fn machine_types(&self) -> &[MachineType] {
        &self.machine_types
    }

    pub fn machine_type(&self, name: &str) -> Option<&MachineType> {
        self.machine_types.iter().find(|m| m.name == name)
    }

    /// Machine types with `gpu_id` built in, in catalog order (smallest first).
    pub fn machine_types_with_builtin(&self, gpu_id: &str) -> Vec<&MachineType> {
        self.machine_types
            .iter()
            .filter(|m| m.builtin_gpu.as_ref().is_some_and(|(g, _)| g == gpu_id))
            .collect()
    }

    /// Machine types of a family, in catalog order.
    pub fn machine_types_in_family(&self, family: &str) -> Vec<&MachineType> {
        self.machine_types
            .iter()
            .filter(|m| m.family == family)
            .collect()
    }

    pub fn region_list(&self) -> &[Region] {
        &self.regions
    }

    /// Region names, in catalog order.
    pub fn regions(&self) -> Vec<&str> {
        self.regions.iter().map(|r| r.name.as_str()).collect()
    }

    pub fn is_known_region(&self, region: &str) -> bool {
        self.regions.iter().any(|r| r.name == region)
    }

    pub fn is_known_zone(&self, zone: &str) -> bool {
        self.regions
            .iter()
            .any(|r| r.zones.iter().any(|z| z == zone))
    }

    /// The region a known zone belongs to.
    pub fn region_of_zone(&self, zone: &str) -> Option<&str> {
        self.regions
            .iter()
            .find(|r| r.zones.iter().any(|z| z == zone))
            .map(|r| r.name.as_str())
    }

    /// The zones of a region, in catalog order (empty for an unknown region).
    pub fn zones_in_region(&self, region: &str) -> Vec<&str> {
        self.regions
            .iter()
            .find(|r| r.name == region)
            .map(|r| r.zones.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The region a place name stands for ("oregon", "Northern Virginia", "sao paulo"),
    /// ignoring case, accents and punctuation.
    pub fn region_for_place(&self, text: &str) -> Option<&str> {
        let key = place_key(text);
        if key.is_empty() {
            return None;
        }
        self.regions
            .iter()
            .find(|r| r.places.iter().any(|p| place_key(p) == key))
            .map(|r| r.name.as_str())
    }

    /// Google Cloud regions the catalog does not offer (with their places), in catalog order.
    pub fn other_regions(&self) -> &[OtherRegion] {
        &self.other_regions
    }

    /// The region the catalog does not offer that a place stands for ("Zurich").
    pub fn other_region_for_place(&self, text: &str) -> Option<&OtherRegion> {
        let key = place_key(text);
        if key.is_empty() {
            return None;
        }
        self.other_regions
            .iter()
            .find(|r| r.places.iter().any(|p| place_key(p) == key))
    }

    /// The areas (groups of regions), in catalog order.
    pub fn areas(&self) -> &[Area] {
        &self.areas
    }

    /// The area a name stands for ("Europe", "the US"), matched like places.
    pub fn area_named(&self, text: &str) -> Option<&Area> {
        let key = place_key(text);
        if key.is_empty() {
            return None;
        }
        self.areas
            .iter()
            .find(|a| a.names.iter().any(|n| place_key(n) == key))
    }

    /// The zones offering a GPU type (empty for an unknown id), in catalog order.
    pub fn zones_offering(&self, gpu_id: &str) -> Vec<&str> {
        self.gpu(gpu_id)
            .map(|g| g.zones.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The regions with at least one zone offering a GPU type, in catalog order.
    pub fn regions_offering(&self, gpu_id: &str) -> Vec<&str> {
        let Some(gpu) = self.gpu(gpu_id) else {
            return Vec::new();
        };
        self.regions
            .iter()
            .filter(|r| r.zones.iter().any(|z| gpu.is_offered_in(z)))
            .map(|r| r.name.as_str())
            .collect()
    }
}

/// Removes accents ("São Paulo" -> "Sao Paulo", "Zürich" -> "Zurich") so that place names
/// match however they are typed.
pub fn fold_accents(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    text.nfd().filter(|c| !is_combining_mark(*c)).collect()
}

/// How place and area names are compared: accents folded, lower case, words of letters and
/// digits separated by single spaces ("U.S." -> "u s", "São  Paulo" -> "sao paulo").
pub fn place_key(text: &str) -> String {
    fold_accents(text)
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every way the catalog spells a GPU: id, name and aliases.
fn gpu_spellings(gpu: &GpuType) -> impl Iterator<Item = &str> {
    [gpu.id.as_str(), gpu.name.as_str()]
        .into_iter()
        .chain(gpu.aliases.iter().map(String::as_str))
}

/// Lower-cased alphanumerics of a spelling, with and without "nvidia"/"tesla" prefixes.
pub(crate) fn alias_keys(text: &str) -> Vec<String> {
    let compact: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let mut keys = vec![compact.clone()];
    let without_vendor = compact.strip_prefix("nvidia").unwrap_or(&compact);
    let without_brand = without_vendor
        .strip_prefix("tesla")
        .unwrap_or(without_vendor);
    for key in [without_vendor, without_brand] {
        if !key.is_empty() && !keys.iter().any(|k| k == key) {
            keys.push(key.to_string());
        }
    }
    keys.retain(|k| !k.is_empty());
    keys
}
