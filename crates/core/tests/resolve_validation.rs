//! Every validation rule of `resolve`, and the wording of its messages.

use promptops_core::{
    Catalog, DeploymentDraft, DeploymentRequest, Policy, ValidationError, ValidationErrors, resolve,
};

fn rejected_with(draft: DeploymentDraft, policy: &Policy) -> ValidationErrors {
    resolve(draft, Catalog::embedded(), policy).expect_err("draft should be rejected")
}

fn rejected(draft: DeploymentDraft) -> ValidationErrors {
    rejected_with(draft, &Policy::default())
}

fn only_error(errors: &ValidationErrors, field: &str) -> ValidationError {
    let matching: Vec<&ValidationError> = errors.for_field(field).collect();
    assert_eq!(
        matching.len(),
        1,
        "expected one error for {field}: {errors}"
    );
    matching[0].clone()
}

fn draft(gpu: &str) -> DeploymentDraft {
    DeploymentDraft {
        gpu_type: Some(gpu.to_string()),
        ..DeploymentDraft::default()
    }
}

#[test]
fn unknown_gpu_type_lists_the_catalog_ids() {
    let errors = rejected(draft("b200"));
    let error = only_error(&errors, "gpu_type");
    assert_eq!(error.value, "\"b200\"");
    assert!(
        error
            .message
            .starts_with("unknown GPU type; allowed: nvidia-tesla-t4, "),
        "{error}"
    );
    assert!(error.message.contains("nvidia-h100-80gb"), "{error}");
}

#[test]
fn gpu_not_offered_in_zone_lists_where_it_is() {
    let errors = rejected(DeploymentDraft {
        zone: Some("asia-south1-a".to_string()),
        ..draft("nvidia-tesla-v100")
    });
    let error = only_error(&errors, "zone");
    assert_eq!(
        error.message,
        "nvidia-tesla-v100 is not offered in asia-south1-a; it is offered in: us-central1-a, \
         us-central1-b, us-central1-c, us-central1-f, us-east1-c, us-west1-a, us-west1-b, \
         europe-west4-a, europe-west4-b, europe-west4-c, asia-east1-c"
    );
}

#[test]
fn unknown_zone_differs_from_a_zone_without_the_gpu() {
    let errors = rejected(DeploymentDraft {
        zone: Some("mars-1a".to_string()),
        ..draft("t4")
    });
    let error = only_error(&errors, "zone");
    assert!(
        error
            .message
            .starts_with("unknown zone; zones offering nvidia-tesla-t4: us-central1-a"),
        "{error}"
    );

    let errors = rejected(DeploymentDraft {
        zone: Some("us-west1".to_string()),
        ..draft("t4")
    });
    let error = only_error(&errors, "zone");
    assert_eq!(
        error.message,
        "unknown zone: that is a region; its zones offering nvidia-tesla-t4: us-west1-a, us-west1-b"
    );
}

#[test]
fn unknown_region_is_named_and_never_replaced_by_a_default() {
    let errors = rejected(DeploymentDraft {
        region: Some("us-centrl1".to_string()),
        ..draft("t4")
    });
    let error = only_error(&errors, "region");
    assert!(
        error
            .message
            .starts_with("unknown region (did you mean \"us-central1\"?)"),
        "{error}"
    );
}

#[test]
fn region_without_the_gpu_is_explained() {
    let errors = rejected(DeploymentDraft {
        region: Some("asia-south1".to_string()),
        ..draft("v100")
    });
    let error = only_error(&errors, "region");
    assert!(
        error.message.starts_with("nvidia-tesla-v100 is not offered in any zone of asia-south1; regions offering it: us-central1, us-east1"),
        "{error}"
    );
}

#[test]
fn zone_outside_the_requested_region_is_rejected() {
    let errors = rejected(DeploymentDraft {
        region: Some("us-west1".to_string()),
        zone: Some("us-central1-a".to_string()),
        ..draft("t4")
    });
    let error = only_error(&errors, "zone");
    assert!(
        error
            .message
            .starts_with("is in region us-central1, not in the requested region us-west1"),
        "{error}"
    );
}

#[test]
fn a100_only_rides_on_a2() {
    let errors = rejected(DeploymentDraft {
        machine_type: Some("n1-standard-8".to_string()),
        ..draft("a100")
    });
    let error = only_error(&errors, "machine_type");
    assert_eq!(
        error.message,
        "cannot carry nvidia-tesla-a100: it comes only built into a2-highgpu-1g, a2-highgpu-2g, \
         a2-highgpu-4g, a2-highgpu-8g, a2-megagpu-16g"
    );
}

#[test]
fn attached_gpus_need_an_n1_machine() {
    for machine in ["g2-standard-8", "a2-highgpu-1g"] {
        let errors = rejected(DeploymentDraft {
            machine_type: Some(machine.to_string()),
            ..draft("t4")
        });
        let error = only_error(&errors, "machine_type");
        assert!(
            error
                .message
                .contains("attaches only to N1 machine types (n1-*)"),
            "{error}"
        );
    }
}

#[test]
fn built_in_count_must_match_the_machine() {
    let errors = rejected(DeploymentDraft {
        machine_type: Some("a2-highgpu-2g".to_string()),
        gpu_count: Some(4),
        ..draft("a100")
    });
    let error = only_error(&errors, "gpu_count");
    assert_eq!(
        error.message,
        "a2-highgpu-2g has exactly 2 nvidia-tesla-a100 built in"
    );
}

#[test]
fn attached_count_must_be_an_allowed_count() {
    let errors = rejected(DeploymentDraft {
        gpu_count: Some(3),
        ..draft("t4")
    });
    let error = only_error(&errors, "gpu_count");
    assert_eq!(error.value, "3");
    assert_eq!(
        error.message,
        "nvidia-tesla-t4 can be attached 1, 2 or 4 per VM"
    );

    let errors = rejected(DeploymentDraft {
        gpu_count: Some(3),
        ..draft("l4")
    });
    let error = only_error(&errors, "gpu_count");
    assert_eq!(
        error.message,
        "nvidia-l4 comes built into machine types with 1, 2, 4 or 8 GPUs per VM"
    );
}

#[test]
fn too_many_vcpus_for_the_gpu_count_is_rejected() {
    let errors = rejected(DeploymentDraft {
        machine_type: Some("n1-standard-16".to_string()),
        ..draft("v100")
    });
    let error = only_error(&errors, "machine_type");
    assert_eq!(
        error.message,
        "has 16 vCPUs; a VM with 1 nvidia-tesla-v100 may have at most 12 vCPUs"
    );
}

#[test]
fn unknown_machine_type_suggests_the_closest() {
    let errors = rejected(DeploymentDraft {
        machine_type: Some("n1-standrd-4".to_string()),
        ..draft("t4")
    });
    let error = only_error(&errors, "machine_type");
    assert!(
        error.message.starts_with(
            "unknown machine type (did you mean \"n1-standard-4\"?); allowed: n1-standard-1"
        ),
        "{error}"
    );
}

#[test]
fn counts_must_be_at_least_one_and_within_policy() {
    let errors = rejected(DeploymentDraft {
        vm_count: Some(0),
        gpu_count: Some(0),
        ..draft("t4")
    });
    assert!(
        only_error(&errors, "vm_count")
            .message
            .starts_with("must be at least 1 VM")
    );
    assert!(
        only_error(&errors, "gpu_count")
            .message
            .starts_with("must be at least 1 GPU")
    );

    let errors = rejected(DeploymentDraft {
        vm_count: Some(21),
        ..draft("t4")
    });
    assert_eq!(
        only_error(&errors, "vm_count").message,
        "exceeds the policy's max_vms of 20"
    );

    let policy = Policy {
        max_gpus_per_vm: 2,
        ..Policy::default()
    };
    let errors = rejected_with(
        DeploymentDraft {
            gpu_count: Some(4),
            ..draft("t4")
        },
        &policy,
    );
    assert_eq!(
        only_error(&errors, "gpu_count").message,
        "exceeds the policy's max_gpus_per_vm of 2"
    );
}

#[test]
fn boot_disk_must_be_within_catalog_bounds() {
    for size in [5, 10_001] {
        let errors = rejected(DeploymentDraft {
            boot_disk_size_gb: Some(size),
            ..draft("t4")
        });
        let error = only_error(&errors, "boot_disk_size_gb");
        assert_eq!(error.value, size.to_string());
        assert_eq!(
            error.message,
            "must be between 10 and 10000 GB (default 100)"
        );
    }
}

#[test]
fn name_must_match_the_pattern() {
    for name in ["Inference", "1st", "a_b", "", "x".repeat(40).as_str()] {
        let errors = rejected(DeploymentDraft {
            name: Some(name.to_string()),
            ..draft("t4")
        });
        assert_eq!(errors.len(), 1, "{name:?}: {errors}");
        assert_eq!(errors.0[0].field, "name", "{name:?}");
    }
    let ok = resolve(
        DeploymentDraft {
            // 39 characters, the longest allowed, with as many dashes as the rule permits.
            name: Some(format!("a{}", "-b".repeat(19))),
            ..draft("t4")
        },
        Catalog::embedded(),
        &Policy::default(),
    );
    assert!(ok.is_ok(), "{ok:?}");
}

#[test]
fn policy_limits_regions_gpu_types_and_cost() {
    let policy = Policy {
        allowed_regions: vec!["us-west1".to_string()],
        allowed_gpu_types: vec!["nvidia-tesla-t4".to_string()],
        max_hourly_usd: 10.0,
        ..Policy::default()
    };
    let errors = rejected_with(
        DeploymentDraft {
            zone: Some("us-central1-a".to_string()),
            ..draft("v100")
        },
        &policy,
    );
    assert_eq!(
        only_error(&errors, "gpu_type").message,
        "not allowed by the policy; allowed GPU types: nvidia-tesla-t4"
    );
    assert_eq!(
        only_error(&errors, "zone").message,
        "region us-central1 is not allowed by the policy; allowed regions: us-west1"
    );

    // 19 × (0.19 + 0.35) = 10.26 > 10
    let errors = rejected_with(
        DeploymentDraft {
            vm_count: Some(19),
            ..draft("t4")
        },
        &policy,
    );
    let error = only_error(&errors, "estimated_hourly_usd");
    assert_eq!(error.value, "10.26");
    assert!(
        error
            .message
            .contains("exceeds the policy's max_hourly_usd of 10.00"),
        "{error}"
    );
    // 18 × 0.54 = 9.72 fits.
    let ok = resolve(
        DeploymentDraft {
            vm_count: Some(18),
            ..draft("t4")
        },
        Catalog::embedded(),
        &policy,
    );
    assert!(ok.is_ok(), "{ok:?}");
}

#[test]
fn default_policy_caps_an_expensive_h100_fleet() {
    let errors = rejected(DeploymentDraft {
        vm_count: Some(2),
        gpu_count: Some(8),
        ..draft("h100")
    });
    assert!(
        only_error(&errors, "estimated_hourly_usd")
            .message
            .contains("a3-highgpu-8g")
    );
}

#[test]
fn hostile_strings_are_rejected_by_name() {
    let cases = [
        ("gpu_type", "t4\" \nuser_data = \"x", "a double quote"),
        (
            "gpu_type",
            "${file(\"/etc/passwd\")}",
            "a Terraform interpolation `${`",
        ),
        (
            "zone",
            "us-west1-a%{ if true }",
            "a Terraform template directive `%{`",
        ),
        (
            "machine_type",
            "n1-standard-4\nmetadata = {}",
            "a line break",
        ),
        ("region", "us-west1 # comment", "a comment marker `#`"),
        ("name", "a = 1", "an HCL assignment `=`"),
        ("zone", "us-west1-a<<EOT", "a heredoc marker `<<`"),
        ("name", "it's", "a single quote"),
        ("machine_type", "n1\u{0}", "a control character (U+0000)"),
        ("zone", "us\u{2028}west", "the character '\\u{2028}'"),
    ];
    for (field, value, what) in cases {
        let mut d = DeploymentDraft::default();
        let slot = match field {
            "gpu_type" => &mut d.gpu_type,
            "zone" => &mut d.zone,
            "machine_type" => &mut d.machine_type,
            "region" => &mut d.region,
            _ => &mut d.name,
        };
        *slot = Some(value.to_string());
        let errors = rejected(d);
        let error = only_error(&errors, field);
        assert!(
            error
                .message
                .starts_with(&format!("contains {what}; only ")),
            "{field}={value:?}: {error}"
        );
        assert_eq!(
            errors.to_string().lines().count(),
            errors.len(),
            "one line per problem: {errors}"
        );
    }
}

#[test]
fn all_problems_are_reported_at_once() {
    let errors = rejected(DeploymentDraft {
        name: Some("Bad Name".to_string()),
        vm_count: Some(0),
        gpu_type: Some("v100".to_string()),
        gpu_count: Some(3),
        zone: Some("asia-south1-a".to_string()),
        boot_disk_size_gb: Some(1),
        ..DeploymentDraft::default()
    });
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    for field in ["name", "vm_count", "gpu_count", "zone", "boot_disk_size_gb"] {
        assert!(fields.contains(&field), "{field} missing from {errors}");
    }
}

#[test]
fn free_text_is_length_capped() {
    let errors = rejected(DeploymentDraft {
        rationale: Some("r".repeat(4_001)),
        assumptions: vec!["a".repeat(501); 21],
        ..draft("t4")
    });
    assert!(
        only_error(&errors, "rationale")
            .message
            .contains("at most 4000")
    );
    assert!(
        only_error(&errors, "assumptions")
            .message
            .contains("at most 20")
    );
    assert!(
        only_error(&errors, "assumptions[20]")
            .message
            .contains("at most 500")
    );
    // The quoted value is shortened.
    assert!(only_error(&errors, "rationale").value.chars().count() < 100);
}

#[test]
fn validate_rejects_an_edited_request() {
    let catalog = Catalog::embedded();
    let mut request: DeploymentRequest =
        resolve(draft("t4"), catalog, &Policy::default()).expect("valid");
    request.zone = "asia-east1-c".to_string();
    request.gpu_type = "T4".to_string();
    let errors = request
        .validate(catalog, &Policy::default())
        .expect_err("alias is not an id");
    assert_eq!(
        only_error(&errors, "gpu_type").message,
        "must be the catalog id \"nvidia-tesla-t4\""
    );
    request.gpu_type = "nvidia-tesla-t4".to_string();
    request.machine_type = "a2-highgpu-1g".to_string();
    assert!(request.validate(catalog, &Policy::default()).is_err());
}

#[test]
fn policy_check_names_unknown_entries() {
    let policy = Policy {
        allowed_regions: vec!["us-west1".to_string(), "mars".to_string()],
        allowed_gpu_types: vec!["T4".to_string()],
        max_vms: 0,
        ..Policy::default()
    };
    let problems = policy.check_against(Catalog::embedded());
    let fields: Vec<&str> = problems.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "policy.allowed_regions[1]",
            "policy.allowed_gpu_types[0]",
            "policy.max_vms"
        ]
    );
}

#[test]
fn policy_reads_from_yaml_like_json_and_rejects_unknown_keys() {
    let policy: Policy = serde_json::from_str(r#"{"max_vms": 3}"#).expect("partial policy");
    assert_eq!(policy.max_vms, 3);
    assert_eq!(policy.max_gpus_per_vm, 8);
    assert_eq!(policy.max_hourly_usd, 100.0);
    let err = serde_json::from_str::<Policy>(r#"{"max_vm": 3}"#).expect_err("unknown key");
    assert!(err.to_string().contains("max_vm"), "{err}");
}

#[test]
fn policy_entries_in_messages_stay_on_one_line() {
    let policy = Policy {
        allowed_regions: vec!["us-west1\nvm_count = 99".to_string()],
        ..Policy::default()
    };
    let errors = rejected_with(
        DeploymentDraft {
            zone: Some("us-central1-a".to_string()),
            ..draft("t4")
        },
        &policy,
    );
    assert_eq!(errors.to_string().lines().count(), 1, "{errors}");
    assert!(
        only_error(&errors, "zone")
            .message
            .ends_with(r"allowed regions: us-west1\nvm_count = 99")
    );
}
