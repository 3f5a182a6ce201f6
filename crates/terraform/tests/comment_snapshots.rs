//! The plan and apply comments as a reviewer reads them, rendered from transcripts of real
//! Terraform runs (`tests/fixtures/transcripts/`, recorded from the `repo` fixture with a
//! value for an undeclared variable in its tfvars), pinned as snapshots, plus the
//! structure every comment must keep.

use promptops_terraform::capture::RunOutput;
use promptops_terraform::comment::markdown::check_balance;
use promptops_terraform::comment::{
    CommentOptions, IssueNote, render_apply_comments, render_issue_note, render_plan_comments,
};
use promptops_terraform::{
    ApplyOutcome, ApplyReport, ChangeAction, ChangeCounts, FailureReason, OutputValue, PlanOutcome,
    PlanReport, ResourceChange, StepFailure, TerraformVersion,
};
use serde_json::json;

fn transcript(name: &str) -> RunOutput {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/transcripts")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("transcript fixture");
    RunOutput {
        log_path: "/var/lib/promptops/logs/alpha-plan.log".into(),
        total_bytes: text.len() as u64,
        head: text,
        tail: String::new(),
        omitted_bytes: 0,
    }
}

fn planned() -> PlanReport {
    let changes: Vec<ResourceChange> = (0..2)
        .map(|i| ResourceChange {
            address: format!("terraform_data.vm[{i}]"),
            action: ChangeAction::Create,
        })
        .collect();
    let mut counts = ChangeCounts::from_changes(&changes);
    counts.outputs = 3;
    PlanReport {
        deployment: "alpha".into(),
        commit: Some("0123456789abcdef0123".into()),
        terraform_version: TerraformVersion::new(1, 11, 4),
        destroy: false,
        outcome: PlanOutcome::Changes,
        summary: "Plan: 2 to add, 0 to change, 0 to destroy; 3 output changes.".into(),
        changes,
        counts,
        actions: Vec::new(),
        failure: None,
        findings: Default::default(),
        output: transcript("plan-with-warning.txt"),
    }
}

fn options() -> CommentOptions {
    CommentOptions {
        run_url: Some("https://promptops.example.com/dashboard/runs/42".into()),
        locked_here: true,
        ..CommentOptions::default()
    }
}

fn root_module_outputs() -> Vec<OutputValue> {
    let output = |name: &str, value: serde_json::Value| OutputValue {
        name: name.into(),
        value,
        sensitive: false,
    };
    vec![
        output(
            "app_urls",
            json!(["http://34.82.10.7:8501", "http://34.82.10.8:8501"]),
        ),
        output("firewall_rules", json!(["alpha-ssh", "alpha-app"])),
        output("vault_ssh_mount", json!("ssh-alpha")),
        output("vm_ips", json!(["34.82.10.7", "34.82.10.8"])),
        output("vm_names", json!(["alpha-0", "alpha-1"])),
        OutputValue {
            name: "admin_password".into(),
            value: json!("***"),
            sensitive: true,
        },
    ]
}

fn applied() -> ApplyReport {
    ApplyReport {
        plan: planned(),
        outcome: ApplyOutcome::Applied,
        summary: "Apply complete! Resources: 2 added, 0 changed, 0 destroyed.".into(),
        actions_summary: None,
        outputs: root_module_outputs(),
        failure: None,
        output: transcript("apply.txt"),
    }
}

/// The header: everything before the collapsed output.
fn above_the_fold(comment: &str) -> &str {
    comment.split("<details>").next().unwrap()
}

#[test]
fn plan_comment_reads_in_ten_seconds() {
    let comments = render_plan_comments(&planned(), &options());
    assert_eq!(comments.len(), 1);
    let body = &comments[0];
    check_balance(body).unwrap();
    let lines: Vec<&str> = body.lines().collect();
    // The marker, then one headline with the counts.
    assert_eq!(
        lines[1],
        "### 📝 Terraform plan for `alpha`: 2 to add, 0 to change, 0 to destroy, 3 output changes"
    );
    // Named once, summarised once.
    assert_eq!(
        body.matches("`alpha`").count(),
        2,
        "headline and lock: {body}"
    );
    assert!(!body.contains("to create ·"), "{body}");
    let fold = above_the_fold(body);
    assert!(!fold.contains("Plan: 2 to add"), "{fold}");
    assert!(
        fold.contains("> [!WARNING]\n> **Warning: Value for undeclared variable**"),
        "{fold}"
    );
    assert!(fold.contains("/promptops unlock"), "{fold}");
    assert!(
        fold.contains("(https://promptops.example.com/dashboard/runs/42)"),
        "{fold}"
    );
    // The collapsed block holds the plan alone, without init and tool noise.
    for noise in [
        "terraform.io/builtin",
        "CLI configuration",
        "$ terraform",
        "Initializing",
    ] {
        assert!(!body.contains(noise), "{noise:?} in {body}");
    }
    assert!(
        body.contains("+   + resource \"terraform_data\" \"vm\" {"),
        "{body}"
    );
    insta::assert_snapshot!("plan_comment", body);
}

#[test]
fn a_failed_plan_shows_the_error_above_the_fold() {
    let mut report = planned();
    report.outcome = PlanOutcome::Failed;
    report.changes.clear();
    report.counts = ChangeCounts::default();
    report.failure = Some(StepFailure {
        step: "plan".into(),
        reason: FailureReason::ExitCode(1),
    });
    report.output = transcript("plan-failed.txt");
    let body = &render_plan_comments(&report, &options())[0];
    check_balance(body).unwrap();
    let fold = above_the_fold(body);
    let error = fold
        .find("**Error: Invalid value for variable**")
        .expect(fold);
    let warning = fold
        .find("**Warning: Value for undeclared variable**")
        .expect(fold);
    assert!(error < warning, "errors first: {fold}");
    assert!(
        fold.contains("vm\\_count must be between 0 and 5000."),
        "{fold}"
    );
    insta::assert_snapshot!("plan_failed_comment", body);
}

#[test]
fn a_failed_init_is_shown_in_its_own_block() {
    let mut report = planned();
    report.outcome = PlanOutcome::Failed;
    report.failure = Some(StepFailure {
        step: "init".into(),
        reason: FailureReason::ExitCode(1),
    });
    let body = &render_plan_comments(&report, &options())[0];
    assert!(
        body.contains("<summary>Terraform init output</summary>"),
        "{body}"
    );
    // Init's lines are not coloured as deletions.
    assert!(
        body.contains("\n  - terraform.io/builtin/terraform is built in"),
        "{body}"
    );
    check_balance(body).unwrap();
}

#[test]
fn apply_comment_is_past_tense_with_readable_outputs_and_next_steps() {
    let comments = render_apply_comments(&applied(), &options());
    let body = &comments[0];
    check_balance(body).unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(
        lines[1],
        "### ✅ Terraform apply for `alpha` — Applied: 2 added, 0 changed, 0 destroyed"
    );
    assert!(!body.contains("to create"), "{body}");
    let fold = above_the_fold(body);
    assert!(
        fold.contains(
            "- `app_urls`:\n  - <http://34.82.10.7:8501>\n  - <http://34.82.10.8:8501>\n"
        ),
        "{fold}"
    );
    assert!(
        fold.contains("- `vm_names`: `alpha-0`, `alpha-1`"),
        "{fold}"
    );
    assert!(fold.contains("- `admin_password`: *(sensitive)*"), "{fold}");
    assert!(
        fold.contains("| ➕ created | `terraform_data.vm[0]` |"),
        "{fold}"
    );
    assert!(fold.contains("Vault SSH engine `ssh-alpha`"), "{fold}");
    assert!(fold.contains("/promptops destroy"), "{fold}");
    assert!(
        !fold.contains("/promptops unlock"),
        "the lock is gone after an apply: {fold}"
    );
    assert!(!body.contains("CLI configuration"), "{body}");
    insta::assert_snapshot!("apply_comment", body);
}

#[test]
fn the_issue_gets_a_short_note_linking_the_full_report() {
    let url = "https://github.com/acme/infra/pull/12#issuecomment-99";
    let note = render_issue_note(
        &applied(),
        &IssueNote {
            pr: 12,
            report_url: Some(url),
            closes_issue: true,
        },
    );
    assert!(
        note.starts_with(
            "### ✅ Terraform apply for `alpha` (#12) — Applied: 2 added, 0 changed, 0 destroyed\n"
        ),
        "{note}"
    );
    assert!(note.contains(&format!("[on #12]({url})")), "{note}");
    assert!(
        note.contains("<http://34.82.10.7:8501> · <http://34.82.10.8:8501>"),
        "{note}"
    );
    assert!(note.contains("This issue is now closed"), "{note}");
    // Not the log a second time.
    assert!(
        !note.contains("<details>") && !note.contains("Creation complete"),
        "{note}"
    );
    check_balance(&note).unwrap();
    insta::assert_snapshot!("issue_note", note);

    let mut failed = applied();
    failed.outcome = ApplyOutcome::Failed;
    failed.failure = Some(StepFailure {
        step: "apply".into(),
        reason: FailureReason::ExitCode(1),
    });
    failed.outputs.clear();
    let note = render_issue_note(
        &failed,
        &IssueNote {
            pr: 12,
            report_url: Some(url),
            closes_issue: false,
        },
    );
    assert!(
        note.contains(": failed — terraform apply failed (exit status 1)"),
        "{note}"
    );
    assert!(
        note.contains("This issue stays open until the apply succeeds."),
        "{note}"
    );
}
