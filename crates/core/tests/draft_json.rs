//! `DeploymentDraft::from_json`: strict reading of model output, all problems at once.

use promptops_core::{DeploymentDraft, ValidationErrors};
use serde_json::json;

fn errors_of(value: serde_json::Value) -> ValidationErrors {
    DeploymentDraft::from_json(&value).expect_err("draft should be rejected")
}

fn error_for<'a>(
    errors: &'a ValidationErrors,
    field: &'a str,
) -> &'a promptops_core::ValidationError {
    errors
        .for_field(field)
        .next()
        .unwrap_or_else(|| panic!("no error for {field}: {errors}"))
}

#[test]
fn a_complete_object_is_read() {
    let draft = DeploymentDraft::from_json(&json!({
        "name": "inference",
        "vm_count": 5,
        "gpu_type": "nvidia-tesla-t4",
        "gpu_count": 2,
        "machine_type": "n1-standard-8",
        "zone": "us-west1-b",
        "region": "us-west1",
        "boot_disk_size_gb": 200.0,
        "rationale": "serving",
        "assumptions": ["on-demand pricing"]
    }))
    .expect("valid draft");
    assert_eq!(draft.name.as_deref(), Some("inference"));
    assert_eq!(draft.vm_count, Some(5));
    assert_eq!(draft.gpu_count, Some(2));
    assert_eq!(draft.boot_disk_size_gb, Some(200));
    assert_eq!(draft.assumptions, ["on-demand pricing"]);
}

#[test]
fn nulls_and_missing_keys_are_absent() {
    let draft =
        DeploymentDraft::from_json(&json!({"vm_count": null, "zone": null, "assumptions": null}))
            .expect("nulls are fine");
    assert_eq!(draft, DeploymentDraft::default());
}

#[test]
fn a_non_object_is_rejected() {
    let errors = errors_of(json!(["vm_count", 5]));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors.0[0].field, "(top level)");
    assert!(errors.0[0].message.contains("JSON object"), "{errors}");
}

#[test]
fn unknown_keys_are_named_with_a_suggestion() {
    let errors = errors_of(json!({"vm_cout": 2, "user_data": "#!/bin/sh"}));
    let typo = error_for(&errors, "vm_cout");
    assert!(typo.message.contains("did you mean `vm_count`"), "{typo}");
    let other = error_for(&errors, "user_data");
    assert!(
        other.message.contains("allowed keys: name, vm_count"),
        "{other}"
    );
}

#[test]
fn wrong_json_types_name_field_and_type() {
    let errors = errors_of(json!({
        "name": 7,
        "vm_count": "5",
        "gpu_count": true,
        "zone": {"a": 1},
        "assumptions": "just one",
    }));
    assert_eq!(errors.len(), 5, "{errors}");
    assert_eq!(error_for(&errors, "name").value, "number 7");
    assert!(
        error_for(&errors, "name")
            .message
            .contains("expected a string")
    );
    assert_eq!(error_for(&errors, "vm_count").value, "a string");
    assert!(
        error_for(&errors, "vm_count")
            .message
            .contains("whole number")
    );
    assert_eq!(error_for(&errors, "gpu_count").value, "boolean true");
    assert_eq!(error_for(&errors, "zone").value, "an object");
    assert!(
        error_for(&errors, "assumptions")
            .message
            .contains("array of strings")
    );
}

#[test]
fn non_string_assumption_items_are_named_by_index() {
    let errors = errors_of(json!({"assumptions": ["fine", 3, null]}));
    assert_eq!(error_for(&errors, "assumptions[1]").value, "number 3");
    assert_eq!(error_for(&errors, "assumptions[2]").value, "null");
}

#[test]
fn negative_fractional_and_absurd_numbers_are_rejected() {
    let errors = errors_of(json!({
        "vm_count": -3,
        "gpu_count": 1.5,
        "boot_disk_size_gb": 1e300,
    }));
    assert_eq!(errors.len(), 3, "{errors}");
    let vm = error_for(&errors, "vm_count");
    assert_eq!(vm.value, "-3");
    assert!(vm.message.contains("negative"), "{vm}");
    let gpu = error_for(&errors, "gpu_count");
    assert_eq!(gpu.value, "1.5");
    assert!(gpu.message.contains("whole number"), "{gpu}");
    let disk = error_for(&errors, "boot_disk_size_gb");
    assert!(
        disk.message.contains("absurdly large; at most 1000000"),
        "{disk}"
    );

    let errors =
        errors_of(json!({"vm_count": 10_001u64, "gpu_count": u64::MAX, "boot_disk_size_gb": -0.5}));
    assert!(
        error_for(&errors, "vm_count")
            .message
            .contains("at most 10000")
    );
    assert!(
        error_for(&errors, "gpu_count")
            .message
            .contains("absurdly large")
    );
    assert!(
        error_for(&errors, "boot_disk_size_gb")
            .message
            .contains("negative")
    );
}

#[test]
fn display_lists_one_problem_per_line() {
    let errors = errors_of(json!({"vm_count": -1, "colour": "red", "zone": 5}));
    let text = errors.to_string();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(
        text.contains("vm_count = -1: must not be negative"),
        "{text}"
    );
    assert!(
        text.contains("zone = number 5: expected a string"),
        "{text}"
    );
}

#[test]
fn hostile_values_are_quoted_on_one_line() {
    let errors =
        errors_of(json!({"region": ["x"], "evil\nkey = \"${file(\\\"/etc/passwd\\\")}\"": 1}));
    let text = errors.to_string();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains(r#"\n"#), "newline should be escaped: {text}");
}
