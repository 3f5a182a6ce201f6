//! What the offline planner's behaviour tests share: a request planned from its text alone
//! with the embedded catalog and the default policy, and the catalog's GPU ids.

// Each test file uses its own part of this module.
#![allow(dead_code)]

use promptops_core::{Catalog, Policy};
use promptops_planner::{OfflinePlanner, PlanError, PlanInput, PlanOutcome};

pub const T4: &str = "nvidia-tesla-t4";
pub const L4: &str = "nvidia-l4";
pub const V100: &str = "nvidia-tesla-v100";
pub const A100: &str = "nvidia-tesla-a100";
pub const A100_80: &str = "nvidia-a100-80gb";
pub const H100: &str = "nvidia-h100-80gb";

pub fn plan(text: &str) -> Result<PlanOutcome, PlanError> {
    plan_input(&PlanInput {
        body: text.to_owned(),
        ..PlanInput::default()
    })
}

/// A whole input planned: an issue with a comment, or an edit of a deployment.
pub fn plan_input(input: &PlanInput) -> Result<PlanOutcome, PlanError> {
    OfflinePlanner::new().plan(input, Catalog::embedded(), &Policy::default())
}

pub fn planned(text: &str) -> PlanOutcome {
    plan(text).unwrap_or_else(|err| panic!("{text:?} was not planned:\n{err}"))
}

pub fn refusal(text: &str) -> PlanError {
    match plan(text) {
        Ok(outcome) => panic!("{text:?} should be refused, got {:?}", outcome.request),
        Err(err) => err,
    }
}

/// Asserts that `text` is refused with a message that says `words`.
pub fn assert_refused_saying(text: &str, words: &str) {
    let err = refusal(text).to_string();
    assert!(err.contains(words), "{text:?}: {err}");
}

/// Whether the plan's assumptions say `words`.
pub fn said(outcome: &PlanOutcome, words: &str) -> bool {
    outcome
        .request
        .assumptions
        .iter()
        .any(|a| a.contains(words))
}

/// How many of the plan's assumptions say `words`.
pub fn said_times(outcome: &PlanOutcome, words: &str) -> usize {
    outcome
        .request
        .assumptions
        .iter()
        .filter(|a| a.contains(words))
        .count()
}

/// Asserts that each text is planned as (VMs, GPUs per VM, GPU id).
pub fn assert_plans(cases: &[(&str, u32, u32, &str)]) {
    for &(text, vms, gpus_per_vm, gpu) in cases {
        let request = planned(text).request;
        assert_eq!(
            (
                request.vm_count,
                request.gpu_count,
                request.gpu_type.as_str()
            ),
            (vms, gpus_per_vm, gpu),
            "{text:?}"
        );
    }
}
