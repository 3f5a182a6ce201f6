//! Following a delivery into its jobs in the logs: the real `promptops serve --log-json`
//! binary processes a signed webhook, and the JSON lines its job logs carry the job span
//! with the delivery id GitHub sent (`X-GitHub-Delivery`), the job id, kind and repository;
//! what is logged while a delivery is received (here: its redelivery) carries the delivery
//! span with the same id.

use crate::support;

use std::time::Duration;

use serde_json::Value;
use support::serve_process::ServeProcess;
use support::{INSTALLATION, IssueRef, OWNER, REPO, SECRET, comment_payload};

const DELIVERY_ID: &str = "7e5a1c52-0b8e-11f1-9a3b-0242ac120002";

#[tokio::test(flavor = "multi_thread")]
async fn json_log_lines_of_a_job_carry_its_delivery_id() {
    let github = promptops_testkit::FakeGithub::start().await;
    github.add_repo(REPO);
    github.add_installation(INSTALLATION, OWNER);
    github.set_permission(REPO, "alice", "write");
    let body = "One T4 VM in us-west1";
    let number = github.add_issue(REPO, "alice", "A GPU box", body);

    let server =
        ServeProcess::start(&github, &["--log-json"], &[("RUST_LOG", "info".to_owned())]).await;
    let http = reqwest::Client::new();
    let base = &server.base;

    let issue = IssueRef {
        number,
        title: "A GPU box".into(),
        body: body.into(),
        is_pull_request: false,
    };
    let payload = serde_json::to_vec(&comment_payload(&issue, "alice", "/promptops plan")).unwrap();
    let deliver = || {
        http.post(format!("{base}/webhook"))
            .header("x-github-event", "issue_comment")
            .header("x-github-delivery", DELIVERY_ID)
            .header(
                "x-hub-signature-256",
                promptops_testkit::sign_webhook(SECRET, &payload),
            )
            .body(payload.clone())
            .send()
    };
    let response = deliver().await.unwrap();
    assert_eq!(response.status(), 202);

    let mut opened = false;
    for _ in 0..400 {
        if github.prs().len() == 1 && github.comments(REPO, number).len() == 1 {
            opened = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(opened, "no PR and comment from the served webhook");
    // A redelivery is logged inside its delivery span.
    let again = deliver().await.unwrap();
    assert_eq!(again.status(), 202);
    assert!(again.text().await.unwrap().starts_with("duplicate"));

    // SIGTERM: the server finishes (the job is done) and closes stderr.
    let (exit, log) = server.stop().await;
    assert!(exit.success(), "{exit:?}");

    let lines: Vec<Value> = log
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|err| panic!("a log line is not JSON ({err}): {line}"))
        })
        .collect();
    // Lines logged inside a job: the job span is the current span or one of its parents.
    let job_lines: Vec<&Value> = lines
        .iter()
        .filter(|line| job_span(line).is_some())
        .collect();
    assert!(!job_lines.is_empty(), "no line logged inside a job:\n{log}");
    for line in &job_lines {
        let span = job_span(line).unwrap();
        assert_eq!(
            span["delivery_id"].as_str(),
            Some(DELIVERY_ID),
            "a job line without the delivery id: {line}"
        );
        assert_eq!(span["repo"].as_str(), Some(REPO), "{line}");
        assert!(span["job_id"].as_i64().is_some(), "{line}");
        assert_eq!(span["attempt"].as_u64(), Some(1), "{line}");
    }
    let redelivery = lines
        .iter()
        .find(|line| {
            line["fields"]["message"]
                .as_str()
                .is_some_and(|message| message.starts_with("redelivery"))
        })
        .unwrap_or_else(|| panic!("no line about the redelivery:\n{log}"));
    assert_eq!(redelivery["span"]["name"], "delivery", "{redelivery}");
    assert_eq!(
        redelivery["span"]["delivery_id"], DELIVERY_ID,
        "{redelivery}"
    );
    assert_eq!(redelivery["span"]["event"], "issue_comment", "{redelivery}");
    let done = job_lines
        .iter()
        .find(|line| line["fields"]["message"].as_str() == Some("job done"))
        .unwrap_or_else(|| panic!("no `job done` line:\n{log}"));
    assert_eq!(done["span"]["name"].as_str(), Some("job"), "{done}");
    assert_eq!(done["span"]["delivery_id"].as_str(), Some(DELIVERY_ID));
}

/// The `job` span among a JSON line's spans (`spans` lists them from the root).
fn job_span(line: &Value) -> Option<&Value> {
    line["spans"]
        .as_array()?
        .iter()
        .find(|span| span["name"].as_str() == Some("job"))
}
