//! The GPU and machine type of a request: lookups, defaults and the checks that they fit
//! together and within the policy.

use crate::catalog::{Catalog, GpuAttachment, GpuType, MachineType};
use crate::{DeploymentDraft, Policy, ValidationError, ValidationErrors};

use super::{did_you_mean, policy_list};

pub(super) fn lookup_machine<'c>(
    catalog: &'c Catalog,
    name: &str,
    errors: &mut ValidationErrors,
) -> Option<&'c MachineType> {
    if name.is_empty() {
        return None; // already reported by screen_tokens
    }
    let found = catalog.machine_type(name);
    if found.is_none() {
        let names: Vec<&str> = catalog
            .machine_types()
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        errors.push(ValidationError::new(
            "machine_type",
            name,
            format!(
                "unknown machine type{}; allowed: {}",
                did_you_mean(name, &names),
                names.join(", ")
            ),
        ));
    }
    found
}

pub(super) fn resolve_gpu<'c>(
    draft: &DeploymentDraft,
    machine: Option<&'c MachineType>,
    catalog: &'c Catalog,
    policy: &Policy,
    errors: &mut ValidationErrors,
) -> Option<&'c GpuType> {
    let ids: Vec<&str> = catalog.gpus().iter().map(|g| g.id.as_str()).collect();
    let gpu = match draft.gpu_type.as_deref() {
        Some("") => return None, // hostile, already reported
        Some(text) => match catalog.gpu_by_alias(text) {
            Some(gpu) => gpu,
            None => {
                errors.push(ValidationError::new(
                    "gpu_type",
                    text,
                    format!("unknown GPU type; allowed: {}", ids.join(", ")),
                ));
                return None;
            }
        },
        None => {
            let builtin = machine
                .and_then(|m| m.builtin_gpu.as_ref())
                .and_then(|(id, _)| catalog.gpu(id));
            if let Some(gpu) = builtin {
                gpu
            } else {
                let default = catalog.gpu(catalog.default_gpu());
                let allowed_first = policy
                    .allowed_gpu_types
                    .iter()
                    .find_map(|id| catalog.gpu(id));
                match default {
                    Some(gpu) if policy.allows_gpu_type(&gpu.id) => gpu,
                    _ => allowed_first.or(default)?,
                }
            }
        }
    };
    if !policy.allows_gpu_type(&gpu.id) {
        errors.push(ValidationError::new(
            "gpu_type",
            &gpu.id,
            format!(
                "not allowed by the policy; allowed GPU types: {}",
                policy_list(&policy.allowed_gpu_types)
            ),
        ));
    }
    Some(gpu)
}

pub(super) fn check_gpu_count(gpu_count: u32, policy: &Policy, errors: &mut ValidationErrors) {
    if gpu_count == 0 {
        errors.push(ValidationError::with_raw_value(
            "gpu_count",
            "0",
            format!(
                "must be at least 1 GPU per VM (policy allows up to {})",
                policy.max_gpus_per_vm
            ),
        ));
    } else if gpu_count > policy.max_gpus_per_vm {
        errors.push(ValidationError::with_raw_value(
            "gpu_count",
            gpu_count.to_string(),
            format!(
                "exceeds the policy's max_gpus_per_vm of {}",
                policy.max_gpus_per_vm
            ),
        ));
    }
}

/// The machine type a GPU and count get when the draft names none.
pub(super) fn default_machine<'c>(
    catalog: &'c Catalog,
    gpu: &GpuType,
    gpu_count: u32,
    errors: &mut ValidationErrors,
) -> Option<&'c MachineType> {
    if gpu_count == 0 {
        return None; // already reported
    }
    match &gpu.attachment {
        GpuAttachment::BuiltIn => {
            let machines = catalog.machine_types_with_builtin(&gpu.id);
            let found = machines
                .iter()
                .copied()
                .find(|m| m.builtin_gpu.as_ref().is_some_and(|(_, c)| *c == gpu_count));
            if found.is_none() {
                errors.push(ValidationError::with_raw_value(
                    "gpu_count",
                    gpu_count.to_string(),
                    format!(
                        "{} comes built into machine types with {} GPUs per VM",
                        gpu.id,
                        builtin_counts(&machines)
                    ),
                ));
            }
            found
        }
        GpuAttachment::Attached { family, counts } => {
            if !counts.contains(&gpu_count) {
                errors.push(attached_count_error(gpu, gpu_count, counts));
                return None;
            }
            let max_vcpus = gpu.max_vcpus_for(gpu_count).unwrap_or(u32::MAX);
            let preferred = catalog
                .attached_defaults()
                .iter()
                .find(|d| d.gpu_count == gpu_count)
                .and_then(|d| catalog.machine_type(&d.machine_type))
                .filter(|m| &m.family == family && m.vcpus <= max_vcpus);
            // Fallback (a catalog without a fitting default): the largest VM of the family
            // the GPU count allows.
            let found = preferred.or_else(|| {
                catalog
                    .machine_types_in_family(family)
                    .into_iter()
                    .filter(|m| m.builtin_gpu.is_none() && m.vcpus <= max_vcpus)
                    .max_by_key(|m| m.vcpus)
            });
            if found.is_none() {
                errors.push(ValidationError::missing(
                    "machine_type",
                    format!(
                        "the catalog has no {family} machine type for {gpu_count} {}",
                        gpu.id
                    ),
                ));
            }
            found
        }
    }
}

fn builtin_counts(machines: &[&MachineType]) -> String {
    let mut counts: Vec<u32> = machines
        .iter()
        .filter_map(|m| m.builtin_gpu.as_ref().map(|(_, c)| *c))
        .collect();
    counts.sort_unstable();
    counts.dedup();
    join_or(&counts)
}

fn attached_count_error(gpu: &GpuType, gpu_count: u32, counts: &[u32]) -> ValidationError {
    ValidationError::with_raw_value(
        "gpu_count",
        gpu_count.to_string(),
        format!("{} can be attached {} per VM", gpu.id, join_or(counts)),
    )
}

/// "1, 2 or 4".
fn join_or(counts: &[u32]) -> String {
    let texts: Vec<String> = counts.iter().map(u32::to_string).collect();
    match texts.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// Checks that an explicitly named machine type can carry the GPU type and count.
pub(super) fn check_gpu_fits_machine(
    catalog: &Catalog,
    gpu: &GpuType,
    gpu_count: u32,
    machine: &MachineType,
    errors: &mut ValidationErrors,
) {
    match &gpu.attachment {
        GpuAttachment::BuiltIn => {
            let machines = catalog.machine_types_with_builtin(&gpu.id);
            match &machine.builtin_gpu {
                Some((id, count)) if *id == gpu.id => {
                    if *count != gpu_count {
                        errors.push(ValidationError::with_raw_value(
                            "gpu_count",
                            gpu_count.to_string(),
                            format!("{} has exactly {count} {} built in", machine.name, gpu.id),
                        ));
                    }
                }
                _ => {
                    let names: Vec<&str> = machines.iter().map(|m| m.name.as_str()).collect();
                    errors.push(ValidationError::new(
                        "machine_type",
                        &machine.name,
                        format!(
                            "cannot carry {}: it comes only built into {}",
                            gpu.id,
                            names.join(", ")
                        ),
                    ));
                }
            }
        }
        GpuAttachment::Attached { family, counts } => {
            if machine.family != *family || machine.builtin_gpu.is_some() {
                errors.push(ValidationError::new(
                    "machine_type",
                    &machine.name,
                    format!(
                        "cannot carry {}: it attaches only to {} machine types ({family}-*) without built-in GPUs",
                        gpu.id,
                        family.to_uppercase()
                    ),
                ));
                return;
            }
            if !counts.contains(&gpu_count) {
                if gpu_count > 0 {
                    errors.push(attached_count_error(gpu, gpu_count, counts));
                }
                return;
            }
            if let Some(max) = gpu.max_vcpus_for(gpu_count)
                && machine.vcpus > max
            {
                errors.push(ValidationError::new(
                    "machine_type",
                    &machine.name,
                    format!(
                        "has {} vCPUs; a VM with {gpu_count} {} may have at most {max} vCPUs",
                        machine.vcpus, gpu.id
                    ),
                ));
            }
        }
    }
}
