//! The contract between the renderer (`promptops_core::render_tfvars`), the catalog and the
//! root module in `terraform/`, checked by parsing the `.tf` files with hcl-rs, plus the
//! real `terraform fmt -check -recursive`. Here: the variables and their validations; the
//! compute module's GPU tables in `compute`; the action, versions, firewall, outputs and
//! Vault objects in `wiring`.
//!
//! `terraform init`/`validate`/`plan` of the module with Terraform 1.15.5 and stand-ins of the
//! google, vault and ansible/aap providers are in root_module_plan.rs.

#[path = "support/terraform.rs"]
mod tf;

#[path = "terraform_contract/compute.rs"]
mod compute;
#[path = "terraform_contract/wiring.rs"]
mod wiring;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use hcl::{Body, Expression, Value};
use promptops_core::{
    Catalog, DeploymentRequest, GpuAttachment, NAME_PATTERN, Policy, RenderContext,
    TFVARS_ATTRIBUTES, render_tfvars,
};

fn catalog() -> &'static Catalog {
    Catalog::embedded()
}

fn root_module() -> Body {
    tf::parse_module(&tf::terraform_dir())
}

fn module(name: &str) -> Body {
    tf::parse_module(&tf::terraform_dir().join("modules").join(name))
}

fn request(gpu: &str, count: u32, machine: &str, zone: &str) -> DeploymentRequest {
    DeploymentRequest {
        name: "inference-demo".into(),
        vm_count: 2,
        gpu_type: gpu.into(),
        gpu_count: count,
        machine_type: machine.into(),
        zone: zone.into(),
        boot_disk_size_gb: catalog().boot_disk().default_gb,
        rationale: String::new(),
        assumptions: Vec::new(),
    }
}

/// Every (GPU, count, machine type) the catalog allows, each with the GPU's first zone.
fn catalog_combinations() -> Vec<DeploymentRequest> {
    let cat = catalog();
    let mut out = Vec::new();
    for gpu in cat.gpus() {
        let zone = gpu.zones.first().expect("a catalog GPU without zones");
        match &gpu.attachment {
            GpuAttachment::Attached { counts, .. } => {
                for &count in counts {
                    let machine = cat
                        .attached_defaults()
                        .iter()
                        .find(|d| d.gpu_count == count)
                        .map_or("n1-standard-4", |d| d.machine_type.as_str());
                    out.push(request(&gpu.id, count, machine, zone));
                }
            }
            GpuAttachment::BuiltIn => {
                for machine in cat.machine_types_with_builtin(&gpu.id) {
                    let (_, count) = machine.builtin_gpu.clone().expect("builtin machine type");
                    out.push(request(&gpu.id, count, &machine.name, zone));
                }
            }
        }
    }
    out
}

/// The values of a rendered tfvars file, as Terraform would read them.
fn rendered_values(req: &DeploymentRequest) -> BTreeMap<String, Value> {
    let ctx = RenderContext {
        source: "owner/repo#12".into(),
        planner: "offline planner".into(),
    };
    let rendered = render_tfvars(req, &ctx);
    let body: Body = hcl::from_str(&rendered)
        .unwrap_or_else(|e| panic!("rendered tfvars is not HCL: {e}\n{rendered}"));
    body.attributes()
        .map(|a| (a.key().to_string(), tf::literal(a.expr())))
        .collect()
}

/// Variables of the root module with their literal defaults.
fn variable_defaults(root: &Body) -> BTreeMap<String, Value> {
    tf::blocks(root, "variable", &[])
        .into_iter()
        .filter_map(|b| {
            let name = b.labels()[0].as_str().to_string();
            tf::attr(b.body(), "default").map(|d| (name, tf::literal(d)))
        })
        .collect()
}

/// Evaluates every `validation.condition` of variable `name`; returns the failing ones.
fn failing_conditions(root: &Body, name: &str, vars: &BTreeMap<String, Value>) -> Vec<String> {
    let variable = tf::block(root, "variable", &[name]);
    let ctx = tf::validation_context(vars);
    let mut failing = Vec::new();
    for validation in tf::blocks(variable.body(), "validation", &[]) {
        let condition = tf::required_attr(validation.body(), "condition", "a validation block");
        use hcl::eval::Evaluate;
        match condition.evaluate(&ctx) {
            Ok(Value::Bool(true)) => {}
            Ok(other) => failing.push(format!("`{}` gave {other:?}", tf::text(condition))),
            Err(e) => failing.push(format!("`{}` failed: {e}", tf::text(condition))),
        }
    }
    failing
}

#[test]
fn rendered_attributes_are_declared_request_variables_with_matching_types() {
    let root = root_module();
    let req = request("nvidia-tesla-t4", 1, "n1-standard-4", "us-central1-a");
    req.validate(catalog(), &Policy::default())
        .expect("the sample request is valid");
    let values = rendered_values(&req);
    let names: Vec<&str> = values.keys().map(String::as_str).collect();
    let mut expected = TFVARS_ATTRIBUTES.to_vec();
    expected.sort_unstable();
    assert_eq!(
        names, expected,
        "the renderer writes exactly TFVARS_ATTRIBUTES"
    );

    for (name, value) in &values {
        let variables = tf::blocks(&root, "variable", &[name]);
        assert_eq!(
            variables.len(),
            1,
            "terraform/ declares no variable `{name}` for the rendered attribute"
        );
        let body = variables[0].body();
        let declared = tf::text(tf::required_attr(body, "type", &format!("variable {name}")));
        let wanted = match value {
            Value::String(_) => "string",
            Value::Number(_) => "number",
            other => {
                panic!("renderer wrote {name} = {other:?}, which no variable type here expects")
            }
        };
        assert_eq!(
            declared, wanted,
            "variable {name} has type {declared}, the renderer writes a {wanted}"
        );
        assert!(
            tf::attr(body, "default").is_none(),
            "request variable {name} has a default: a missing tfvars value would go unnoticed"
        );
        assert!(
            !tf::blocks(body, "validation", &[]).is_empty(),
            "request variable {name} has no validation block"
        );
    }
}

#[test]
fn validations_accept_every_combination_the_catalog_allows() {
    let root = root_module();
    let defaults = variable_defaults(&root);
    let disk = catalog().boot_disk();
    let mut samples = catalog_combinations();
    assert!(
        samples.len() >= catalog().gpus().len(),
        "too few combinations: {}",
        samples.len()
    );
    // The extremes of the other values.
    let mut edge = request("nvidia-tesla-t4", 1, "n1-standard-4", "us-central1-a");
    edge.name = "a".into();
    edge.vm_count = Policy::default().max_vms;
    edge.boot_disk_size_gb = disk.min_gb;
    samples.push(edge.clone());
    // The longest name: 39 characters, dashes between (never two, never last).
    edge.name = format!("a{}", &"-9b".repeat(13)[..38]);
    assert!(promptops_core::is_valid_name(&edge.name), "{}", edge.name);
    edge.vm_count = 1;
    edge.boot_disk_size_gb = disk.max_gb;
    samples.push(edge);
    // Every zone of every region.
    for region in catalog().region_list() {
        for zone in &region.zones {
            samples.push(request("nvidia-tesla-t4", 1, "n1-standard-4", zone));
        }
    }

    let mut problems = Vec::new();
    for req in &samples {
        let mut vars = defaults.clone();
        vars.extend(rendered_values(req));
        for name in TFVARS_ATTRIBUTES {
            for failure in failing_conditions(&root, name, &vars) {
                problems.push(format!("{name} = {:?} rejected: {failure}", vars[name]));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "valid requests rejected by variables.tf:\n{}",
        problems.join("\n")
    );
}

#[test]
fn validations_reject_values_outside_the_catalog_rules() {
    let root = root_module();
    let mut base = variable_defaults(&root);
    base.extend(rendered_values(&request(
        "nvidia-tesla-t4",
        1,
        "n1-standard-4",
        "us-central1-a",
    )));
    let disk = catalog().boot_disk();
    let bad: Vec<(&str, Value)> = vec![
        ("deployment_name", Value::from("Inference")),
        ("deployment_name", Value::from("1st")),
        (
            "deployment_name",
            Value::from(format!("a{}", "b".repeat(39))),
        ),
        ("deployment_name", Value::from("has space")),
        ("vm_count", Value::from(0)),
        ("vm_count", Value::from(Policy::default().max_vms + 1)),
        ("vm_count", Value::from(1.5)),
        ("gpu_type", Value::from("nvidia-tesla-k80")),
        ("gpu_type", Value::from("T4")),
        ("gpu_count", Value::from(0)),
        ("gpu_count", Value::from(3)),
        ("machine_type", Value::from("e2-standard-4")),
        ("machine_type", Value::from("n1-standard-4; rm -rf /")),
        ("zone", Value::from("us-central1")),
        ("zone", Value::from("US-CENTRAL1-A")),
        ("boot_disk_size_gb", Value::from(disk.min_gb - 1)),
        ("boot_disk_size_gb", Value::from(disk.max_gb + 1)),
    ];
    let mut accepted = Vec::new();
    for (name, value) in bad {
        let mut vars = base.clone();
        vars.insert(name.to_string(), value.clone());
        if failing_conditions(&root, name, &vars).is_empty() {
            accepted.push(format!("{name} = {value:?}"));
        }
    }
    assert!(
        accepted.is_empty(),
        "variables.tf accepts invalid values:\n{}",
        accepted.join("\n")
    );
}

#[test]
fn deployment_name_rule_is_the_renderers_pattern() {
    let root = root_module();
    let variable = tf::block(&root, "variable", &["deployment_name"]);
    let validation = tf::block(variable.body(), "validation", &[]);
    let condition = tf::text(tf::required_attr(
        validation.body(),
        "condition",
        "deployment_name validation",
    ));
    assert!(
        condition.contains(&format!("{NAME_PATTERN:?}")),
        "deployment_name validation `{condition}` does not use NAME_PATTERN {NAME_PATTERN}"
    );
}

#[test]
fn gpu_type_validation_lists_exactly_the_catalog_gpus() {
    let root = root_module();
    let variable = tf::block(&root, "variable", &["gpu_type"]);
    let validation = tf::block(variable.body(), "validation", &[]);
    let condition = tf::required_attr(validation.body(), "condition", "gpu_type validation");
    let Expression::FuncCall(call) = condition else {
        panic!(
            "gpu_type validation should be contains([...], var.gpu_type), is `{}`",
            tf::text(condition)
        );
    };
    assert_eq!(call.name.to_string(), "contains");
    let listed: BTreeSet<String> = match tf::literal(&call.args[0]) {
        Value::Array(items) => items
            .into_iter()
            .map(|v| v.as_str().expect("string id").to_string())
            .collect(),
        other => panic!("contains() over {other:?}"),
    };
    let catalog_ids: BTreeSet<String> = catalog().gpus().iter().map(|g| g.id.clone()).collect();
    assert_eq!(
        listed, catalog_ids,
        "gpu_type validation and catalog disagree"
    );
}

fn terraform_bin() -> PathBuf {
    let bin = std::env::var_os("TERRAFORM_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/local/bin/terraform"));
    assert!(
        bin.is_file(),
        "terraform binary not found at {} (install Terraform or set TERRAFORM_BIN): `terraform fmt -check` cannot run",
        bin.display()
    );
    bin
}

#[test]
fn terraform_fmt_check_passes() {
    let bin = terraform_bin();
    let out = Command::new(&bin)
        .args(["fmt", "-check", "-recursive", "-diff"])
        .current_dir(tf::terraform_dir())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    assert!(
        out.status.success(),
        "terraform fmt -check -recursive found unformatted files ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
