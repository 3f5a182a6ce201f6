//! Shared setup for the client tests: a fake GitHub with one repository and installation,
//! and a client pointed at it whose waits are recorded instead of slept.

#![allow(dead_code)] // each test binary uses a different part

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use promptops_core::RepoName;
use promptops_core::clock::Clock;
use promptops_github::client::{GithubApp, RepoApi, RetryPolicy, Sleeper};
use promptops_testkit::FakeGithub;
use secrecy::SecretString;

pub const OWNER: &str = "acme";
pub const REPO: &str = "infra";
pub const FULL: &str = "acme/infra";
pub const INSTALLATION: u64 = 77;

/// The test repository, `acme/infra`.
pub fn repo_name() -> RepoName {
    RepoName::new(OWNER, REPO).expect("acme/infra is a repository name")
}

/// Records every wait the client asks for and returns at once.
#[derive(Debug, Default)]
pub struct RecordingSleeper {
    waits: Mutex<Vec<Duration>>,
}

impl RecordingSleeper {
    pub fn waits(&self) -> Vec<Duration> {
        self.waits.lock().unwrap().clone()
    }
}

impl Sleeper for RecordingSleeper {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.waits.lock().unwrap().push(duration);
        Box::pin(tokio::task::yield_now())
    }
}

impl Clock for RecordingSleeper {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

pub struct Env {
    pub gh: FakeGithub,
    pub app: GithubApp,
    pub api: RepoApi,
    pub sleeper: Arc<RecordingSleeper>,
}

pub fn key() -> SecretString {
    SecretString::from(promptops_testkit::APP_PRIVATE_KEY_PEM)
}

/// Fake with `acme/infra` (default branch `main`), installation 77 on `acme`, and a client.
pub async fn env() -> Env {
    env_with_policy(RetryPolicy::default()).await
}

pub async fn env_with_policy(policy: RetryPolicy) -> Env {
    let gh = FakeGithub::start().await;
    gh.add_repo(FULL);
    gh.add_installation(INSTALLATION, OWNER);
    let sleeper = Arc::new(RecordingSleeper::default());
    let app = GithubApp::new(&gh.url(), gh.app_id(), &key())
        .expect("client for the fake")
        .with_retry_policy(policy)
        .with_sleeper(sleeper.clone());
    let api = app.installation(INSTALLATION).expect("installation handle");
    Env {
        gh,
        app,
        api,
        sleeper,
    }
}

/// A branch with one committed file, ready for a pull request into `main`.
pub fn branch_with_change(gh: &FakeGithub, branch: &str) -> String {
    gh.set_file(
        FULL,
        branch,
        "terraform/deployments/web/terraform.tfvars",
        "vm_count = 1\n",
    )
}
