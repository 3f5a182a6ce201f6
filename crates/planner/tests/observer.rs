//! The planner's observer hook: what a watching service is told about plans (planner kind,
//! outcome class), model requests (result, tokens) and retries, against a fake
//! chat-completions server and the offline planner.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use promptops_core::{Catalog, Policy};
use promptops_planner::{
    ModelRequestObservation, ModelRequestResult, PlanInput, PlanObservation, PlanResult, Planner,
    PlannerKind, PlannerObserver, PlannerSettings, RetryPolicy, SystemClock, TokenUsage,
};
use promptops_testkit::ChatCompletion;
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Everything the planner reported, in order.
#[derive(Default)]
struct Recorder {
    plans: Mutex<Vec<PlanObservation>>,
    requests: Mutex<Vec<ModelRequestObservation>>,
    retries: Mutex<Vec<Duration>>,
}

impl PlannerObserver for Recorder {
    fn plan_finished(&self, plan: &PlanObservation) {
        self.plans.lock().unwrap().push(plan.clone());
    }
    fn model_request(&self, request: &ModelRequestObservation) {
        self.requests.lock().unwrap().push(request.clone());
    }
    fn model_retry(&self, wait: Duration) {
        self.retries.lock().unwrap().push(wait);
    }
}

impl Recorder {
    fn plan_summary(&self) -> Vec<(PlannerKind, PlanResult)> {
        self.plans
            .lock()
            .unwrap()
            .iter()
            .map(|p| (p.planner, p.result))
            .collect()
    }
    fn request_results(&self) -> Vec<ModelRequestResult> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.result)
            .collect()
    }
    fn tokens(&self) -> TokenUsage {
        let mut total = TokenUsage::default();
        for request in self.requests.lock().unwrap().iter() {
            total += request.usage.unwrap_or_default();
        }
        total
    }
}

fn model_planner(server: &MockServer, max_attempts: u32, recorder: &Arc<Recorder>) -> Planner {
    let settings = PlannerSettings {
        api_key: Some(SecretString::from("sk-test-observer")),
        base_url: format!("{}/v1", server.uri()),
        model: "gpt-4o-test".to_owned(),
        timeout: Duration::from_secs(5),
        max_attempts,
    };
    let retry = RetryPolicy {
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_secs(1),
        clock: Arc::new(SystemClock),
    };
    Planner::with_retry_policy(settings, retry).with_observer(recorder.clone())
}

fn input(body: &str) -> PlanInput {
    PlanInput {
        title: "Training boxes".to_owned(),
        body: body.to_owned(),
        ..PlanInput::default()
    }
}

const BODY: &str = "We need 2 V100 VMs in us-west1.";

fn completion(content: &str, prompt_tokens: u64, completion_tokens: u64) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(ChatCompletion::answer(content).usage(prompt_tokens, completion_tokens))
}

fn good_draft() -> String {
    json!({
        "name": "nightly-training", "vm_count": 2, "gpu_type": "nvidia-tesla-v100",
        "gpu_count": 1, "machine_type": "n1-standard-8", "zone": "us-west1-b", "region": null,
        "boot_disk_size_gb": 100, "rationale": "As asked.", "assumptions": []
    })
    .to_string()
}

async fn answer_in_order(server: &MockServer, responses: Vec<ResponseTemplate>) {
    for response in responses {
        Mock::given(method("POST"))
            .respond_with(response)
            .up_to_n_times(1)
            .mount(server)
            .await;
    }
}

#[tokio::test]
async fn every_model_request_retry_and_token_is_reported_with_the_plan() {
    let server = MockServer::start().await;
    let recorder = Arc::new(Recorder::default());
    answer_in_order(
        &server,
        vec![
            ResponseTemplate::new(429).insert_header("retry-after", "0"),
            ResponseTemplate::new(502).set_body_string("bad gateway"),
            // Prose: the planner sends a repair turn, answered well.
            completion("I think two V100 machines would do.", 1000, 30),
            completion(&good_draft(), 1300, 90),
        ],
    )
    .await;
    let planner = model_planner(&server, 3, &recorder);
    let outcome = planner
        .plan(&input(BODY), Catalog::embedded(), &Policy::default())
        .await
        .expect("planned after retries and a repair turn");

    assert_eq!(
        recorder.request_results(),
        vec![
            ModelRequestResult::RateLimited,
            ModelRequestResult::ServerError,
            ModelRequestResult::Answered,
            ModelRequestResult::Answered,
        ]
    );
    assert_eq!(recorder.retries.lock().unwrap().len(), 2);
    let tokens = recorder.tokens();
    assert_eq!(
        (tokens.prompt_tokens, tokens.completion_tokens),
        (2300, 120)
    );
    assert_eq!(
        outcome.usage,
        Some(tokens),
        "the plan's usage is the same sum"
    );
    assert_eq!(
        recorder.plan_summary(),
        vec![(PlannerKind::Model, PlanResult::Ok)]
    );
}

#[tokio::test]
async fn a_model_that_cannot_be_reached_is_reported_unreachable() {
    let server = MockServer::start().await;
    let recorder = Arc::new(Recorder::default());
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let planner = model_planner(&server, 2, &recorder);
    planner
        .plan(&input(BODY), Catalog::embedded(), &Policy::default())
        .await
        .expect_err("unreachable");
    assert_eq!(
        recorder.request_results(),
        vec![ModelRequestResult::ServerError; 2]
    );
    assert_eq!(recorder.retries.lock().unwrap().len(), 1);
    assert_eq!(recorder.tokens(), TokenUsage::default());
    assert_eq!(
        recorder.plan_summary(),
        vec![(PlannerKind::Model, PlanResult::Unreachable)]
    );
}

#[tokio::test]
async fn refusals_are_unusable_and_their_tokens_still_count() {
    let server = MockServer::start().await;
    let recorder = Arc::new(Recorder::default());
    let refusal =
        ResponseTemplate::new(200).set_body_json(ChatCompletion::refusal("No.").usage(500, 2));
    answer_in_order(&server, vec![refusal.clone(), refusal]).await;
    let planner = model_planner(&server, 1, &recorder);
    planner
        .plan(&input(BODY), Catalog::embedded(), &Policy::default())
        .await
        .expect_err("refused");
    assert_eq!(
        recorder.plan_summary(),
        vec![(PlannerKind::Model, PlanResult::Unusable)]
    );
    let tokens = recorder.tokens();
    assert_eq!((tokens.prompt_tokens, tokens.completion_tokens), (1000, 4));
}

#[tokio::test]
async fn a_client_error_is_reported_as_such_without_retry() {
    let server = MockServer::start().await;
    let recorder = Arc::new(Recorder::default());
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let planner = model_planner(&server, 3, &recorder);
    planner
        .plan(&input(BODY), Catalog::embedded(), &Policy::default())
        .await
        .expect_err("bad key");
    assert_eq!(
        recorder.request_results(),
        vec![ModelRequestResult::ClientError]
    );
    assert!(recorder.retries.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_closed_port_is_a_transport_failure() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let recorder = Arc::new(Recorder::default());
    let settings = PlannerSettings {
        api_key: Some(SecretString::from("sk-test-observer")),
        base_url: format!("http://127.0.0.1:{port}/v1"),
        max_attempts: 1,
        ..PlannerSettings::default()
    };
    let planner = Planner::from_settings(settings).with_observer(recorder.clone());
    planner
        .plan(&input(BODY), Catalog::embedded(), &Policy::default())
        .await
        .expect_err("nothing listens");
    assert_eq!(
        recorder.request_results(),
        vec![ModelRequestResult::Transport]
    );
}

#[tokio::test]
async fn offline_plans_are_reported_ok_or_rejected_and_use_no_model() {
    let recorder = Arc::new(Recorder::default());
    let planner =
        Planner::from_settings(PlannerSettings::default()).with_observer(recorder.clone());
    assert_eq!(planner.kind(), PlannerKind::Offline);
    planner
        .plan(
            &input("2 T4 GPUs in us-west1"),
            Catalog::embedded(),
            &Policy::default(),
        )
        .await
        .expect("a plain request");
    let strict = Policy {
        max_vms: 1,
        ..Policy::default()
    };
    planner
        .plan(&input("3 VMs with a T4 each"), Catalog::embedded(), &strict)
        .await
        .expect_err("over the policy's VM limit");
    assert_eq!(
        recorder.plan_summary(),
        vec![
            (PlannerKind::Offline, PlanResult::Ok),
            (PlannerKind::Offline, PlanResult::Rejected),
        ]
    );
    assert!(recorder.requests.lock().unwrap().is_empty());
}
