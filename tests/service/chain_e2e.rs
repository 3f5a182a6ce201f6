//! The seed's timeline through the real `promptops serve` binary and the stateful fake
//! GitHub, against the repository's own `terraform/` and `ansible/` with real parts:
//! Terraform 1.15.5 and the stand-in providers, OpenBao, the Compute stand-in (every VM an
//! isolated machine with its own sshd on a 127.2.x.y address, set up by its startup script)
//! and the AAP stand-in running the real playbook (see crates/infra-contract/tests/chain.rs
//! for what they substitute and why). Issue → `/promptops plan` → PR with the tfvars → plan
//! comment of the real module → merge → apply → the action fires → the playbook configures
//! each VM with an OpenBao certificate → the apply comment's URLs answer with the demo app
//! → no key material left on the controller; `/promptops configure` runs the job again
//! with a fresh secret_id and certificate; with one VM switched off, `/promptops apply`
//! fails in the job and the apply comment and check name the host and the step;
//! `/promptops destroy` + merge removes the VMs and the deployment's Vault objects.
//!
//! Needs root and the environments of scripts/setup-terraform.sh and
//! scripts/setup-ansible.sh (scripts/test.sh provides all three).

use crate::support;

#[allow(dead_code)]
#[path = "../../crates/infra-contract/tests/support/openbao.rs"]
mod openbao;
#[allow(dead_code)]
#[path = "../../crates/infra-contract/tests/support/playbook.rs"]
mod playbook;
#[allow(dead_code)]
#[path = "../../crates/infra-contract/tests/support/standin_cloud.rs"]
mod standin_cloud;
#[allow(dead_code)]
#[path = "../../crates/infra-contract/tests/support/tools.rs"]
mod tools;

use std::path::Path;
use std::time::{Duration, Instant};

use promptops_testkit::FakeGithub;
use serde_json::Value;
use support::serve_process::ServeProcess;
use support::{INSTALLATION, IssueRef, OWNER, REPO, comment_payload, pr_payload};

const DEPLOYMENT: &str = "chain-e2e";
const REQUEST: &str =
    "I need 2 VMs with 1 T4 GPU each in us-central1 for a demo, deployment named chain-e2e";

/// Every file of `dir` (recursively) as (path under `prefix`, content).
fn files_under(dir: &Path, prefix: &str) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let name = format!("{prefix}/{}", entry.file_name().to_string_lossy());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != ".terraform" {
                files.extend(files_under(&entry.path(), &name));
            }
        } else {
            files.push((name, std::fs::read(entry.path()).unwrap()));
        }
    }
    files
}

async fn deliver(base: &str, event: &str, delivery: &str, payload: &Value) {
    let answer = support::serve_process::deliver_to(base, event, delivery, payload).await;
    assert_eq!(answer, 202, "{event} {delivery}");
}

/// Waits up to `minutes` for `found` to return something.
async fn wait_for<T>(what: &str, minutes: u64, mut found: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(minutes * 60);
    loop {
        if let Some(value) = found() {
            return value;
        }
        assert!(Instant::now() < deadline, "waited {minutes} min for {what}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The distinct `http://127.2.x.y:8501` addresses a comment names.
fn app_urls(comment: &str) -> Vec<String> {
    let mut urls: Vec<String> = comment
        .match_indices("http://127.2.")
        .filter_map(|(at, _)| {
            let rest = &comment[at..];
            let end = rest.find(":8501")?;
            let host = &rest["http://".len()..end];
            host.chars()
                .all(|c| c.is_ascii_digit() || c == '.')
                .then(|| format!("http://{host}:8501"))
        })
        .collect();
    urls.sort();
    urls.dedup();
    urls
}

fn comment_with(github: &FakeGithub, number: u64, needles: &[&str]) -> Option<String> {
    github
        .comments(REPO, number)
        .into_iter()
        .map(|c| c.body)
        .find(|body| needles.iter().all(|n| body.contains(n)))
}

/// Every SSH key and certificate OpenBao issued, from its raw audit log.
fn issued_certificates(scratch: &Path) -> Vec<Value> {
    let audit = std::fs::read_to_string(scratch.join("bao-audit.log")).unwrap();
    audit
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|r| r["type"] == "response" && r["response"]["data"]["private_key"].is_string())
        .map(|r| r["response"]["data"].clone())
        .collect()
}

/// VM 1 switched off, `/promptops apply` on the merged pull request mints a new secret_id
/// and fires the action; the job fails on VM 1, and the apply comment and its check say
/// so: host, step, the job's page, and that `/promptops configure` retries. The failed
/// apply keeps the deployment locked: `/promptops unlock` releases it for what follows.
async fn failed_configuration_is_reported(
    base: &str,
    github: &FakeGithub,
    compute: &standin_cloud::Compute,
    aap: &standin_cloud::Aap,
    issue: &IssueRef,
    pr: u64,
    urls: &[String],
) {
    // VM 1 by its name: the app URLs are listed by address, not by the instance's index.
    let name = format!("{DEPLOYMENT}-1");
    let instances = compute.instances("promptops-e2e", "us-central1-a");
    let vm_1 = instances
        .iter()
        .find(|i| i["name"] == name.as_str())
        .and_then(|i| i["natIP"].as_str())
        .unwrap_or_else(|| panic!("no address for {name} in {instances:#?}"));
    assert!(
        urls.iter().any(|url| url == &format!("http://{vm_1}:8501")),
        "{vm_1} is not among the apply comment's app URLs {urls:?}"
    );
    compute.stop_instance("promptops-e2e", "us-central1-a", &name);
    let pr_ref = IssueRef {
        number: pr,
        title: "GPU demo".into(),
        body: String::new(),
        is_pull_request: true,
    };
    deliver(
        base,
        "issue_comment",
        "e2e-retry",
        &comment_payload(&pr_ref, "alice", "/promptops apply"),
    )
    .await;
    let failed = wait_for("the failed apply comment", 10, || {
        comment_with(
            github,
            pr,
            &[&format!("❌ Terraform apply for `{DEPLOYMENT}`")],
        )
    })
    .await;
    let jobs = aap.jobs();
    assert_eq!(jobs.len(), 3, "{failed}");
    assert_eq!(jobs[2]["status"], "failed", "{}", aap.stdout(3));
    let block = configuration_block(&failed)
        .replace(vm_1, "<vm-1>")
        .replace(&aap.url(), "<aap>");
    // The task's message is the SSH client's (how the connection failed varies).
    let (step, message) = block
        .split_once("**: ")
        .unwrap_or_else(|| panic!("no step with a message in:\n{block}"));
    assert!(message.contains("<vm-1>"), "{block}");
    let rest = message.split_once('\n').map_or("", |(_, rest)| rest);
    let pinned = format!("{step}**: <message>\n{rest}");
    insta::assert_snapshot!("chain_e2e_configuration_failed", pinned);
    let check = github
        .check_runs()
        .into_iter()
        .filter(|c| c.name == "promptops/apply" && c.status == "completed")
        .max_by_key(|c| c.id)
        .unwrap();
    assert_eq!(check.conclusion.as_deref(), Some("failure"));
    let summary = check.summary.unwrap_or_default();
    assert!(
        summary
            .replace(vm_1, "<vm-1>")
            .replace(&aap.url(), "<aap>")
            .contains(&block),
        "{summary}"
    );
    deliver(
        base,
        "issue_comment",
        "e2e-unlock",
        &comment_payload(issue, "alice", "/promptops unlock"),
    )
    .await;
    wait_for("the unlock", 3, || {
        comment_with(github, issue.number, &["Unlocked deployment"])
    })
    .await;
}

/// The configuration failure block (the caution alert holding "Configuration failed").
fn configuration_block(comment: &str) -> String {
    let start = comment
        .find("> [!CAUTION]\n> **Configuration failed")
        .unwrap_or_else(|| panic!("no configuration block in:\n{comment}"));
    let block: Vec<&str> = comment[start..]
        .lines()
        .take_while(|line| line.starts_with('>'))
        .collect();
    block.join("\n") + "\n"
}

#[tokio::test(flavor = "multi_thread")]
async fn an_issue_becomes_configured_vms_whose_apps_answer_and_destroy_removes_them() {
    let scratch = tempfile::Builder::new()
        .prefix("promptops-e2e-")
        .tempdir()
        .unwrap();
    let tools = tools::Tools::from_env();
    let (bao, compute, aap) = tokio::task::block_in_place(|| {
        let bao = openbao::OpenBao::start_with_raw_audit(&scratch.path().join("bao-audit.log"));
        let (compute, aap) =
            standin_cloud::start_chain_cloud(&tools.python, &tools.ansible_bin, scratch.path());
        (bao, compute, aap)
    });

    // The infrastructure repository: this repository's terraform/, a local backend, and
    // the installation's settings.
    let github = FakeGithub::start().await;
    github.add_repo(REPO);
    github.add_installation(INSTALLATION, OWNER);
    github.set_permission(REPO, "alice", "admin");
    let state = scratch.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let mut files = files_under(&standin_cloud::repo_root().join("terraform"), "terraform");
    files.push((
        "terraform/backend_override.tf".into(),
        b"terraform {\n  backend \"local\" {}\n}\n".to_vec(),
    ));
    files.push((
        "terraform/environment.auto.tfvars".into(),
        format!(
            "project = \"promptops-e2e\"\nvault_address = \"{}\"\naap_host = \"{}\"\naap_job_template_id = {}\nssh_source_ranges = [\"{h}/32\"]\napp_source_ranges = [\"{h}/32\"]\n",
            bao.addr,
            aap.url(),
            standin_cloud::JOB_TEMPLATE_ID,
            h = standin_cloud::HOST_ADDRESS,
        )
        .into_bytes(),
    ));
    files.push((
        ".github/promptops.yml".into(),
        format!(
            "terraform:\n  backend_config:\n    path: \"{}/{{deployment}}.tfstate\"\n",
            state.display()
        )
        .into_bytes(),
    ));
    let files: Vec<(&str, Option<&[u8]>)> = files
        .iter()
        .map(|(path, content)| (path.as_str(), Some(content.as_slice())))
        .collect();
    github.commit_files(
        REPO,
        "main",
        &files,
        "The root module and PromptOps settings",
    );

    let launcher =
        std::env::var("PROMPTOPS_TEST_TERRAFORM_1_15").expect("setup-terraform.sh's exports");
    let read_paths = std::env::var("PROMPTOPS_TEST_TERRAFORM_READ_PATHS")
        .unwrap()
        .replace(':', ",");
    let server = ServeProcess::start(
        &github,
        &[],
        &[
            ("TERRAFORM_BIN", launcher),
            (
                "TF_CLI_CONFIG_FILE",
                std::env::var("PROMPTOPS_TEST_TERRAFORM_CLI_CONFIG").unwrap(),
            ),
            ("GOOGLE_COMPUTE_CUSTOM_ENDPOINT", compute.endpoint()),
            (
                "PROMPTOPS_TERRAFORM_ENV",
                "TF_CLI_CONFIG_FILE,GOOGLE_COMPUTE_CUSTOM_ENDPOINT".into(),
            ),
            ("PROMPTOPS_TERRAFORM_BIND_RO", read_paths),
            ("PROMPTOPS_TERRAFORM_BIND", state.display().to_string()),
            ("VAULT_ADDR", bao.addr.clone()),
            ("VAULT_TOKEN", bao.token.clone()),
            ("AAP_HOSTNAME", aap.url()),
            ("AAP_TOKEN", aap.token.clone()),
            ("PROMPTOPS_AAP_URL", aap.url()),
            ("PROMPTOPS_AAP_TOKEN", aap.token.clone()),
        ],
    )
    .await;
    let base = server.base.clone();

    // Issue → /promptops plan → a PR with the tfvars.
    let number = github.add_issue(REPO, "alice", "GPU demo", REQUEST);
    let issue = IssueRef {
        number,
        title: "GPU demo".into(),
        body: REQUEST.into(),
        is_pull_request: false,
    };
    deliver(
        &base,
        "issue_comment",
        "e2e-1",
        &comment_payload(&issue, "alice", "/promptops plan"),
    )
    .await;
    let pr = wait_for("the pull request", 3, || {
        github.prs().into_iter().find(|p| p.open)
    })
    .await;
    let tfvars = github
        .file(
            REPO,
            &pr.head_ref,
            &format!("terraform/deployments/{DEPLOYMENT}/terraform.tfvars"),
        )
        .expect("the PR holds the deployment's tfvars");
    assert!(
        tfvars.contains("vm_count = 2") && tfvars.contains("deployment_name = \"chain-e2e\""),
        "{tfvars}"
    );

    // The plan comment of the real module: VMs, firewall, Vault objects, the action.
    deliver(
        &base,
        "pull_request",
        "e2e-2",
        &pr_payload(&github, "opened", pr.number),
    )
    .await;
    let plan = wait_for("the plan comment", 10, || {
        comment_with(
            &github,
            pr.number,
            &[&format!("Terraform plan for `{DEPLOYMENT}`")],
        )
    })
    .await;
    for needle in [
        "Plan: 12 to add, 0 to change, 0 to destroy",
        "Actions: 1 to invoke.",
        "module.compute.google_compute_instance.vm[1]",
        "module.network.google_compute_firewall.ssh",
        "module.vault_ssh_ca.vault_ssh_secret_backend_ca.this",
        "vault_approle_auth_backend_role_secret_id.configure",
    ] {
        assert!(
            plan.contains(needle),
            "{needle} is not in the plan comment:\n{plan}"
        );
    }

    // Merge → apply → the action → the job.
    github.merge_pr(REPO, pr.number);
    deliver(
        &base,
        "pull_request",
        "e2e-3",
        &pr_payload(&github, "closed", pr.number),
    )
    .await;
    let applied = wait_for("the apply comment", 20, || {
        comment_with(
            &github,
            pr.number,
            &[&format!("Terraform apply for `{DEPLOYMENT}`")],
        )
    })
    .await;
    let jobs = aap.jobs();
    let job_log = jobs
        .first()
        .map(|j| aap.stdout(j["id"].as_u64().unwrap()))
        .unwrap_or_default();
    assert!(
        applied.contains("Applied: 12 added") && applied.contains("1 action invoked"),
        "{applied}\njob:\n{job_log}"
    );
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    assert_eq!(jobs[0]["status"], "successful", "{job_log}");

    // The comment's URLs answer with the deployment's demo app.
    let urls = app_urls(&applied);
    assert_eq!(urls.len(), 2, "{applied}");
    for url in &urls {
        let page = reqwest::get(format!("{url}/")).await.unwrap();
        assert_eq!(page.status(), 200, "{url}");
        let page = page.text().await.unwrap();
        assert!(
            page.contains("PromptOps deployment") && page.contains(&format!("\"{DEPLOYMENT}\"")),
            "{url} serves:\n{page}"
        );
    }

    // Nothing of the job's key and certificate is left on the controller.
    let issued = issued_certificates(scratch.path());
    assert_eq!(issued.len(), 1, "one certificate, for the one job");
    let needles = playbook::key_material(&issued[0]);
    let leftovers = playbook::files_containing(&aap.data_dir, &needles);
    assert!(leftovers.is_empty(), "{leftovers:#?}");

    // /promptops configure runs the job again: a fresh secret_id (the first one was used
    // up), so a second job that logs in and gets a certificate of its own.
    deliver(
        &base,
        "issue_comment",
        "e2e-configure",
        &comment_payload(&issue, "alice", "/promptops configure"),
    )
    .await;
    let configured = wait_for("the configure comment", 10, || {
        comment_with(
            &github,
            number,
            &[&format!("Terraform configure for `{DEPLOYMENT}`")],
        )
    })
    .await;
    let jobs = aap.jobs();
    assert_eq!(jobs.len(), 2, "{configured}\n{jobs:#?}");
    assert_eq!(jobs[1]["status"], "successful", "{}", aap.stdout(2));
    assert!(
        configured.contains("Configured: 1 action invoked")
            && configured.contains("vault_approle_auth_backend_role_secret_id.configure"),
        "{configured}"
    );
    let secret_ids: Vec<String> = jobs
        .iter()
        .map(|job| {
            let vars: Value = serde_json::from_str(job["extra_vars"].as_str().unwrap()).unwrap();
            vars["vault_wrapped_secret_id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_ne!(secret_ids[0], secret_ids[1]);
    let issued = issued_certificates(scratch.path());
    assert_eq!(
        issued.len(),
        2,
        "the second job got a certificate of its own"
    );
    assert_ne!(issued[0]["serial_number"], issued[1]["serial_number"]);
    for url in &urls {
        assert_eq!(reqwest::get(format!("{url}/")).await.unwrap().status(), 200);
    }

    failed_configuration_is_reported(&base, &github, &compute, &aap, &issue, pr.number, &urls)
        .await;

    // /promptops destroy + merge removes the VMs and the deployment's Vault objects.
    deliver(
        &base,
        "issue_comment",
        "e2e-4",
        &comment_payload(&issue, "alice", "/promptops destroy"),
    )
    .await;
    let destroy_pr = wait_for("the destroy pull request", 3, || {
        github
            .prs()
            .into_iter()
            .find(|p| p.open && p.number != pr.number)
    })
    .await;
    deliver(
        &base,
        "pull_request",
        "e2e-5",
        &pr_payload(&github, "opened", destroy_pr.number),
    )
    .await;
    let destroy_plan = wait_for("the destroy plan", 10, || {
        comment_with(
            &github,
            destroy_pr.number,
            &[&format!("Terraform destroy plan for `{DEPLOYMENT}`")],
        )
    })
    .await;
    // 11, not 12: the secret_id the job used up left the state when Terraform refreshed it.
    assert!(
        destroy_plan.contains("0 to add, 0 to change, 11 to destroy"),
        "{destroy_plan}"
    );
    github.merge_pr(REPO, destroy_pr.number);
    deliver(
        &base,
        "pull_request",
        "e2e-6",
        &pr_payload(&github, "closed", destroy_pr.number),
    )
    .await;
    let destroyed = wait_for("the destroy comment", 10, || {
        comment_with(
            &github,
            destroy_pr.number,
            &[&format!("Terraform destroy for `{DEPLOYMENT}`")],
        )
    })
    .await;
    assert!(destroyed.contains("— Destroyed: "), "{destroyed}");
    assert_eq!(
        compute.instances("promptops-e2e", "us-central1-a"),
        Vec::<Value>::new()
    );
    for url in &urls {
        assert!(
            reqwest::Client::new()
                .get(format!("{url}/"))
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .is_err()
        );
    }
    assert_eq!(
        bao.deployment_objects_left(DEPLOYMENT),
        Vec::<String>::new()
    );
    drop(server);
}
