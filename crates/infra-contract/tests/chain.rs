//! The seed's whole chain behind the repository's own `terraform/`, by real parts: Terraform
//! 1.15.5 applies the module; the vault stand-in configures a real OpenBao (SSH CA, role,
//! policy, AppRole, a response-wrapped secret_id); the google stand-in has the Compute
//! stand-in boot every VM as an isolated machine on its own 127.2.x.y address, whose sshd is
//! set up by the instance's real startup script (it trusts only the deployment's CA) and
//! whose firewall is the module's; the action launches job template 17 on the AAP stand-in,
//! which runs the real `ansible/install_streamlit.yml` with ansible-core: it unwraps the
//! secret_id, logs in with AppRole, has OpenBao issue an SSH certificate, configures each VM
//! with it, and shreds it.
//!
//! Substitutions, on purpose and only these (the job template's own variables say them):
//! the machines have no systemd (`app_launcher=background`, the unit file is still written),
//! no package index (`streamlit_pip_args` point at a wheel mirror the machines see, holding
//! the stub `streamlit` wheel of tests/support/stub_streamlit_wheel.py, which serves the
//! deployed app's source), and the OS packages preinstalled (`os_packages_update_cache=false`).
//!
//! Needs root, and the environments of scripts/setup-terraform.sh and
//! scripts/setup-ansible.sh (scripts/test.sh provides all three).

// Only start(), cli() and ok() are used here.
#[allow(dead_code)]
#[path = "support/openbao.rs"]
mod openbao;
#[allow(dead_code)]
#[path = "support/playbook.rs"]
mod playbook;
#[path = "support/standin_cloud.rs"]
mod standin_cloud;
#[path = "support/terraform_1_15.rs"]
mod terraform;
#[allow(dead_code)]
#[path = "support/terraform.rs"]
mod tf;
#[allow(dead_code)]
#[path = "support/tools.rs"]
mod tools;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use openbao::OpenBao;
use promptops_core::{Catalog, DeploymentRequest, RenderContext, render_tfvars};
use serde_json::Value;
use standin_cloud::{Aap, Compute, HOST_ADDRESS, http};
use terraform::{Terraform, copy_module_with_local_backend};
use tools::Tools;

const DEPLOYMENT: &str = "chain-demo";
const PROJECT: &str = "promptops-chain";
const ZONE: &str = "us-central1-a";
const VAR_FILE: &str = "-var-file=deployments/chain-demo/terraform.tfvars";

struct Chain {
    scratch: tempfile::TempDir,
    bao: OpenBao,
    // Dropped before OpenBao: the job and the machines go first.
    aap: Aap,
    compute: Compute,
    terraform: Terraform,
    module: PathBuf,
}

impl Chain {
    fn start() -> Chain {
        let tools = Tools::from_env();
        let scratch = tempfile::Builder::new()
            .prefix("promptops-chain-")
            .tempdir()
            .unwrap();
        // Raw audit records carry every issued key and certificate: what must not survive
        // on the controller is read from them.
        let bao = OpenBao::start_with_raw_audit(&scratch.path().join("bao-audit.log"));
        let (compute, aap) =
            standin_cloud::start_chain_cloud(&tools.python, &tools.ansible_bin, scratch.path());
        let terraform = Terraform::from_env()
            .with_env("VAULT_TOKEN", &bao.token)
            .with_env("AAP_TOKEN", &aap.token)
            .with_env("GOOGLE_COMPUTE_CUSTOM_ENDPOINT", &compute.endpoint());
        let module = scratch.path().join("terraform");
        let chain = Chain {
            scratch,
            bao,
            aap,
            compute,
            terraform,
            module,
        };
        chain.write_module(&["127.3.0.1/32"]);
        chain
            .terraform
            .ok(&chain.module, &["init", "-input=false", "-no-color"]);
        chain
    }

    /// terraform/ with the deployment's rendered tfvars and the installation's settings.
    fn write_module(&self, app_source_ranges: &[&str]) {
        if !self.module.exists() {
            copy_module_with_local_backend(&tf::terraform_dir(), &self.module);
        }
        let request = DeploymentRequest {
            name: DEPLOYMENT.into(),
            vm_count: 2,
            gpu_type: "nvidia-tesla-t4".into(),
            gpu_count: 1,
            machine_type: "n1-standard-4".into(),
            zone: ZONE.into(),
            boot_disk_size_gb: Catalog::embedded().boot_disk().default_gb,
            rationale: String::new(),
            assumptions: Vec::new(),
        };
        let context = RenderContext {
            source: "owner/repo#7".into(),
            planner: "offline planner".into(),
        };
        let deployment = self.module.join("deployments").join(DEPLOYMENT);
        std::fs::create_dir_all(&deployment).unwrap();
        std::fs::write(
            deployment.join("terraform.tfvars"),
            render_tfvars(&request, &context),
        )
        .unwrap();
        std::fs::write(
            self.module.join("installation.auto.tfvars"),
            format!(
                "project             = \"{PROJECT}\"\n\
                 vault_address       = \"{}\"\n\
                 aap_host            = \"{}\"\n\
                 aap_job_template_id = {}\n\
                 ssh_source_ranges   = [\"{HOST_ADDRESS}/32\"]\n\
                 app_source_ranges   = {}\n",
                self.bao.addr,
                self.aap.url(),
                standin_cloud::JOB_TEMPLATE_ID,
                serde_json::to_string(app_source_ranges).unwrap(),
            ),
        )
        .unwrap();
    }

    fn terraform(&self, args: &[&str]) -> Output {
        self.terraform.run(&self.module, args)
    }

    fn outputs(&self) -> Value {
        serde_json::from_str(&self.terraform.ok(&self.module, &["output", "-json"])).unwrap()
    }

    /// Every SSH private key and certificate OpenBao issued, from its raw audit log.
    fn issued_certificates(&self) -> Vec<Value> {
        let log = std::fs::read_to_string(self.scratch.path().join("bao-audit.log")).unwrap();
        log.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|record| {
                record["type"] == "response"
                    && record["request"]["path"] == format!("ssh-{DEPLOYMENT}/issue/{DEPLOYMENT}")
            })
            .map(|record| record["response"]["data"].clone())
            .filter(|data| data["private_key"].is_string())
            .collect()
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// `ssh user@ip true` with only `key` (and its certificate, when `cert` is given).
fn ssh_login(dir: &Path, ip: &str, key: &Path, cert: Option<&Path>) -> Output {
    let mut command = Command::new("ssh");
    command.args([
        "-F",
        "/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
    ]);
    command.args(["-o", "IdentityAgent=none", "-o", "ConnectTimeout=10"]);
    command.args(["-o", "StrictHostKeyChecking=no"]);
    command.arg("-o").arg(format!(
        "UserKnownHostsFile={}",
        dir.join("known_hosts").display()
    ));
    command.arg("-o").arg(format!(
        "CertificateFile={}",
        cert.map(|c| c.display().to_string())
            .unwrap_or_else(|| "/dev/null".into())
    ));
    command.arg("-i").arg(key);
    command.arg(format!("promptops@{ip}")).arg("true");
    command.output().unwrap()
}

/// A key pair in `dir`, and with `ca` a certificate for `promptops` signed by it.
fn key_pair(dir: &Path, name: &str, ca: Option<&Path>) -> (PathBuf, Option<PathBuf>) {
    let key = dir.join(name);
    tools::keygen(&key);
    let cert = ca.map(|ca| {
        tools::run_ok(
            Command::new("ssh-keygen")
                .args(["-q", "-s"])
                .arg(ca)
                .args(["-I", name, "-n", "promptops", "-V", "+1h"])
                .arg(key.with_extension("pub")),
            "signing a certificate",
        );
        dir.join(format!("{name}-cert.pub"))
    });
    (key, cert)
}

fn assert_apps_answer(ips: &[String]) {
    for ip in ips {
        let (status, page) = http((ip.as_str(), 8501), "/", None)
            .unwrap_or_else(|| panic!("nothing answers on http://{ip}:8501/"));
        assert_eq!(status, 200, "http://{ip}:8501/: {page}");
        assert!(
            page.contains("PromptOps deployment") && page.contains(&format!("\"{DEPLOYMENT}\"")),
            "http://{ip}:8501/ does not serve the demo app of {DEPLOYMENT}:\n{page}"
        );
    }
}

#[test]
fn the_whole_chain_configures_every_vm_over_openbao_certificates_and_destroy_removes_it() {
    let chain = Chain::start();

    // Apply: VMs, firewall, Vault objects, the action, the job.
    let apply = chain.terraform(&[
        "apply",
        "-auto-approve",
        "-input=false",
        "-no-color",
        VAR_FILE,
    ]);
    let job_log = chain
        .aap
        .jobs()
        .first()
        .map(|job| chain.aap.stdout(job["id"].as_u64().unwrap()))
        .unwrap_or_default();
    assert!(
        apply.status.success()
            && text(&apply).contains(
                "Apply complete! Resources: 12 added, 0 changed, 0 destroyed. Actions: 1 invoked."
            ),
        "{}\njob output:\n{job_log}",
        text(&apply)
    );
    let jobs = chain.aap.jobs();
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    assert_eq!(jobs[0]["status"], "successful", "{job_log}");

    let outputs = chain.outputs();
    let ips = strings(&outputs["vm_ips"]["value"]);
    assert_eq!(ips.len(), 2);
    let instances = chain.compute.instances(PROJECT, ZONE);
    let running: Vec<&str> = instances
        .iter()
        .filter(|i| i["status"] == "RUNNING")
        .map(|i| i["natIP"].as_str().unwrap())
        .collect();
    assert_eq!(running.len(), 2, "{instances:#?}");
    assert!(ips.iter().all(|ip| running.contains(&ip.as_str())));
    assert_eq!(
        strings(&outputs["app_urls"]["value"]),
        ips.iter()
            .map(|ip| format!("http://{ip}:8501"))
            .collect::<Vec<_>>()
    );
    assert_apps_answer(&ips);

    // The VMs accept only certificates of the deployment's CA: not a plain key, not a
    // certificate of another CA, but one OpenBao issues for the deployment's role.
    let keys = chain.scratch.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let (plain, _) = key_pair(&keys, "plain", None);
    let (other_ca, _) = key_pair(&keys, "other-ca", None);
    let (foreign, foreign_cert) = key_pair(&keys, "foreign", Some(&other_ca));
    let issued: Value = serde_json::from_str(&chain.bao.ok(&[
        "write",
        "-format=json",
        &format!("ssh-{DEPLOYMENT}/issue/{DEPLOYMENT}"),
        "key_type=ed25519",
        "valid_principals=promptops",
    ]))
    .unwrap();
    let (vault_key, vault_cert) = (keys.join("vault"), keys.join("vault-cert.pub"));
    std::fs::write(&vault_key, issued["data"]["private_key"].as_str().unwrap()).unwrap();
    std::fs::write(&vault_cert, issued["data"]["signed_key"].as_str().unwrap()).unwrap();
    tools::run_ok(Command::new("chmod").arg("0600").arg(&vault_key), "chmod");
    for ip in &ips {
        let refused = ssh_login(&keys, ip, &plain, None);
        assert!(
            !refused.status.success() && text(&refused).contains("Permission denied"),
            "a plain key: {}",
            text(&refused)
        );
        let refused = ssh_login(&keys, ip, &foreign, foreign_cert.as_deref());
        assert!(
            !refused.status.success() && text(&refused).contains("Permission denied"),
            "another CA's certificate: {}",
            text(&refused)
        );
        let accepted = ssh_login(&keys, ip, &vault_key, Some(&vault_cert));
        assert!(
            accepted.status.success(),
            "OpenBao's certificate: {}",
            text(&accepted)
        );
    }

    // Failures are reported, and the firewall restricts what it says. The job's secret_id
    // was used up by its login, so the next apply mints a new one and the action fires
    // again; by then VM 1 is switched off, and the app port is open to another range only.
    let stopped = format!("{DEPLOYMENT}-1");
    chain.compute.stop_instance(PROJECT, ZONE, &stopped);
    chain.write_module(&["198.51.100.0/24"]);
    let failed = chain.terraform(&[
        "apply",
        "-auto-approve",
        "-input=false",
        "-no-color",
        VAR_FILE,
    ]);
    let jobs = chain.aap.jobs();
    assert_eq!(jobs.len(), 2, "{jobs:#?}");
    let failed_log = chain.aap.stdout(2);
    assert_eq!(jobs[1]["status"], "failed", "{failed_log}");
    // Terraform treats the failed job as a failed apply, naming the action and the job.
    assert!(!failed.status.success(), "{}", text(&failed));
    assert!(
        text(&failed).contains("Error when invoking action")
            && text(&failed).contains("AAP job failed: API Path: /api/controller/v2/jobs/2/"),
        "{}",
        text(&failed)
    );
    // The job names the host and the step; the other host was configured.
    assert!(
        failed_log.contains(&format!(
            "{} was not configured: Wait until the host accepts the certificate",
            ips[1]
        )),
        "{failed_log}"
    );
    assert!(
        !failed_log.contains(&format!("{} was not configured", ips[0])),
        "{failed_log}"
    );
    assert_eq!(
        http((ips[0].as_str(), 8501), "/", None),
        None,
        "{}:8501 answers",
        ips[0]
    );
    assert!(
        ssh_login(&keys, &ips[0], &vault_key, Some(&vault_cert))
            .status
            .success()
    );
    chain.write_module(&["127.3.0.1/32"]);

    // Nothing of either job's key and certificate is left on the controller, the failed
    // job's included.
    let certificates = chain.issued_certificates();
    assert!(
        certificates.len() >= 3,
        "each job and this test had one issued"
    );
    let needles: Vec<String> = certificates
        .iter()
        .flat_map(playbook::key_material)
        .collect();
    let leftovers = playbook::files_containing(&chain.aap.data_dir, &needles);
    assert!(
        leftovers.is_empty(),
        "key material left on the controller: {leftovers:#?}"
    );

    // Destroy removes the VMs and the deployment's Vault objects.
    let destroy = chain.terraform(&[
        "destroy",
        "-auto-approve",
        "-input=false",
        "-no-color",
        VAR_FILE,
    ]);
    assert!(
        // 11: the secret_id the last job used up left the state when Terraform refreshed it.
        destroy.status.success()
            && text(&destroy).contains("Destroy complete! Resources: 11 destroyed."),
        "{}",
        text(&destroy)
    );
    assert_eq!(chain.compute.instances(PROJECT, ZONE), Vec::<Value>::new());
    for ip in &ips {
        assert!(
            !ssh_login(&keys, ip, &vault_key, Some(&vault_cert))
                .status
                .success(),
            "{ip} still accepts logins after destroy"
        );
    }
    assert_eq!(
        chain.bao.deployment_objects_left(DEPLOYMENT),
        Vec::<String>::new()
    );
}
