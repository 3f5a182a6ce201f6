//! `promptops check` names the webhook events an existing App lacks: one registered before
//! merge queues and check-run buttons were handled does not receive `merge_group` or
//! `check_run` (GitHub never adds events to an existing App), and the line says where to
//! add them; once the App subscribes, the line is ok.

use std::process::Command;

use promptops_testkit::FakeGithub;

use crate::support::SECRET;

fn events_line(github: &FakeGithub) -> String {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_promptops"))
        .arg("check")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TERRAFORM_BIN", "/nonexistent/terraform")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/p.db", dir.path().display()),
        )
        .env("GITHUB_WEBHOOK_SECRET", SECRET)
        .envs(github.env_vars())
        .output()
        .unwrap();
    let report = String::from_utf8(output.stdout).unwrap();
    report
        .lines()
        .find(|line| line.contains("  GitHub App events: "))
        .unwrap_or_else(|| panic!("no line about the App's events:\n{report}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn check_names_the_events_an_existing_app_must_add() {
    let github = FakeGithub::start().await;
    let line = events_line(&github);
    assert!(line.starts_with("warning"), "{line}");
    assert!(
        line.contains("`merge_group`") && line.contains("`check_run`"),
        "{line}"
    );
    assert!(line.contains("Merge queues: read"), "{line}");
    assert!(!line.contains("`issues`"), "{line}");

    github.set_app_events(&[
        "issues",
        "issue_comment",
        "pull_request",
        "merge_group",
        "check_run",
    ]);
    let line = events_line(&github);
    assert!(line.starts_with("ok"), "{line}");
}
