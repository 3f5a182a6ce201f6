//! Terraform commands and refusals on pull requests, end to end (see terraform_lifecycle.rs
//! for the setup): configure, a failed apply retried, forks, superseded heads, very large
//! plans, misnamed deployment directories, and a report GitHub refuses. (Destroying:
//! `terraform_destroy`.)

use crate::lifecycle;
use crate::support;
use promptops::pipeline::jobs::JobOutcome;
use promptops_store::RunKind;

use crate::support::repo_name;
use lifecycle::*;
use promptops_store::{RunFilter, RunStatus};
use promptops_testkit::terraform_1_15;
use promptops_testkit::{AapJobResult, FakeAap};
use secrecy::SecretString;
use std::path::Path;
use support::{IssueRef, REPO, pr_payload};

/// `/promptops configure` runs `apply -invoke` with real Terraform 1.15.5 and the stand-in
/// `ansible/aap` provider, whose action launches the job on a fake AAP controller; the
/// module is the terraform crate's `actions-repo` fixture (the action block of
/// terraform/main.tf in small), whose extra_vars carry the planted token.
#[tokio::test(flavor = "multi_thread")]
async fn configure_invokes_the_aap_action_with_terraform_1_15() {
    let aap = FakeAap::start(AapJobResult::Successful).await;
    let (terraform, cli_config) = terraform_1_15();
    let (mut config, scratch) = Lifecycle::runner_config(terraform);
    config.env = vec![
        (
            "TF_CLI_CONFIG_FILE".to_owned(),
            cli_config.display().to_string(),
        ),
        ("TF_VAR_aap_host".to_owned(), aap.url()),
    ];
    config.secret_env = vec![
        (
            "AAP_TOKEN".to_owned(),
            SecretString::from("aap-token-0c1d2e3f".to_owned()),
        ),
        (
            "TF_VAR_api_token".to_owned(),
            SecretString::from(PLANTED_SECRET.to_owned()),
        ),
    ];
    let module = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/terraform/tests/fixtures/actions-repo/terraform/main.tf");
    let mut t = Lifecycle::start_configured(config, scratch, &module).await;
    t.service.github.set_file(
        REPO,
        "main",
        &tfvars_path("zeta"),
        tfvars("zeta", 1, "us-central1-a"),
    );
    let issue = t.linked_issue("zeta", None).await;
    t.command(&issue, "/promptops configure").await;

    let done = t.comments_with(issue.number, "Terraform configure for `zeta`");
    assert_eq!(
        done.len(),
        1,
        "{:?}",
        t.service.github.comments(REPO, issue.number)
    );
    assert!(done[0].contains("Actions: 1 invoked."), "{}", done[0]);
    assert!(
        done[0].contains("action.aap_job_launch.configure_vm"),
        "{}",
        done[0]
    );
    assert!(!done[0].contains(PLANTED_SECRET), "{}", done[0]);
    let launches = aap.launches();
    assert_eq!(launches.len(), 1, "one AAP job launched");
    assert_eq!(
        launches[0].authorization.as_deref(),
        Some("Bearer aap-token-0c1d2e3f")
    );
    let extra_vars: serde_json::Value =
        serde_json::from_str(launches[0].body["extra_vars"].as_str().unwrap()).unwrap();
    assert_eq!(extra_vars["deployment_name"], "zeta");
    let runs = t
        .service
        .store
        .list_runs(&RunFilter {
            repo: Some(repo_name()),
            deployment: Some("zeta".to_owned()),
            ..RunFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].kind, RunKind::Configure);
    assert_eq!(runs[0].status, RunStatus::Succeeded);
    assert!(!runs[0].output.as_deref().unwrap().contains(PLANTED_SECRET));
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_apply_keeps_the_lock_and_apply_on_the_merged_pr_retries() {
    let mut t = Lifecycle::start().await;
    // In the state dir: the sandbox shows Terraform that directory and not the rest.
    let gate = t.scratch.path().join("state/gate-open");
    // The gate is module code (deployment variables hold only the seven checked values), so
    // the pull request waits for a go-ahead before its plan.
    t.service.github.set_file(
        REPO,
        "gated",
        "terraform/gate.auto.tfvars",
        format!("apply_gate = \"{}\"\n", gate.display()),
    );
    let pr = t
        .open_pr(
            "gated",
            "theta",
            &tfvars("theta", 1, "us-central1-a"),
            "alice",
        )
        .await;
    let on_gated = IssueRef {
        number: pr,
        title: "Deployment theta".to_owned(),
        body: String::new(),
        is_pull_request: true,
    };
    // The pull request changes Terraform code: the go-ahead names its head.
    let head = t.service.github.pr(REPO, pr).unwrap().head_sha;
    t.command(&on_gated, &format!("/promptops plan {head}"))
        .await;
    let plan = t.comments_with(pr, "Terraform plan for `theta`");
    assert!(plan[0].contains("Plan: 2 to add"), "{}", plan[0]);

    t.service.github.merge_pr(REPO, pr);
    t.deliver(pr, "closed").await;
    let failed = t.comments_with(pr, "Terraform apply for `theta`: failed");
    assert_eq!(failed.len(), 1, "{:?}", t.service.github.comments(REPO, pr));
    assert!(failed[0].contains("/promptops apply"), "{}", failed[0]);
    assert_eq!(
        t.lock_holder("theta").await,
        Some(pr),
        "a failed apply keeps the lock"
    );
    let checks = t.checks("promptops/apply");
    assert_eq!(
        checks.last().unwrap().conclusion.as_deref(),
        Some("failure")
    );

    // The cause is fixed; `/promptops apply` on the merged PR retries the same merge commit.
    std::fs::write(&gate, "open").unwrap();
    let on_pr = IssueRef {
        number: pr,
        title: "Deployment theta".to_owned(),
        body: String::new(),
        is_pull_request: true,
    };
    t.command(&on_pr, "/promptops apply").await;
    let applied = t.comments_with(pr, "Terraform apply for `theta` — Applied");
    assert_eq!(
        applied.len(),
        1,
        "{:?}",
        t.service.github.comments(REPO, pr)
    );
    assert!(
        t.comments_with(pr, "Terraform apply for `theta`: failed")
            .is_empty(),
        "the failure comment was replaced, not piled on"
    );
    assert_eq!(t.lock_holder("theta").await, None);
    assert_eq!(state_instances(&t.state_file("theta")), 2);
    let statuses: Vec<RunStatus> = t
        .runs(pr)
        .await
        .into_iter()
        .filter(|r| r.kind == RunKind::Apply)
        .map(|r| r.status)
        .collect();
    assert_eq!(
        statuses,
        vec![RunStatus::Succeeded, RunStatus::Failed],
        "newest first"
    );
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fork_pr_is_never_planned() {
    let mut t = Lifecycle::start().await;
    let fork = "mallory/Hello-World";
    t.service.github.add_repo(fork);
    t.service.github.set_permission(REPO, "mallory", "write");
    t.service.github.set_file(
        fork,
        "evil",
        &tfvars_path("iota"),
        tfvars("iota", 1, "us-central1-a"),
    );
    let pr = t.service.github.open_pr(
        REPO,
        "mallory:evil",
        "main",
        "Deployment iota",
        "",
        "mallory",
    );
    t.deliver(pr, "opened").await;
    let refused = t.comments_with(pr, "pull requests from forks");
    assert_eq!(
        refused.len(),
        1,
        "{:?}",
        t.service.github.comments(REPO, pr)
    );
    assert!(refused[0].contains("mallory/Hello-World"), "{}", refused[0]);
    // Nothing of the fork's head was read, not even while the gate decided.
    let head_reads: Vec<String> = t
        .service
        .github
        .requests()
        .iter()
        .filter(|r| r.path.contains("/tarball/") || r.path.contains("terraform.tfvars"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(head_reads.is_empty(), "{head_reads:?}");
    assert!(t.checks("promptops/plan").is_empty());
    assert!(t.runs(pr).await.is_empty());
    assert_eq!(t.lock_holder("iota").await, None);
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pull_request_that_changes_no_terraform_gets_no_comment_from_a_fork_or_an_outsider() {
    let mut t = Lifecycle::start().await;
    let fork = "mallory/Hello-World";
    t.service.github.add_repo(fork);
    t.service
        .github
        .set_file(fork, "docs", "docs/notes.md", "typo fix");
    let from_fork = t
        .service
        .github
        .open_pr(REPO, "mallory:docs", "main", "Docs", "", "mallory");
    t.deliver(from_fork, "opened").await;
    // rita can only read: a pull request of hers touching Terraform would be answered.
    t.service
        .github
        .set_file(REPO, "readme", "README.md", "hello");
    let outsider = t
        .service
        .github
        .open_pr(REPO, "readme", "main", "Readme", "", "rita");
    t.deliver(outsider, "opened").await;
    for pr in [from_fork, outsider] {
        assert!(
            t.service.github.comments(REPO, pr).is_empty(),
            "#{pr}: {:?}",
            t.service.github.comments(REPO, pr)
        );
    }
    assert!(t.checks("promptops/plan").is_empty());
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_for_a_superseded_head_plans_nothing() {
    let mut t = Lifecycle::start().await;
    t.service.github.set_file(
        REPO,
        "moving",
        &tfvars_path("kappa"),
        tfvars("kappa", 1, "us-central1-a"),
    );
    let pr = t
        .service
        .github
        .open_pr(REPO, "moving", "main", "Deployment kappa", "", "alice");
    let stale = pr_payload(&t.service.github, "opened", pr);
    // A push lands before the `opened` delivery is processed.
    t.service.github.set_file(
        REPO,
        "moving",
        &tfvars_path("kappa"),
        tfvars("kappa", 2, "us-central1-a"),
    );
    assert_eq!(
        t.service.deliver("pull_request", &stale).await.status(),
        202
    );
    t.service.job_done().await;
    assert!(
        t.checks("promptops/plan").is_empty(),
        "the stale head is not planned"
    );

    t.deliver(pr, "synchronize").await;
    let plan = t.comments_with(pr, "Terraform plan for `kappa`");
    assert_eq!(plan.len(), 1);
    assert!(
        plan[0].contains("Plan: 2 to add"),
        "the new head is: {}",
        plan[0]
    );

    // Another push: the plan comment is edited in place, each head gets its check run.
    t.service.github.set_file(
        REPO,
        "moving",
        &tfvars_path("kappa"),
        tfvars("kappa", 3, "us-central1-a"),
    );
    t.deliver(pr, "synchronize").await;
    let plan = t.comments_with(pr, "Terraform plan for `kappa`");
    assert_eq!(plan.len(), 1, "updated, not piled on");
    assert!(plan[0].contains("Plan: 3 to add"), "{}", plan[0]);
    assert_eq!(t.checks("promptops/plan").len(), 2);
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_two_thousand_resource_plan_is_split_into_balanced_comments_under_the_limit() {
    let mut t = Lifecycle::start().await;
    t.set_settings("policy:\n  max_vms: 2000\n  max_hourly_usd: 100000\n");
    let pr = t
        .open_pr(
            "huge",
            "lambda",
            &tfvars("lambda", 2000, "us-central1-a"),
            "alice",
        )
        .await;
    let parts: Vec<String> = t
        .service
        .github
        .comments(REPO, pr)
        .into_iter()
        .map(|c| c.body)
        .filter(|body| body.contains("promptops:plan deployment=lambda"))
        .collect();
    assert!(parts.len() > 1, "{} part(s)", parts.len());
    assert!(
        parts[0].lines().nth(1)
            == Some(
                "### 📝 Terraform plan for `lambda`: 2000 to add, 0 to change, 0 to destroy, 3 output changes"
            ),
        "the summary comes first: {}",
        &parts[0][..300]
    );
    for part in &parts {
        assert!(
            part.chars().count() < 65_536,
            "{} chars",
            part.chars().count()
        );
        promptops_terraform::comment::markdown::check_balance(part)
            .unwrap_or_else(|problems| panic!("{problems:?}"));
    }
    let n = parts.len();
    for (i, part) in parts.iter().enumerate() {
        let marker = format!(
            "<!-- promptops:plan deployment=lambda part={}/{n} -->",
            i + 1
        );
        assert!(part.starts_with(&marker), "part {i}: {}", &part[..200]);
    }
    let last = parts.last().unwrap();
    // The plan's own last line (its output changes); the runner's command lines are not
    // posted.
    assert!(
        last.contains("+   + zone           = \"us-central1-a\"\n```\n</details>")
            && !last.contains("$ terraform"),
        "the end of the output is kept: {}",
        &last[last.len().saturating_sub(300)..]
    );
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pr_adding_a_misnamed_deployment_directory_is_told_why_it_is_not_planned() {
    let mut t = Lifecycle::start().await;
    // Written by hand: a trailing dash is not a GCP name, two dashes would break comment keys.
    for bad in ["gpu-", "gpu--demo"] {
        t.service.github.set_file(
            REPO,
            "hand-made",
            &tfvars_path(bad),
            tfvars(bad, 1, "us-central1-a"),
        );
    }
    let pr = t
        .open_pr(
            "hand-made",
            "kappa",
            &tfvars("kappa", 1, "us-central1-a"),
            "alice",
        )
        .await;
    let told = t.comments_with(pr, "not valid deployment names");
    assert_eq!(told.len(), 1, "{:?}", t.service.github.comments(REPO, pr));
    for bad in ["gpu-", "gpu--demo"] {
        assert!(
            told[0].contains(&format!("`terraform/deployments/{bad}`")),
            "{}",
            told[0]
        );
    }
    assert!(told[0].contains("must not end with a dash"), "{}", told[0]);
    // The valid deployment in the same PR is planned as usual; the others are not.
    assert_eq!(t.lock_holder("kappa").await, Some(pr));
    let planned: Vec<String> = t
        .runs(pr)
        .await
        .into_iter()
        .map(|run| run.deployment)
        .collect();
    assert_eq!(planned, vec!["kappa"]);
    // A second push edits the same comment rather than adding one.
    t.deliver(pr, "synchronize").await;
    assert_eq!(t.comments_with(pr, "not valid deployment names").len(), 1);
    t.service.stop().await;
}

/// A commit whose source is larger than the runner takes is refused while it downloads,
/// and the pull request is told so, naming the setting that decides (retrying would not
/// help, so the job is done).
#[tokio::test(flavor = "multi_thread")]
async fn a_source_over_the_limit_is_refused_while_it_downloads_and_the_pr_is_told() {
    let (mut config, scratch) = Lifecycle::runner_config(real_terraform());
    config.source_limits.max_archive_bytes = 64 * 1024;
    let module = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/terraform/main.tf");
    let mut t = Lifecycle::start_configured(config, scratch, &module).await;
    // Outside terraform/: the pull request changes only a deployment's variables and is
    // planned without a go-ahead.
    t.service
        .github
        .set_file(REPO, "big", "assets/noise.bin", incompressible(128 * 1024));
    let pr = t
        .open_pr("big", "mu", &tfvars("mu", 1, "us-central1-a"), "alice")
        .await;
    let (told, run) = t.plan_could_not_run(pr).await;
    assert!(told.contains("larger than 1 MiB"), "{told}");
    assert!(told.contains("PROMPTOPS_MAX_SOURCE_MIB"), "{told}");
    // Terraform never ran: the run's summary is the problem.
    let summary = run.summary.as_deref().unwrap_or_default();
    assert!(summary.contains("larger than 1 MiB"), "{summary}");
    t.service.stop().await;
}

/// The same limit at merge: the merge commit's source is refused and the apply is reported
/// as could not run, the deployment untouched.
#[tokio::test(flavor = "multi_thread")]
async fn a_merge_whose_source_is_over_the_limit_is_not_applied_and_the_pr_is_told() {
    let (mut config, scratch) = Lifecycle::runner_config(real_terraform());
    config.source_limits.max_archive_bytes = 64 * 1024;
    let module = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/terraform/main.tf");
    let mut t = Lifecycle::start_configured(config, scratch, &module).await;
    let pr = t
        .open_pr("nu", "nu", &tfvars("nu", 1, "us-central1-a"), "alice")
        .await;
    assert_eq!(t.comments_with(pr, "Terraform plan for `nu`").len(), 1);
    // Someone lands a large file on the default branch before the merge.
    t.service
        .github
        .set_file(REPO, "main", "assets/noise.bin", incompressible(128 * 1024));
    t.service.github.merge_pr(REPO, pr);
    t.deliver(pr, "closed").await;
    let told = t.comments_with(pr, "could not run");
    assert_eq!(told.len(), 1, "{:?}", t.service.github.comments(REPO, pr));
    assert!(told[0].contains("Terraform apply for `nu`"), "{}", told[0]);
    assert!(told[0].contains("PROMPTOPS_MAX_SOURCE_MIB"), "{}", told[0]);
    let checks = t.checks("promptops/apply");
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].conclusion.as_deref(), Some("failure"));
    let state = t.state_file("nu");
    assert!(
        !state.exists() || state_instances(&state) == 0,
        "nothing was applied"
    );
    t.service.stop().await;
}

/// And for `/promptops configure`: the default branch's source is refused while it
/// downloads, the issue is told, and the configure run is recorded as could-not-run.
#[tokio::test(flavor = "multi_thread")]
async fn a_configure_whose_source_is_over_the_limit_is_not_run_and_the_issue_is_told() {
    let (mut config, scratch) = Lifecycle::runner_config(real_terraform());
    config.source_limits.max_archive_bytes = 64 * 1024;
    let module = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/terraform/main.tf");
    let mut t = Lifecycle::start_configured(config, scratch, &module).await;
    t.service.github.set_file(
        REPO,
        "main",
        &tfvars_path("xi"),
        tfvars("xi", 1, "us-central1-a"),
    );
    t.service
        .github
        .set_file(REPO, "main", "assets/noise.bin", incompressible(128 * 1024));
    let issue = t.linked_issue("xi", None).await;
    t.command(&issue, "/promptops configure").await;
    let told = t.comments_with(issue.number, "could not run");
    assert_eq!(
        told.len(),
        1,
        "{:?}",
        t.service.github.comments(REPO, issue.number)
    );
    assert!(
        told[0].contains("Terraform configure for `xi`"),
        "{}",
        told[0]
    );
    assert!(told[0].contains("PROMPTOPS_MAX_SOURCE_MIB"), "{}", told[0]);
    let runs = t
        .service
        .store
        .list_runs(&RunFilter {
            repo: Some(repo_name()),
            deployment: Some("xi".to_owned()),
            ..RunFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].kind, RunKind::Configure);
    assert_eq!(runs[0].status, RunStatus::Failed);
    t.service.stop().await;
}

/// GitHub refusing the plan's report for longer than the client retries fails the job, but
/// the plan's check run is still completed and its run recorded as ended: a check run left
/// in progress would hold a required check pending for good, and the run would show as
/// running on the dashboard.
#[tokio::test(flavor = "multi_thread")]
async fn a_report_github_refuses_still_completes_the_check_run_and_the_run_record() {
    let mut t = Lifecycle::start().await;
    let pr = t.open_pr_undelivered(
        "refused",
        "omicron",
        &tfvars("omicron", 1, "us-central1-a"),
        "alice",
    );
    let comments = format!("/repos/{REPO}/issues/{pr}/comments");
    t.service
        .github
        .fail_next("POST", &comments, 502, &[], 1000);
    let payload = pr_payload(&t.service.github, "opened", pr);
    let answer = t.service.deliver("pull_request", &payload).await;
    assert_eq!(answer.status(), 202);
    let event = t.service.jobs_finished(1).await.remove(0);
    assert!(
        matches!(event.outcome, JobOutcome::Failed { .. }),
        "the report was not posted, so the job is retried: {event:?}"
    );
    assert!(t.comments_with(pr, "Terraform plan").is_empty());
    let checks = t.checks("promptops/plan");
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].status, "completed", "{:?}", checks[0]);
    assert_eq!(checks[0].conclusion.as_deref(), Some("success"));
    assert!(
        checks[0]
            .summary
            .as_deref()
            .unwrap_or_default()
            .contains("1 to create"),
        "{:?}",
        checks[0].summary
    );
    let runs = t.runs(pr).await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Succeeded);
    t.service.stop().await;
}
