//! Without bubblewrap the service still starts and does everything but run Terraform:
//! every Terraform run is refused, reported on its thread as could not run with the fix,
//! and never run without its sandbox.

use crate::lifecycle;
use crate::support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use lifecycle::*;
use support::serve_process::ServeProcess;
use support::setup_flow::github_with_issue;
use support::{comment_payload, eventually};

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_without_its_sandbox_is_refused_and_the_pr_is_told_how_to_fix_it() {
    let (mut config, scratch) = Lifecycle::runner_config(real_terraform());
    config.sandbox.bwrap = PathBuf::from("/nonexistent/bwrap");
    let module = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/terraform/main.tf");
    let mut t = Lifecycle::start_configured(config, scratch, &module).await;
    let pr = t
        .open_pr("unboxed", "pi", &tfvars("pi", 1, "us-central1-a"), "alice")
        .await;
    let (told, _) = t.plan_could_not_run(pr).await;
    assert!(told.contains("sandbox cannot be used"), "{told}");
    assert!(told.contains("apt-get install bubblewrap"), "{told}");
    t.service.stop().await;
}

/// The real binary with a sandbox it cannot set up (here a bind of a path that does not
/// exist; a missing bubblewrap takes the same way, see the test above): it starts, is not
/// ready (`/readyz` names the problem), says in its log that Terraform runs are refused and
/// why, and still turns a request into a pull request.
#[tokio::test(flavor = "multi_thread")]
async fn serve_with_an_unusable_sandbox_starts_says_so_and_still_opens_pull_requests() {
    let (github, issue) = github_with_issue().await;
    let env = [(
        "PROMPTOPS_TERRAFORM_BIND",
        "/nonexistent/promptops-state".to_owned(),
    )];
    let (server, readiness) = ServeProcess::start_unready(&github, &[], &env).await;
    assert!(
        readiness.contains("sandbox cannot be used")
            && readiness.contains("/nonexistent/promptops-state"),
        "{readiness}"
    );
    let payload = comment_payload(&issue, "alice", "/promptops plan");
    let answer = server
        .deliver("issue_comment", "no-bwrap-1", &payload)
        .await;
    assert_eq!(answer, 202);
    eventually(
        "a pull request from the request",
        Duration::from_secs(30),
        || github.prs().len() == 1,
    )
    .await;
    let (exit, log) = server.stop().await;
    assert!(exit.success(), "{exit:?}\n{log}");
    assert!(
        log.contains("the Terraform sandbox cannot be used"),
        "{log}"
    );
    assert!(log.contains("/nonexistent/promptops-state"), "{log}");
}

/// The real binary pointed at a Terraform that is not there: it starts, says so in its log,
/// and is not ready (`/readyz` names the path and the setting that fixes it).
#[tokio::test(flavor = "multi_thread")]
async fn serve_without_terraform_starts_says_so_and_is_not_ready() {
    let (github, _) = github_with_issue().await;
    let env = [("TERRAFORM_BIN", "/nonexistent/bin/terraform".to_owned())];
    let (server, readiness) = ServeProcess::start_unready(&github, &[], &env).await;
    assert!(
        readiness.contains("/nonexistent/bin/terraform") && readiness.contains("TERRAFORM_BIN"),
        "{readiness}"
    );
    let (exit, log) = server.stop().await;
    assert!(exit.success(), "{exit:?}\n{log}");
    assert!(log.contains("Terraform cannot be found"), "{log}");
}
