//! The repository's own `terraform/`, initialised, validated, planned and applied by real
//! Terraform 1.15.5 against stand-in providers that serve the real google, vault and
//! ansible/aap schemas (tools/standin-providers): a wrong argument, type or block in the
//! module fails here as it would against the real providers. The variables are those the
//! renderer writes for a request, plus the installation's settings.

// start_with_raw_audit() is for the chain tests.
#[allow(dead_code)]
#[path = "support/openbao.rs"]
mod openbao;
#[path = "support/terraform_1_15.rs"]
mod terraform;
// Only terraform_dir() is needed here.
#[allow(dead_code)]
#[path = "support/terraform.rs"]
mod tf;

use std::collections::BTreeSet;
use std::path::Path;

use openbao::OpenBao;
use promptops_core::{Catalog, DeploymentRequest, RenderContext, render_tfvars};
use promptops_testkit::{AapJobResult, FakeAap};
use serde_json::{Value, json};
use terraform::{Terraform, copy_module_with_local_backend};

/// The platform team's settings (what a shared *.auto.tfvars file holds).
fn installation_tfvars(aap_host: &str, vault_address: &str) -> String {
    format!(
        r#"project             = "promptops-sample"
ssh_source_ranges   = ["203.0.113.0/28"]
app_source_ranges   = ["198.51.100.0/24"]
vault_address       = "{vault_address}"
aap_host            = "{aap_host}"
aap_job_template_id = 17
"#
    )
}

const VAR_FILE: &str = "-var-file=deployments/llm-demo/terraform.tfvars";

fn sample_request() -> DeploymentRequest {
    DeploymentRequest {
        name: "llm-demo".into(),
        vm_count: 2,
        gpu_type: "nvidia-tesla-t4".into(),
        gpu_count: 1,
        machine_type: "n1-standard-4".into(),
        zone: "us-central1-a".into(),
        boot_disk_size_gb: Catalog::embedded().boot_disk().default_gb,
        rationale: String::new(),
        assumptions: Vec::new(),
    }
}

/// A copy of terraform/ with the sample's var files, initialised from the stand-ins' mirror.
fn initialised_module(terraform: &Terraform, dir: &Path) {
    initialised_module_with(
        terraform,
        dir,
        "https://aap.example.internal",
        "https://vault.example.internal:8200",
    );
}

fn initialised_module_with(terraform: &Terraform, dir: &Path, aap_host: &str, vault_address: &str) {
    copy_module_with_local_backend(&tf::terraform_dir(), dir);
    let ctx = RenderContext {
        source: "owner/repo#12".into(),
        planner: "offline planner".into(),
    };
    std::fs::create_dir_all(dir.join("deployments/llm-demo")).unwrap();
    std::fs::write(
        dir.join("deployments/llm-demo/terraform.tfvars"),
        render_tfvars(&sample_request(), &ctx),
    )
    .unwrap();
    std::fs::write(
        dir.join("installation.auto.tfvars"),
        installation_tfvars(aap_host, vault_address),
    )
    .unwrap();
    terraform.ok(dir, &["init", "-input=false", "-no-color"]);
}

fn change<'a>(plan: &'a Value, address: &str) -> &'a Value {
    plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|rc| rc["address"] == address)
        .unwrap_or_else(|| panic!("{address} is not in the plan"))
}

#[test]
fn the_root_module_validates_and_plans_the_vms_firewall_vault_objects_and_the_action() {
    let terraform = Terraform::from_env();
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("terraform");
    initialised_module(&terraform, &dir);

    let validate: Value =
        serde_json::from_str(&terraform.ok(&dir, &["validate", "-json", "-no-color"])).unwrap();
    assert_eq!(validate["valid"], true, "{validate:#}");
    assert_eq!(validate["warning_count"], 0, "{validate:#}");

    terraform.ok(
        &dir,
        &[
            "plan",
            "-input=false",
            "-no-color",
            VAR_FILE,
            "-out=sample.tfplan",
        ],
    );
    let plan: Value =
        serde_json::from_str(&terraform.ok(&dir, &["show", "-json", "sample.tfplan"])).unwrap();
    assert_eq!(plan["terraform_version"], "1.15.5");

    let planned: BTreeSet<(String, Vec<String>)> = plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rc| {
            let actions = rc["change"]["actions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect();
            (rc["address"].as_str().unwrap().to_owned(), actions)
        })
        .collect();
    let expected: BTreeSet<(String, Vec<String>)> = [
        "module.compute.google_compute_instance.vm[0]",
        "module.compute.google_compute_instance.vm[1]",
        "module.network.google_compute_firewall.ssh",
        "module.network.google_compute_firewall.app",
        "module.vault_ssh_ca.vault_mount.ssh",
        "module.vault_ssh_ca.vault_ssh_secret_backend_ca.this",
        "module.vault_ssh_ca.vault_ssh_secret_backend_role.user",
        "module.vault_ssh_ca.vault_policy.ssh_issue",
        "module.vault_ssh_ca.vault_approle_auth_backend_role.configure",
        "vault_approle_auth_backend_role_secret_id.configure",
        "terraform_data.targets",
        "terraform_data.aap_trigger",
    ]
    .into_iter()
    .map(|address| (address.to_owned(), vec!["create".to_owned()]))
    .collect();
    assert_eq!(planned, expected);

    let vm = &change(&plan, "module.compute.google_compute_instance.vm[1]")["change"]["after"];
    assert_eq!(vm["name"], "llm-demo-1");
    assert_eq!(vm["machine_type"], "n1-standard-4");
    assert_eq!(vm["zone"], "us-central1-a");
    assert_eq!(
        vm["guest_accelerator"],
        json!([{"type": "nvidia-tesla-t4", "count": 1}])
    );
    assert_eq!(vm["scheduling"][0]["on_host_maintenance"], "TERMINATE");
    assert_eq!(vm["tags"], json!(["promptops-llm-demo"]));
    assert_eq!(
        vm["metadata"],
        json!({"block-project-ssh-keys": "TRUE", "enable-oslogin": "FALSE"})
    );
    assert_eq!(
        vm["boot_disk"][0]["initialize_params"][0]["type"],
        "pd-balanced"
    );

    let ssh = &change(&plan, "module.network.google_compute_firewall.ssh")["change"]["after"];
    assert_eq!(ssh["source_ranges"], json!(["203.0.113.0/28"]));
    assert_eq!(ssh["allow"], json!([{"protocol": "tcp", "ports": ["22"]}]));
    let app = &change(&plan, "module.network.google_compute_firewall.app")["change"]["after"];
    assert_eq!(
        app["allow"],
        json!([{"protocol": "tcp", "ports": ["8501"]}])
    );
    assert_eq!(app["target_tags"], json!(["promptops-llm-demo"]));

    let role = &change(
        &plan,
        "module.vault_ssh_ca.vault_approle_auth_backend_role.configure",
    )["change"]["after"];
    assert_eq!(role["role_name"], "promptops-llm-demo");
    assert_eq!(role["secret_id_num_uses"], 1);
    assert_eq!(
        role["token_policies"],
        json!(["promptops-llm-demo-ssh-issue"])
    );
    let secret_id =
        &change(&plan, "vault_approle_auth_backend_role_secret_id.configure")["change"]["after"];
    assert_eq!(secret_id["wrapping_ttl"], "30m");

    let invocations = plan["action_invocations"].as_array().unwrap();
    assert_eq!(invocations.len(), 1, "{invocations:#?}");
    let action = &invocations[0];
    assert_eq!(action["address"], "action.aap_job_launch.configure_vm");
    assert_eq!(action["provider_name"], "registry.terraform.io/ansible/aap");
    assert_eq!(action["config_values"]["job_template_id"], 17);
    assert_eq!(action["config_values"]["wait_for_completion"], true);
    assert_eq!(
        action["lifecycle_action_trigger"]["triggering_resource_address"],
        "terraform_data.aap_trigger"
    );
    assert_eq!(
        action["lifecycle_action_trigger"]["action_trigger_event"],
        "AfterCreate"
    );
    // extra_vars carries the response-wrapped secret_id, known only at apply.
    assert_eq!(action["config_unknown"]["extra_vars"], true);
    assert_eq!(action["config_sensitive"]["extra_vars"], true);
}

#[test]
fn a_wrong_argument_name_for_any_of_the_three_providers_fails_validation() {
    let terraform = Terraform::from_env();
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("terraform");
    initialised_module(&terraform, &dir);
    // One misspelling at a time: Terraform stops validating at the first module in error.
    for (file, right, wrong) in [
        (
            "modules/compute/main.tf",
            "on_host_maintenance",
            "on_host_maintenence",
        ),
        (
            "modules/vault-ssh-ca/main.tf",
            "generate_signing_key",
            "generate_signing_keys",
        ),
        (
            "aap.tf",
            "wait_for_completion_timeout_seconds",
            "wait_for_completion_timeout",
        ),
    ] {
        let path = dir.join(file);
        let original = std::fs::read_to_string(&path).unwrap();
        assert!(original.contains(right), "{right} not in {file}");
        std::fs::write(&path, original.replacen(right, wrong, 1)).unwrap();

        let output = terraform.run(&dir, &["validate", "-json", "-no-color"]);
        std::fs::write(&path, &original).unwrap();
        assert!(
            !output.status.success(),
            "validate accepted {wrong} in {file}"
        );
        let validate: Value = serde_json::from_slice(&output.stdout).unwrap();
        let complaints: Vec<String> = validate["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                format!(
                    "{}: {}",
                    d["summary"].as_str().unwrap(),
                    d["detail"].as_str().unwrap()
                )
            })
            .collect();
        assert!(
            complaints
                .iter()
                .any(|c| c.starts_with("Unsupported argument")
                    && c.contains(&format!("\"{wrong}\""))),
            "no complaint about {wrong} in {file}: {complaints:#?}"
        );
    }
}

/// The vault stand-in applies to a real OpenBao dev server; the AAP controller is a fake.
#[tokio::test(flavor = "multi_thread")]
async fn apply_creates_the_vault_objects_in_openbao_fires_the_action_once_and_destroy_removes_them()
{
    let aap = FakeAap::start(AapJobResult::Successful).await;
    // Terraform and bao runs block; the fake AAP answers on the runtime's other threads.
    let bao = tokio::task::block_in_place(OpenBao::start);
    let terraform = Terraform::from_env().with_env("VAULT_TOKEN", &bao.token);
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("terraform");
    tokio::task::block_in_place(|| {
        initialised_module_with(&terraform, &dir, &aap.url(), &bao.addr);
        let apply = terraform.ok(
            &dir,
            &[
                "apply",
                "-auto-approve",
                "-input=false",
                "-no-color",
                VAR_FILE,
            ],
        );
        assert!(
            apply.contains(
                "Apply complete! Resources: 12 added, 0 changed, 0 destroyed. Actions: 1 invoked."
            ),
            "{apply}"
        );
    });
    let outputs: Value = serde_json::from_str(&tokio::task::block_in_place(|| {
        terraform.ok(&dir, &["output", "-json"])
    }))
    .unwrap();
    let ips: Vec<String> = outputs["vm_ips"]["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ip| ip.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ips.len(), 2);
    assert!(ips.iter().all(|ip| ip.starts_with("127.2.")), "{ips:?}");
    assert_eq!(
        outputs["app_urls"]["value"],
        json!(
            ips.iter()
                .map(|ip| format!("http://{ip}:8501"))
                .collect::<Vec<_>>()
        )
    );

    // What OpenBao now holds is what the state and the outputs say.
    let ca = tokio::task::block_in_place(|| bao.read("ssh-llm-demo/config/ca"));
    assert!(ca["public_key"].as_str().unwrap().starts_with("ssh-rsa "));
    assert_eq!(outputs["ssh_ca_public_key"]["value"], ca["public_key"]);
    let role = tokio::task::block_in_place(|| bao.read("ssh-llm-demo/roles/llm-demo"));
    assert_eq!(role["key_type"], "ca");
    assert_eq!(role["allowed_users"], "promptops");
    assert_eq!(role["algorithm_signer"], "rsa-sha2-256");
    let policy =
        tokio::task::block_in_place(|| bao.read("sys/policies/acl/promptops-llm-demo-ssh-issue"));
    assert!(
        policy["policy"]
            .as_str()
            .unwrap()
            .contains("path \"ssh-llm-demo/issue/llm-demo\""),
        "{policy:#}"
    );
    let role_id =
        tokio::task::block_in_place(|| bao.read("auth/approle/role/promptops-llm-demo/role-id"));

    let launches = aap.launches();
    assert_eq!(
        launches.len(),
        1,
        "the action fires once, after the trigger is created"
    );
    assert_eq!(launches[0].job_template_id, 17);
    let extra_vars: Value =
        serde_json::from_str(launches[0].body["extra_vars"].as_str().unwrap()).unwrap();
    assert_eq!(extra_vars["target_hosts"], ips.join(","));
    assert_eq!(extra_vars["vault_addr"], bao.addr);
    assert_eq!(extra_vars["vault_ssh_mount"], "ssh-llm-demo");
    assert_eq!(extra_vars["vault_ssh_role"], "llm-demo");
    assert_eq!(extra_vars["vault_role_id"], role_id["role_id"]);
    let replan = || {
        tokio::task::block_in_place(|| {
            terraform.run(
                &dir,
                &[
                    "plan",
                    "-input=false",
                    "-no-color",
                    "-detailed-exitcode",
                    VAR_FILE,
                ],
            )
        })
    };
    // Applied and unused: a second plan has nothing to do.
    let again = replan();
    assert_eq!(
        again.status.code(),
        Some(0),
        "a second plan has changes:\n{}\n{}",
        String::from_utf8_lossy(&again.stdout),
        String::from_utf8_lossy(&again.stderr)
    );
    // The wrapped secret_id is real and unwraps exactly once.
    let wrapped = extra_vars["vault_wrapped_secret_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let unwrapped: Value = serde_json::from_str(&tokio::task::block_in_place(|| {
        bao.ok(&["unwrap", "-format=json", &wrapped])
    }))
    .unwrap();
    assert!(
        unwrapped["data"]["secret_id"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{unwrapped:#}"
    );
    assert!(
        !tokio::task::block_in_place(|| bao.cli(&["unwrap", &wrapped]))
            .status
            .success()
    );

    // Once the job has used it, the wrapped secret_id is gone from the state (as with the
    // real vault provider): the next plan mints a new one and fires the action again, and
    // changes nothing else.
    let after_use = replan();
    let shown = String::from_utf8_lossy(&after_use.stdout);
    assert_eq!(after_use.status.code(), Some(2), "{shown}");
    assert!(
        shown.contains("vault_approle_auth_backend_role_secret_id.configure will be created")
            && shown.contains("Plan: 1 to add, 1 to change, 0 to destroy. Actions: 1 to invoke."),
        "{shown}"
    );
    assert_eq!(aap.launches().len(), 1);

    tokio::task::block_in_place(|| {
        let destroy = terraform.ok(
            &dir,
            &[
                "destroy",
                "-auto-approve",
                "-input=false",
                "-no-color",
                VAR_FILE,
            ],
        );
        assert!(
            destroy.contains("Destroy complete! Resources: 11 destroyed."),
            "{destroy}"
        );
        assert_eq!(
            bao.deployment_objects_left("llm-demo"),
            Vec::<String>::new()
        );
    });
}
