//! `resolve`: fills a draft's gaps with catalog defaults, then validates everything
//! against the catalog and the policy, collecting all problems before answering.

mod machine;
mod zone;

use machine::{
    check_gpu_count, check_gpu_fits_machine, default_machine, lookup_machine, resolve_gpu,
};
use zone::resolve_zone;

use crate::catalog::{Catalog, GpuType, MachineType};
use crate::safe_text::check_token;
use crate::{
    CostEstimate, DeploymentDraft, DeploymentRequest, MAX_NAME_CHARS, Policy, ValidationError,
    ValidationErrors, is_valid_name, request::NAME_RULE,
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
    let machine = match gpu {
        Some(gpu) => machine_for(gpu, gpu_count, machine, machine_given, catalog, &mut errors),
        None => None,
    };

    let zone = resolve_zone(&draft, gpu, catalog, policy, &mut errors);

    let vm_count = draft.vm_count.unwrap_or(1);
    check_vm_count(vm_count, policy, &mut errors);
    let boot_disk_size_gb = draft
        .boot_disk_size_gb
        .unwrap_or(catalog.boot_disk().default_gb);
    check_boot_disk(boot_disk_size_gb, catalog, &mut errors);

    let name = resolve_name(
        draft.name.as_deref(),
        gpu,
        zone.as_deref(),
        catalog,
        &mut errors,
    );

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

/// The machine the GPUs go on: the one named, when they fit it; else (none named) the
/// catalog's machine for the GPU and count.
fn machine_for<'c>(
    gpu: &GpuType,
    gpu_count: u32,
    named: Option<&'c MachineType>,
    machine_given: bool,
    catalog: &'c Catalog,
    errors: &mut ValidationErrors,
) -> Option<&'c MachineType> {
    match named {
        Some(machine) => {
            check_gpu_fits_machine(catalog, gpu, gpu_count, machine, errors);
            Some(machine)
        }
        None if !machine_given => default_machine(catalog, gpu, gpu_count, errors),
        None => None,
    }
}

/// The name given (checked against the rule), or one derived from the GPU and zone.
fn resolve_name(
    given: Option<&str>,
    gpu: Option<&GpuType>,
    zone: Option<&str>,
    catalog: &Catalog,
    errors: &mut ValidationErrors,
) -> String {
    match given {
        Some(name) => {
            // An empty name here was either given empty or screened out as hostile;
            // screen_tokens has reported both.
            if !name.is_empty() && !is_valid_name(name) {
                errors.push(ValidationError::new("name", name, NAME_RULE));
            }
            name.to_owned()
        }
        None => derived_name(gpu, zone, catalog),
    }
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
                "{vm_count} × {} with {gpu_count} {} at {}/hour each ({}/hour in all) exceeds the policy's max_hourly_usd of {:.2}",
                machine.name,
                gpu.id,
                crate::cost::usd(per_vm, 2),
                crate::cost::usd(estimate.hourly_usd, 2),
                policy.max_hourly_usd
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
    out.truncate(MAX_NAME_CHARS);
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
