//! CPU cost of the two per-delivery steps the webhook front door runs before it touches the
//! database: signature verification and event parsing, on the `issue_comment.created`
//! example payload the ingress load benchmark (bench/ingress) posts.
//!
//!     cargo bench -p promptops-github --bench webhook_ingress
//!
//! PROMPTOPS_BENCH_ITERATIONS (default 200000) sets the number of rounds per step.

use std::hint::black_box;
use std::time::Instant;

use hmac::{Hmac, Mac};
use promptops_github::webhook::{Event, WebhookSecrets, parse_event};
use secrecy::SecretString;
use sha2::Sha256;

/// GitHub's example payload (compact, as GitHub sends it) plus the `installation` every App
/// delivery carries; GitHub's own example, see
/// tests/fixtures/github-webhooks/README.md.
fn payload() -> Vec<u8> {
    let mut event: serde_json::Value = serde_json::from_str(include_str!(
        "../tests/fixtures/github-webhooks/issue_comment.created.json"
    ))
    .expect("fixture is JSON");
    event["installation"] = serde_json::json!({ "id": 42424242 });
    serde_json::to_vec(&event).expect("serialises")
}

fn per_call(label: &str, iterations: u32, mut step: impl FnMut()) {
    for _ in 0..iterations / 10 {
        step();
    }
    let started = Instant::now();
    for _ in 0..iterations {
        step();
    }
    let elapsed = started.elapsed();
    println!(
        "{label:<28} {:>8.2} us/call  ({iterations} calls in {:.2} s)",
        elapsed.as_secs_f64() * 1e6 / f64::from(iterations),
        elapsed.as_secs_f64()
    );
}

fn main() {
    let iterations: u32 = std::env::var("PROMPTOPS_BENCH_ITERATIONS")
        .ok()
        .map(|value| {
            value
                .parse()
                .expect("PROMPTOPS_BENCH_ITERATIONS is a number")
        })
        .unwrap_or(200_000);
    let body = payload();
    let secret = "bench-secret";
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(&body);
    let header = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let secrets = WebhookSecrets::new(vec![SecretString::from(secret.to_owned())]);
    assert!(secrets.verify(&body, Some(&header)).is_ok());
    assert!(matches!(
        parse_event("issue_comment", &body),
        Ok(Event::IssueComment(_))
    ));
    println!("payload: {} bytes", body.len());
    per_call("verify signature", iterations, || {
        black_box(secrets.verify(black_box(&body), Some(&header))).expect("valid");
    });
    per_call("parse issue_comment", iterations, || {
        black_box(parse_event("issue_comment", black_box(&body))).expect("parses");
    });
}
