//! `/promptops configure`'s Terraform runs on the repository's own `terraform/`, without
//! machines: the runner's `apply -invoke` with Terraform 1.15.5, the vault stand-in on a real
//! OpenBao and the AAP stand-in, whose job template here only unwraps the launch's AppRole
//! secret_id and logs in with it (what the real playbook does first). The google stand-in
//! keeps the VMs in the state only.
//!
//! The defect this guards: the secret_id is single-use; once a job used it, the vault
//! provider drops it from the state on refresh (as the real one does with a used wrapping
//! token), so a bare `apply -invoke` finds the action's configuration unknown ("Partially
//! applied configuration"). The runner renews it first, with a targeted `-replace` that must
//! change nothing else.
//!
//! Needs the environments of scripts/setup-terraform.sh and scripts/setup-ansible.sh.

#[allow(dead_code)]
#[path = "support/openbao.rs"]
mod openbao;
#[allow(dead_code)]
#[path = "support/standin_cloud.rs"]
mod standin_cloud;
#[allow(dead_code)]
#[path = "support/terraform_1_15.rs"]
mod terraform;
#[allow(dead_code)]
#[path = "support/terraform.rs"]
mod tf;
#[allow(dead_code)]
#[path = "support/tools.rs"]
mod tools;

use std::path::Path;
use std::time::Duration;

use promptops_core::{Catalog, DeploymentRequest, RenderContext, render_tfvars};
use promptops_terraform::{
    ActionAddress, ApplyOutcome, ChangeAction, Invocation, PlanSpec, ResourceAddress, Runner,
    RunnerConfig, RunnerError, Source,
};
use promptops_testkit::{launcher_read_paths, terraform_1_15};
use secrecy::SecretString;
use serde_json::Value;

const DEPLOYMENT: &str = "renewal";
const ACTION: &str = "action.aap_job_launch.configure_vm";
const SECRET_ID: &str = "vault_approle_auth_backend_role_secret_id.configure";

fn write_repo(repo: &Path, bao: &openbao::OpenBao, aap: &standin_cloud::Aap, vms: u32) {
    let module = repo.join("terraform");
    if !module.exists() {
        terraform::copy_module_with_local_backend(&tf::terraform_dir(), &module);
    }
    let request = DeploymentRequest {
        name: DEPLOYMENT.into(),
        vm_count: vms,
        gpu_type: "nvidia-tesla-t4".into(),
        gpu_count: 1,
        machine_type: "n1-standard-4".into(),
        zone: "us-central1-a".into(),
        boot_disk_size_gb: Catalog::embedded().boot_disk().default_gb,
        rationale: String::new(),
        assumptions: Vec::new(),
    };
    let context = RenderContext {
        source: "owner/repo#9".into(),
        planner: "offline planner".into(),
    };
    let deployment = module.join("deployments").join(DEPLOYMENT);
    std::fs::create_dir_all(&deployment).unwrap();
    std::fs::write(
        deployment.join("terraform.tfvars"),
        render_tfvars(&request, &context),
    )
    .unwrap();
    std::fs::write(
        module.join("installation.auto.tfvars"),
        format!(
            "project = \"promptops-renewal\"\nvault_address = \"{}\"\naap_host = \"{}\"\naap_job_template_id = {}\nssh_source_ranges = [\"127.3.0.1/32\"]\napp_source_ranges = [\"127.3.0.1/32\"]\n",
            bao.addr,
            aap.url(),
            standin_cloud::JOB_TEMPLATE_ID
        ),
    )
    .unwrap();
}

fn runner(scratch: &Path, bao: &openbao::OpenBao, aap: &standin_cloud::Aap) -> Runner {
    let (terraform, cli_config) = terraform_1_15();
    let mut config = RunnerConfig::new(scratch.join("work"));
    config.terraform_bin = terraform;
    config.plugin_cache_dir = scratch.join("plugin-cache");
    config.timeout = Duration::from_secs(600);
    config.sandbox.writable.push(scratch.join("state"));
    config.sandbox.read_only.extend(launcher_read_paths());
    config.env = vec![(
        "TF_CLI_CONFIG_FILE".into(),
        cli_config.display().to_string(),
    )];
    config.secret_env = vec![
        ("VAULT_TOKEN".into(), SecretString::from(bao.token.clone())),
        ("AAP_TOKEN".into(), SecretString::from(aap.token.clone())),
    ];
    Runner::new(config).expect("runner settings are valid")
}

fn spec(scratch: &Path) -> PlanSpec {
    let mut spec = PlanSpec::new(Source::Directory(scratch.join("repo")), DEPLOYMENT);
    let state = scratch.join("state").join("{deployment}.tfstate");
    spec.backend_config = vec![("path".into(), state.display().to_string())];
    spec
}

/// The wrapped secret_id each job was launched with, oldest first.
fn wrapped_secret_ids(jobs: &[Value]) -> Vec<String> {
    jobs.iter()
        .map(|job| {
            let vars: Value = serde_json::from_str(job["extra_vars"].as_str().unwrap()).unwrap();
            vars["vault_wrapped_secret_id"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn configure_renews_the_used_secret_id_and_invokes_the_action_again() {
    let scratch = tempfile::Builder::new()
        .prefix("promptops-renewal-")
        .tempdir()
        .unwrap();
    let dir = scratch.path();
    std::fs::create_dir_all(dir.join("state")).unwrap();
    let tools = tools::Tools::from_env();
    let bao = openbao::OpenBao::start();
    let playbook =
        standin_cloud::repo_root().join("crates/infra-contract/tests/support/vault_login.yml");
    let aap = standin_cloud::Aap::start_with_playbook(
        &tools.python,
        &tools.ansible_bin,
        &dir.join("aap"),
        &playbook,
        serde_json::json!({}),
    );
    write_repo(&dir.join("repo"), &bao, &aap, 2);
    let runner = runner(dir, &bao, &aap);
    let spec = spec(dir);

    let applied = runner.apply(&spec).await.unwrap();
    assert_eq!(
        applied.outcome,
        ApplyOutcome::Applied,
        "{}",
        applied.output.text()
    );
    let jobs = aap.jobs();
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    assert_eq!(jobs[0]["status"], "successful", "{}", aap.stdout(1));

    // The job used the secret_id up: the action alone cannot run any more.
    let bare = runner.invoke(&spec, ACTION).await.unwrap();
    assert_eq!(bare.outcome, ApplyOutcome::Failed, "{}", bare.output.text());
    assert!(
        bare.output.contains("Partially applied configuration"),
        "{}",
        bare.output.text()
    );
    assert_eq!(aap.jobs().len(), 1);

    // What configure runs: a fresh secret_id, then the action.
    let invocation = Invocation::of(ActionAddress::parse(ACTION).unwrap())
        .renewing(ResourceAddress::parse(SECRET_ID).unwrap());
    let configured = runner.invoke_with(&spec, &invocation).await.unwrap();
    assert_eq!(
        configured.outcome,
        ApplyOutcome::Applied,
        "{}",
        configured.output.text()
    );
    assert_eq!(
        configured.actions_summary.as_deref(),
        Some("Actions: 1 invoked.")
    );
    let renewed: Vec<(&str, ChangeAction)> = configured
        .plan
        .changes
        .iter()
        .map(|c| (c.address.as_str(), c.action))
        .collect();
    assert_eq!(renewed, vec![(SECRET_ID, ChangeAction::Create)]);
    let jobs = aap.jobs();
    assert_eq!(jobs.len(), 2, "{jobs:#?}");
    assert_eq!(jobs[1]["status"], "successful", "{}", aap.stdout(2));
    let secrets = wrapped_secret_ids(&jobs);
    assert_ne!(
        secrets[0], secrets[1],
        "the second job got a fresh secret_id"
    );
    for text in [configured.output.text(), bare.output.text()] {
        assert!(!text.contains(&secrets[1]), "{text}");
    }

    // A deployment whose configuration changed since its last apply is not changed on the
    // side of a configuration run: the renewal is refused and nothing runs.
    write_repo(&dir.join("repo"), &bao, &aap, 3);
    let state_before = std::fs::read(dir.join("state/renewal.tfstate")).unwrap();
    let refused = runner.invoke_with(&spec, &invocation).await.unwrap_err();
    assert!(
        matches!(refused, RunnerError::RenewalWouldChangeMore { .. }),
        "{refused}"
    );
    let message = refused.to_string();
    assert!(
        message.contains("module.compute.google_compute_instance.vm[2] (create)")
            && message.contains("apply the configuration first"),
        "{message}"
    );
    assert_eq!(aap.jobs().len(), 2);
    assert_eq!(
        std::fs::read(dir.join("state/renewal.tfstate")).unwrap(),
        state_before
    );
}
