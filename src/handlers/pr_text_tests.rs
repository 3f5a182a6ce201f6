use super::*;

fn request() -> DeploymentRequest {
    DeploymentRequest {
        name: "inference-t4".into(),
        vm_count: 40,
        gpu_type: "nvidia-tesla-t4".into(),
        gpu_count: 4,
        machine_type: "n1-standard-16".into(),
        zone: "us-west1-b".into(),
        boot_disk_size_gb: 200,
        rationale: "T4s are the cheapest inference GPUs offered in us-west1.".into(),
        assumptions: vec!["Zone us-west1-b, the first of us-west1 offering T4.".into()],
    }
}

fn policy() -> Policy {
    Policy {
        max_vms: 50,
        max_gpus_per_vm: 4,
        max_hourly_usd: 250.0,
        allowed_regions: vec!["us-west1".into(), "us-central1".into()],
        allowed_gpu_types: Vec::new(),
    }
}

fn render_for(body: &str, instructions: &str) -> PrText {
    let notes = vec!["\"40 machines\" read as vm_count = 40.".to_owned()];
    render(
        Catalog::embedded(),
        &request(),
        &PrContext {
            issue: promptops_core::IssueNumber::new(7),
            request_title: "GPU capacity for the inference team",
            request_body: body,
            instructions,
            planned_by: "offline planner",
            tfvars_path: "terraform/deployments/inference-t4/terraform.tfvars",
            notes: &notes,
            policy: &policy(),
            expires: "never".to_owned(),
        },
    )
}

#[test]
fn the_body_quotes_the_request_lists_the_limits_and_does_not_close_the_issue() {
    let text = render_for(
        "We need 40 machines with 4 T4 each in us-west1, @ops-team please ack #12 [x](https://e.example)",
        "use 200 GB disks",
    );
    let body = &text.body;
    // The request is quoted inert: in a code block, so the mention and link do nothing.
    assert!(
        body.contains("```text\nGPU capacity for the inference team\n\nWe need 40 machines with 4 T4 each in us-west1, @ops-team please ack #12 [x](https://e.example)\n```"),
        "{body}"
    );
    assert!(
        body.contains("`/promptops plan` use 200 GB disks"),
        "{body}"
    );
    assert!(!body.contains("| | |"), "an empty header row: {body}");
    assert!(body.contains("### How the request was read"), "{body}");
    assert!(body.contains("### Assumptions"), "{body}");
    assert!(body.contains("| VMs | 40 | at most 50 |"), "{body}");
    assert!(body.contains("one of `us-west1`, `us-central1`"), "{body}");
    // No closing keyword: merging must not close the issue before the apply succeeded.
    let lower = body.to_lowercase();
    for keyword in ["close", "fix", "resolve"] {
        for form in ["", "s", "d"] {
            assert!(
                !lower.contains(&format!("{keyword}{form} #7")),
                "closing keyword {keyword}{form} in {body}"
            );
        }
    }
    assert!(
        body.contains("#7 stays open until the apply has succeeded"),
        "{body}"
    );
    insta::assert_snapshot!("pr_body", body);
}

#[test]
fn costs_have_thousands_separators() {
    assert_eq!(usd(59_203.4, 0), "$59,203");
    assert_eq!(usd(1_234_567.891, 2), "$1,234,567.89");
    assert_eq!(usd(999.0, 0), "$999");
    assert_eq!(usd(0.35, 2), "$0.35");
    let body = render_for("", "").body;
    let cost = body
        .lines()
        .find(|line| line.starts_with("| Estimated cost |"))
        .unwrap();
    let monthly = cost
        .split(" · ")
        .nth(1)
        .and_then(|part| part.split_once("/month"))
        .map(|(amount, _)| amount)
        .unwrap();
    assert!(monthly.starts_with('$') && monthly.contains(','), "{cost}");
}

#[test]
fn a_very_long_request_is_cut_and_points_at_the_issue() {
    let body = render_for(&"x".repeat(10_000), "").body;
    assert!(
        body.contains("[… cut; the whole request is in #7]"),
        "{body}"
    );
    assert!(body.len() < 8_000, "{}", body.len());
}
