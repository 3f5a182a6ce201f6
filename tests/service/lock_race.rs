//! A deployment is locked by the PR that plans it until that PR is merged or closed, and
//! closing it while its plan still runs leaves no lock behind (issue 4).
//!
//! The real `terraform` binary runs behind a gate script: its `plan` announces itself with a
//! marker file and waits for the test to open the gate, so the close is delivered and handled
//! while the plan is provably in flight — by ordering, not by timing.

use crate::support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::repo_name;
use promptops_terraform::RunnerConfig;
use promptops_testkit::FakeGithub;
use support::{Options, REPO, TestService, pr_payload};
use tempfile::TempDir;

const DEPLOYMENT: &str = "gamma";

fn real_terraform() -> PathBuf {
    let bin = std::env::var_os("TERRAFORM_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/local/bin/terraform"));
    assert!(
        bin.is_file(),
        "this test needs the real terraform binary at {} (set TERRAFORM_BIN to use another path)",
        bin.display()
    );
    bin
}

/// A terraform wrapper whose `plan` touches `started` and then waits (at most ~25 s, so a
/// broken test fails on its job wait instead of hanging) until `gate` exists before running
/// the real binary. Every other command goes straight to the real binary.
fn gated_terraform(dir: &Path, real: &Path, started: &Path, gate: &Path) -> PathBuf {
    let script = format!(
        "#!/bin/sh\n\
         if [ \"$1\" = plan ]; then\n  \
           /usr/bin/touch '{started}'\n  \
           i=0\n  \
           while [ ! -e '{gate}' ] && [ $i -lt 500 ]; do /usr/bin/sleep 0.05; i=$((i+1)); done\n\
         fi\n\
         exec '{real}' \"$@\"\n",
        started = started.display(),
        gate = gate.display(),
        real = real.display(),
    );
    let path = dir.join("terraform-gated.sh");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn tfvars(vm_count: i64) -> String {
    format!(
        "deployment_name   = \"{DEPLOYMENT}\"\nvm_count          = {vm_count}\ngpu_type          = \"nvidia-tesla-t4\"\ngpu_count         = 1\nmachine_type      = \"n1-standard-4\"\nzone              = \"us-central1-a\"\nboot_disk_size_gb = 100\n"
    )
}

/// Opens a PR by `alice` from `branch` that sets the deployment's variables.
fn open_pr(github: &FakeGithub, branch: &str, vm_count: i64) -> u64 {
    github.set_file(
        REPO,
        branch,
        &format!("terraform/deployments/{DEPLOYMENT}/terraform.tfvars"),
        tfvars(vm_count),
    );
    github.open_pr(
        REPO,
        branch,
        "main",
        &format!("Deployment {DEPLOYMENT}"),
        "",
        "alice",
    )
}

async fn deliver(service: &TestService, pr: u64, action: &str) {
    let payload = pr_payload(&service.github, action, pr);
    let response = service.deliver("pull_request", &payload).await;
    assert_eq!(response.status(), 202, "pull_request.{action} for #{pr}");
}

fn comments_with(github: &FakeGithub, pr: u64, needle: &str) -> Vec<String> {
    github
        .comments(REPO, pr)
        .into_iter()
        .map(|c| c.body)
        .filter(|body| body.contains(needle))
        .collect()
}

/// Waits for the gated plan to reach terraform; panics naming what never happened.
async fn plan_started(started: &Path) {
    for _ in 0..600 {
        if started.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the plan for #1 never reached terraform ({} was not created)",
        started.display()
    );
}

/// The service with the gated terraform, and the module and settings on main.
struct Race {
    service: TestService,
    scratch: TempDir,
    started: PathBuf,
    gate: PathBuf,
}

impl Race {
    async fn start() -> Race {
        let scratch = tempfile::tempdir().unwrap();
        let state_dir = scratch.path().join("state");
        std::fs::create_dir_all(&state_dir).unwrap();
        // In the state dir, which the sandbox lets terraform (and this wrapper) reach.
        let started = state_dir.join("plan-started");
        let gate = state_dir.join("plan-gate");
        let bin = gated_terraform(scratch.path(), &real_terraform(), &started, &gate);
        let mut config = RunnerConfig::new(scratch.path().join("work"));
        config.terraform_bin = bin;
        config.sandbox.writable.push(state_dir.clone());
        config.plugin_cache_dir = scratch.path().join("plugin-cache");
        config.timeout = Duration::from_secs(300);
        // Two workers: the close is handled while the plan job still holds the other one.
        let service = TestService::start(Options {
            terraform: Some(config),
            workers: 2,
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
        Race {
            service,
            scratch,
            started,
            gate,
        }
    }

    /// Opens the first PR and delivers `opened`; returns once its plan is held inside
    /// terraform, having taken the lock.
    async fn first_plan_held(&self) -> u64 {
        let first = open_pr(&self.service.github, "promptops/first", 1);
        deliver(&self.service, first, "opened").await;
        plan_started(&self.started).await;
        assert_eq!(
            self.holder().await,
            Some(first),
            "the plan takes the lock before running terraform"
        );
        first
    }

    fn open_gate(&self) {
        std::fs::write(&self.gate, b"open").unwrap();
    }

    async fn holder(&self) -> Option<u64> {
        self.service
            .store
            .lock(&repo_name(), DEPLOYMENT)
            .await
            .unwrap()
            .map(|lock| lock.pr.get())
    }

    async fn assert_no_lock(&self) {
        let locks = self.service.store.list_locks(None).await.unwrap();
        assert!(locks.is_empty(), "orphaned locks: {locks:?}");
    }

    fn nothing_applied(&self) -> bool {
        !self
            .scratch
            .path()
            .join("state")
            .join(format!("{DEPLOYMENT}.tfstate"))
            .exists()
    }

    /// A second PR on the same deployment takes the lock and is planned, with no notice
    /// that the deployment is held.
    async fn second_pr_takes_the_lock(&mut self) {
        let github = self.service.github.clone();
        let second = open_pr(&github, "promptops/second", 2);
        deliver(&self.service, second, "opened").await;
        self.service.job_done().await;
        let plans = comments_with(
            &github,
            second,
            &format!("Terraform plan for `{DEPLOYMENT}`"),
        );
        assert_eq!(plans.len(), 1, "{:?}", github.comments(REPO, second));
        assert!(plans[0].contains("Plan: 2 to add"), "{}", plans[0]);
        assert!(
            comments_with(&github, second, "is locked by").is_empty(),
            "{:?}",
            github.comments(REPO, second)
        );
        assert_eq!(self.holder().await, Some(second));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn closing_a_pr_while_its_plan_runs_leaves_no_lock() {
    let mut t = Race::start().await;
    let first = t.first_plan_held().await;

    // Closed without merging while the plan is held: the close job finishes first.
    t.service.github.close_issue(REPO, first);
    deliver(&t.service, first, "closed").await;
    let closed = t.service.job_done().await;
    assert_eq!(
        t.holder().await,
        None,
        "closing the PR releases the lock its running plan took"
    );
    assert_eq!(
        comments_with(
            &t.service.github,
            first,
            &format!("released the lock on `{DEPLOYMENT}`")
        )
        .len(),
        1,
        "{:?}",
        t.service.github.comments(REPO, first)
    );

    // The plan ends after the close; it must not leave (or re-take) the lock.
    t.open_gate();
    let planned = t.service.job_done().await;
    assert_ne!(planned.job_id, closed.job_id);
    t.assert_no_lock().await;
    assert!(t.nothing_applied());

    t.second_pr_takes_the_lock().await;
    t.service.stop().await;
}

/// The close event may be handled before the plan takes the lock (or arrive late): the
/// plan itself must then notice that its PR was closed and free the lock.
#[tokio::test(flavor = "multi_thread")]
async fn a_plan_whose_pr_was_closed_meanwhile_frees_the_lock_itself() {
    let mut t = Race::start().await;
    let first = t.first_plan_held().await;

    // Closed while the plan is held; no close event has been handled when the plan ends.
    t.service.github.close_issue(REPO, first);
    t.open_gate();
    t.service.job_done().await;
    t.assert_no_lock().await;

    // The late close event finds nothing to release and succeeds.
    deliver(&t.service, first, "closed").await;
    t.service.job_done().await;
    t.assert_no_lock().await;
    assert!(t.nothing_applied());

    t.second_pr_takes_the_lock().await;
    t.service.stop().await;
}
