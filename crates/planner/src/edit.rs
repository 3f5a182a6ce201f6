//! Edits of an existing deployment: what the new draft leaves open is taken from the
//! current values, except where the requested change would make a current value wrong
//! (a new GPU type needs its own machine type; a new region needs its own zone).

use promptops_core::{Catalog, DeploymentDraft, DeploymentRequest};

/// Fills the draft's open fields from `current`. Returns one sentence per value kept.
pub fn fill_from_current(
    draft: &mut DeploymentDraft,
    current: &DeploymentRequest,
    catalog: &Catalog,
) -> Vec<String> {
    let mut kept = Vec::new();
    let mut keep = |field: &str, value: String| {
        kept.push(format!("{field} {value} kept from the current deployment"));
    };
    if let Some(builtin) = draft
        .machine_type
        .as_deref()
        .and_then(|m| catalog.machine_type(m))
        .and_then(|m| m.builtin_gpu.clone())
        && draft.gpu_type.is_none()
    {
        draft.gpu_type = Some(builtin.0);
    }
    let gpu_changed = draft.gpu_type.as_deref().is_some_and(|g| {
        catalog.gpu_by_alias(g).map_or(g, |gpu| gpu.id.as_str()) != current.gpu_type
    });
    let machine_changed = draft
        .machine_type
        .as_deref()
        .is_some_and(|m| m != current.machine_type);

    if draft.name.is_none() {
        draft.name = Some(current.name.clone());
        keep("name", current.name.clone());
    }
    if draft.vm_count.is_none() {
        draft.vm_count = Some(current.vm_count);
        keep("vm_count", current.vm_count.to_string());
    }
    if draft.gpu_type.is_none() {
        draft.gpu_type = Some(current.gpu_type.clone());
        keep("gpu_type", current.gpu_type.clone());
    }
    if draft.gpu_count.is_none() && !gpu_changed && !machine_changed {
        draft.gpu_count = Some(current.gpu_count);
        keep("gpu_count", current.gpu_count.to_string());
    }
    if draft.machine_type.is_none() && !gpu_changed && draft.gpu_count == Some(current.gpu_count) {
        draft.machine_type = Some(current.machine_type.clone());
        keep("machine_type", current.machine_type.clone());
    }
    if draft.zone.is_none() {
        let region_changed = draft
            .region
            .as_deref()
            .is_some_and(|r| r != current.region());
        let gpu_id = draft
            .gpu_type
            .as_deref()
            .and_then(|g| catalog.gpu_by_alias(g))
            .map(|gpu| gpu.id.clone());
        let zone_offers_gpu = gpu_id
            .as_deref()
            .and_then(|id| catalog.gpu(id))
            .is_some_and(|gpu| gpu.is_offered_in(&current.zone));
        if !region_changed && zone_offers_gpu {
            draft.zone = Some(current.zone.clone());
            keep("zone", current.zone.clone());
        } else if !region_changed && draft.region.is_none() {
            draft.region = Some(current.region().to_owned());
            keep("region", current.region().to_owned());
        }
    }
    if draft.boot_disk_size_gb.is_none() {
        draft.boot_disk_size_gb = Some(current.boot_disk_size_gb);
        keep("boot_disk_size_gb", current.boot_disk_size_gb.to_string());
    }
    kept
}
