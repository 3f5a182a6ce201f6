//! Destroying a deployment end to end (see terraform_lifecycle.rs for the setup):
//! `/promptops destroy` opens a pull request whose destroy plan lists the resources and
//! whose merge destroys them; an empty state has nothing to destroy; a deployment never
//! applied plans no destroy.

use crate::lifecycle;
use crate::support;
use promptops_store::RunKind;

use lifecycle::*;
use promptops_store::RunStatus;
use support::{IssueRef, REPO};

/// The destroy pull request shows `terraform plan -destroy` made from the deployment's last
/// applied commit (the PR's head no longer has the variables), under the same comment keys
/// as any plan; merging destroys exactly those resources.
#[tokio::test(flavor = "multi_thread")]
async fn destroy_opens_a_pr_whose_destroy_plan_lists_the_resources_and_merging_it_destroys_them() {
    let mut t = Lifecycle::start().await;
    let pr = t
        .open_pr(
            "create-omega",
            "omega",
            &tfvars("omega", 2, "us-central1-a"),
            "alice",
        )
        .await;
    let issue = t.linked_issue("omega", Some(pr)).await;
    let applied_sha = t.service.github.merge_pr(REPO, pr);
    t.deliver(pr, "closed").await;
    assert_eq!(state_instances(&t.state_file("omega")), 2);
    let state_after_apply = std::fs::read(t.state_file("omega")).unwrap();

    t.command(&issue, "/promptops destroy").await;
    let destroy_pr = t
        .service
        .github
        .prs()
        .into_iter()
        .find(|p| p.head_ref == "promptops/destroy-omega")
        .expect("a destroy pull request");
    assert!(destroy_pr.open);
    assert!(
        t.service
            .github
            .file(REPO, &destroy_pr.head_ref, &tfvars_path("omega"))
            .is_none(),
        "the deployment's variables are removed on the branch"
    );
    assert_eq!(
        t.comments_with(issue.number, &format!("Opened #{}", destroy_pr.number))
            .len(),
        1
    );

    t.deliver(destroy_pr.number, "opened").await;
    let plans = t.comments_with(destroy_pr.number, "promptops:plan deployment=omega");
    assert_eq!(
        plans.len(),
        1,
        "{:?}",
        t.service.github.comments(REPO, destroy_pr.number)
    );
    let plan = &plans[0];
    assert!(
        plan.starts_with("<!-- promptops:plan deployment=omega part=1/1 -->"),
        "{plan}"
    );
    assert!(
        plan.contains("<!-- promptops:key=plan:omega:part:1 -->"),
        "the same key as any plan: {plan}"
    );
    assert!(
        plan.contains(
            "\n### 🗑️ Terraform destroy plan for `omega`: 2 to destroy, 3 output changes\n"
        ),
        "{plan}"
    );
    assert!(!plan.contains("**Plan:"), "{plan}");
    assert!(
        plan.contains("| 🗑️ delete | `terraform_data.vm[0]` |"),
        "{plan}"
    );
    assert!(
        plan.contains("| 🗑️ delete | `terraform_data.vm[1]` |"),
        "{plan}"
    );
    assert!(!plan.contains("➕ create"), "{plan}");
    // Planned from the commit of the last apply, which holds the variables.
    assert!(
        plan.contains(&format!("commit `{}`", &applied_sha[..12])),
        "{plan}"
    );
    // The command line is tool noise in the comment; the run's stored output has it.
    assert!(!plan.contains("$ terraform"), "{plan}");
    let destroy_plan_output = t
        .runs(destroy_pr.number)
        .await
        .into_iter()
        .find(|r| r.kind == RunKind::Plan)
        .and_then(|r| r.output)
        .unwrap_or_default();
    assert!(
        destroy_plan_output.contains("-destroy -var-file=deployments/omega/terraform.tfvars"),
        "{destroy_plan_output}"
    );
    assert!(
        plan.contains("merging this pull request destroys them"),
        "{plan}"
    );
    assert!(!plan.contains(PLANTED_SECRET), "{plan}");
    let head = t
        .service
        .github
        .pr(REPO, destroy_pr.number)
        .unwrap()
        .head_sha;
    let checks: Vec<_> = t
        .checks("promptops/plan")
        .into_iter()
        .filter(|c| c.head_sha == head)
        .collect();
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert_eq!(checks[0].status, "completed");
    assert_eq!(checks[0].conclusion.as_deref(), Some("success"));
    assert_eq!(
        checks[0].title.as_deref(),
        Some("omega: Plan: 0 to add, 0 to change, 2 to destroy; 3 output changes."),
        "{checks:?}"
    );
    let summary = checks[0].summary.as_deref().unwrap();
    assert!(summary.contains("2 to delete"), "{summary}");
    assert!(summary.contains("Terraform destroy plan"), "{summary}");
    assert_eq!(t.lock_holder("omega").await, Some(destroy_pr.number));
    assert_eq!(
        std::fs::read(t.state_file("omega")).unwrap(),
        state_after_apply,
        "a destroy plan changes no state"
    );

    // `/promptops plan` on the destroy PR plans again and edits the same comment.
    let on_pr = IssueRef {
        number: destroy_pr.number,
        title: destroy_pr.title.clone(),
        body: String::new(),
        is_pull_request: true,
    };
    t.command(&on_pr, "/promptops plan").await;
    assert_eq!(
        t.comments_with(destroy_pr.number, "promptops:plan deployment=omega")
            .len(),
        1,
        "edited, not piled on"
    );
    assert_eq!(
        t.checks("promptops/plan")
            .into_iter()
            .filter(|c| c.head_sha == head)
            .count(),
        2
    );
    let plan_runs: Vec<RunStatus> = t
        .runs(destroy_pr.number)
        .await
        .into_iter()
        .filter(|r| r.kind == RunKind::Plan)
        .map(|r| r.status)
        .collect();
    assert_eq!(plan_runs, vec![RunStatus::Succeeded, RunStatus::Succeeded]);

    t.service.github.merge_pr(REPO, destroy_pr.number);
    t.deliver(destroy_pr.number, "closed").await;
    let destroyed = t.comments_with(
        destroy_pr.number,
        "Terraform destroy for `omega` — Destroyed: 0 added, 0 changed, 2 destroyed",
    );
    assert_eq!(
        destroyed.len(),
        1,
        "{:?}",
        t.service.github.comments(REPO, destroy_pr.number)
    );
    assert!(
        destroyed[0].contains("Apply complete! Resources: 0 added, 0 changed, 2 destroyed."),
        "{}",
        destroyed[0]
    );
    assert!(
        destroyed[0].contains("| 🗑️ deleted | `terraform_data.vm[1]` |"),
        "{}",
        destroyed[0]
    );
    assert_eq!(state_instances(&t.state_file("omega")), 0);
    assert_eq!(t.lock_holder("omega").await, None);
    let runs = t.runs(destroy_pr.number).await;
    assert!(
        runs.iter()
            .any(|r| r.kind == RunKind::Destroy && r.status == RunStatus::Succeeded),
        "{runs:?}"
    );
    t.service.stop().await;
}

/// Resources removed behind PromptOps's back (here: the state emptied by hand) leave the
/// destroy plan with nothing to destroy; the check still passes and says so.
#[tokio::test(flavor = "multi_thread")]
async fn a_destroy_plan_of_an_empty_state_says_there_is_nothing_to_destroy() {
    let mut t = Lifecycle::start().await;
    let pr = t
        .open_pr(
            "create-tau",
            "tau",
            &tfvars("tau", 1, "us-central1-a"),
            "alice",
        )
        .await;
    let issue = t.linked_issue("tau", Some(pr)).await;
    t.service.github.merge_pr(REPO, pr);
    t.deliver(pr, "closed").await;
    assert_eq!(state_instances(&t.state_file("tau")), 1);
    std::fs::remove_file(t.state_file("tau")).unwrap();

    t.command(&issue, "/promptops destroy").await;
    let destroy_pr = t
        .service
        .github
        .prs()
        .into_iter()
        .find(|p| p.head_ref == "promptops/destroy-tau")
        .expect("a destroy pull request");
    t.deliver(destroy_pr.number, "opened").await;
    let plans = t.comments_with(destroy_pr.number, "promptops:plan deployment=tau");
    assert_eq!(plans.len(), 1);
    assert!(
        plans[0].contains("Terraform destroy plan for `tau`: nothing to destroy"),
        "{}",
        plans[0]
    );
    assert!(
        plans[0].contains("Merging removes its variables only."),
        "{}",
        plans[0]
    );
    assert!(!plans[0].contains("🗑️ delete"), "{}", plans[0]);
    let check = t.checks("promptops/plan").pop().unwrap();
    assert_eq!(check.conclusion.as_deref(), Some("success"));
    assert!(
        check
            .title
            .as_deref()
            .unwrap()
            .starts_with("tau: No changes."),
        "{check:?}"
    );
    t.service.stop().await;
}

/// A PR removing the variables of a deployment PromptOps never applied shows no destroy
/// plan: merging it destroys nothing.
#[tokio::test(flavor = "multi_thread")]
async fn removing_a_never_applied_deployment_plans_no_destroy() {
    let mut t = Lifecycle::start().await;
    t.service.github.set_file(
        REPO,
        "main",
        &tfvars_path("sigma"),
        tfvars("sigma", 1, "us-central1-a"),
    );
    t.service.github.commit_files(
        REPO,
        "drop-sigma",
        &[(tfvars_path("sigma").as_str(), None)],
        "Remove sigma",
    );
    let pr = t
        .service
        .github
        .open_pr(REPO, "drop-sigma", "main", "Remove sigma", "", "alice");
    t.deliver(pr, "opened").await;
    let notice = t.comments_with(pr, "Deployment `sigma` removed");
    assert_eq!(notice.len(), 1, "{:?}", t.service.github.comments(REPO, pr));
    assert!(notice[0].contains("destroys nothing"), "{}", notice[0]);
    assert!(t.comments_with(pr, "destroy plan").is_empty());
    assert!(!t.state_file("sigma").exists(), "terraform never ran");
    t.service.stop().await;
}

/// Moving a deployment's variables out of the deployments directory is a rename, which
/// GitHub lists under the new name with the old one as `previous_filename`: the old name
/// counts, so the pull request shows the destroy plan and merging it destroys.
#[tokio::test(flavor = "multi_thread")]
async fn moving_the_variables_out_of_the_deployments_dir_plans_and_applies_the_destroy() {
    let mut t = Lifecycle::start().await;
    let vars = tfvars("rho", 1, "us-central1-a");
    let pr = t.open_pr("create-rho", "rho", &vars, "alice").await;
    t.service.github.merge_pr(REPO, pr);
    t.deliver(pr, "closed").await;
    assert_eq!(state_instances(&t.state_file("rho")), 1);

    t.service.github.commit_files(
        REPO,
        "archive-rho",
        &[
            (tfvars_path("rho").as_str(), None),
            ("archive/rho.tfvars", Some(vars.as_bytes())),
        ],
        "Archive rho",
    );
    let moved = t
        .service
        .github
        .open_pr(REPO, "archive-rho", "main", "Archive rho", "", "alice");
    t.deliver(moved, "opened").await;
    let plans = t.comments_with(moved, "Terraform destroy plan for `rho`");
    assert_eq!(
        plans.len(),
        1,
        "{:?}",
        t.service.github.comments(REPO, moved)
    );
    assert_eq!(t.lock_holder("rho").await, Some(moved));
    t.service.github.merge_pr(REPO, moved);
    t.deliver(moved, "closed").await;
    assert_eq!(state_instances(&t.state_file("rho")), 0);
    assert_eq!(t.lock_holder("rho").await, None);
    t.service.stop().await;
}
