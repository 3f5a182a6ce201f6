//! `resolve`: fills a draft's gaps with catalog defaults, then validates everything
//! against the catalog and the policy, collecting all problems before answering.

use crate::catalog::{Catalog, GpuAttachment, GpuType, MachineType};
use crate::safe_text::check_token;
use crate::{
    CostEstimate, DeploymentDraft, DeploymentRequest, Policy, ValidationError, ValidationErrors,
    is_valid_name, request::NAME_RULE,
};

/// Longest rationale kept (it goes to the pull request text).
pub const MAX_RATIONALE_CHARS: usize = 4_000;
/// Most assumptions kept.
pub const MAX_ASSUMPTIONS: usize = 20;
/// Longest single assumption.
pub const MAX_ASSUMPTION_CHARS: usize = 500;

/// Turns a draft into a validated request, or reports every problem at once.
///
/// Defaults: GPU from the machine type's built-in GPU or the catalog default; GPU count
/// from the machine type or 1; machine type for the GPU and count; zone = first zone of the
/// requested (or default) region that offers the GPU; 1 VM; the catalog's disk size; a
/// name derived from GPU and region.
pub fn resolve(
    draft: DeploymentDraft,
    catalog: &Catalog,
    policy: &Policy,
) -> Result<DeploymentRequest, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let draft = screen_tokens(draft, &mut errors);

    let machine = draft
        .machine_type
        .as_deref()
        .and_then(|name| lookup_machine(catalog, name, &mut errors));
    let machine_given = draft.machine_type.is_some();
    let gpu = resolve_gpu(&draft, machine, catalog, policy, &mut errors);

    let gpu_count = draft.gpu_count.unwrap_or_else(|| {
        machine
            .and_then(|m| m.builtin_gpu.as_ref())
            .map_or(1, |(_, count)| *count)
    });
    check_gpu_count(gpu_count, policy, &mut errors);

    let machine = match (gpu, machine) {
        (Some(gpu), Some(machine)) => {
            check_gpu_fits_machine(catalog, gpu, gpu_count, machine, &mut errors);
            Some(machine)
        }
        (Some(gpu), None) if !machine_given => {
            default_machine(catalog, gpu, gpu_count, &mut errors)
        }
        _ => None,
    };

    let zone = resolve_zone(&draft, gpu, catalog, policy, &mut errors);

    let vm_count = draft.vm_count.unwrap_or(1);
    check_vm_count(vm_count, policy, &mut errors);
    let boot_disk_size_gb = draft
        .boot_disk_size_gb
        .unwrap_or(catalog.boot_disk().default_gb);
    check_boot_disk(boot_disk_size_gb, catalog, &mut errors);

    let name = match &draft.name {
        Some(name) => {
            // An empty name here was either given empty or screened out as hostile;
            // screen_tokens has reported both.
            if !name.is_empty() && !is_valid_name(name) {
                errors.push(ValidationError::new("name", name, NAME_RULE));
            }
            name.clone()
        }
        None => derived_name(gpu, zone.as_deref(), catalog),
    };

    let rationale = draft.rationale.clone().unwrap_or_default();
    check_free_text(&rationale, &draft.assumptions, &mut errors);

    if let (Some(gpu), Some(machine)) = (gpu, machine)
        && errors.is_empty()
    {
        check_cost(
            catalog,
            policy,
            gpu,
            gpu_count,
            machine,
            vm_count,
            &mut errors,
        );
    }

    let (Some(gpu), Some(machine), Some(zone)) = (gpu, machine, zone) else {
        // Something essential could not be determined; the reason is already recorded.
        return Err(errors);
    };
    errors.into_result(DeploymentRequest {
        name,
        vm_count,
        gpu_type: gpu.id.clone(),
        gpu_count,
        machine_type: machine.name.clone(),
        zone,
        boot_disk_size_gb,
        rationale,
        assumptions: draft.assumptions,
    })
}

/// Rejects hostile closed-set strings by name and drops them from the draft, so that the
/// later lookups neither repeat the complaint nor match a hostile value loosely.
fn screen_tokens(mut draft: DeploymentDraft, errors: &mut ValidationErrors) -> DeploymentDraft {
    let fields: [(&str, &mut Option<String>, &str); 5] = [
        (
            "name",
            &mut draft.name,
            "a name matching ^[a-z][a-z0-9-]{0,38}$ without a trailing dash or two dashes in a row",
        ),
        (
            "gpu_type",
            &mut draft.gpu_type,
            "a GPU type from the catalog",
        ),
        (
            "machine_type",
            &mut draft.machine_type,
            "a machine type from the catalog",
        ),
        ("zone", &mut draft.zone, "a zone from the catalog"),
        ("region", &mut draft.region, "a region from the catalog"),
    ];
    for (field, value, allowed) in fields {
        if let Some(text) = value.as_deref()
            && let Err(error) = check_token(field, text, allowed)
        {
            errors.push(error);
            // Keep the field marked as given (so no default silently replaces it) but unusable.
            *value = Some(String::new());
        }
    }
    draft
}

fn lookup_machine<'c>(
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

fn resolve_gpu<'c>(
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

fn check_gpu_count(gpu_count: u32, policy: &Policy, errors: &mut ValidationErrors) {
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
fn default_machine<'c>(
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
fn check_gpu_fits_machine(
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

/// Decides the zone: the named one (checked), or the first zone of the named or default
/// region that offers the GPU.
fn resolve_zone(
    draft: &DeploymentDraft,
    gpu: Option<&GpuType>,
    catalog: &Catalog,
    policy: &Policy,
    errors: &mut ValidationErrors,
) -> Option<String> {
    let region = match draft.region.as_deref() {
        Some("") => return None, // hostile, already reported
        Some(region) if !catalog.is_known_region(region) => {
            let hint = if catalog.is_known_zone(region) {
                " (that is a zone; put it in `zone`)".to_string()
            } else {
                did_you_mean(region, &catalog.regions())
            };
            errors.push(ValidationError::new(
                "region",
                region,
                format!(
                    "unknown region{hint}; known regions: {}",
                    catalog.regions().join(", ")
                ),
            ));
            return None;
        }
        other => other,
    };

    let zone = match draft.zone.as_deref() {
        Some("") => return None, // hostile, already reported
        Some(zone) => {
            check_named_zone(zone, region, gpu, catalog, errors)?;
            zone.to_string()
        }
        None => default_zone(region, gpu?, catalog, policy, errors)?,
    };

    let zone_region = catalog.region_of_zone(&zone).unwrap_or_default();
    if !policy.allows_region(zone_region) {
        errors.push(ValidationError::new(
            if draft.zone.is_some() {
                "zone"
            } else {
                "region"
            },
            &zone,
            format!(
                "region {zone_region} is not allowed by the policy; allowed regions: {}",
                policy_list(&policy.allowed_regions)
            ),
        ));
    }
    Some(zone)
}

/// Checks a zone the draft names; `None` when it is unusable (reason recorded).
fn check_named_zone(
    zone: &str,
    region: Option<&str>,
    gpu: Option<&GpuType>,
    catalog: &Catalog,
    errors: &mut ValidationErrors,
) -> Option<()> {
    if !catalog.is_known_zone(zone) {
        let hint = if catalog.is_known_region(zone) {
            let zones = match gpu {
                Some(gpu) => zones_of_region_offering(catalog, zone, gpu),
                None => catalog.zones_in_region(zone),
            };
            format!(
                "unknown zone: that is a region; its zones{}: {}",
                gpu.map(|g| format!(" offering {}", g.id))
                    .unwrap_or_default(),
                if zones.is_empty() {
                    "none".to_string()
                } else {
                    zones.join(", ")
                }
            )
        } else {
            let offering = gpu.map(|g| {
                format!(
                    "; zones offering {}: {}",
                    g.id,
                    catalog.zones_offering(&g.id).join(", ")
                )
            });
            format!(
                "unknown zone{}{}",
                did_you_mean(zone, &all_zones(catalog)),
                offering.unwrap_or_else(|| format!(
                    "; known regions: {}",
                    catalog.regions().join(", ")
                ))
            )
        };
        errors.push(ValidationError::new("zone", zone, hint));
        return None;
    }
    let zone_region = catalog.region_of_zone(zone).unwrap_or_default();
    if let Some(region) = region
        && region != zone_region
    {
        errors.push(ValidationError::new(
            "zone",
            zone,
            format!(
                "is in region {zone_region}, not in the requested region {region}; zones of {region}: {}",
                catalog.zones_in_region(region).join(", ")
            ),
        ));
        return None;
    }
    if let Some(gpu) = gpu
        && !gpu.is_offered_in(zone)
    {
        errors.push(ValidationError::new(
            "zone",
            zone,
            format!(
                "{} is not offered in {zone}; it is offered in: {}",
                gpu.id,
                gpu.zones.join(", ")
            ),
        ));
        return None;
    }
    Some(())
}

fn default_zone(
    region: Option<&str>,
    gpu: &GpuType,
    catalog: &Catalog,
    policy: &Policy,
    errors: &mut ValidationErrors,
) -> Option<String> {
    let region = match region {
        Some(region) => region.to_string(),
        None => {
            let offering = catalog.regions_offering(&gpu.id);
            let default = catalog.default_region();
            if offering.contains(&default) && policy.allows_region(default) {
                default.to_string()
            } else if let Some(first) = offering.iter().find(|r| policy.allows_region(r)) {
                (*first).to_string()
            } else {
                errors.push(ValidationError::missing(
                    "region",
                    format!(
                        "{} is not offered in any region the policy allows ({}); it is offered in: {}",
                        gpu.id,
                        policy_list(&policy.allowed_regions),
                        offering.join(", ")
                    ),
                ));
                return None;
            }
        }
    };
    let zones = zones_of_region_offering(catalog, &region, gpu);
    match zones.first() {
        Some(zone) => Some((*zone).to_string()),
        None => {
            errors.push(ValidationError::new(
                "region",
                &region,
                format!(
                    "{} is not offered in any zone of {region}; regions offering it: {}",
                    gpu.id,
                    catalog.regions_offering(&gpu.id).join(", ")
                ),
            ));
            None
        }
    }
}

fn zones_of_region_offering<'c>(catalog: &'c Catalog, region: &str, gpu: &GpuType) -> Vec<&'c str> {
    catalog
        .zones_in_region(region)
        .into_iter()
        .filter(|z| gpu.is_offered_in(z))
        .collect()
}

fn all_zones(catalog: &Catalog) -> Vec<&str> {
    catalog
        .region_list()
        .iter()
        .flat_map(|r| r.zones.iter().map(String::as_str))
        .collect()
}

fn check_vm_count(vm_count: u32, policy: &Policy, errors: &mut ValidationErrors) {
    if vm_count == 0 {
        errors.push(ValidationError::with_raw_value(
            "vm_count",
            "0",
            format!(
                "must be at least 1 VM (policy allows up to {})",
                policy.max_vms
            ),
        ));
    } else if vm_count > policy.max_vms {
        errors.push(ValidationError::with_raw_value(
            "vm_count",
            vm_count.to_string(),
            format!("exceeds the policy's max_vms of {}", policy.max_vms),
        ));
    }
}

fn check_boot_disk(size: u32, catalog: &Catalog, errors: &mut ValidationErrors) {
    let limits = catalog.boot_disk();
    if size < limits.min_gb || size > limits.max_gb {
        errors.push(ValidationError::with_raw_value(
            "boot_disk_size_gb",
            size.to_string(),
            format!(
                "must be between {} and {} GB (default {})",
                limits.min_gb, limits.max_gb, limits.default_gb
            ),
        ));
    }
}

fn check_free_text(rationale: &str, assumptions: &[String], errors: &mut ValidationErrors) {
    let rationale_chars = rationale.chars().count();
    if rationale_chars > MAX_RATIONALE_CHARS {
        errors.push(ValidationError::new(
            "rationale",
            rationale,
            format!(
                "is {rationale_chars} characters long; at most {MAX_RATIONALE_CHARS} are allowed"
            ),
        ));
    }
    if assumptions.len() > MAX_ASSUMPTIONS {
        errors.push(ValidationError::with_raw_value(
            "assumptions",
            format!("{} items", assumptions.len()),
            format!("at most {MAX_ASSUMPTIONS} assumptions are allowed"),
        ));
    }
    for (i, assumption) in assumptions.iter().enumerate() {
        let chars = assumption.chars().count();
        if chars > MAX_ASSUMPTION_CHARS {
            errors.push(ValidationError::new(
                format!("assumptions[{i}]"),
                assumption,
                format!("is {chars} characters long; at most {MAX_ASSUMPTION_CHARS} are allowed"),
            ));
        }
    }
}

fn check_cost(
    catalog: &Catalog,
    policy: &Policy,
    gpu: &GpuType,
    gpu_count: u32,
    machine: &MachineType,
    vm_count: u32,
    errors: &mut ValidationErrors,
) {
    let Some(per_vm) = catalog.per_vm_hour_usd(&machine.name, &gpu.id, gpu_count) else {
        return;
    };
    let estimate = CostEstimate::from_per_vm_hour(per_vm, vm_count);
    if estimate.hourly_usd > policy.max_hourly_usd {
        errors.push(ValidationError::with_raw_value(
            "estimated_hourly_usd",
            format!("{:.2}", estimate.hourly_usd),
            format!(
                "{vm_count} × {} with {gpu_count} {} at ${per_vm:.2}/hour each exceeds the policy's max_hourly_usd of {:.2}",
                machine.name, gpu.id, policy.max_hourly_usd
            ),
        ));
    }
}

/// A deterministic name from GPU and region, e.g. `t4-us-west1`.
fn derived_name(gpu: Option<&GpuType>, zone: Option<&str>, catalog: &Catalog) -> String {
    let short = gpu
        .map(|g| g.aliases.first().unwrap_or(&g.id).as_str())
        .unwrap_or("gpu");
    let region = zone
        .and_then(|z| catalog.region_of_zone(z))
        .unwrap_or("vms");
    let mut name: String = format!("{short}-{region}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name.insert_str(0, "gpu-");
    }
    name_within_rule(&name)
}

/// `name` (lower-case letters, digits and dashes, starting with a letter) cut to 39
/// characters with runs of dashes collapsed and trailing dashes dropped, so that a derived
/// name always satisfies `NAME_RULE`.
fn name_within_rule(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    out.truncate(39);
    let trimmed = out.trim_end_matches('-');
    trimmed.to_owned()
}

/// A policy list for a message. Policy entries come from repository configuration, so they
/// are escaped to keep each problem on one line.
fn policy_list(entries: &[String]) -> String {
    entries
        .iter()
        .map(|e| e.escape_debug().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn did_you_mean(given: &str, candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(&given.to_ascii_lowercase(), c), *c))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .filter(|(score, _)| *score > 0.85)
        .map(|(_, c)| format!(" (did you mean {c:?}?)"))
        .unwrap_or_default()
}
