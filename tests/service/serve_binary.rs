//! The real `promptops serve` binary: configured through the environment as an operator
//! would, it answers health checks, turns a signed webhook into a pull request on the
//! (fake) GitHub, and stops cleanly on SIGTERM.

use crate::support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::serve_process::{ServeProcess, free_port, unconfigured_serve_command};
use support::{INSTALLATION, IssueRef, OWNER, REPO, SECRET, comment_payload, eventually};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_processes_a_webhook_and_stops_on_sigterm() {
    let github = promptops_testkit::FakeGithub::start().await;
    github.add_repo(REPO);
    github.add_installation(INSTALLATION, OWNER);
    github.set_permission(REPO, "alice", "admin");
    let body = "I need 3 L4 GPUs in us-central1";
    let number = github.add_issue(REPO, "alice", "Inference", body);

    let server = ServeProcess::start(
        &github,
        &[],
        &[(
            "GITHUB_WEBHOOK_SECRET",
            format!("old-webhook-secret-2025,{SECRET}"),
        )],
    )
    .await;

    let issue = IssueRef {
        number,
        title: "Inference".into(),
        body: body.into(),
        is_pull_request: false,
    };
    let payload = comment_payload(&issue, "alice", "/promptops plan");
    let answer = server.deliver("issue_comment", "d-1", &payload).await;
    assert_eq!(answer, 202, "the second of two rotated secrets is accepted");

    eventually(
        "a PR and comment from the served webhook",
        Duration::from_secs(20),
        || github.prs().len() == 1 && github.comments(REPO, number).len() == 1,
    )
    .await;

    let (exit, log) = server.stop().await;
    assert!(exit.success(), "serve exits 0 on SIGTERM: {exit:?}");
    assert!(log.contains("shutting down"), "{log}");
    assert!(log.contains("stopped"), "{log}");
    // Written to a pipe, not a terminal: plain text without colour escape codes.
    assert!(
        !log.contains('\u{1b}'),
        "escape codes in a piped log: {log:?}"
    );
}

#[test]
fn serve_without_app_credentials_refuses_webhooks_but_stays_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = unconfigured_serve_command(dir.path(), port)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Server(child);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let mut health = None;
        for _ in 0..200 {
            if let Ok(response) = http.get(format!("{base}/healthz")).send().await {
                health = Some(response.status());
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(health.map(|s| s.as_u16()), Some(200));
        let response = http
            .post(format!("{base}/webhook"))
            .header("x-github-event", "ping")
            .header("x-github-delivery", "p-1")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 503);
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("GITHUB_WEBHOOK_SECRET")
        );
    });
}

#[test]
fn check_names_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_promptops"))
        .arg("check")
        .env_clear()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/p.db", dir.path().display()),
        )
        .env("TERRAFORM_BIN", "/nonexistent/terraform")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let report = String::from_utf8(output.stdout).unwrap();
    for missing in [
        "GITHUB_APP_ID",
        "GITHUB_PRIVATE_KEY",
        "GITHUB_WEBHOOK_SECRET",
        "terraform",
    ] {
        let line = report
            .lines()
            .find(|line| line.contains(missing) && line.starts_with("MISSING"))
            .unwrap_or_else(|| panic!("no MISSING line for {missing}:\n{report}"));
        assert!(!line.is_empty());
    }
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("ok") && l.contains("database")),
        "{report}"
    );
    assert!(report.contains("offline rule-based planner"), "{report}");
}
