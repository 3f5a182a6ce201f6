//! The contract between the renderer (`promptops_core::render_tfvars`), the catalog and the
//! root module in `terraform/`, checked by parsing the `.tf` files with hcl-rs, plus the
//! real `terraform fmt -check -recursive`.
//!
//! `terraform init`/`validate`/`plan` of the module with Terraform 1.15.5 and stand-ins of the
//! google, vault and ansible/aap providers are in root_module_plan.rs.

#[path = "support/terraform.rs"]
mod tf;

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

/// `local.gpus` and `local.builtin_gpus` of the compute module as plain maps.
/// GPU id -> (machine family, attachable counts).
type GpuTable = BTreeMap<String, (String, Vec<u32>)>;
/// Machine type -> (built-in GPU id, count).
type BuiltinTable = BTreeMap<String, (String, u32)>;

fn compute_tables() -> (GpuTable, BuiltinTable) {
    let compute = module("compute");
    let locals = tf::locals(&compute);
    let gpus = match tf::literal_json(locals.get("gpus").expect("compute module has local.gpus")) {
        serde_json::Value::Object(map) => map
            .into_iter()
            .map(|(id, entry)| {
                let family = entry["family"].as_str().expect("family string").to_string();
                let counts = entry["attached_counts"]
                    .as_array()
                    .expect("attached_counts list")
                    .iter()
                    .map(|c| c.as_u64().expect("count") as u32)
                    .collect();
                (id, (family, counts))
            })
            .collect(),
        other => panic!("local.gpus is {other:?}"),
    };
    let builtin = match tf::literal_json(
        locals
            .get("builtin_gpus")
            .expect("compute module has local.builtin_gpus"),
    ) {
        serde_json::Value::Object(map) => map
            .into_iter()
            .map(|(machine, entry)| {
                let gpu = entry["gpu"].as_str().expect("gpu string").to_string();
                let count = entry["count"].as_u64().expect("count") as u32;
                (machine, (gpu, count))
            })
            .collect(),
        other => panic!("local.builtin_gpus is {other:?}"),
    };
    (gpus, builtin)
}

#[test]
fn compute_module_handles_every_catalog_gpu() {
    let cat = catalog();
    let (gpus, builtin) = compute_tables();
    let mut problems = Vec::new();
    for gpu in cat.gpus() {
        let Some((family, counts)) = gpus.get(&gpu.id) else {
            problems.push(format!("{} is missing from local.gpus", gpu.id));
            continue;
        };
        match &gpu.attachment {
            GpuAttachment::Attached {
                family: want,
                counts: want_counts,
            } => {
                if family != want || counts != want_counts {
                    problems.push(format!(
                        "{}: module says {family} {counts:?}, catalog attaches to {want} {want_counts:?}",
                        gpu.id
                    ));
                }
            }
            GpuAttachment::BuiltIn => {
                if !counts.is_empty() {
                    problems.push(format!(
                        "{} is built in but the module would attach {counts:?}",
                        gpu.id
                    ));
                }
                let machines = cat.machine_types_with_builtin(&gpu.id);
                if machines.is_empty() {
                    problems.push(format!(
                        "{}: no catalog machine type has it built in",
                        gpu.id
                    ));
                }
                for machine in machines {
                    if &machine.family != family {
                        problems.push(format!(
                            "{}: family {family}, but {} is {}",
                            gpu.id, machine.name, machine.family
                        ));
                    }
                    let (_, count) = machine.builtin_gpu.clone().expect("builtin");
                    if builtin.get(&machine.name) != Some(&(gpu.id.clone(), count)) {
                        problems.push(format!(
                            "local.builtin_gpus[{}] is {:?}, catalog says ({}, {count})",
                            machine.name,
                            builtin.get(&machine.name),
                            gpu.id
                        ));
                    }
                }
            }
        }
    }
    for id in gpus.keys() {
        if cat.gpu(id).is_none() {
            problems.push(format!(
                "local.gpus has {id}, which the catalog does not know"
            ));
        }
    }
    for (machine, (gpu, _)) in &builtin {
        if !gpus.contains_key(gpu) {
            problems.push(format!(
                "local.builtin_gpus[{machine}] names unknown GPU {gpu}"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "compute module vs catalog:\n{}",
        problems.join("\n")
    );
}

#[test]
fn compute_module_attaches_gpus_only_on_n1_and_terminates_on_maintenance() {
    let compute = module("compute");
    let locals = tf::locals(&compute);
    assert_eq!(
        tf::text(&locals["attach_gpus"]),
        r#"local.machine_family == "n1""#
    );
    assert_eq!(
        tf::text(&locals["machine_family"]),
        r#"split("-", var.machine_type)[0]"#
    );

    let vm = tf::block(&compute, "resource", &["google_compute_instance", "vm"]);
    let body = vm.body();
    assert_eq!(
        tf::text(tf::required_attr(body, "count", "the VM resource")),
        "var.vm_count"
    );
    let name = tf::text(tf::required_attr(body, "name", "the VM resource"));
    assert!(
        name.contains("var.deployment_name"),
        "VM name {name} is not derived from the deployment"
    );

    let accel = tf::block(body, "dynamic", &["guest_accelerator"]);
    let for_each = tf::text(tf::required_attr(
        accel.body(),
        "for_each",
        "dynamic guest_accelerator",
    ));
    assert!(
        for_each.contains("local.attach_gpus"),
        "guest_accelerator not conditional on N1: {for_each}"
    );
    let content = tf::block(accel.body(), "content", &[]);
    assert_eq!(
        tf::text(tf::required_attr(content.body(), "type", "accelerator")),
        "var.gpu_type"
    );
    assert_eq!(
        tf::text(tf::required_attr(content.body(), "count", "accelerator")),
        "var.gpu_count"
    );

    let scheduling = tf::block(body, "scheduling", &[]);
    assert_eq!(
        tf::literal(tf::required_attr(
            scheduling.body(),
            "on_host_maintenance",
            "scheduling"
        )),
        Value::from("TERMINATE")
    );

    let labels = tf::text(&locals["labels"]);
    assert!(
        labels.contains("var.deployment_name") && labels.contains("var.source_issue"),
        "labels: {labels}"
    );

    let script =
        std::fs::read_to_string(tf::terraform_dir().join("modules/compute/startup.sh.tftpl"))
            .expect("startup script template");
    for needle in [
        "TrustedUserCAKeys",
        "${ca_public_key}",
        "AuthorizedKeysFile none",
        "PasswordAuthentication no",
        "systemctl restart",
    ] {
        assert!(script.contains(needle), "startup script lacks {needle:?}");
    }
}

#[test]
fn configuration_action_runs_after_create_and_update() {
    let root = root_module();
    let action = tf::block(&root, "action", &["aap_job_launch", "configure_vm"]);
    let config = tf::block(action.body(), "config", &[]);
    for name in ["job_template_id", "extra_vars", "wait_for_completion"] {
        tf::required_attr(config.body(), name, "action config");
    }
    assert!(
        tf::attr(config.body(), "timeouts").is_none(),
        "aap_job_launch has no timeouts"
    );
    assert_eq!(
        tf::text(tf::required_attr(
            config.body(),
            "extra_vars",
            "action config"
        )),
        "jsonencode(local.configure_extra_vars)"
    );

    let trigger = tf::block(&root, "resource", &["terraform_data", "aap_trigger"]);
    let input = tf::text(tf::required_attr(
        trigger.body(),
        "input",
        "terraform_data.aap_trigger",
    ));
    assert!(
        input.contains("module.compute.external_ips"),
        "trigger input does not track the VM IPs: {input}"
    );
    let lifecycle = tf::block(trigger.body(), "lifecycle", &[]);
    let action_trigger = tf::block(lifecycle.body(), "action_trigger", &[]);
    assert_eq!(
        tf::text(tf::required_attr(
            action_trigger.body(),
            "events",
            "action_trigger"
        )),
        "[after_create, after_update]"
    );
    assert_eq!(
        tf::text(tf::required_attr(
            action_trigger.body(),
            "actions",
            "action_trigger"
        )),
        "[action.aap_job_launch.configure_vm]"
    );
}

/// The variables play 1 of the playbook asserts to be defined.
fn playbook_required_vars() -> BTreeSet<String> {
    let path = tf::repo_root().join("ansible/install_streamlit.yml");
    let text = std::fs::read_to_string(&path).expect("ansible/install_streamlit.yml");
    let plays: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("playbook YAML");
    let first_task = &plays[0]["tasks"][0];
    let that = first_task["ansible.builtin.assert"]["that"]
        .as_sequence()
        .expect("assert.that list");
    let re = regex::Regex::new(r"^(\w+) is defined").expect("regex");
    let vars: BTreeSet<String> = that
        .iter()
        .filter_map(|c| c.as_str())
        .filter_map(|c| re.captures(c).map(|m| m[1].to_string()))
        .collect();
    assert!(
        vars.len() >= 5,
        "could not read the required variables from play 1: {vars:?}"
    );
    vars
}

#[test]
fn action_extra_vars_carry_everything_the_playbook_requires() {
    let root = root_module();
    let locals = tf::locals(&root);
    let Some(Expression::Object(extra)) = locals.get("configure_extra_vars") else {
        panic!("root module has no object local.configure_extra_vars");
    };
    let keys: BTreeSet<String> = extra.keys().map(tf::key_name).collect();
    let required = playbook_required_vars();
    let missing: Vec<&String> = required.difference(&keys).collect();
    assert!(
        missing.is_empty(),
        "extra_vars lack {missing:?} (has {keys:?})"
    );
    let wrapped = extra
        .iter()
        .find(|(k, _)| tf::key_name(k) == "vault_wrapped_secret_id")
        .map(|(_, v)| tf::text(v))
        .expect("extra_vars has vault_wrapped_secret_id");
    assert!(
        wrapped.contains("wrapping_token"),
        "the secret_id must reach AAP response-wrapped, got {wrapped}"
    );

    let secret_id = tf::block(
        &root,
        "resource",
        &["vault_approle_auth_backend_role_secret_id", "configure"],
    );
    tf::required_attr(secret_id.body(), "wrapping_ttl", "the AppRole secret_id");
}

#[test]
fn versions_pin_terraform_providers_and_a_partial_gcs_backend() {
    let root = root_module();
    let terraform = tf::block(&root, "terraform", &[]);
    assert_eq!(
        tf::literal(tf::required_attr(
            terraform.body(),
            "required_version",
            "terraform block"
        )),
        Value::from(">= 1.14.1")
    );
    let providers = tf::block(terraform.body(), "required_providers", &[]);
    let source_and_version = |name: &str| {
        let entry = tf::literal_json(tf::required_attr(
            providers.body(),
            name,
            "required_providers",
        ));
        (
            entry["source"].as_str().unwrap_or_default().to_string(),
            entry["version"].as_str().unwrap_or_default().to_string(),
        )
    };
    assert_eq!(source_and_version("google").0, "hashicorp/google");
    assert_eq!(source_and_version("vault").0, "hashicorp/vault");
    assert_eq!(
        source_and_version("aap"),
        ("ansible/aap".to_string(), ">= 1.4.0".to_string())
    );
    let backend = tf::block(terraform.body(), "backend", &["gcs"]);
    assert!(
        backend.body().attributes().next().is_none(),
        "backend \"gcs\" must stay partial (bucket and prefix come from init)"
    );
}

#[test]
fn firewall_opens_only_ssh_and_the_app_port_from_allowed_ranges() {
    let network = module("network");
    let rules = tf::blocks(&network, "resource", &["google_compute_firewall"]);
    assert_eq!(rules.len(), 2, "expected exactly two firewall rules");
    let mut ports = BTreeMap::new();
    for rule in rules {
        let body = rule.body();
        let name = tf::text(tf::required_attr(body, "name", "firewall rule"));
        assert!(
            name.contains("var.deployment_name"),
            "firewall rule name {name} is not per deployment"
        );
        let ranges = tf::text(tf::required_attr(body, "source_ranges", "firewall rule"));
        let allow = tf::block(body, "allow", &[]);
        let port = tf::text(tf::required_attr(allow.body(), "ports", "allow"));
        ports.insert(port, ranges);
    }
    assert_eq!(
        ports.get(r#"["22"]"#).map(String::as_str),
        Some("var.ssh_source_ranges"),
        "{ports:?}"
    );
    assert_eq!(
        ports.get("[tostring(var.app_port)]").map(String::as_str),
        Some("var.app_source_ranges"),
        "{ports:?}"
    );

    let root = root_module();
    assert_eq!(
        tf::literal(&tf::locals(&root)["app_port"]),
        Value::from(8501)
    );
    let ssh_ranges = tf::block(&root, "variable", &["ssh_source_ranges"]);
    assert!(
        tf::attr(ssh_ranges.body(), "default").is_none(),
        "SSH source ranges must be chosen, not defaulted"
    );
}

#[test]
fn outputs_list_vm_names_ips_and_app_urls() {
    let root = root_module();
    for name in ["vm_names", "vm_ips", "app_urls"] {
        tf::block(&root, "output", &[name]);
    }
    let urls = tf::text(tf::required_attr(
        tf::block(&root, "output", &["app_urls"]).body(),
        "value",
        "app_urls",
    ));
    assert!(
        urls.contains("http://${ip}:${local.app_port}"),
        "app_urls: {urls}"
    );
}

#[test]
fn vault_objects_are_named_after_the_deployment() {
    let vault = module("vault-ssh-ca");
    let locals = tf::locals(&vault);
    for name in ["mount_path", "ssh_role_name", "approle_name", "policy_name"] {
        let value = tf::text(
            locals
                .get(name)
                .unwrap_or_else(|| panic!("vault module has no local.{name}")),
        );
        assert!(
            value.contains("var.deployment_name"),
            "local.{name} = {value} is not per deployment"
        );
    }
    let role = tf::block(
        &vault,
        "resource",
        &["vault_ssh_secret_backend_role", "user"],
    );
    let body = role.body();
    assert_eq!(
        tf::literal(tf::required_attr(body, "key_type", "ssh role")),
        Value::from("ca")
    );
    assert_eq!(
        tf::literal(tf::required_attr(
            body,
            "allow_user_certificates",
            "ssh role"
        )),
        Value::from(true)
    );
    assert_eq!(
        tf::text(tf::required_attr(body, "allowed_users", "ssh role")),
        "var.ssh_user"
    );
    assert_eq!(
        tf::literal(tf::required_attr(body, "algorithm_signer", "ssh role")),
        Value::from("rsa-sha2-256")
    );
    let approle = tf::block(
        &vault,
        "resource",
        &["vault_approle_auth_backend_role", "configure"],
    );
    assert_eq!(
        tf::literal(tf::required_attr(
            approle.body(),
            "secret_id_num_uses",
            "approle"
        )),
        Value::from(1)
    );
    let policy = tf::text(tf::required_attr(
        tf::block(&vault, "resource", &["vault_policy", "ssh_issue"]).body(),
        "policy",
        "policy",
    ));
    assert!(
        policy.contains("/issue/"),
        "policy does not grant ssh issue: {policy}"
    );
    assert_eq!(
        policy.matches("path \"").count(),
        1,
        "the policy grants more than one path: {policy}"
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
