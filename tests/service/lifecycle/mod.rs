//! What the Terraform lifecycle tests share: the service with a real Terraform runner
//! (1.11 from the image, or 1.15.5 from scripts/setup-terraform.sh for actions), the
//! fixture module and settings in the fake repository, and helpers.

pub mod recording;
mod request_flow;

pub use request_flow::PlannedRequest;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{
    IssueRef, Options, REPO, TestService, comment_payload, comments_with, pr_payload, repo_name,
};
use promptops_store::RunFilter;
use promptops_terraform::RunnerConfig;
use secrecy::SecretString;
use tempfile::TempDir;

use chrono::{SubsecRound, TimeDelta, Utc};
use promptops_core::{IssueNumber, PrNumber};
use promptops_testkit::{ManualClock, launcher_read_paths};

/// Planted as `TF_VAR_api_token` for terraform: the fixture puts it into every resource's
/// input, so an unmasked plan would print it.
pub const PLANTED_SECRET: &str = "tok-9f2c7e1a-planted-secret";

pub fn real_terraform() -> PathBuf {
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

pub fn tfvars(deployment: &str, vm_count: i64, zone: &str) -> String {
    format!(
        "deployment_name   = \"{deployment}\"\nvm_count          = {vm_count}\ngpu_type          = \"nvidia-tesla-t4\"\ngpu_count         = 1\nmachine_type      = \"n1-standard-4\"\nzone              = \"{zone}\"\nboot_disk_size_gb = 100\n"
    )
}

pub fn tfvars_path(deployment: &str) -> String {
    format!("terraform/deployments/{deployment}/terraform.tfvars")
}

/// The service with a Terraform runner, and the repository's module and settings on main.
pub struct Lifecycle {
    pub service: TestService,
    pub scratch: TempDir,
}

/// The public URL the service is told it has: comments link its dashboard under it.
pub const PUBLIC_URL: &str = "https://promptops.example.com";

impl Lifecycle {
    pub async fn start() -> Lifecycle {
        Self::start_with(Options::default()).await
    }

    /// As `start`, with `options` (a clock, a database) for the service.
    pub async fn start_with(options: Options) -> Lifecycle {
        let (mut config, scratch) = Self::runner_config(real_terraform());
        config.secret_env = vec![(
            "TF_VAR_api_token".to_owned(),
            SecretString::from(PLANTED_SECRET.to_owned()),
        )];
        let module = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/terraform/main.tf");
        Self::start_configured_with(config, scratch, &module, options).await
    }

    /// The service with `settings` (YAML) and a manual clock an hour ahead of the system
    /// clock (which stamps the jobs deliveries queue: those are due at once), for tests of
    /// scheduled jobs.
    pub async fn start_on_manual_clock(settings: &str) -> (Lifecycle, ManualClock) {
        let clock = ManualClock::new(Utc::now().trunc_subsecs(0) + TimeDelta::hours(1));
        let t = Self::start_with(Options {
            clock: Some(std::sync::Arc::new(clock.clone())),
            ..Options::default()
        })
        .await;
        t.set_settings(settings);
        (t, clock)
    }

    /// A runner config with `bin` as terraform, its work dirs in a fresh scratch dir.
    pub fn runner_config(bin: PathBuf) -> (RunnerConfig, TempDir) {
        let scratch = tempfile::tempdir().unwrap();
        let state_dir = scratch.path().join("state");
        std::fs::create_dir_all(&state_dir).unwrap();
        let mut config = RunnerConfig::new(scratch.path().join("work"));
        config.terraform_bin = bin;
        // The local backend's state is outside the run's work dir: the sandbox lets
        // Terraform write there because the operator (here, the test) lists it.
        config.sandbox.writable.push(state_dir);
        config.sandbox.read_only.extend(launcher_read_paths());
        config.plugin_cache_dir = scratch.path().join("plugin-cache");
        config.timeout = Duration::from_secs(300);
        (config, scratch)
    }

    /// The service with `config`, and `module` as the repository's `terraform/main.tf`.
    pub async fn start_configured(
        config: RunnerConfig,
        scratch: TempDir,
        module: &Path,
    ) -> Lifecycle {
        Self::start_configured_with(config, scratch, module, Options::default()).await
    }

    async fn start_configured_with(
        config: RunnerConfig,
        scratch: TempDir,
        module: &Path,
        options: Options,
    ) -> Lifecycle {
        let state_dir = scratch.path().join("state");
        let service = TestService::start(Options {
            terraform: Some(config),
            public_url: options.public_url.clone().or(Some(PUBLIC_URL.to_owned())),
            ..options
        })
        .await;
        let module = std::fs::read(module).unwrap();
        let settings = settings_with(&state_dir, "");
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

    /// Replaces the repository's settings on main: the test backend plus `extra` (YAML).
    pub fn set_settings(&self, extra: &str) {
        let settings = settings_with(&self.scratch.path().join("state"), extra);
        self.service.github.commit_files(
            REPO,
            "main",
            &[(".github/promptops.yml", Some(settings.as_bytes()))],
            "Change the PromptOps settings",
        );
    }

    pub fn state_file(&self, deployment: &str) -> PathBuf {
        self.scratch
            .path()
            .join("state")
            .join(format!("{deployment}.tfstate"))
    }

    /// Commits the deployment's tfvars on `branch`, opens a PR by `author`, delivers
    /// `opened` and waits for the job.
    pub async fn open_pr(
        &mut self,
        branch: &str,
        deployment: &str,
        tfvars: &str,
        author: &str,
    ) -> u64 {
        let number = self.open_pr_undelivered(branch, deployment, tfvars, author);
        self.deliver(number, "opened").await;
        number
    }

    /// As `open_pr`, without delivering anything: for a test that sets the stage first.
    pub fn open_pr_undelivered(
        &self,
        branch: &str,
        deployment: &str,
        tfvars: &str,
        author: &str,
    ) -> u64 {
        self.service
            .github
            .set_file(REPO, branch, &tfvars_path(deployment), tfvars);
        self.service.github.open_pr(
            REPO,
            branch,
            "main",
            &format!("Deployment {deployment}"),
            "",
            author,
        )
    }

    pub async fn deliver(&mut self, pr: u64, action: &str) {
        let payload = pr_payload(&self.service.github, action, pr);
        let response = self.service.deliver("pull_request", &payload).await;
        assert_eq!(response.status(), 202);
        self.service.job_done().await;
    }

    pub fn comments_with(&self, issue: u64, needle: &str) -> Vec<String> {
        comments_with(&self.service.github, issue, needle)
    }

    pub fn checks(&self, name: &str) -> Vec<promptops_testkit::CheckRun> {
        self.service
            .github
            .check_runs()
            .into_iter()
            .filter(|c| c.name == name)
            .collect()
    }

    /// Asserts that the plan of `pr` could not run: one "could not run" comment on it, the
    /// plan check failed, and one run recorded as failed with no output (Terraform never
    /// ran). Returns the comment and the run for what the test checks of them.
    pub async fn plan_could_not_run(&self, pr: u64) -> (String, promptops_store::Run) {
        let mut told = self.comments_with(pr, "could not run");
        assert_eq!(
            told.len(),
            1,
            "{:?}",
            self.service.github.comments(REPO, pr)
        );
        let checks = self.checks("promptops/plan");
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].conclusion.as_deref(), Some("failure"));
        let mut runs = self.runs(pr).await;
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].status, promptops_store::RunStatus::Failed);
        assert_eq!(runs[0].output.as_deref().unwrap_or_default(), "");
        (told.remove(0), runs.remove(0))
    }

    pub async fn runs(&self, pr: u64) -> Vec<promptops_store::Run> {
        self.service
            .store
            .list_runs(&RunFilter {
                repo: Some(repo_name()),
                pr: Some(PrNumber::new(pr)),
                ..RunFilter::default()
            })
            .await
            .unwrap()
    }

    pub async fn lock_holder(&self, deployment: &str) -> Option<u64> {
        self.service
            .store
            .lock(&repo_name(), deployment)
            .await
            .unwrap()
            .map(|lock| lock.pr.get())
    }
}

/// `.github/promptops.yml` with the local backend in `state_dir`, then `extra`.
fn settings_with(state_dir: &Path, extra: &str) -> String {
    format!(
        "terraform:\n  backend_config:\n    path: \"{}/{{deployment}}.tfstate\"\n{extra}",
        state_dir.display()
    )
}

/// `len` bytes gzip cannot shrink (xorshift): a file that makes a repository's tarball
/// about that much larger.
pub fn incompressible(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

pub fn state_instances(path: &Path) -> usize {
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("state file")).unwrap();
    state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["instances"].as_array().unwrap().len())
        .sum()
}

impl Lifecycle {
    /// An issue linked to `deployment` (as PromptOps links the issues it planned).
    pub async fn linked_issue(&self, deployment: &str, pr: Option<u64>) -> IssueRef {
        let issue = self.open_issue("GPUs", "one T4 VM");
        let number = issue.number;
        self.service
            .store
            .upsert_request(
                &repo_name(),
                IssueNumber::new(number),
                deployment,
                &format!("promptops/issue-{number}"),
                pr.map(PrNumber::new),
            )
            .await
            .unwrap();
        issue
    }

    pub async fn command(&mut self, issue: &IssueRef, body: &str) {
        let response = self
            .service
            .deliver("issue_comment", &comment_payload(issue, "alice", body))
            .await;
        assert_eq!(response.status(), 202);
        self.service.job_done().await;
    }
}
