//! The try page plans at most `TryLimit::DEFAULT_PER_MINUTE` prompts a minute per person:
//! each may be a model call billed to the operator.

use crate::support;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, RETRY_AFTER};
use support::{Options, TestService};

const TOKEN: &str = "dashboard-token-for-tests";

#[tokio::test(flavor = "multi_thread")]
async fn past_the_limit_a_prompt_is_answered_429_with_when_to_try_again() {
    let service = TestService::start(Options {
        dashboard_token: Some(TOKEN.to_owned()),
        ..Options::default()
    })
    .await;
    let try_prompt = |prompt: &'static str| {
        service
            .http
            .post(service.url("/dashboard/try"))
            .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
            .form(&[("prompt", prompt)])
            .send()
    };
    let limit = promptops::web::TryLimit::DEFAULT_PER_MINUTE.get();
    for _ in 0..limit {
        let response = try_prompt("I need 5 T4 GPUs in us-west1").await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    // An empty form plans nothing and is not counted.
    let empty = try_prompt("   ").await.unwrap();
    assert_eq!(empty.status(), StatusCode::OK);

    let refused = try_prompt("I need 2 L4 GPUs in us-central1").await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = refused.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let html = refused.text().await.unwrap();
    assert!(
        html.contains(&format!(
            "At most {limit} prompts a minute are planned per person"
        )),
        "{html}"
    );
    assert!(html.contains(&format!("Try again in {wait} s")), "{html}");
    assert!(
        html.contains(">I need 2 L4 GPUs in us-central1</textarea>"),
        "the prompt stays in the form: {html}"
    );
    assert!(
        !html.contains("id=\"tfvars\""),
        "nothing was planned: {html}"
    );
    service.stop().await;
}
