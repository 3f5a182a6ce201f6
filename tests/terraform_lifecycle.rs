//! Terraform on pull requests, end to end: signed `pull_request` deliveries through the real
//! router and workers, the fake GitHub serving the repository as tarballs, and the real
//! `terraform` binary (1.11 on the CI image) against `tests/fixtures/terraform/main.tf`
//! (built-in `terraform_data` only, no provider download) with a local backend whose state
//! lives outside the per-run work dirs.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use promptops_store::{RunFilter, RunStatus};
use promptops_terraform::RunnerConfig;
use secrecy::SecretString;
use support::{IssueRef, Options, REPO, TestService, comment_payload, pr_payload};
use tempfile::TempDir;

/// Planted as `TF_VAR_api_token` for terraform: the fixture puts it into every resource's
/// input, so an unmasked plan would print it.
const PLANTED_SECRET: &str = "tok-9f2c7e1a-planted-secret";

fn real_terraform() -> PathBuf {
    let bin = std::env::var_os("TERRAFORM_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/local/bin/terraform"));
    assert!(
        bin.is_file(),
        "these tests need the real terraform binary at {} (set TERRAFORM_BIN to use another path)",
        bin.display()
    );
    bin
}

fn tfvars(deployment: &str, vm_count: i64, zone: &str) -> String {
    format!(
        "deployment_name   = \"{deployment}\"\nvm_count          = {vm_count}\ngpu_type          = \"nvidia-tesla-t4\"\ngpu_count         = 1\nmachine_type      = \"n1-standard-4\"\nzone              = \"{zone}\"\nboot_disk_size_gb = 100\n"
    )
}

fn tfvars_path(deployment: &str) -> String {
    format!("terraform/deployments/{deployment}/terraform.tfvars")
}

/// The service with a Terraform runner, and the repository's module and settings on main.
struct Lifecycle {
    service: TestService,
    scratch: TempDir,
}

impl Lifecycle {
    async fn start() -> Lifecycle {
        Self::start_with(real_terraform(), "TF_VAR_api_token").await
    }

    /// With `bin` as terraform, and `PLANTED_SECRET` in its environment as `secret_var`.
    async fn start_with(bin: PathBuf, secret_var: &str) -> Lifecycle {
        let scratch = tempfile::tempdir().unwrap();
        let state_dir = scratch.path().join("state");
        std::fs::create_dir_all(&state_dir).unwrap();
        let mut config = RunnerConfig::new(scratch.path().join("work"));
        config.terraform_bin = bin;
        config.plugin_cache_dir = scratch.path().join("plugin-cache");
        config.timeout = Duration::from_secs(300);
        config.secret_env = vec![(
            secret_var.to_owned(),
            SecretString::from(PLANTED_SECRET.to_owned()),
        )];
        let service = TestService::start(Options {
            terraform: Some(config),
            ..Options::default()
        })
        .await;
        let module = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/terraform/main.tf"),
        )
        .unwrap();
        let settings = format!(
            "terraform:\n  backend_config:\n    path: \"{}/{{deployment}}.tfstate\"\n",
            state_dir.display()
        );
        service.github.commit_files(
            REPO,
            "main",
            &[
                ("terraform/main.tf", Some(module.as_slice())),
                (".github/promptops.yml", Some(settings.as_bytes())),
            ],
            "Add the root module and PromptOps settings",
        );
        Lifecycle { service, scratch }
    }

    fn state_file(&self, deployment: &str) -> PathBuf {
        self.scratch
            .path()
            .join("state")
            .join(format!("{deployment}.tfstate"))
    }

    /// Commits the deployment's tfvars on `branch`, opens a PR by `author`, delivers
    /// `opened` and waits for the job.
    async fn open_pr(&mut self, branch: &str, deployment: &str, tfvars: &str, author: &str) -> u64 {
        self.service
            .github
            .set_file(REPO, branch, &tfvars_path(deployment), tfvars);
        let number = self.service.github.open_pr(
            REPO,
            branch,
            "main",
            &format!("Deployment {deployment}"),
            "",
            author,
        );
        self.deliver(number, "opened").await;
        number
    }

    async fn deliver(&mut self, pr: u64, action: &str) {
        let payload = pr_payload(&self.service.github, action, pr);
        let response = self.service.deliver("pull_request", &payload).await;
        assert_eq!(response.status(), 202);
        self.service.job_done().await;
    }

    fn comments_with(&self, issue: u64, needle: &str) -> Vec<String> {
        self.service
            .github
            .comments(REPO, issue)
            .into_iter()
            .map(|c| c.body)
            .filter(|body| body.contains(needle))
            .collect()
    }

    fn checks(&self, name: &str) -> Vec<promptops_testkit::CheckRun> {
        self.service
            .github
            .check_runs()
            .into_iter()
            .filter(|c| c.name == name)
            .collect()
    }

    async fn runs(&self, pr: u64) -> Vec<promptops_store::Run> {
        self.service
            .store
            .list_runs(&RunFilter {
                repo: Some(REPO.to_owned()),
                pr: Some(pr),
                ..RunFilter::default()
            })
            .await
            .unwrap()
    }

    async fn lock_holder(&self, deployment: &str) -> Option<u64> {
        self.service
            .store
            .lock(REPO, deployment)
            .await
            .unwrap()
            .map(|lock| lock.pr)
    }
}

fn state_instances(path: &Path) -> usize {
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("state file")).unwrap();
    state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["instances"].as_array().unwrap().len())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pr_is_planned_once_per_sha_then_merging_applies_it_and_a_later_pr_shows_replacements() {
    let mut t = Lifecycle::start().await;
    let issue = t
        .service
        .github
        .add_issue(REPO, "alice", "GPUs", "2 T4 VMs in us-central1");
    let pr = t
        .open_pr(
            "promptops/issue-1",
            "alpha",
            &tfvars("alpha", 2, "us-central1-a"),
            "alice",
        )
        .await;
    t.service
        .store
        .upsert_request(REPO, issue, "alpha", "promptops/issue-1", Some(pr))
        .await
        .unwrap();

    let plans = t.comments_with(pr, "Terraform plan for `alpha`");
    assert_eq!(plans.len(), 1, "{plans:?}");
    let plan = &plans[0];
    assert!(
        plan.contains("Plan: 2 to add, 0 to change, 0 to destroy."),
        "{plan}"
    );
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
    assert_eq!(runs[0].kind, "plan");
    assert_eq!(runs[0].status, RunStatus::Succeeded);
    assert_eq!(runs[0].sha.as_deref(), Some(head.as_str()));

    // Merge: the merge commit is planned and applied, the state is written, the lock freed.
    let merge_sha = t.service.github.merge_pr(REPO, pr);
    t.deliver(pr, "closed").await;
    assert_eq!(state_instances(&t.state_file("alpha")), 2);
    let applied = t.comments_with(pr, "Terraform apply for `alpha`");
    assert_eq!(applied.len(), 1, "{applied:?}");
    assert!(
        applied[0].contains("Apply complete! Resources: 2 added, 0 changed, 0 destroyed."),
        "{}",
        applied[0]
    );
    assert!(
        applied[0].contains("alpha-1"),
        "outputs are shown: {}",
        applied[0]
    );
    let on_issue = t.comments_with(issue, "Apply complete! Resources: 2 added");
    assert_eq!(on_issue.len(), 1, "the request's issue hears of it too");
    let apply_checks = t.checks("promptops/apply");
    assert_eq!(apply_checks.len(), 1);
    assert_eq!(apply_checks[0].head_sha, merge_sha);
    assert_eq!(apply_checks[0].conclusion.as_deref(), Some("success"));
    assert_eq!(t.lock_holder("alpha").await, None, "released after success");
    let apply_run = t
        .runs(pr)
        .await
        .into_iter()
        .find(|r| r.kind == "apply")
        .unwrap();
    assert_eq!(apply_run.status, RunStatus::Succeeded);
    assert_eq!(apply_run.sha.as_deref(), Some(merge_sha.as_str()));

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
        plan2[0].contains("1 to create · 0 to update · 2 to replace · 0 to delete"),
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
        .filter(|r| r.kind == "plan")
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
    let plan = t.comments_with(pr, "Terraform plan for `gamma`");
    assert_eq!(plan.len(), 1);
    assert!(plan[0].contains("failed"), "{}", plan[0]);
    assert!(
        plan[0].contains("vm_count must be between 0 and 5000"),
        "{}",
        plan[0]
    );
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
    let refused = t.comments_with(pr, "was not planned");
    assert_eq!(
        refused.len(),
        1,
        "{:?}",
        t.service.github.comments(REPO, pr)
    );
    assert!(refused[0].contains("@rita has **read**"), "{}", refused[0]);
    assert!(t.checks("promptops/plan").is_empty());
    assert_eq!(t.lock_holder("eps").await, None);
    assert!(t.runs(pr).await.is_empty());
    t.service.stop().await;
}

impl Lifecycle {
    /// An issue linked to `deployment` (as PromptOps links the issues it planned).
    async fn linked_issue(&self, deployment: &str, pr: Option<u64>) -> IssueRef {
        let number = self
            .service
            .github
            .add_issue(REPO, "alice", "GPUs", "one T4 VM");
        self.service
            .store
            .upsert_request(
                REPO,
                number,
                deployment,
                &format!("promptops/issue-{number}"),
                pr,
            )
            .await
            .unwrap();
        IssueRef {
            number,
            title: "GPUs".to_owned(),
            body: "one T4 VM".to_owned(),
            is_pull_request: false,
        }
    }

    async fn command(&mut self, issue: &IssueRef, body: &str) {
        let response = self
            .service
            .deliver("issue_comment", &comment_payload(issue, "alice", body))
            .await;
        assert_eq!(response.status(), 202);
        self.service.job_done().await;
    }
}

/// `-invoke` needs Terraform >= 1.14.1 and this machine has 1.11: this test runs against
/// the scripted stand-in `tests/fixtures/terraform/bin/terraform-1.14-standin.sh`, which
/// prints the output documented for 1.14 and echoes `$AAP_TOKEN`.
#[tokio::test(flavor = "multi_thread")]
async fn configure_invokes_the_aap_action_against_a_terraform_1_14_standin() {
    let standin = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/terraform/bin/terraform-1.14-standin.sh");
    let mut t = Lifecycle::start_with(standin, "AAP_TOKEN").await;
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
    let runs = t
        .service
        .store
        .list_runs(&RunFilter {
            repo: Some(REPO.to_owned()),
            deployment: Some("zeta".to_owned()),
            ..RunFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].kind, "configure");
    assert_eq!(runs[0].status, RunStatus::Succeeded);
    assert!(!runs[0].output.as_deref().unwrap().contains(PLANTED_SECRET));
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_opens_a_pr_removing_the_deployment_and_merging_it_destroys_the_resources() {
    let mut t = Lifecycle::start().await;
    let pr = t
        .open_pr(
            "create-omega",
            "omega",
            &tfvars("omega", 1, "us-central1-a"),
            "alice",
        )
        .await;
    let issue = t.linked_issue("omega", Some(pr)).await;
    t.service.github.merge_pr(REPO, pr);
    t.deliver(pr, "closed").await;
    assert_eq!(state_instances(&t.state_file("omega")), 1);

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
    let preview = t.comments_with(destroy_pr.number, "Merging it runs `terraform destroy`");
    assert_eq!(
        preview.len(),
        1,
        "{:?}",
        t.service.github.comments(REPO, destroy_pr.number)
    );
    assert_eq!(t.lock_holder("omega").await, Some(destroy_pr.number));

    t.service.github.merge_pr(REPO, destroy_pr.number);
    t.deliver(destroy_pr.number, "closed").await;
    let destroyed = t.comments_with(destroy_pr.number, "Terraform destroy for `omega`: done");
    assert_eq!(
        destroyed.len(),
        1,
        "{:?}",
        t.service.github.comments(REPO, destroy_pr.number)
    );
    assert!(
        destroyed[0].contains("Apply complete! Resources: 0 added, 0 changed, 1 destroyed."),
        "{}",
        destroyed[0]
    );
    assert_eq!(state_instances(&t.state_file("omega")), 0);
    assert_eq!(t.lock_holder("omega").await, None);
    let runs = t.runs(destroy_pr.number).await;
    assert!(
        runs.iter()
            .any(|r| r.kind == "destroy" && r.status == RunStatus::Succeeded),
        "{runs:?}"
    );
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_apply_keeps_the_lock_and_apply_on_the_merged_pr_retries() {
    let mut t = Lifecycle::start().await;
    let gate = t.scratch.path().join("gate-open");
    let vars = format!(
        "{}apply_gate        = \"{}\"\n",
        tfvars("theta", 1, "us-central1-a"),
        gate.display()
    );
    let pr = t.open_pr("gated", "theta", &vars, "alice").await;
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
    let applied = t.comments_with(pr, "Terraform apply for `theta`: done");
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
        .filter(|r| r.kind == "apply")
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
    assert!(t.checks("promptops/plan").is_empty());
    assert!(t.runs(pr).await.is_empty());
    assert_eq!(t.lock_holder("iota").await, None);
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
        parts[0].contains("Plan: 2000 to add, 0 to change, 0 to destroy."),
        "the summary comes first"
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
    assert!(
        last.contains("$ terraform show -json"),
        "the end of the output is kept: {}",
        &last[last.len().saturating_sub(300)..]
    );
    t.service.stop().await;
}
