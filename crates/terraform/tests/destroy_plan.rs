//! Destroy plans for review (`PlanMode::Destroy`): the real terraform binary (1.11 on this
//! image) against the `terraform_data` fixture with a local backend whose state lives
//! outside the per-run work dir.

mod common;

use common::{Scratch, real_terraform, runner, tarball_of};
use promptops_terraform::comment::markdown::check_balance;
use promptops_terraform::comment::{CommentOptions, render_apply_comments, render_plan_comments};
use promptops_terraform::{ApplyOutcome, ChangeAction, PlanMode, PlanOutcome, RunnerError, Source};

fn state_instances(path: &std::path::Path) -> usize {
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("state file")).unwrap();
    state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["instances"].as_array().unwrap().len())
        .sum()
}

#[tokio::test]
async fn a_destroy_plan_lists_every_resource_in_the_state_and_changes_nothing() {
    let scratch = Scratch::new();
    let runner = runner(scratch.config(real_terraform()));
    let applied = runner.apply(&scratch.dir_spec("alpha")).await.unwrap();
    assert_eq!(
        applied.outcome,
        ApplyOutcome::Applied,
        "{}",
        applied.output.text()
    );
    assert_eq!(state_instances(&scratch.state_file("alpha")), 2);
    let state_before = std::fs::read(scratch.state_file("alpha")).unwrap();

    let tarball = tarball_of(&scratch.repo(), "owner-infra-0123456");
    let spec = scratch
        .spec(Source::Tarball(tarball), "alpha")
        .with_mode(PlanMode::Destroy);
    let report = runner.plan(&spec).await.unwrap();

    assert!(report.destroy);
    assert_eq!(
        report.outcome,
        PlanOutcome::Changes,
        "{}",
        report.output.text()
    );
    assert_eq!(
        report.summary,
        "Plan: 0 to add, 0 to change, 2 to destroy; 3 output changes."
    );
    assert_eq!(report.counts.delete, 2);
    assert_eq!(report.counts.create + report.counts.update, 0);
    let changes: Vec<(&str, ChangeAction)> = report
        .changes
        .iter()
        .map(|c| (c.address.as_str(), c.action))
        .collect();
    assert_eq!(
        changes,
        vec![
            ("terraform_data.vm[0]", ChangeAction::Delete),
            ("terraform_data.vm[1]", ChangeAction::Delete),
        ]
    );
    assert!(
        report.output.contains("$ terraform plan -input=false -no-color -detailed-exitcode -out=plan.bin -destroy -var-file=deployments/alpha/terraform.tfvars"),
        "{}",
        report.output.text()
    );
    let log = report.output.log_path.to_string_lossy().into_owned();
    assert!(log.ends_with("-destroy-plan.log"), "{log}");
    // A plan for review changes nothing: the state is byte for byte what the apply left.
    assert_eq!(
        std::fs::read(scratch.state_file("alpha")).unwrap(),
        state_before
    );
    assert_eq!(scratch.leftover_work_dirs(), Vec::<String>::new());

    let comments = render_plan_comments(&report, &CommentOptions::default());
    assert_eq!(comments.len(), 1);
    let body = &comments[0];
    assert!(body.starts_with("<!-- promptops:plan deployment=alpha part=1/1 -->"));
    assert!(
        body.contains(
            "\n### 🗑️ Terraform destroy plan for `alpha`: 2 to destroy, 3 output changes\n"
        ),
        "{body}"
    );
    // The headline is the only summary.
    assert!(!body.contains("**Plan:"), "{body}");
    assert!(!body.contains("to create ·"), "{body}");
    assert!(
        body.contains("| 🗑️ delete | `terraform_data.vm[0]` |"),
        "{body}"
    );
    assert!(
        body.contains("| 🗑️ delete | `terraform_data.vm[1]` |"),
        "{body}"
    );
    assert!(
        body.contains("merging this pull request destroys them"),
        "{body}"
    );
    // The output's diff block shows what goes, line by line.
    assert!(
        body.contains("-   - resource \"terraform_data\" \"vm\""),
        "{body}"
    );
    check_balance(body).unwrap();

    // Applying a destroy-mode spec destroys exactly that; a second destroy plan is empty.
    let destroyed = runner.apply(&spec).await.unwrap();
    assert_eq!(
        destroyed.outcome,
        ApplyOutcome::Applied,
        "{}",
        destroyed.output.text()
    );
    assert!(destroyed.plan.destroy);
    assert!(
        destroyed
            .summary
            .contains("0 added, 0 changed, 2 destroyed"),
        "{}",
        destroyed.summary
    );
    assert!(
        render_apply_comments(&destroyed, &CommentOptions::default())[0]
            .contains("Terraform destroy for `alpha` — Destroyed: 0 added, 0 changed, 2 destroyed")
    );
    assert_eq!(state_instances(&scratch.state_file("alpha")), 0);

    let empty = runner.plan(&spec).await.unwrap();
    assert_eq!(empty.outcome, PlanOutcome::NoChanges, "{}", empty.summary);
    assert!(empty.changes.is_empty());
    assert!(
        empty.summary.starts_with("No changes."),
        "{}",
        empty.summary
    );
    let body = &render_plan_comments(&empty, &CommentOptions::default())[0];
    assert!(
        body.contains("Terraform destroy plan for `alpha`: nothing to destroy"),
        "{body}"
    );
    assert!(
        body.contains("Nothing to destroy: the deployment's state holds no resources."),
        "{body}"
    );
}

#[tokio::test]
async fn a_destroy_plan_without_the_var_file_names_the_missing_variables() {
    let scratch = Scratch::new();
    let runner = runner(scratch.config(real_terraform()));
    let applied = runner.apply(&scratch.dir_spec("alpha")).await.unwrap();
    assert_eq!(applied.outcome, ApplyOutcome::Applied);

    // The head of a destroy pull request: the deployment's variables are gone.
    std::fs::remove_file(scratch.tfvars("alpha")).unwrap();
    let spec = scratch.dir_spec("alpha").with_mode(PlanMode::Destroy);
    let report = runner.plan(&spec).await.unwrap();
    assert_eq!(report.outcome, PlanOutcome::Failed, "{}", report.summary);
    assert_eq!(report.failure.as_ref().unwrap().step, "plan");
    assert!(
        report.summary.contains("No value for required variable"),
        "{}",
        report.summary
    );
    assert!(report.destroy);
    assert_eq!(state_instances(&scratch.state_file("alpha")), 2);
    let body = &render_plan_comments(&report, &CommentOptions::default())[0];
    assert!(
        body.contains("❌ Terraform destroy plan for `alpha`: failed"),
        "{body}"
    );
    assert!(body.contains("No value for required variable"), "{body}");
    check_balance(body).unwrap();

    // A normal plan refuses before running anything.
    let err = runner.plan(&scratch.dir_spec("alpha")).await.unwrap_err();
    assert!(matches!(err, RunnerError::MissingVarFile(_)), "{err}");
}

#[tokio::test]
async fn an_action_is_never_invoked_in_destroy_mode() {
    let scratch = Scratch::new();
    let runner = runner(scratch.config(real_terraform()));
    let spec = scratch.dir_spec("alpha").with_mode(PlanMode::Destroy);
    let err = runner
        .invoke(&spec, "action.aap_job_launch.configure_vm")
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("mode"), "{message}");
    assert!(message.contains("destroy"), "{message}");
    assert_eq!(scratch.leftover_work_dirs(), Vec::<String>::new());
}
