//! Properties of the offline planner: stated counts survive for every combination, and
//! whatever the text, a plan it returns is valid and matches every explicit value.

use promptops_core::{Catalog, Policy};
use promptops_planner::mentions::Mentions;
use promptops_planner::{OfflinePlanner, PlanInput};
use proptest::prelude::*;

const WORDS: [&str; 21] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
];

fn plan(text: &str) -> Result<promptops_core::DeploymentRequest, promptops_planner::PlanError> {
    let input = PlanInput {
        body: text.to_owned(),
        ..PlanInput::default()
    };
    OfflinePlanner::new()
        .plan(&input, Catalog::embedded(), &Policy::default())
        .map(|outcome| outcome.request)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn stated_vm_and_per_vm_counts_survive(
        vms in 1u32..=12,
        per_vm in prop::sample::select(vec![1u32, 2, 4]),
        in_words in any::<bool>(),
        region in prop::sample::select(vec!["us-west1", "us-central1", "europe-west4", "asia-east1"]),
        shape in 0usize..4,
    ) {
        let count = if in_words { WORDS[vms as usize].to_owned() } else { vms.to_string() };
        let text = match shape {
            0 => format!("{count} VMs with {per_vm} T4 GPUs each in {region}"),
            1 => format!("I need {count} machines in {region}, {per_vm} T4s per VM"),
            2 => format!("{region}: {count} instances, each with {per_vm} nvidia t4 gpus"),
            _ => format!("Please create {count} T4 nodes ({per_vm} GPUs per node) in {region}."),
        };
        let request = plan(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(request.vm_count, vms, "{}", text);
        prop_assert_eq!(request.gpu_count, per_vm, "{}", text);
        prop_assert_eq!(request.gpu_type.as_str(), "nvidia-tesla-t4");
        prop_assert_eq!(request.region(), region);
    }

    #[test]
    fn a_total_is_always_split_consistently(total in 1u32..=20, in_words in any::<bool>()) {
        let count = if in_words { WORDS[total as usize].to_owned() } else { total.to_string() };
        let text = format!("I need {count} T4 GPUs in us-west1");
        let request = plan(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(request.vm_count * request.gpu_count, total);
        prop_assert_eq!(request.gpu_count, 1, "one GPU per VM while the policy allows the VMs");
    }

    #[test]
    fn any_plan_returned_is_valid_and_honours_the_text(
        words in prop::collection::vec(
            prop::sample::select(vec![
                "5", "two", "a", "VMs", "machines", "GPUs", "each", "per", "VM", "with", "T4", "L4",
                "A100", "80GB", "v100", "us-west1", "europe-west4", "us-central1-a", "n1-standard-8",
                "g2-standard-8", "200GB", "disk", "boot", "in", "and", ",", ".", "total", "x", "4",
            ]),
            0..14,
        ),
    ) {
        let text = words.join(" ");
        if let Ok(request) = plan(&text) {
            let catalog = Catalog::embedded();
            prop_assert!(request.validate(catalog, &Policy::default()).is_ok(), "{text:?}: {request:?}");
            let mentions = Mentions::extract(&text, catalog).expect("planned, so no unknown names");
            prop_assert!(mentions.check(&request).is_empty(), "{text:?}: {request:?}");
        }
    }
}
