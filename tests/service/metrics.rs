//! `/metrics` through the real router: the exposition parses as OpenMetrics text, and its
//! counters move by exactly the traffic sent — one accepted delivery, one redelivery, one
//! forged signature, one malformed body — and the job the delivery implied; a plan through
//! a fake chat-completions server moves the plan latency, model request and token series by
//! what the fake answered; the GitHub calls the plan made are counted by route template,
//! and a secondary rate limit injected by the fake GitHub is counted as a wait.

use crate::support;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::repo_name;
use promptops_core::PrNumber;
use promptops_planner::PlannerSettings;
use promptops_testkit::{ChatCompletion, sign_webhook};
use secrecy::SecretString;
use serde_json::json;
use support::exposition::{
    family_types, moved_by, parse_exposition, present, sample, scrape, scrape_text,
};
use support::{IssueRef, Options, REPO, TestService, comment_payload};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[test]
fn the_parser_reads_labels_escapes_and_refuses_a_missing_eof() {
    let samples = parse_exposition(
        "# TYPE a counter\na_total{x=\"q\\\"uo\\\\te\",y=\"2\"} 3\nb 1.5\nc_bucket{le=\"+Inf\"} 4\n# EOF\n",
    );
    assert_eq!(
        sample(&samples, "a_total", &[("x", "q\"uo\\te"), ("y", "2")]),
        3.0
    );
    assert_eq!(sample(&samples, "b", &[]), 1.5);
    assert_eq!(sample(&samples, "c_bucket", &[("le", "+Inf")]), 4.0);
    assert!(std::panic::catch_unwind(|| parse_exposition("b 1\n")).is_err());
    assert!(std::panic::catch_unwind(|| parse_exposition("b one\n# EOF\n")).is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn counters_move_with_deliveries_rejections_duplicates_and_jobs() {
    let mut service = TestService::start(Options::default()).await;
    let before = scrape(&service).await;
    // Every rejection reason is exported from the first scrape on, at zero.
    for reason in [
        "signature",
        "malformed",
        "too_large",
        "not_configured",
        "headers",
    ] {
        let key = (
            "promptops_webhooks_rejected_total".to_owned(),
            BTreeMap::from([("reason".to_owned(), reason.to_owned())]),
        );
        assert_eq!(before.get(&key), Some(&0.0), "{reason}");
    }

    let body = "I need 2 T4 GPUs in us-west1";
    let number = service.github.add_issue(REPO, "alice", "GPUs", body);
    let issue = IssueRef {
        number,
        title: "GPUs".into(),
        body: body.into(),
        is_pull_request: false,
    };
    let payload = comment_payload(&issue, "alice", "/promptops plan");
    let delivery_id = format!("{:032x}", fastrand::u128(..));
    let accepted = service
        .deliver_as("issue_comment", &delivery_id, &payload)
        .await;
    assert_eq!(accepted.status(), 202);

    let forged = service
        .http
        .post(service.url("/webhook"))
        .header("x-github-event", "issue_comment")
        .header("x-github-delivery", "forged-delivery")
        .header("x-hub-signature-256", format!("sha256={}", "0".repeat(64)))
        .body(serde_json::to_vec(&payload).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);

    let not_json = b"{ this is not json".to_vec();
    let malformed = service
        .http
        .post(service.url("/webhook"))
        .header("x-github-event", "issue_comment")
        .header("x-github-delivery", "malformed-delivery")
        .header(
            "x-hub-signature-256",
            sign_webhook(support::SECRET, &not_json),
        )
        .body(not_json)
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);

    let duplicate = service
        .deliver_as("issue_comment", &delivery_id, &payload)
        .await;
    assert_eq!(duplicate.status(), 202);
    assert!(
        duplicate.text().await.unwrap().contains("duplicate"),
        "the redelivery was not recognised"
    );

    let job = service.job_done().await;
    let after = scrape(&service).await;
    // The plan went through the offline planner (no model key): one plan, no model request.
    assert_eq!(
        sample(
            &after,
            "promptops_plan_duration_seconds_count",
            &[("planner", "offline"), ("outcome", "ok")]
        ) - sample(
            &before,
            "promptops_plan_duration_seconds_count",
            &[("planner", "offline"), ("outcome", "ok")]
        ),
        1.0
    );
    assert_eq!(
        present(
            &after,
            "promptops_model_requests_total",
            &[("result", "answered")]
        ),
        0.0
    );
    let moved = |name: &str, labels: &[(&str, &str)]| {
        sample(&after, name, labels) - sample(&before, name, labels)
    };

    assert_eq!(
        moved(
            "promptops_webhooks_received_total",
            &[("event", "issue_comment")]
        ),
        2.0,
        "the delivery and its redelivery were both received"
    );
    assert_eq!(moved("promptops_webhooks_duplicate_total", &[]), 1.0);
    for (reason, expected) in [
        ("signature", 1.0),
        ("malformed", 1.0),
        ("too_large", 0.0),
        ("not_configured", 0.0),
        ("headers", 0.0),
    ] {
        assert_eq!(
            moved("promptops_webhooks_rejected_total", &[("reason", reason)]),
            expected,
            "rejections for {reason}"
        );
    }
    let kind = job.kind.as_str();
    assert_eq!(
        moved(
            "promptops_jobs_finished_total",
            &[("kind", kind), ("outcome", "done")]
        ),
        1.0
    );
    assert_eq!(
        moved(
            "promptops_jobs_finished_total",
            &[("kind", kind), ("outcome", "failed")]
        ),
        0.0
    );
    assert_eq!(
        moved("promptops_job_duration_seconds_count", &[("kind", kind)]),
        1.0
    );
    assert_eq!(
        moved(
            "promptops_job_duration_seconds_bucket",
            &[("kind", kind), ("le", "+Inf")]
        ),
        1.0
    );
    // The queue gauges are the store's own counts: the one job is done, nothing waits.
    assert_eq!(
        present(&after, "promptops_queue_jobs", &[("state", "done")]),
        1.0
    );
    for state in ["queued", "due", "running", "failed"] {
        assert_eq!(
            present(&after, "promptops_queue_jobs", &[("state", state)]),
            0.0,
            "{state}"
        );
    }
    assert_eq!(
        present(&after, "promptops_queue_oldest_due_age_seconds", &[]),
        0.0
    );
    service.stop().await;
}

/// The fake model's answer for "One T4 VM in us-west1", with the usage it reports.
fn model_answer(prompt_tokens: u64, completion_tokens: u64) -> ResponseTemplate {
    let draft = json!({
        "name": "t4-box", "vm_count": 1, "gpu_type": "nvidia-tesla-t4", "gpu_count": 1,
        "machine_type": null, "zone": null, "region": "us-west1", "boot_disk_size_gb": null,
        "rationale": "One T4 VM in us-west1 as asked.", "assumptions": []
    });
    ResponseTemplate::new(200).set_body_json(
        ChatCompletion::answer(draft.to_string()).usage(prompt_tokens, completion_tokens),
    )
}

fn issue(service: &TestService, body: &str) -> IssueRef {
    let number = service.github.add_issue(REPO, "alice", "A GPU box", body);
    IssueRef {
        number,
        title: "A GPU box".into(),
        body: body.into(),
        is_pull_request: false,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_model_plan_moves_latency_tokens_and_github_call_counters() {
    let model = MockServer::start().await;
    // The first request is answered 503 (then retried), the second with the plan.
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&model)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(model_answer(1234, 56))
        .mount(&model)
        .await;
    let mut service = TestService::start(Options {
        planner: PlannerSettings {
            api_key: Some(SecretString::from("sk-test-metrics")),
            base_url: format!("{}/v1", model.uri()),
            model: "gpt-4o-test".to_owned(),
            timeout: Duration::from_secs(10),
            max_attempts: 3,
        },
        ..Options::default()
    })
    .await;
    let before = scrape(&service).await;
    let issue = issue(&service, "One T4 VM in us-west1");
    let delivered = service
        .deliver(
            "issue_comment",
            &comment_payload(&issue, "alice", "/promptops plan"),
        )
        .await;
    assert_eq!(delivered.status(), 202);
    service.job_done().await;
    assert_eq!(service.github.prs().len(), 1, "the plan opened its PR");
    let text = scrape_text(&service).await;
    let after = parse_exposition(&text);
    let moved = moved_by(&before, &after);
    // Families appear once they have a series; all of them have one now.
    let types = family_types(&text);
    for (family, kind) in [
        ("promptops_plan_duration_seconds", "histogram"),
        ("promptops_model_requests", "counter"),
        ("promptops_model_retries", "counter"),
        ("promptops_model_tokens", "counter"),
        ("promptops_github_requests", "counter"),
        ("promptops_github_retries", "counter"),
        ("promptops_github_rate_limit_waits", "counter"),
        ("promptops_github_rate_limit_wait_seconds", "counter"),
    ] {
        assert_eq!(
            types.get(family).map(String::as_str),
            Some(kind),
            "# TYPE of {family}"
        );
        assert!(
            text.contains(&format!("# HELP {family} ")),
            "no # HELP for {family}"
        );
    }
    assert!(text.contains("# UNIT promptops_plan_duration_seconds seconds"));

    let model_ok = [("planner", "model"), ("outcome", "ok")];
    assert_eq!(
        moved("promptops_plan_duration_seconds_count", &model_ok),
        1.0
    );
    assert!(moved("promptops_plan_duration_seconds_sum", &model_ok) > 0.0);
    assert_eq!(
        moved(
            "promptops_plan_duration_seconds_bucket",
            &[("planner", "model"), ("outcome", "ok"), ("le", "+Inf")]
        ),
        1.0
    );
    assert_eq!(
        moved(
            "promptops_model_requests_total",
            &[("result", "server_error")]
        ),
        1.0
    );
    assert_eq!(
        moved("promptops_model_requests_total", &[("result", "answered")]),
        1.0
    );
    assert_eq!(moved("promptops_model_retries_total", &[]), 1.0);
    assert_eq!(
        moved("promptops_model_tokens_total", &[("kind", "prompt")]),
        1234.0
    );
    assert_eq!(
        moved("promptops_model_tokens_total", &[("kind", "completion")]),
        56.0
    );

    // The GitHub calls the plan made, one series per operation.
    let github = |method: &str, route: &str| {
        moved(
            "promptops_github_requests_total",
            &[("method", method), ("route", route), ("status", "2xx")],
        )
    };
    assert_eq!(github("POST", "/repos/{owner}/{repo}/pulls"), 1.0);
    assert_eq!(github("POST", "/repos/{owner}/{repo}/git/commits"), 1.0);
    assert_eq!(
        github("PATCH", "/repos/{owner}/{repo}/git/refs/heads/{branch}"),
        1.0
    );
    assert!(github("POST", "/repos/{owner}/{repo}/issues/{number}/comments") >= 1.0);
    assert!(
        github(
            "GET",
            "/repos/{owner}/{repo}/collaborators/{username}/permission"
        ) >= 1.0
    );
    for ((name, labels), _) in after
        .iter()
        .filter(|((name, _), _)| name == "promptops_github_requests_total")
    {
        let route = &labels["route"];
        assert!(
            !route.contains("Codertocat") && !route.chars().any(|c| c.is_ascii_digit()),
            "{name} has a raw route {route:?}"
        );
    }
    assert_eq!(moved("promptops_github_rate_limit_waits_total", &[]), 0.0);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secondary_rate_limit_is_counted_as_a_wait_and_a_retry() {
    let mut service = TestService::start(Options::default()).await;
    let before = scrape(&service).await;
    // GitHub's secondary limit on opening the PR: 403 with retry-after, waited out for real.
    service.github.fail_next(
        "POST",
        &format!("/repos/{REPO}/pulls"),
        403,
        &[("retry-after", "1")],
        1,
    );
    let issue = issue(&service, "One T4 VM in us-west1");
    let delivered = service
        .deliver(
            "issue_comment",
            &comment_payload(&issue, "alice", "/promptops plan"),
        )
        .await;
    assert_eq!(delivered.status(), 202);
    service.job_done().await;
    assert_eq!(
        service.github.prs().len(),
        1,
        "the PR was opened after the wait"
    );
    let after = scrape(&service).await;
    let moved = moved_by(&before, &after);

    assert_eq!(moved("promptops_github_rate_limit_waits_total", &[]), 1.0);
    assert_eq!(
        moved("promptops_github_rate_limit_wait_seconds_total", &[]),
        1.0
    );
    assert_eq!(
        moved(
            "promptops_github_retries_total",
            &[("reason", "rate_limited")]
        ),
        1.0
    );
    assert_eq!(
        moved(
            "promptops_github_retries_total",
            &[("reason", "server_error")]
        ),
        0.0
    );
    let pulls = |status: &str| {
        moved(
            "promptops_github_requests_total",
            &[
                ("method", "POST"),
                ("route", "/repos/{owner}/{repo}/pulls"),
                ("status", status),
            ],
        )
    };
    assert_eq!((pulls("4xx"), pulls("2xx")), (1.0, 1.0));
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dashboard_plans_are_counted_by_outcome() {
    // No dashboard token: the dashboard is open on the loopback address the tests use.
    let service = TestService::start(Options::default()).await;
    let before = scrape(&service).await;
    let token =
        support::dashboard_form_token(&service.http, &service.url("/dashboard/try"), &[]).await;
    for (prompt, status) in [
        ("One T4 VM in us-west1", 200),
        ("40 VMs with V100 GPUs in asia-south1-a", 422),
    ] {
        let response = service
            .http
            .post(service.url("/dashboard/try"))
            .header("origin", service.url(""))
            .header(
                "cookie",
                support::local_link::cookies(&[
                    service.local_cookie.as_deref(),
                    token.cookie.as_deref(),
                ]),
            )
            .form(&[("prompt", prompt), ("csrf", &token.csrf)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{prompt}");
    }
    let after = scrape(&service).await;
    let moved = moved_by(&before, &after);
    for outcome in ["ok", "rejected"] {
        assert_eq!(
            moved(
                "promptops_plan_duration_seconds_count",
                &[("planner", "offline"), ("outcome", outcome)]
            ),
            1.0,
            "{outcome}"
        );
    }
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn webhooks_commands_and_locks_are_counted_by_outcome() {
    let mut service = TestService::start(Options::default()).await;
    let before = scrape(&service).await;
    let issue = issue(&service, "I need 1 T4 VM in us-west1");

    // A command (queued, then handled), its redelivery (duplicate), and a comment with no
    // command (recorded, nothing to do).
    let command = comment_payload(&issue, "alice", "/promptops plan");
    let delivery_id = format!("{:032x}", fastrand::u128(..));
    let queued = service
        .deliver_as("issue_comment", &delivery_id, &command)
        .await;
    assert_eq!(queued.status(), 202);
    let again = service
        .deliver_as("issue_comment", &delivery_id, &command)
        .await;
    assert_eq!(again.status(), 202);
    let chatter = comment_payload(&issue, "alice", "Thanks, looks good");
    assert_eq!(
        service.deliver("issue_comment", &chatter).await.status(),
        202
    );
    service.job_done().await;
    assert_eq!(service.github.prs().len(), 1, "the command was carried out");

    // A lock held by a pull request, as a plan takes it.
    service
        .store
        .acquire_lock(&repo_name(), "gpu-box", PrNumber::new(7))
        .await
        .unwrap();

    let text = scrape_text(&service).await;
    let after = parse_exposition(&text);
    let moved = moved_by(&before, &after);
    let types = family_types(&text);
    for (family, kind) in [
        ("promptops_webhooks", "counter"),
        ("promptops_commands", "counter"),
        ("promptops_locks", "gauge"),
    ] {
        assert_eq!(
            types.get(family).map(String::as_str),
            Some(kind),
            "{family}"
        );
        assert!(text.contains(&format!("# HELP {family} ")), "{family}");
    }
    let webhooks = |outcome: &str| {
        moved(
            "promptops_webhooks_total",
            &[("event", "issue_comment"), ("outcome", outcome)],
        )
    };
    assert_eq!(webhooks("queued"), 1.0);
    assert_eq!(webhooks("duplicate"), 1.0);
    assert_eq!(webhooks("ignored"), 1.0);
    assert_eq!(webhooks("unrecorded"), 0.0);
    assert_eq!(
        moved(
            "promptops_commands_total",
            &[("command", "plan"), ("outcome", "handled")]
        ),
        1.0
    );
    assert_eq!(
        moved(
            "promptops_commands_total",
            &[("command", "plan"), ("outcome", "failed")]
        ),
        0.0
    );
    assert_eq!(present(&after, "promptops_locks", &[]), 1.0);
    service
        .store
        .release_lock(&repo_name(), "gpu-box", PrNumber::new(7))
        .await
        .unwrap();
    let released = scrape(&service).await;
    assert_eq!(present(&released, "promptops_locks", &[]), 0.0);
    service.stop().await;
}
