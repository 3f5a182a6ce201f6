//! Terraform on pull requests, end to end: signed `pull_request` deliveries through the real
//! router and workers, the fake GitHub serving the repository as tarballs, and the real
//! `terraform` binary (1.11 on the CI image) against `tests/fixtures/terraform/main.tf`
//! (built-in `terraform_data` only, no provider download) with a local backend whose state
//! lives outside the per-run work dirs.

use crate::lifecycle;
use crate::support;
use promptops_store::RunKind;

#[allow(unused_imports)]
use lifecycle::*;
#[allow(unused_imports)]
use promptops_store::{RunFilter, RunStatus};
#[allow(unused_imports)]
use std::path::{Path, PathBuf};
#[allow(unused_imports)]
use std::time::Duration;
#[allow(unused_imports)]
use support::{IssueRef, REPO, comment_payload, pr_payload};

#[tokio::test(flavor = "multi_thread")]
async fn a_pr_is_planned_once_per_sha_then_merging_applies_it_and_a_later_pr_shows_replacements() {
    let mut t = Lifecycle::start().await;
    let issue = t
        .service
        .github
        .add_issue(REPO, "alice", "GPUs", "2 T4 VMs in us-central1");
    let pr = t
        .open_request_pr(issue, "alpha", &tfvars("alpha", 2, "us-central1-a"))
        .await;

    let plans = t.comments_with(pr, "Terraform plan for `alpha`");
    assert_eq!(plans.len(), 1, "{plans:?}");
    let plan = &plans[0];
    // One headline with the counts first, no second summary; the lock, how to release it
    // and the run on the dashboard above the fold; the plan alone in the collapsed block.
    let lines: Vec<&str> = plan.lines().collect();
    assert!(
        lines[1]
            .starts_with("### 📝 Terraform plan for `alpha`: 2 to add, 0 to change, 0 to destroy"),
        "{plan}"
    );
    assert!(
        !plan.contains("**Plan:") && !plan.contains("to create ·"),
        "{plan}"
    );
    let (fold, block) = plan.split_once("<details>").unwrap();
    assert!(fold.contains("locked to this pull request"), "{fold}");
    assert!(fold.contains("`/promptops unlock`"), "{fold}");
    let run_id = t.runs(pr).await[0].id;
    assert!(
        fold.contains(&format!("({PUBLIC_URL}/dashboard/runs/{run_id})")),
        "{fold}"
    );
    assert!(
        block.contains("Plan: 2 to add, 0 to change, 0 to destroy."),
        "{block}"
    );
    for noise in [
        "Terraform has been successfully initialized",
        "$ terraform",
        "Initializing",
    ] {
        assert!(!block.contains(noise), "{noise:?} in {block}");
    }
    assert!(
        plan.contains("| ➕ create | `terraform_data.vm[1]` |"),
        "{plan}"
    );
    let head = t.service.github.pr(REPO, pr).unwrap().head_sha;
    let checks = t.checks("promptops/plan");
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert_eq!(checks[0].head_sha, head);
    assert_eq!(checks[0].status, "completed");
    assert_eq!(checks[0].conclusion.as_deref(), Some("success"));
    assert!(
        checks[0]
            .summary
            .as_deref()
            .unwrap()
            .contains("Plan: 2 to add"),
        "{:?}",
        checks[0].summary
    );
    assert_eq!(t.lock_holder("alpha").await, Some(pr));
    assert!(!t.state_file("alpha").exists(), "a plan writes no state");

    // GitHub redelivering the event (a new delivery id, same head SHA) plans nothing again.
    t.deliver(pr, "opened").await;
    assert_eq!(t.checks("promptops/plan").len(), 1);
    assert_eq!(t.comments_with(pr, "Terraform plan for `alpha`").len(), 1);
    let runs = t.runs(pr).await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].kind, RunKind::Plan);
    assert_eq!(runs[0].status, RunStatus::Succeeded);
    assert_eq!(
        runs[0].sha.as_ref().map(|sha| sha.as_str()),
        Some(head.as_str())
    );

    // Merge: the merge commit is planned and applied, the state is written, the lock freed.
    let merge_sha = t.service.github.merge_pr(REPO, pr);
    t.deliver(pr, "closed").await;
    assert_eq!(state_instances(&t.state_file("alpha")), 2);
    let applied = t.comments_with(pr, "Terraform apply for `alpha`");
    assert_eq!(applied.len(), 1, "{applied:?}");
    assert!(
        applied[0].contains(
            "\n### ✅ Terraform apply for `alpha` — Applied: 2 added, 0 changed, 0 destroyed\n"
        ),
        "past tense: {}",
        applied[0]
    );
    assert!(
        applied[0].contains("- `vm_names`: `alpha-0`, `alpha-1`\n"),
        "outputs are shown as values: {}",
        applied[0]
    );
    assert!(
        applied[0].contains("`/promptops destroy`"),
        "{}",
        applied[0]
    );
    // The issue gets a short note linking the full report, not the log a second time.
    let on_issue = t.comments_with(issue, "Terraform apply for `alpha`");
    assert_eq!(on_issue.len(), 1, "the request's issue hears of it too");
    let report_comment = t
        .service
        .github
        .comments(REPO, pr)
        .into_iter()
        .find(|c| c.body.contains("Terraform apply for `alpha` — Applied"))
        .unwrap();
    assert!(
        on_issue[0].contains(&format!("#issuecomment-{})", report_comment.id)),
        "{}",
        on_issue[0]
    );
    assert!(!on_issue[0].contains("Apply complete!"), "{}", on_issue[0]);
    assert!(!on_issue[0].contains("<details>"), "{}", on_issue[0]);
    assert!(
        on_issue[0].contains("This issue is now closed"),
        "{}",
        on_issue[0]
    );
    assert!(
        !t.service.github.issue(REPO, issue).unwrap().open,
        "the issue is closed once the apply succeeded"
    );
    // /metrics counts the plan and the apply by outcome, with their durations.
    let metrics = support::exposition::scrape(&t.service).await;
    let sample = |name: &str, kind: &str, outcome: &str| {
        support::exposition::sample(&metrics, name, &[("kind", kind), ("outcome", outcome)])
    };
    assert_eq!(
        sample("promptops_terraform_runs_total", "plan", "changes"),
        1.0
    );
    assert_eq!(
        sample("promptops_terraform_runs_total", "apply", "applied"),
        1.0
    );
    assert_eq!(
        sample("promptops_terraform_runs_total", "apply", "failed"),
        0.0
    );
    for (kind, outcome) in [("plan", "changes"), ("apply", "applied")] {
        let count = "promptops_terraform_run_duration_seconds_count";
        assert_eq!(sample(count, kind, outcome), 1.0, "{kind}");
        let sum = "promptops_terraform_run_duration_seconds_sum";
        assert!(sample(sum, kind, outcome) > 0.0, "{kind}");
    }
    let apply_checks = t.checks("promptops/apply");
    assert_eq!(apply_checks.len(), 1);
    assert_eq!(apply_checks[0].head_sha, merge_sha);
    assert_eq!(apply_checks[0].conclusion.as_deref(), Some("success"));
    assert_eq!(t.lock_holder("alpha").await, None, "released after success");
    let apply_run = t
        .runs(pr)
        .await
        .into_iter()
        .find(|r| r.kind == RunKind::Apply)
        .unwrap();
    assert_eq!(apply_run.status, RunStatus::Succeeded);
    assert_eq!(
        apply_run.sha.as_ref().map(|sha| sha.as_str()),
        Some(merge_sha.as_str())
    );

    // A change to the Terraform code alone plans every deployment on main (here: alpha).
    t.service.github.set_file(
        REPO,
        "module-change",
        "terraform/outputs.tf",
        "output \"vm_count\" {\n  value = var.vm_count\n}\n",
    );
    let module_pr = t.service.github.open_pr(
        REPO,
        "module-change",
        "main",
        "Output the VM count",
        "",
        "alice",
    );
    t.deliver(module_pr, "opened").await;
    // Code changes wait for a go-ahead: alice has the required permission.
    assert_eq!(
        t.comments_with(module_pr, "changes Terraform code").len(),
        1
    );
    assert!(
        t.comments_with(module_pr, "Terraform plan for `alpha`")
            .is_empty()
    );
    let on_module_pr = IssueRef {
        number: module_pr,
        title: "Output the VM count".to_owned(),
        body: String::new(),
        is_pull_request: true,
    };
    let head = t.service.github.pr(REPO, module_pr).unwrap().head_sha;
    t.command(&on_module_pr, &format!("/promptops plan {head}"))
        .await;
    let module_plan = t.comments_with(module_pr, "Terraform plan for `alpha`");
    assert_eq!(
        module_plan.len(),
        1,
        "{:?}",
        t.service.github.comments(REPO, module_pr)
    );
    assert!(module_plan[0].contains("vm_count"), "{}", module_plan[0]);
    t.service.github.close_issue(REPO, module_pr);
    t.deliver(module_pr, "closed").await;
    assert_eq!(t.lock_holder("alpha").await, None);

    // A later PR moves the deployment to another zone: every VM is replaced, one is added.
    let pr2 = t
        .open_pr(
            "move-zone",
            "alpha",
            &tfvars("alpha", 3, "us-central1-b"),
            "alice",
        )
        .await;
    let plan2 = t.comments_with(pr2, "Terraform plan for `alpha`");
    assert_eq!(plan2.len(), 1, "{plan2:?}");
    assert!(
        plan2[0].contains("Terraform plan for `alpha`: 3 to add, 0 to change, 2 to destroy"),
        "{}",
        plan2[0]
    );
    assert!(
        plan2[0].contains("| ♻️ replace | `terraform_data.vm[0]` |"),
        "{}",
        plan2[0]
    );
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_pr_is_told_who_holds_the_lock_and_closing_the_holder_frees_it() {
    let mut t = Lifecycle::start().await;
    let first = t
        .open_pr(
            "first",
            "beta",
            &tfvars("beta", 1, "us-central1-a"),
            "alice",
        )
        .await;
    assert_eq!(t.lock_holder("beta").await, Some(first));

    let second = t
        .open_pr(
            "second",
            "beta",
            &tfvars("beta", 2, "us-central1-a"),
            "alice",
        )
        .await;
    let told = t.comments_with(second, "is locked by");
    assert_eq!(
        told.len(),
        1,
        "{:?}",
        t.service.github.comments(REPO, second)
    );
    assert!(told[0].contains(&format!("#{first}")), "{}", told[0]);
    assert!(
        t.comments_with(second, "Terraform plan for `beta`")
            .is_empty(),
        "not planned while locked"
    );
    let second_head = t.service.github.pr(REPO, second).unwrap().head_sha;
    let refused = t
        .checks("promptops/plan")
        .into_iter()
        .find(|c| c.head_sha == second_head)
        .unwrap();
    assert_eq!(refused.conclusion.as_deref(), Some("failure"));

    // Closing the holder without merging frees the lock; nothing is applied.
    t.service.github.close_issue(REPO, first);
    t.deliver(first, "closed").await;
    assert_eq!(t.lock_holder("beta").await, None);
    assert_eq!(
        t.comments_with(first, "released the lock on `beta`").len(),
        1
    );
    assert!(!t.state_file("beta").exists());

    // The waiting PR is planned on its next event and now holds the lock.
    t.deliver(second, "synchronize").await;
    let plan = t.comments_with(second, "Terraform plan for `beta`");
    assert_eq!(plan.len(), 1);
    assert!(plan[0].contains("Plan: 2 to add"), "{}", plan[0]);
    assert_eq!(t.lock_holder("beta").await, Some(second));
    assert!(
        t.comments_with(second, "is locked by").is_empty(),
        "the lock notice is updated"
    );
    assert_eq!(
        t.comments_with(second, "now locked by this pull request")
            .len(),
        1
    );

    // `/promptops plan` on the PR plans its head again, although that SHA was planned.
    let checks_before = t.checks("promptops/plan").len();
    let on_pr = IssueRef {
        number: second,
        title: "Deployment beta".to_owned(),
        body: String::new(),
        is_pull_request: true,
    };
    t.command(&on_pr, "/promptops plan").await;
    assert_eq!(t.checks("promptops/plan").len(), checks_before + 1);
    assert_eq!(
        t.comments_with(second, "Terraform plan for `beta`").len(),
        1
    );
    let plans = t
        .runs(second)
        .await
        .into_iter()
        .filter(|r| r.kind == RunKind::Plan)
        .count();
    assert_eq!(plans, 2);
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_variable_gives_a_failure_comment_and_a_failed_check() {
    let mut t = Lifecycle::start().await;
    let pr = t
        .open_pr(
            "bad",
            "gamma",
            &tfvars("gamma", -1, "us-central1-a"),
            "alice",
        )
        .await;
    // Refused before Terraform: the variables are checked like a planned request's.
    let plan = t.comments_with(pr, "Terraform plan for `gamma`");
    assert_eq!(plan.len(), 1);
    assert!(plan[0].contains("refused"), "{}", plan[0]);
    assert!(plan[0].contains("vm_count = -1"), "{}", plan[0]);
    let checks = t.checks("promptops/plan");
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].conclusion.as_deref(), Some("failure"));
    let runs = t.runs(pr).await;
    assert_eq!(runs[0].status, RunStatus::Failed);
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn planted_secrets_never_reach_comments_checks_or_the_database() {
    let mut t = Lifecycle::start().await;
    let pr = t
        .open_pr(
            "secret",
            "delta",
            &tfvars("delta", 1, "us-central1-a"),
            "alice",
        )
        .await;
    t.service.github.merge_pr(REPO, pr);
    t.deliver(pr, "closed").await;
    assert_eq!(state_instances(&t.state_file("delta")), 1, "the apply ran");

    let plan = t.comments_with(pr, "Terraform plan for `delta`");
    assert_eq!(plan.len(), 1);
    assert!(
        plan[0].contains("api_token") && plan[0].contains("***"),
        "the planted value was in the plan, masked: {}",
        plan[0]
    );
    for comment in t.service.github.all_comments() {
        assert!(!comment.body.contains(PLANTED_SECRET), "{}", comment.body);
    }
    for check in t.service.github.check_runs() {
        let text = format!("{:?} {:?} {:?}", check.title, check.summary, check.text);
        assert!(!text.contains(PLANTED_SECRET), "{text}");
    }
    let runs = t.runs(pr).await;
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert!(
        runs.iter()
            .all(|r| r.output.as_deref().is_some_and(|o| !o.is_empty()))
    );
    // The database file and its write-ahead log, as they are on disk now.
    let needle = PLANTED_SECRET.as_bytes();
    let db_name = t.service.db_path.file_name().unwrap().to_owned();
    let mut files = 0;
    for entry in std::fs::read_dir(t.service.db_path.parent().unwrap()).unwrap() {
        let entry = entry.unwrap();
        if !entry
            .file_name()
            .to_string_lossy()
            .starts_with(&*db_name.to_string_lossy())
        {
            continue;
        }
        files += 1;
        let bytes = std::fs::read(entry.path()).unwrap();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "the secret is in {}",
            entry.path().display()
        );
    }
    assert!(files >= 1);
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pr_by_an_author_without_write_permission_is_not_planned() {
    let mut t = Lifecycle::start().await;
    let pr = t
        .open_pr(
            "from-rita",
            "eps",
            &tfvars("eps", 1, "us-central1-a"),
            "rita",
        )
        .await;
    let refused = t.comments_with(pr, "Not planned");
    assert_eq!(
        refused.len(),
        1,
        "{:?}",
        t.service.github.comments(REPO, pr)
    );
    assert!(refused[0].contains("`rita` has **read**"), "{}", refused[0]);
    assert!(t.checks("promptops/plan").is_empty());
    assert_eq!(t.lock_holder("eps").await, None);
    assert!(t.runs(pr).await.is_empty());
    t.service.stop().await;
}
