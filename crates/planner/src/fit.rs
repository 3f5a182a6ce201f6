//! Choices for needs described by size: the cheapest GPUs per VM that hold a model ("a 70B
//! model"), the machine with the most GPU memory ("the biggest single node"), and the
//! cheapest machine type with the vCPUs and memory asked for ("32 vCPUs, 128GB RAM"). Every
//! candidate goes through `resolve`, so only what the catalog and the policy accept is
//! chosen; the sentence stating the choice goes to the plan's assumptions.

use promptops_core::{
    Catalog, DeploymentDraft, Policy, ValidationError, ValidationErrors, resolve,
};

use crate::PlanError;
use crate::mentions::{MachineSize, Mentioned, ModelMemory};

/// GPUs per VM a GPU type allows, ascending: the attached counts, or the counts of the
/// machine types it is built into.
pub(crate) fn per_vm_counts(catalog: &Catalog, gpu_id: &str) -> Vec<u32> {
    let Some(gpu) = catalog.gpu(gpu_id) else {
        return vec![1];
    };
    let mut counts: Vec<u32> = if gpu.is_built_in() {
        catalog
            .machine_types_with_builtin(gpu_id)
            .iter()
            .filter_map(|m| m.builtin_gpu.as_ref().map(|(_, c)| *c))
            .collect()
    } else {
        gpu.attached_counts().to_vec()
    };
    counts.sort_unstable();
    counts.dedup();
    counts
}

/// A candidate that passed `resolve`: GPU, GPUs per VM, GPU memory per VM, hourly cost of
/// one VM.
struct Candidate {
    gpu: String,
    per_vm: u32,
    memory_gb: u32,
    hourly: f64,
}

/// Every GPU × per-VM count the draft leaves open that the catalog and policy accept.
fn candidates(draft: &DeploymentDraft, catalog: &Catalog, policy: &Policy) -> Vec<Candidate> {
    let mut out = Vec::new();
    for gpu in catalog.gpus() {
        if draft.gpu_type.as_ref().is_some_and(|g| *g != gpu.id) || !policy.allows_gpu_type(&gpu.id)
        {
            continue;
        }
        for per_vm in per_vm_counts(catalog, &gpu.id) {
            if draft.gpu_count.is_some_and(|c| c != per_vm) {
                continue;
            }
            let mut trial = draft.clone();
            trial.gpu_type = Some(gpu.id.clone());
            trial.gpu_count = Some(per_vm);
            if let Ok(request) = resolve(trial, catalog, policy) {
                out.push(Candidate {
                    gpu: gpu.id.clone(),
                    per_vm,
                    memory_gb: gpu.memory_gb * per_vm,
                    hourly: catalog.estimate(&request).hourly_usd,
                });
            }
        }
    }
    out
}

fn refused(field: &str, written: &str, message: String) -> PlanError {
    PlanError::Rejected(ValidationErrors(vec![ValidationError::new(
        field, written, message,
    )]))
}

/// The cheapest GPU and count per VM holding the model, and the assumption saying so.
///
/// A stated total ("2 A100 80GB") is the request's, not the estimate's: only per-VM counts
/// that divide it are candidates (with a stated VM count, only the one it leaves), priced
/// for the whole deployment. When none of them holds the estimate, the one with the most
/// memory per VM is planned as asked and the shortfall said: the estimate is rough, and the
/// person may quantise without saying so.
pub(crate) fn fit_model(
    need: &Mentioned<ModelMemory>,
    draft: &DeploymentDraft,
    total: Option<u32>,
    catalog: &Catalog,
    policy: &Policy,
) -> Result<(String, u32, String), PlanError> {
    let gb = need.value.gb_per_vm;
    if let (Some(gpu), Some(per_vm)) = (&draft.gpu_type, draft.gpu_count) {
        return Ok((
            gpu.clone(),
            per_vm,
            stated_gpus_against(need, gpu, per_vm, catalog),
        ));
    }
    let vms_for = |per_vm: u32| match total {
        Some(total) => total / per_vm,
        None => 1,
    };
    let divides = |c: &Candidate| match (total, draft.vm_count) {
        (Some(total), Some(vms)) => u64::from(c.per_vm) * u64::from(vms) == u64::from(total),
        (Some(total), None) => total.is_multiple_of(c.per_vm),
        (None, _) => true,
    };
    let open: Vec<Candidate> = candidates(draft, catalog, policy)
        .into_iter()
        .filter(divides)
        .collect();
    let cost = |c: &Candidate| c.hourly * f64::from(vms_for(c.per_vm));
    let best = open
        .iter()
        .filter(|c| c.memory_gb >= gb)
        .min_by(|a, b| cost(a).total_cmp(&cost(b)).then(a.per_vm.cmp(&b.per_vm)));
    if let Some(c) = best {
        return Ok((
            c.gpu.clone(),
            c.per_vm,
            format!(
                "{}; planned with the cheapest fit: {} x {} per VM ({} GB), about {} per hour",
                need.value.explanation,
                c.per_vm,
                c.gpu,
                c.memory_gb,
                promptops_core::usd(c.hourly, 2)
            ),
        ));
    }
    let most = open.iter().max_by(|a, b| {
        a.memory_gb
            .cmp(&b.memory_gb)
            .then(b.hourly.total_cmp(&a.hourly))
    });
    match (total, most) {
        (Some(total), Some(c)) => Ok((
            c.gpu.clone(),
            c.per_vm,
            format!(
                "{}; the {total} GPUs asked for hold at most {} GB per VM ({} x {}): planned as asked, with the GPUs on as few VMs as they allow; if the model does not fit, quantise it (\"in 8-bit\") or ask for more GPUs",
                need.value.explanation, c.memory_gb, c.per_vm, c.gpu
            ),
        )),
        // Nothing passes at all ("an A100 80GB in Oregon", where none is offered): the
        // draft's own problem is the one to name, not the model's size.
        _ if open.is_empty()
            && let Err(errors) = resolve(draft.clone(), catalog, policy) =>
        {
            Err(PlanError::Rejected(errors))
        }
        _ => Err(refused(
            "gpu_type",
            &need.written,
            format!(
                "{}; no VM this catalog and the policy allow has that much GPU memory (at most {} GPUs per VM); name a smaller model, a quantisation (\"in 4-bit\") or the GPUs you want",
                need.value.explanation, policy.max_gpus_per_vm
            ),
        )),
    }
}

/// The model's need against GPUs the request names with their count per VM ("2 T4 GPUs per
/// VM for a 70B model"): planned as asked, and said whether they hold it. Before, nothing
/// was said when they did not.
fn stated_gpus_against(
    need: &Mentioned<ModelMemory>,
    gpu: &str,
    per_vm: u32,
    catalog: &Catalog,
) -> String {
    let held = catalog.gpu(gpu).map_or(0, |g| g.memory_gb) * per_vm;
    if held >= need.value.gb_per_vm {
        return format!(
            "{}; the {per_vm} x {gpu} per VM asked for hold {held} GB",
            need.value.explanation
        );
    }
    format!(
        "{}; the {per_vm} x {gpu} per VM asked for hold {held} GB: planned as asked; if the model does not fit, quantise it (\"in 8-bit\") or ask for more GPUs",
        need.value.explanation
    )
}

/// The GPU and count per VM with the most GPU memory (the dearer on a tie), and the
/// assumption saying so.
pub(crate) fn biggest(
    written: &str,
    draft: &DeploymentDraft,
    catalog: &Catalog,
    policy: &Policy,
) -> Result<(String, u32, String), PlanError> {
    let best = candidates(draft, catalog, policy)
        .into_iter()
        .max_by(|a, b| {
            a.memory_gb
                .cmp(&b.memory_gb)
                .then(a.hourly.total_cmp(&b.hourly))
        });
    match best {
        Some(c) => Ok((
            c.gpu.clone(),
            c.per_vm,
            format!(
                "\"{written}\" read as the VM with the most GPU memory the catalog and the policy allow: {} x {} ({} GB), about {} per hour",
                c.per_vm,
                c.gpu,
                c.memory_gb,
                promptops_core::usd(c.hourly, 2)
            ),
        )),
        None => Err(refused(
            "machine_type",
            written,
            "no GPU VM passes the catalog and the policy as drafted; name the GPU and count"
                .to_owned(),
        )),
    }
}

/// The cheapest machine type for the draft's GPUs (`gpu_id` when the draft names none) with
/// at least the stated vCPUs and memory, among those the catalog and the policy accept.
/// Nor less of either than the GPUs' default machine: "52GB of RAM" with 4 T4 is not a
/// machine with fewer vCPUs than the default's 16. Sets the draft's machine type (and its
/// GPUs per VM when they are built in) and returns the assumption saying so; nothing when
/// no size is stated or a machine type is named (checked against the size instead).
pub(crate) fn size_machine(
    size: Option<&Mentioned<MachineSize>>,
    draft: &mut DeploymentDraft,
    gpu_id: &str,
    catalog: &Catalog,
    policy: &Policy,
) -> Result<Option<String>, PlanError> {
    let Some(size) = size.filter(|_| draft.machine_type.is_none()) else {
        return Ok(None);
    };
    let mut default = draft.clone();
    default.gpu_type = Some(gpu_id.to_owned());
    let floor = resolve(default, catalog, policy)
        .ok()
        .and_then(|request| catalog.machine_type(&request.machine_type))
        .map_or((0, 0.0), |m| (m.vcpus, m.memory_gb));
    let mut fitting: Vec<(&promptops_core::MachineType, f64)> = Vec::new();
    let mut largest: Option<&promptops_core::MachineType> = None;
    for machine in catalog.machine_types() {
        let mut trial = draft.clone();
        trial.gpu_type = Some(gpu_id.to_owned());
        trial.machine_type = Some(machine.name.clone());
        if let Some((gpu, count)) = &machine.builtin_gpu {
            if gpu != gpu_id || draft.gpu_count.is_some_and(|c| c != *count) {
                continue;
            }
            trial.gpu_count = Some(*count);
        }
        let Ok(request) = resolve(trial, catalog, policy) else {
            continue;
        };
        if largest.is_none_or(|l| (machine.vcpus, machine.memory_gb) > (l.vcpus, l.memory_gb)) {
            largest = Some(machine);
        }
        if size.value.fits(machine.vcpus, machine.memory_gb)
            && machine.vcpus >= floor.0
            && machine.memory_gb >= floor.1
        {
            fitting.push((machine, catalog.estimate(&request).hourly_usd));
        }
    }
    let per_vm = draft.gpu_count.unwrap_or(1);
    if let Some((machine, hourly)) = fitting.into_iter().min_by(|a, b| a.1.total_cmp(&b.1)) {
        let builtin_count = machine.builtin_gpu.as_ref().map(|(_, count)| *count);
        let gpus = builtin_count.unwrap_or(per_vm);
        draft.machine_type = Some(machine.name.clone());
        draft.gpu_count = draft.gpu_count.or(builtin_count);
        return Ok(Some(format!(
            "machine_type {} ({} vCPUs, {} GB): the cheapest for {gpus} x {gpu_id} with at least {} (\"{}\"), about {}/hour in all",
            machine.name,
            machine.vcpus,
            machine.memory_gb,
            size.value,
            size.written,
            promptops_core::usd(hourly, 2)
        )));
    }
    let largest = largest.map_or_else(
        || "none passes the catalog and the policy".to_owned(),
        |m| {
            format!(
                "the largest is {} ({} vCPUs, {} GB)",
                m.name, m.vcpus, m.memory_gb
            )
        },
    );
    Err(refused(
        "machine_type",
        &size.written,
        format!(
            "no machine type for {per_vm} x {gpu_id} has at least {} (\"{}\"): {largest}; ask for less, or for more GPUs per VM",
            size.value, size.written
        ),
    ))
}
