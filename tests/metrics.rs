//! `/metrics` through the real router: the exposition parses as OpenMetrics text, and its
//! counters move by exactly the traffic sent — one accepted delivery, one redelivery, one
//! forged signature, one malformed body — and the job the delivery implied.

mod support;

use std::collections::{BTreeMap, HashMap};

use promptops_testkit::sign_webhook;
use support::{IssueRef, Options, REPO, TestService, comment_payload};

/// A sample's identity: metric name and its labels, sorted.
type SampleKey = (String, BTreeMap<String, String>);

/// The samples of an OpenMetrics text exposition. Panics, naming the line, on anything
/// that is not a comment, a `# EOF` terminator or a `name{labels} value` sample, and
/// when the exposition does not end with `# EOF`.
fn parse_exposition(text: &str) -> HashMap<SampleKey, f64> {
    let body = text
        .strip_suffix("# EOF\n")
        .unwrap_or_else(|| panic!("the exposition does not end with `# EOF`:\n{text}"));
    let mut samples = HashMap::new();
    for line in body.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            let kind = comment.split(' ').next().unwrap_or_default();
            assert!(
                ["HELP", "TYPE", "UNIT"].contains(&kind),
                "unknown comment line {line:?}"
            );
            continue;
        }
        let (key, value) = parse_sample(line);
        assert!(
            samples.insert(key.clone(), value).is_none(),
            "sample {key:?} appears twice"
        );
    }
    samples
}

fn parse_sample(line: &str) -> (SampleKey, f64) {
    let name_end = line
        .find(['{', ' '])
        .unwrap_or_else(|| panic!("no value in {line:?}"));
    let name = &line[..name_end];
    assert!(
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
        "bad metric name in {line:?}"
    );
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(after_brace) = rest.strip_prefix('{') {
        let mut chars = after_brace.char_indices();
        loop {
            let (start, first) = chars.next().unwrap_or_else(|| panic!("unclosed {line:?}"));
            if first == '}' {
                rest = &after_brace[start + 1..];
                break;
            }
            if first == ',' {
                continue;
            }
            let eq = after_brace[start..]
                .find("=\"")
                .unwrap_or_else(|| panic!("label without =\" in {line:?}"));
            let label = after_brace[start..start + eq].to_owned();
            // Skip the name and `="`, then read the escaped value up to its closing quote.
            for _ in 0..eq + 1 {
                chars.next();
            }
            let mut value = String::new();
            loop {
                match chars.next().map(|(_, c)| c) {
                    Some('"') => break,
                    Some('\\') => match chars.next().map(|(_, c)| c) {
                        Some('n') => value.push('\n'),
                        Some(c @ ('"' | '\\')) => value.push(c),
                        other => panic!("bad escape {other:?} in {line:?}"),
                    },
                    Some(c) => value.push(c),
                    None => panic!("unterminated label value in {line:?}"),
                }
            }
            assert!(labels.insert(label, value).is_none(), "{line:?}");
        }
    }
    let value_text = rest
        .strip_prefix(' ')
        .unwrap_or_else(|| panic!("no space before the value in {line:?}"));
    let value = match value_text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other
            .parse()
            .unwrap_or_else(|err| panic!("bad value {other:?} in {line:?}: {err}")),
    };
    ((name.to_owned(), labels), value)
}

fn sample(samples: &HashMap<SampleKey, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let key = (
        name.to_owned(),
        labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    );
    samples.get(&key).copied().unwrap_or(0.0)
}

/// Like [`sample`], for a sample that must be in the exposition.
fn present(samples: &HashMap<SampleKey, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let key = (
        name.to_owned(),
        labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    );
    *samples
        .get(&key)
        .unwrap_or_else(|| panic!("the exposition lacks {key:?}"))
}

async fn scrape(service: &TestService) -> HashMap<SampleKey, f64> {
    let response = service
        .http
        .get(service.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    parse_exposition(&response.text().await.unwrap())
}

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
