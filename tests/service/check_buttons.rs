//! The buttons of the `promptops/plan` check run, through the real `promptops serve`
//! binary, real HMAC-signed `check_run` deliveries, the real `terraform` and the fake
//! GitHub (which keeps a check run's `actions` and refuses ones over GitHub's limits): the
//! plan check carries Re-plan and Unlock; a click is authorised like the comment command it
//! stands for — refused, with a comment on the pull request, for someone below
//! `permissions.min_permission`, and run for someone with it.

use crate::{lifecycle, support};

use std::path::Path;
use std::time::Duration;

use promptops_testkit::{CheckRun, FakeGithub, sign_webhook};
use serde_json::{Value, json};
use support::serve_process::ServeProcess;
use support::{INSTALLATION, OWNER, REPO, SECRET, fixture, pr_payload};

/// The `check_run` delivery GitHub sends when `login` clicks `identifier` on `run`.
fn click_payload(run: &CheckRun, pr: u64, identifier: &str, login: &str) -> Value {
    let mut payload = fixture("check_run.requested_action");
    payload["repository"] = fixture("pull_request.opened")["repository"].clone();
    payload["installation"] = json!({ "id": INSTALLATION });
    payload["check_run"]["id"] = json!(run.id);
    payload["check_run"]["name"] = json!(run.name);
    payload["check_run"]["head_sha"] = json!(run.head_sha);
    payload["check_run"]["pull_requests"][0]["number"] = json!(pr);
    payload["requested_action"] = json!({ "identifier": identifier });
    payload["sender"]["login"] = json!(login);
    payload["sender"]["type"] = json!("User");
    payload
}

async fn deliver(server: &ServeProcess, event: &str, payload: &Value) {
    let body = serde_json::to_vec(payload).unwrap();
    let response = reqwest::Client::new()
        .post(format!("{}/webhook", server.base))
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", format!("{:032x}", fastrand::u128(..)))
        .header("x-hub-signature-256", sign_webhook(SECRET, &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "{event}");
}

fn comment_with(github: &FakeGithub, pr: u64, needle: &str) -> Option<String> {
    github
        .comments(REPO, pr)
        .into_iter()
        .map(|c| c.body)
        .find(|body| body.contains(needle))
}

fn completed_plans(github: &FakeGithub) -> Vec<CheckRun> {
    github
        .check_runs()
        .into_iter()
        .filter(|c| c.name == "promptops/plan" && c.status == "completed")
        .collect()
}

const WAIT: Duration = Duration::from_secs(180);

#[tokio::test(flavor = "multi_thread")]
async fn plan_check_buttons_are_authorised_like_their_commands() {
    let github = FakeGithub::start().await;
    github.add_repo(REPO);
    github.add_installation(INSTALLATION, OWNER);
    github.set_permission(REPO, "alice", "write");
    github.set_permission(REPO, "tara", "triage");
    github.set_commit_author(Some("alice"));
    let scratch = tempfile::tempdir().unwrap();
    let state = scratch.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let module = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/terraform/main.tf"),
    )
    .unwrap();
    let settings = format!(
        "terraform:\n  backend_config:\n    path: \"{}/{{deployment}}.tfstate\"\n",
        state.display()
    );
    github.commit_files(
        REPO,
        "main",
        &[
            ("terraform/main.tf", Some(module.as_slice())),
            (".github/promptops.yml", Some(settings.as_bytes())),
        ],
        "Add the root module and PromptOps settings",
    );
    let server = ServeProcess::start(
        &github,
        &[],
        &[
            (
                "TERRAFORM_BIN",
                lifecycle::real_terraform().display().to_string(),
            ),
            ("PROMPTOPS_TERRAFORM_BIND", state.display().to_string()),
        ],
    )
    .await;

    github.set_file(
        REPO,
        "feature/alpha",
        &lifecycle::tfvars_path("alpha"),
        lifecycle::tfvars("alpha", 1, "us-central1-a"),
    );
    let pr = github.open_pr(REPO, "feature/alpha", "main", "Alpha", "", "alice");
    deliver(&server, "pull_request", &pr_payload(&github, "opened", pr)).await;
    let plan = github
        .wait_for("the plan check run", WAIT, |g| completed_plans(g).pop())
        .await;
    assert_eq!(plan.conclusion.as_deref(), Some("success"), "{plan:?}");
    let buttons: Vec<(&str, &str)> = plan
        .actions
        .iter()
        .map(|a| (a.identifier.as_str(), a.label.as_str()))
        .collect();
    assert_eq!(buttons, [("replan", "Re-plan"), ("unlock", "Unlock")]);

    // Someone who may triage but not plan: refused, said on the pull request.
    deliver(
        &server,
        "check_run",
        &click_payload(&plan, pr, "unlock", "tara"),
    )
    .await;
    let refused = github
        .wait_for("the refusal", WAIT, |g| {
            comment_with(g, pr, "the **Unlock** button")
        })
        .await;
    assert!(refused.contains("@tara"), "{refused}");
    assert!(
        refused.contains("needs **write**") && refused.contains("you have **triage**"),
        "{refused}"
    );

    // Someone with the permission: the lock the refused click left in place is released.
    deliver(
        &server,
        "check_run",
        &click_payload(&plan, pr, "unlock", "alice"),
    )
    .await;
    let unlocked = github
        .wait_for("the unlock", WAIT, |g| {
            comment_with(g, pr, "Unlocked deployment `alpha`")
        })
        .await;
    assert!(unlocked.starts_with("@alice"), "{unlocked}");

    deliver(
        &server,
        "check_run",
        &click_payload(&plan, pr, "replan", "alice"),
    )
    .await;
    github
        .wait_for("the second plan", WAIT, |g| {
            (completed_plans(g).len() == 2).then_some(())
        })
        .await;

    // The click's job counts it when it ends, just after the plan it ran.
    let wanted = [
        "promptops_check_button_clicks_total{button=\"unlock\",outcome=\"refused\"} 1",
        "promptops_check_button_clicks_total{button=\"unlock\",outcome=\"ran\"} 1",
        "promptops_check_button_clicks_total{button=\"replan\",outcome=\"ran\"} 1",
    ];
    let mut metrics = String::new();
    for _ in 0..300 {
        metrics = reqwest::get(format!("{}/metrics", server.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if wanted.iter().all(|line| metrics.contains(line)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for line in wanted {
        assert!(metrics.contains(line), "{line} missing:\n{metrics}");
    }
    let (status, log) = server.stop().await;
    assert!(status.success(), "{log}");
}
