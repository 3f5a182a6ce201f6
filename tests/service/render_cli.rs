//! `promptops render` is an interface relied on from outside the repository: these tests
//! run the real binary and hold it to its contract (stdout, stderr, exit status).

use std::process::Command;

use promptops_testkit::ChatCompletion;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn promptops() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_promptops"));
    // The planner is chosen by OPENAI_API_KEY: keep the caller's environment out of it.
    command
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL");
    command
}

fn attr<'a>(body: &'a hcl::Body, name: &str) -> &'a hcl::Expression {
    body.attributes()
        .find(|attr| attr.key.as_str() == name)
        .map(|attr| &attr.expr)
        .unwrap_or_else(|| panic!("attribute {name} missing"))
}

#[test]
fn offline_render_of_the_readme_example() {
    let output = promptops()
        .args(["render", "--offline", "I need 5 T4 GPUs in us-west1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "stderr: {stderr}");
    let body: hcl::Body = hcl::from_str(&stdout).unwrap();
    assert_eq!(attr(&body, "vm_count"), &hcl::Expression::from(5u64));
    assert_eq!(
        attr(&body, "gpu_type"),
        &hcl::Expression::from("nvidia-tesla-t4")
    );
    let hcl::Expression::String(zone) = attr(&body, "zone") else {
        panic!("zone is not a string");
    };
    assert!(zone.starts_with("us-west1-"), "{zone}");
    let catalog = promptops_core::Catalog::embedded();
    assert!(
        catalog
            .zones_offering("nvidia-tesla-t4")
            .contains(&zone.as_str()),
        "{zone} does not offer T4"
    );
    assert!(
        stdout.contains("offline"),
        "the file says it was planned offline"
    );
    assert!(stderr.contains("estimated cost: $"), "{stderr}");
    // Five VMs cost over a thousand dollars a month: the amount has its separator.
    let monthly = stderr
        .split("/hour, ")
        .nth(1)
        .and_then(|rest| rest.split("/month").next())
        .unwrap_or_default();
    assert!(
        monthly.starts_with('$') && monthly.contains(','),
        "{monthly:?} in {stderr}"
    );
}

#[test]
fn the_lifetime_read_is_shown_although_the_tfvars_do_not_hold_it() {
    let output = promptops()
        .args(["render", "--offline", "a T4 VM in us-west1 for 3 days"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "stderr: {stderr}");
    assert!(
        stderr.contains("lifetime: for 3d after the apply; a pull request destroying the deployment is opened then"),
        "{stderr}"
    );
    let without = promptops()
        .args(["render", "--offline", "a T4 VM in us-west1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(without.stderr).unwrap();
    assert!(!stderr.contains("lifetime:"), "{stderr}");
}

#[test]
fn json_output_is_the_validated_request() {
    let output = promptops()
        .args([
            "render",
            "--offline",
            "--json",
            "2 VMs with 4 V100 GPUs each in us-central1",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let request: promptops_core::DeploymentRequest =
        serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(request.vm_count, 2);
    assert_eq!(request.gpu_count, 4);
    assert_eq!(request.gpu_type, "nvidia-tesla-v100");
    assert!(request.zone.starts_with("us-central1-"));
}

#[test]
fn rejected_request_exits_non_zero_with_every_reason() {
    let output = promptops()
        .args([
            "render",
            "--offline",
            "40 VMs with V100 GPUs in asia-south1-a",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        output.stdout.is_empty(),
        "nothing on stdout for a rejection"
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("asia-south1-a"), "{stderr}");
    assert!(
        stderr.contains("40"),
        "the VM count over the policy limit is named: {stderr}"
    );
}

#[test]
fn a_policy_file_with_an_impossible_limit_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yml");
    std::fs::write(&policy, "policy:\n  max_hourly_usd: -5\n  max_vms: 0\n").unwrap();
    let output = promptops()
        .args(["render", "--offline", "--policy"])
        .arg(&policy)
        .arg("one T4 in us-west1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "a bad input file");
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("policy.max_hourly_usd") && stderr.contains("policy.max_vms"),
        "{stderr}"
    );
    assert!(stderr.contains(&policy.display().to_string()), "{stderr}");
    assert!(
        !stderr.contains(".github/promptops.yml"),
        "the file named is the one given, not the repository's: {stderr}"
    );
}

#[test]
fn unknown_region_is_an_error_not_a_default() {
    let output = promptops()
        .args(["render", "--offline", "one T4 in africa-south1"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("africa-south1"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_models_answer_is_used_when_a_key_is_set() {
    let server = MockServer::start().await;
    let answer = json!({
        "name": "from-the-model",
        "vm_count": 3,
        "gpu_type": "nvidia-l4",
        "gpu_count": 1,
        "machine_type": "g2-standard-8",
        "zone": "us-central1-a",
        "region": null,
        "boot_disk_size_gb": 150,
        "rationale": "L4 suits inference",
        "assumptions": ["three replicas"]
    });
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(ChatCompletion::answer(answer.to_string())),
        )
        .expect(1)
        .mount(&server)
        .await;
    let base_url = format!("{}/v1", server.uri());
    let output = tokio::task::spawn_blocking(move || {
        promptops()
            .env("OPENAI_API_KEY", "sk-test")
            .env("OPENAI_BASE_URL", base_url)
            .args(["render", "3 inference VMs with an L4 each in us-central1"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let body: hcl::Body = hcl::from_str(&stdout).unwrap();
    assert_eq!(
        attr(&body, "deployment_name"),
        &hcl::Expression::from("from-the-model")
    );
    assert_eq!(
        attr(&body, "boot_disk_size_gb"),
        &hcl::Expression::from(150u64)
    );
    assert!(
        stdout.contains("gpt-4o"),
        "the header names the model: {stdout}"
    );
}

#[test]
fn offline_render_reads_a_place_and_gpu_memory() {
    let output = promptops()
        .args([
            "render",
            "--offline",
            "--json",
            "about 3 VMs with an 80GB A100 each in Iowa",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let request: promptops_core::DeploymentRequest =
        serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(request.vm_count, 3);
    assert_eq!(request.gpu_type, "nvidia-a100-80gb");
    assert_eq!(request.gpu_count, 1);
    assert_eq!(request.machine_type, "a2-ultragpu-1g");
    assert_eq!(request.region(), "us-central1", "Iowa is us-central1");
    assert!(
        request
            .assumptions
            .iter()
            .any(|a| a.contains("approximation"))
            && request
                .assumptions
                .iter()
                .any(|a| a.contains("\"iowa\" read as region us-central1")),
        "the readings are stated: {:?}",
        request.assumptions
    );
}

#[test]
fn offline_render_refuses_a_made_up_region_by_name() {
    let output = promptops()
        .args(["render", "--offline", "two T4 VMs in mars-north1"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "nothing rendered for a refusal");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("mars-north1"), "{stderr}");
    assert!(
        stderr.contains("known regions") && stderr.contains("us-central1"),
        "the refusal lists the known regions: {stderr}"
    );
}
