//! The offline planner: deterministic, no network. The user's explicit values
//! (`mentions`) become a draft, open fields come from the current deployment on edits and
//! otherwise from the catalog's defaults (through core's `resolve`, the same validation the
//! model planner's answers go through). What it writes says it was planned offline.

use promptops_core::{
    Catalog, DeploymentDraft, DeploymentRequest, MAX_ASSUMPTION_CHARS, MAX_ASSUMPTIONS, Policy,
    ValidationError, ValidationErrors, resolve,
};

use std::sync::Arc;
use std::time::Instant;

use crate::choose;
use crate::edit::fill_from_current;
use crate::fit::{self, per_vm_counts};
use crate::mentions::Mentions;
use crate::observe::{Observer, PlanObservation, PlanResult, PlannerKind, PlannerObserver};
use crate::screen;
use crate::{OFFLINE_PLANNER, PlanError, PlanInput, PlanOutcome};

#[derive(Debug, Clone, Default)]
pub struct OfflinePlanner {
    observer: Observer,
}

/// A draft and what the planner decided on its own while building it.
struct Built {
    draft: DeploymentDraft,
    notes: Vec<String>,
    kept: Vec<String>,
    /// How phrases were read and what was chosen for descriptions ("in Europe").
    decided: Vec<String>,
    /// The named zone does not offer the GPU: said with the zones of its region that do.
    zone_problem: Option<ValidationError>,
}

impl OfflinePlanner {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reports every plan to `observer`.
    pub fn with_observer(mut self, observer: Arc<dyn PlannerObserver>) -> Self {
        self.observer = Observer(observer);
        self
    }

    pub fn plan(
        &self,
        input: &PlanInput,
        catalog: &Catalog,
        policy: &Policy,
    ) -> Result<PlanOutcome, PlanError> {
        let started = Instant::now();
        let result = plan_offline(input, catalog, policy);
        self.observer.0.plan_finished(&PlanObservation {
            planner: PlannerKind::Offline,
            result: PlanResult::of(&result),
            latency: started.elapsed(),
        });
        result
    }
}

fn plan_offline(
    input: &PlanInput,
    catalog: &Catalog,
    policy: &Policy,
) -> Result<PlanOutcome, PlanError> {
    if let Some(refusal) = screen::refusal_of_text(input) {
        return Err(PlanError::NotARequest(refusal));
    }
    let (mentions, mut unreadable) = Mentions::read(input, catalog);
    let ambiguities = mentions.ambiguities();
    // A phrase read but unclear ("add 2 more VMs" to nothing) says more than "no request".
    if unreadable.is_empty()
        && ambiguities.is_empty()
        && let Some(refusal) = screen::refusal_of_mentions(&mentions, input)
    {
        return Err(PlanError::NotARequest(refusal));
    }
    // A lifetime that cannot be read ("until 12/10") is reported with every other
    // problem of the request, never dropped.
    let lifetime = match crate::lifetime::read(&screen::request_text(input)) {
        Ok(lifetime) => lifetime,
        Err(error) => {
            unreadable.push(error);
            crate::lifetime::LifetimeReading::default()
        }
    };
    if !(unreadable.is_empty() && ambiguities.is_empty()) {
        return Err(every_problem(
            unreadable,
            ambiguities,
            &mentions,
            input,
            catalog,
            policy,
        ));
    }
    let mut built = build_draft(&mentions, input.current.as_ref(), catalog, policy)?;
    built.decided.extend(lifetime.readings);
    let first = resolve(built.draft.clone(), catalog, policy).map_err(|mut errors| {
        // The zone's own region is the useful list ("zones of us-west1 offering it").
        if let Some(better) = &built.zone_problem {
            errors.0.retain(|e| e.field != "zone");
            errors.0.insert(0, better.clone());
        }
        PlanError::Rejected(errors)
    })?;
    let mut mismatches = mentions.check(&first);
    mismatches.extend(mentions.check_budget(&first, catalog));
    mismatches.extend(mentions.check_machine_size(&first, catalog));
    if !mismatches.is_empty() {
        return Err(PlanError::MismatchWithRequest(ValidationErrors(mismatches)));
    }
    let ignored = screen::ignored_parts(&screen::request_text(input));
    // Second pass with the texts, so that they are validated like any planner's.
    let mut draft = built.draft.clone();
    draft.rationale = Some(rationale(&mentions, input.current.is_some()));
    draft.assumptions = assumptions(&built, &first, &ignored, catalog);
    let request = resolve(draft, catalog, policy).map_err(PlanError::Rejected)?;
    Ok(PlanOutcome {
        request,
        planned_by: OFFLINE_PLANNER.to_owned(),
        usage: None,
        notes: built.notes,
        ignored,
        expiry: lifetime.expiry,
    })
}

/// Every problem at once: what could not be read, what is ambiguous, and what the catalog
/// and policy refuse in the rest of the request ("50 VMs with 16 H100 each in mars-north1"
/// names the region, the VM count and the GPUs per VM together).
fn every_problem(
    unreadable: Vec<ValidationError>,
    ambiguities: Vec<ValidationError>,
    mentions: &Mentions,
    input: &PlanInput,
    catalog: &Catalog,
    policy: &Policy,
) -> PlanError {
    let mut problems = unreadable.clone();
    problems.extend(ambiguities);
    let mut rest = mentions.clone();
    rest.unclear.clear();
    for list in [&mut rest.region, &mut rest.zone] {
        list.truncate(1);
    }
    rest.gpu_type.truncate(1);
    if let Ok(built) = build_draft(&rest, input.current.as_ref(), catalog, policy)
        && let Err(errors) = resolve(built.draft, catalog, policy)
    {
        for error in errors.0 {
            if !problems.iter().any(|p| p.field == error.field) {
                problems.push(error);
            }
        }
    }
    if unreadable.is_empty() {
        PlanError::AmbiguousMention(ValidationErrors(problems))
    } else {
        PlanError::UnknownMention(ValidationErrors(problems))
    }
}

fn build_draft(
    mentions: &Mentions,
    current: Option<&DeploymentRequest>,
    catalog: &Catalog,
    policy: &Policy,
) -> Result<Built, PlanError> {
    let mut draft = stated_draft(mentions, catalog);
    let mut decided = mentions.readings();
    choose_gpu(&mut draft, mentions, current, catalog, policy, &mut decided)?;
    let gpu_id = draft
        .gpu_type
        .clone()
        .or_else(|| current.map(|c| c.gpu_type.clone()))
        .unwrap_or_else(|| default_gpu(catalog, policy));
    let wanted = choose::Wanted::of(mentions);
    if draft.region.is_none() && draft.zone.is_none() {
        let chosen = match wanted.area {
            Some(area) => Some(choose::area_region(
                area, &gpu_id, &wanted, catalog, policy,
            )?),
            None if current.is_none() => choose::region_avoiding(&wanted, &gpu_id, catalog, policy),
            None => None,
        };
        if let Some((region, note)) = chosen {
            draft.region = Some(region);
            decided.push(note);
        }
    }
    let zone_problem = draft
        .zone
        .as_deref()
        .and_then(|zone| choose::zone_not_offering(zone, &gpu_id, catalog));
    let mut notes = Vec::new();
    if let Some(total) = first_count(&mentions.total_gpus) {
        let packed = mentions.fewest_vms.first();
        let split = Split {
            total,
            packed: packed.is_some(),
        };
        let (vm_count, per_vm) = split_total(split, &draft, current, &gpu_id, catalog, policy)?;
        if draft.vm_count.is_none() || draft.gpu_count.is_none() {
            notes.push(format!(
                "{total} GPUs in total read as {vm_count} VM(s) x {per_vm} GPU(s) each."
            ));
            if let Some(words) = packed {
                notes.push(format!(
                    "\"{words}\" read as the most GPUs per VM that {gpu_id} allows for {total} in total"
                ));
            }
        }
        draft.vm_count = Some(vm_count);
        draft.gpu_count = Some(per_vm);
        // Said here: once set, the draft no longer shows that no GPU was named ("one GPU
        // please" planned the default GPU without a word).
        if draft.gpu_type.is_none() {
            notes.push(match current {
                Some(_) => format!("gpu_type {gpu_id} kept from the current deployment"),
                None => format!("gpu_type {gpu_id} (default: the request names no GPU)"),
            });
            draft.gpu_type = Some(gpu_id.clone());
        }
    }
    let size = mentions.machine_size.first();
    decided.extend(fit::size_machine(
        size, &mut draft, &gpu_id, catalog, policy,
    )?);
    let kept = match current {
        Some(current) => fill_from_current(&mut draft, current, catalog),
        None => Vec::new(),
    };
    Ok(Built {
        draft,
        notes,
        kept,
        decided,
        zone_problem,
    })
}

fn first_count(list: &[crate::mentions::Mentioned<u32>]) -> Option<u32> {
    list.first().map(|m| m.value)
}

/// The values the request states, the first of each; a machine type with built-in GPUs
/// fixes the GPU and its count.
fn stated_draft(mentions: &Mentions, catalog: &Catalog) -> DeploymentDraft {
    let mut draft = DeploymentDraft {
        name: mentions.name.first().map(|m| m.value.clone()),
        machine_type: mentions.machine_type.first().map(|m| m.value.clone()),
        gpu_type: mentions.gpu_type.first().map(|m| m.value.clone()),
        zone: mentions.zone.first().map(|m| m.value.clone()),
        region: mentions.region.first().map(|m| m.value.clone()),
        vm_count: first_count(&mentions.vm_count),
        gpu_count: first_count(&mentions.gpus_per_vm),
        boot_disk_size_gb: first_count(&mentions.boot_disk_size_gb),
        ..DeploymentDraft::default()
    };
    if draft.zone.is_some() {
        // The zone names its region; both are consistent (checked as an ambiguity).
        draft.region = None;
    }
    if let Some((gpu, count)) = draft
        .machine_type
        .as_deref()
        .and_then(|m| catalog.machine_type(m))
        .and_then(|m| m.builtin_gpu.clone())
    {
        draft.gpu_type.get_or_insert(gpu);
        draft.gpu_count.get_or_insert(count);
    }
    draft
}

/// A GPU described instead of named (the cheapest meeting the requirement), or fitted to a
/// model's size or to "the biggest node"; each choice is noted in `decided`.
fn choose_gpu(
    draft: &mut DeploymentDraft,
    mentions: &Mentions,
    current: Option<&DeploymentRequest>,
    catalog: &Catalog,
    policy: &Policy,
    decided: &mut Vec<String>,
) -> Result<(), PlanError> {
    if draft.gpu_type.is_none()
        && let Some(requirement) = mentions.gpu_requirement.first()
    {
        let (id, note) = choose::cheapest_gpu(
            requirement,
            draft,
            &choose::Wanted::of(mentions),
            current,
            catalog,
            policy,
        )?;
        draft.gpu_type = Some(id);
        decided.push(note);
    }
    if let Some(need) = mentions.model_memory.first() {
        let total = first_count(&mentions.total_gpus);
        let (gpu, per_vm, note) = fit::fit_model(need, draft, total, catalog, policy)?;
        draft.gpu_type = Some(gpu);
        draft.gpu_count = Some(per_vm);
        decided.push(note);
    } else if let Some(written) = mentions.biggest.first()
        && draft.machine_type.is_none()
    {
        let (gpu, per_vm, note) = fit::biggest(written, draft, catalog, policy)?;
        draft.gpu_type = Some(gpu);
        draft.gpu_count = Some(per_vm);
        decided.push(note);
    }
    Ok(())
}

/// The GPU `resolve` uses when nothing names one: the catalog default, or the first GPU
/// the policy allows.
fn default_gpu(catalog: &Catalog, policy: &Policy) -> String {
    let default = catalog.default_gpu();
    if policy.allows_gpu_type(default) {
        return default.to_owned();
    }
    policy
        .allowed_gpu_types
        .iter()
        .find(|id| catalog.gpu(id).is_some())
        .cloned()
        .unwrap_or_else(|| default.to_owned())
}

/// A total GPU count against the counts the request states: `None` when it states neither
/// the VMs nor the GPUs per VM, else the split or why the total does not fit them.
fn split_as_stated(
    total: u32,
    vms: Option<u32>,
    per_vm: Option<u32>,
) -> Option<Result<(u32, u32), String>> {
    let split = match (vms, per_vm) {
        (None, None) => return None,
        (Some(vms), Some(per_vm)) if u64::from(vms) * u64::from(per_vm) == u64::from(total) => {
            Ok((vms, per_vm))
        }
        (Some(vms), Some(per_vm)) => Err(format!(
            "{total} GPUs in total does not match {vms} VMs x {per_vm} GPUs each; state the counts once"
        )),
        (Some(vms), None) if vms > 0 && total.is_multiple_of(vms) => Ok((vms, total / vms)),
        (Some(vms), None) => {
            // "T4 x1 on 2 VMs" most likely means one on each.
            let gpus = if total == 1 { "GPU" } else { "GPUs" };
            Err(format!(
                "{total} {gpus} in total cannot be spread evenly over {vms} VMs; for {total} on each VM write \"{total} {gpus} per VM\""
            ))
        }
        (None, Some(per_vm)) if per_vm > 0 && total.is_multiple_of(per_vm) => {
            Ok((total / per_vm, per_vm))
        }
        (None, Some(per_vm)) => Err(format!(
            "{total} GPUs in total is not a multiple of {per_vm} GPUs per VM"
        )),
    };
    Some(split)
}

/// Splits a total GPU count into VMs × GPUs per VM. Stated values win; otherwise the
/// current VM count is kept when it divides the total, else the fewest GPUs per VM the GPU
/// allows that divides the total within the policy (so "5 T4 GPUs" is 5 VMs × 1 GPU).
/// GPUs in total to split into VMs, and whether into as few VMs as possible (otherwise the
/// fewest GPUs per VM that keep the VM count within the policy).
struct Split {
    total: u32,
    packed: bool,
}

fn split_total(
    Split { total, packed }: Split,
    draft: &DeploymentDraft,
    current: Option<&DeploymentRequest>,
    gpu_id: &str,
    catalog: &Catalog,
    policy: &Policy,
) -> Result<(u32, u32), PlanError> {
    let conflict = |message: String| {
        PlanError::AmbiguousMention(ValidationErrors(vec![ValidationError::with_raw_value(
            "gpu_count",
            total.to_string(),
            message,
        )]))
    };
    if total == 0 {
        return Err(conflict(
            "0 GPUs in total is not a GPU deployment; ask for at least 1".to_owned(),
        ));
    }
    if let Some(stated) = split_as_stated(total, draft.vm_count, draft.gpu_count) {
        return stated.map_err(conflict);
    }
    let allowed = per_vm_counts(catalog, gpu_id);
    let fits = |per_vm: u32| {
        per_vm <= policy.max_gpus_per_vm
            && total.is_multiple_of(per_vm)
            && allowed.contains(&per_vm)
    };
    if let Some(current) = current
        && current.gpu_type == gpu_id
        && current.vm_count > 0
        && total.is_multiple_of(current.vm_count)
        && fits(total / current.vm_count)
    {
        return Ok((current.vm_count, total / current.vm_count));
    }
    let candidates: Vec<u32> = allowed.iter().copied().filter(|c| fits(*c)).collect();
    let chosen = if packed {
        candidates.iter().max()
    } else {
        candidates
            .iter()
            .find(|c| total / **c <= policy.max_vms)
            .or(candidates.first())
    };
    match chosen {
        Some(per_vm) => Ok((total / per_vm, *per_vm)),
        None => Err(conflict(format!(
            "{total} {gpu_id} GPUs cannot be split into VMs of {} GPUs each",
            allowed
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn rationale(mentions: &Mentions, editing: bool) -> String {
    let stated = stated_values(mentions);
    let what = if editing { "Edited" } else { "Planned" };
    if stated.is_empty() {
        format!(
            "{what} offline by the rule-based planner (no language model was used); the request states no explicit values, so everything comes from the catalog defaults."
        )
    } else {
        format!(
            "{what} offline by the rule-based planner (no language model was used) from what the request states: {}.",
            stated.join("; ")
        )
    }
}

fn stated_values(mentions: &Mentions) -> Vec<String> {
    let mut stated = Vec::new();
    let mut add = |label: &str, written: Option<&str>| {
        if let Some(written) = written {
            stated.push(format!("{label} \"{written}\""));
        }
    };
    add("VMs", mentions.vm_count.first().map(|m| m.written.as_str()));
    add(
        "GPUs per VM",
        mentions.gpus_per_vm.first().map(|m| m.written.as_str()),
    );
    add(
        "GPUs in total",
        mentions.total_gpus.first().map(|m| m.written.as_str()),
    );
    add("GPU", mentions.gpu_type.first().map(|m| m.written.as_str()));
    add(
        "machine type",
        mentions.machine_type.first().map(|m| m.written.as_str()),
    );
    add("zone", mentions.zone.first().map(|m| m.written.as_str()));
    add(
        "region",
        mentions.region.first().map(|m| m.written.as_str()),
    );
    add("area", mentions.area.first().map(|m| m.written.as_str()));
    add(
        "GPU requirement",
        mentions.gpu_requirement.first().map(|m| m.written.as_str()),
    );
    add(
        "disk",
        mentions
            .boot_disk_size_gb
            .first()
            .map(|m| m.written.as_str()),
    );
    stated
}

/// One sentence per value the request did not state: kept from the current deployment,
/// or a catalog default.
fn assumptions(
    built: &Built,
    resolved: &DeploymentRequest,
    ignored: &[String],
    catalog: &Catalog,
) -> Vec<String> {
    let draft = &built.draft;
    let mut out = vec!["Planned offline: no language model was consulted.".to_owned()];
    out.extend(ignored.iter().cloned());
    out.extend(built.notes.iter().cloned());
    out.extend(built.decided.iter().cloned());
    out.extend(built.kept.iter().cloned());
    if draft.name.is_none() {
        out.push(format!(
            "name {} derived from the request (default)",
            resolved.name
        ));
    }
    if draft.vm_count.is_none() {
        out.push(format!(
            "vm_count {} (default: the request states no VM count)",
            resolved.vm_count
        ));
    }
    if draft.gpu_type.is_none() && draft.machine_type.is_none() {
        out.push(format!(
            "gpu_type {} (default: the request names no GPU)",
            resolved.gpu_type
        ));
    }
    if draft.gpu_count.is_none() {
        out.push(format!("gpu_count {} per VM (default)", resolved.gpu_count));
    }
    if draft.machine_type.is_none() {
        out.push(format!(
            "machine_type {} (default for {} x {})",
            resolved.machine_type, resolved.gpu_count, resolved.gpu_type
        ));
    }
    if draft.zone.is_none() {
        let why = match draft.region.as_deref() {
            Some(region) => format!("a zone of {region} offering {}", resolved.gpu_type),
            None if resolved.region() == catalog.default_region() => format!(
                "the request names no region; the default region is {}",
                catalog.default_region()
            ),
            None => format!(
                "the request names no region and the default region {} does not offer {}",
                catalog.default_region(),
                resolved.gpu_type
            ),
        };
        out.push(format!("zone {} (default: {why})", resolved.zone));
    }
    if draft.boot_disk_size_gb.is_none() {
        out.push(format!(
            "boot_disk_size_gb {} (default)",
            resolved.boot_disk_size_gb
        ));
    }
    within_limits(out)
}

/// Keeps the assumptions within what `resolve` accepts: past the limit, the rest are joined
/// into one last item (cut at the length limit) rather than dropped silently.
pub(crate) fn within_limits(mut out: Vec<String>) -> Vec<String> {
    if out.len() > MAX_ASSUMPTIONS {
        let rest = out.split_off(MAX_ASSUMPTIONS - 1);
        let joined: String = rest.join("; ").chars().take(MAX_ASSUMPTION_CHARS).collect();
        out.push(joined);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflowing_assumptions_are_joined_not_dropped() {
        let many: Vec<String> = (0..25).map(|i| format!("item {i}")).collect();
        let kept = within_limits(many);
        assert_eq!(kept.len(), MAX_ASSUMPTIONS);
        assert_eq!(kept[MAX_ASSUMPTIONS - 2], "item 18");
        assert!(kept[MAX_ASSUMPTIONS - 1].starts_with("item 19; item 20"));
        assert!(kept[MAX_ASSUMPTIONS - 1].ends_with("item 24"));
        let long = vec!["x".repeat(300); 30];
        let kept = within_limits(long);
        assert_eq!(
            kept.last().map(|s| s.chars().count()),
            Some(MAX_ASSUMPTION_CHARS)
        );
    }
}
