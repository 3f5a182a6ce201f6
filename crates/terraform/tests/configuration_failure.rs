//! The "configuration failed" block a reviewer reads when the configuration job of a run
//! failed: from Terraform's output alone (the aap provider's diagnostic names the job), and
//! with the AAP controller's failed events (host, step), as a snapshot and in place in the
//! apply comment.

use promptops_terraform::aap_job::{FailedJob, JobEnd, failed_job};
use promptops_terraform::capture::RunOutput;
use promptops_terraform::comment::markdown::check_balance;
use promptops_terraform::comment::{
    CommentOptions, ConfigurationFailure, HostFailure, render_apply_comments,
    render_configuration_failure,
};
use promptops_terraform::{
    ActionInvocation, ApplyOutcome, ApplyReport, ChangeCounts, FailureReason, PlanOutcome,
    PlanReport, StepFailure, TerraformVersion,
};

/// What Terraform 1.15.5 printed when the job failed (tests/service/chain_e2e.rs's run).
const FAILED_APPLY: &str = "\
Error: Error when invoking action

  with action.aap_job_launch.configure_vm,
  on aap.tf line 42, in action \"aap_job_launch\" \"configure_vm\":
  42: action \"aap_job_launch\" \"configure_vm\" {

AAP job failed: API Path: /api/controller/v2/jobs/3/
";

fn job() -> FailedJob {
    failed_job(FAILED_APPLY).expect("the job is found in the output")
}

fn failed_report() -> ApplyReport {
    let output = RunOutput {
        log_path: "/var/lib/promptops/logs/alpha-apply.log".into(),
        total_bytes: FAILED_APPLY.len() as u64,
        head: FAILED_APPLY.into(),
        tail: String::new(),
        omitted_bytes: 0,
    };
    ApplyReport {
        plan: PlanReport {
            deployment: "alpha".into(),
            commit: Some("0123456789abcdef0123".into()),
            terraform_version: TerraformVersion::new(1, 15, 5),
            destroy: false,
            outcome: PlanOutcome::Changes,
            summary: "Plan: 1 to add, 1 to change, 0 to destroy. Actions: 1 to invoke.".into(),
            changes: Vec::new(),
            counts: ChangeCounts::default(),
            actions: vec![ActionInvocation {
                address: "action.aap_job_launch.configure_vm".into(),
                triggered_by: Some("terraform_data.aap_trigger".into()),
                event: Some("after_update".into()),
            }],
            failure: None,
            output: RunOutput::default(),
            findings: Default::default(),
        },
        outcome: ApplyOutcome::Failed,
        summary: "terraform apply failed (exit status 1)".into(),
        actions_summary: None,
        outputs: Vec::new(),
        failure: Some(StepFailure {
            step: "apply".into(),
            reason: FailureReason::ExitCode(1),
        }),
        output,
    }
}

#[test]
fn the_job_is_read_from_the_providers_diagnostic() {
    assert_eq!(
        job(),
        FailedJob {
            id: 3,
            api_path: "/api/controller/v2/jobs/3/".into(),
            end: JobEnd::Failed,
        }
    );
}

#[test]
fn without_the_controller_the_block_names_the_job_and_how_to_retry() {
    let block = render_configuration_failure(&ConfigurationFailure {
        job: job(),
        job_page: None,
        hosts: Vec::new(),
        hosts_unknown: Some(
            "set PROMPTOPS_AAP_URL and PROMPTOPS_AAP_TOKEN to have them here".into(),
        ),
    });
    insta::assert_snapshot!("configuration_failed_job_only", block);
}

#[test]
fn with_the_controllers_events_the_block_names_each_host_and_step() {
    let host = |host: &str, step: &str, message: &str| HostFailure {
        host: host.into(),
        step: step.into(),
        message: Some(message.into()),
    };
    let one = ConfigurationFailure {
        job: job(),
        job_page: Some("https://aap.example.com/execution/jobs/playbook/3/output".into()),
        hosts: vec![host(
            "34.1.2.3",
            "Wait until the host accepts the certificate",
            "timed out waiting for ping module test: Failed to connect to the host via ssh",
        )],
        hosts_unknown: None,
    };
    insta::assert_snapshot!(
        "configuration_failed_one_host",
        render_configuration_failure(&one)
    );
    let two = ConfigurationFailure {
        hosts: vec![
            one.hosts[0].clone(),
            host(
                "34.1.2.4",
                "Install Streamlit `pinned` <1.52>",
                "No matching distribution",
            ),
        ],
        ..one.clone()
    };
    let block = render_configuration_failure(&two);
    insta::assert_snapshot!("configuration_failed_two_hosts", block);

    // In the apply comment: under the headline's problems, balanced Markdown.
    let options = CommentOptions {
        configuration_failure: Some(one),
        ..CommentOptions::default()
    };
    let comments = render_apply_comments(&failed_report(), &options);
    assert_eq!(comments.len(), 1);
    let comment = &comments[0];
    check_balance(comment).unwrap();
    let headline = comment
        .find("### ❌ Terraform apply for `alpha`: failed")
        .unwrap();
    let block_at = comment
        .find("> **Configuration failed** on host `34.1.2.3`")
        .unwrap();
    let output_at = comment.find("<details>").unwrap();
    assert!(headline < block_at && block_at < output_at, "{comment}");
    assert!(
        comment.contains("comment `/promptops configure` to retry"),
        "{comment}"
    );
}
