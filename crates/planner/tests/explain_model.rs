//! The model's plan explanation against a fake chat-completions server: what it sends (the
//! system prompt and the facts, nothing else), and how each answer ends — written, or a
//! failure the plan comment names (HTTP error, timeout, refusal, empty, too long).

use std::sync::Arc;
use std::time::Duration;

use promptops_planner::explain::{MAX_EXPLANATION_CHARS, SYSTEM_PROMPT};
use promptops_planner::{
    ExplainFailure, ExplainOutcome, NoModelExplainer, PlanExplainer, PlannerSettings, RetryPolicy,
    SystemClock, explainer_for,
};
use promptops_testkit::{ChatCompletion, FinishReason};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MODEL: &str = "gpt-4o-explain-test";
const FACTS: &str = r#"{"deployment": "alpha", "created": {"count": 2, "listed": ["terraform_data.vm[0]", "terraform_data.vm[1]"]}}"#;

fn explainer(server: &MockServer, timeout: Duration) -> Arc<dyn PlanExplainer> {
    let settings = PlannerSettings {
        api_key: Some(SecretString::from("sk-explain-test")),
        base_url: format!("{}/v1", server.uri()),
        model: MODEL.to_owned(),
        timeout,
        max_attempts: 3,
    };
    let retry = RetryPolicy {
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        clock: Arc::new(SystemClock),
    };
    explainer_for(&settings, retry, None)
}

fn answer(completion: ChatCompletion) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(completion.model(MODEL).usage(300, 60))
}

async fn serve(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(response)
        .mount(server)
        .await;
}

async fn explain_with(response: ResponseTemplate) -> (ExplainOutcome, MockServer) {
    let server = MockServer::start().await;
    serve(&server, response).await;
    let outcome = explainer(&server, Duration::from_secs(5))
        .explain(FACTS)
        .await;
    (outcome, server)
}

#[tokio::test]
async fn the_model_gets_the_facts_and_the_rules_and_nothing_else() {
    let text = "This plan creates two VMs. It costs $1.08 per hour.";
    let (outcome, server) = explain_with(answer(ChatCompletion::answer(text))).await;
    assert_eq!(
        outcome,
        ExplainOutcome::Written {
            model: MODEL.to_owned(),
            text: text.to_owned()
        }
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let body: Value = requests[0].body_json().unwrap();
    assert_eq!(body["model"], MODEL);
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["role"], "system");
    assert_eq!(messages[0]["content"], SYSTEM_PROMPT);
    assert_eq!(messages[1]["role"], "user");
    assert_eq!(
        messages[1]["content"],
        format!("The plan's facts:\n{FACTS}")
    );
    assert_eq!(body["response_format"], json!({"type": "text"}));
}

#[tokio::test]
async fn an_http_error_is_named_by_its_status_without_the_servers_words() {
    let body = json!({"error": {"message": "Incorrect API key provided: sk-ex***est"}});
    let (outcome, server) = explain_with(ResponseTemplate::new(401).set_body_json(body)).await;
    let ExplainOutcome::Failed(failure) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(
        failure,
        ExplainFailure::Unreachable("the model API answered 401 Unauthorized".into())
    );
    assert_eq!(failure.label(), "unreachable");
    // A 401 is not retried.
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_server_error_is_retried_a_bounded_number_of_times_then_named() {
    let (outcome, server) = explain_with(ResponseTemplate::new(500)).await;
    assert_eq!(
        outcome,
        ExplainOutcome::Failed(ExplainFailure::Unreachable(
            "the model API answered 500 Internal Server Error".into()
        ))
    );
    // Fewer tries than planning: a plan comment waits for them.
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_slow_model_times_out() {
    let server = MockServer::start().await;
    let slow = answer(ChatCompletion::answer("Late.")).set_delay(Duration::from_secs(3));
    serve(&server, slow).await;
    let outcome = explainer(&server, Duration::from_millis(300))
        .explain(FACTS)
        .await;
    assert_eq!(
        outcome,
        ExplainOutcome::Failed(ExplainFailure::Unreachable(
            "the model API did not answer in time".into()
        ))
    );
}

#[tokio::test]
async fn a_refusal_an_empty_and_an_over_long_answer_are_failures() {
    let (refused, _server) =
        explain_with(answer(ChatCompletion::refusal("I can't help with that."))).await;
    assert_eq!(
        refused,
        ExplainOutcome::Failed(ExplainFailure::Refused("I can't help with that.".into()))
    );
    let (empty, _server) = explain_with(answer(ChatCompletion::answer("  \n "))).await;
    assert_eq!(empty, ExplainOutcome::Failed(ExplainFailure::Empty));
    let long = "The plan is fine. ".repeat(MAX_EXPLANATION_CHARS / 10);
    let (too_long, _server) = explain_with(answer(ChatCompletion::answer(long))).await;
    assert!(
        matches!(
            too_long,
            ExplainOutcome::Failed(ExplainFailure::TooLong { .. })
        ),
        "{too_long:?}"
    );
    let (cut, _server) = explain_with(answer(
        ChatCompletion::answer("The plan").finish_reason(FinishReason::Length),
    ))
    .await;
    assert!(
        matches!(cut, ExplainOutcome::Failed(ExplainFailure::TooLong { .. })),
        "{cut:?}"
    );
}

#[tokio::test]
async fn without_a_key_nothing_is_asked() {
    let outcome = NoModelExplainer.explain(FACTS).await;
    assert_eq!(outcome, ExplainOutcome::NoModel);
    let settings = PlannerSettings::default();
    let outcome = explainer_for(&settings, RetryPolicy::default(), None)
        .explain(FACTS)
        .await;
    assert_eq!(outcome, ExplainOutcome::NoModel);
}
