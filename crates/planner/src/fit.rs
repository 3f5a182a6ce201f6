//! Choices for needs described by size: the cheapest GPUs per VM that hold a model ("a 70B
//! model"), and the machine with the most GPU memory ("the biggest single node"). Every
//! candidate goes through `resolve`, so only what the catalog and the policy accept is
//! chosen; the sentence stating the choice goes to the plan's assumptions.

use promptops_core::{
    Catalog, DeploymentDraft, Policy, ValidationError, ValidationErrors, resolve,
};

use crate::PlanError;
use crate::mentions::{Mentioned, ModelMemory};

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

/// A candidate that passed `resolve`: GPU, GPUs per VM, GPU memory per VM, hourly cost.
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
pub(crate) fn fit_model(
    need: &Mentioned<ModelMemory>,
    draft: &DeploymentDraft,
    catalog: &Catalog,
    policy: &Policy,
) -> Result<(String, u32, String), PlanError> {
    let gb = need.value.gb_per_vm;
    let best = candidates(draft, catalog, policy)
        .into_iter()
        .filter(|c| c.memory_gb >= gb)
        .min_by(|a, b| a.hourly.total_cmp(&b.hourly));
    match best {
        Some(c) => Ok((
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
        )),
        None => Err(refused(
            "gpu_type",
            &need.written,
            format!(
                "{}; no VM this catalog and the policy allow has that much GPU memory (at most {} GPUs per VM); name a smaller model, a quantisation (\"in 4-bit\") or the GPUs you want",
                need.value.explanation, policy.max_gpus_per_vm
            ),
        )),
    }
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
