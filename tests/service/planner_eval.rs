//! `promptops eval` on the labelled corpus (tests/planner_corpus/requests.jsonl), through the
//! real binary: the offline planner must reach the thresholds the README states, and the
//! model planner is scored on the same corpus against a stand-in that answers each request
//! with its labelled values, so that what is measured is the model path's own checks: the
//! screening before any tokens are spent, the cross-check against the stated values and the
//! repair turn (every fourth planned request first gets an answer contradicting its stated
//! VM count).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use promptops_testkit::ChatCompletion;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The thresholds of the README's "Planner accuracy" subsection.
const MIN_FIELD_ACCURACY: f64 = 0.95;
/// The model path may settle a choice the request leaves open ("100GB or 200GB") that the
/// offline planner refuses; everything else must still be refused.
const MIN_MODEL_REFUSAL_ACCURACY: f64 = 0.98;
const MIN_CORPUS_SIZE: u64 = 300;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/planner_corpus/requests.jsonl")
}

fn eval_command() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_promptops"));
    command
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("PROMPTOPS_CATALOG")
        .arg("eval")
        .arg("--json")
        .arg(corpus());
    command
}

async fn score_of(command: &mut tokio::process::Command) -> Value {
    let output = command.output().await.expect("promptops runs");
    assert!(
        output.status.success(),
        "eval failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the score is JSON")
}

fn report(score: &Value) -> String {
    score["failures"]
        .as_array()
        .map(|failures| {
            failures
                .iter()
                .map(|f| format!("- {} {}: {}", f["category"], f["text"], f["problem"]))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// The figures, printed for the README (`--no-capture` shows them).
fn print_figures(planner: &str, score: &Value) {
    eprintln!(
        "{planner}: field accuracy {:.1}% ({}/{}), must-refuse refused {:.1}% ({}/{}), for the labelled reason {:.1}%",
        ratio(score, "fields_correct", "fields_expected") * 100.0,
        score["fields_correct"],
        score["fields_expected"],
        ratio(score, "refused", "must_refuse") * 100.0,
        score["refused"],
        score["must_refuse"],
        ratio(score, "refused_for_the_reason", "must_refuse") * 100.0,
    );
}

fn ratio(score: &Value, part: &str, whole: &str) -> f64 {
    let part = score[part].as_u64().expect("a count") as f64;
    let whole = score[whole].as_u64().expect("a count") as f64;
    part / whole
}

#[tokio::test]
async fn the_offline_planner_meets_the_thresholds_on_the_corpus() {
    let score = score_of(eval_command().arg("--offline")).await;
    print_figures("offline", &score);
    assert!(
        score["requests"].as_u64() >= Some(MIN_CORPUS_SIZE),
        "{score}"
    );
    let fields = ratio(&score, "fields_correct", "fields_expected");
    assert!(
        fields >= MIN_FIELD_ACCURACY,
        "field accuracy {fields:.3}:\n{}",
        report(&score)
    );
    assert_eq!(
        score["refused"],
        score["must_refuse"],
        "every must-refuse request is refused:\n{}",
        report(&score)
    );
}

/// Answers each chat completion with the labelled values of the corpus entry whose text the
/// user message holds (a default plan for requests that must be refused), and the lifetime
/// or end date the message lists among the values to keep.
struct LabelledAnswers {
    entries: Vec<Value>,
    calls: AtomicUsize,
    repairs: Arc<AtomicUsize>,
}

impl LabelledAnswers {
    fn entry_for(&self, user_message: &str) -> Option<(usize, &Value)> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                let text = e["text"].as_str().unwrap_or_default().trim();
                !text.is_empty() && user_message.contains(text)
            })
            .max_by_key(|(_, e)| e["text"].as_str().map_or(0, str::len))
    }
}

/// The end the planner lists among the values to keep, as a model following that
/// instruction answers it: `expires_in` for a lifetime ("- lifetime: for 3d after the
/// apply"), `expires_at` for an end date ("through December 12 (UTC)" as that day's date,
/// "through 2026-12-12 (UTC)", "through Fri (UTC)" as the weekday).
fn stated_expiry(user_message: &str) -> (Value, Value) {
    let Some(line) = user_message
        .lines()
        .find_map(|line| line.strip_prefix("- lifetime: "))
    else {
        return (Value::Null, Value::Null);
    };
    if let Some(lifetime) = line
        .strip_prefix("for ")
        .and_then(|rest| rest.strip_suffix(" after the apply"))
    {
        return (json!(lifetime), Value::Null);
    }
    let Some(end) = line
        .strip_prefix("through ")
        .and_then(|rest| rest.strip_suffix(" (UTC)"))
    else {
        return (Value::Null, Value::Null);
    };
    let month_day = end.split_once(' ').and_then(|(month, day)| {
        let month = month.parse::<chrono::Month>().ok()?.number_from_month();
        let now = chrono::Utc::now();
        let expiry = promptops_core::ExpiryRequest::through_month_day(month, day.parse().ok()?)?;
        // The end is the midnight after that day.
        let end = expiry.date(now, now) - chrono::TimeDelta::seconds(1);
        Some(end.date_naive().to_string())
    });
    (
        Value::Null,
        json!(month_day.unwrap_or_else(|| end.to_owned())),
    )
}

fn answer_for(
    entry: Option<&Value>,
    contradict: bool,
    (expires_in, expires_at): (Value, Value),
) -> Value {
    let expect = entry
        .and_then(|e| e.get("expect"))
        .cloned()
        .unwrap_or(json!({}));
    let field = |key: &str, default: Value| expect.get(key).cloned().unwrap_or(default);
    let mut vm_count = field("vm_count", json!(1));
    if contradict {
        vm_count = json!(vm_count.as_u64().unwrap_or(1) + 1);
    }
    let zone = field("zone", Value::Null);
    let region = if zone.is_null() {
        field("region", json!("us-central1"))
    } else {
        Value::Null
    };
    json!({
        "name": field("name", json!("corpus-request")),
        "vm_count": vm_count,
        "gpu_type": field("gpu_type", json!("nvidia-tesla-t4")),
        "gpu_count": field("gpu_count", json!(1)),
        "machine_type": field("machine_type", Value::Null),
        "zone": zone,
        "region": region,
        "boot_disk_size_gb": field("boot_disk_size_gb", json!(100)),
        "expires_in": expires_in,
        "expires_at": expires_at,
        "rationale": "As the request states.",
        "assumptions": []
    })
}

impl Respond for LabelledAnswers {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let messages = body["messages"].as_array().cloned().unwrap_or_default();
        let user = messages
            .iter()
            .find(|m| m["role"] == "user")
            .and_then(|m| m["content"].as_str())
            .unwrap_or_default();
        let repair = messages.iter().any(|m| m["role"] == "assistant");
        if repair {
            self.repairs.fetch_add(1, Ordering::SeqCst);
        }
        let found = self.entry_for(user);
        let planned_index = found
            .filter(|(_, e)| e.get("expect").is_some())
            .map(|(i, _)| i);
        let contradict = !repair && planned_index.is_some_and(|i| i % 4 == 0);
        self.calls.fetch_add(1, Ordering::SeqCst);
        let content =
            answer_for(found.map(|(_, e)| e), contradict, stated_expiry(user)).to_string();
        ResponseTemplate::new(200).set_body_json(ChatCompletion::answer(content).usage(1000, 60))
    }
}

#[tokio::test]
async fn the_model_planner_is_scored_on_the_same_corpus_with_its_checks() {
    let text = std::fs::read_to_string(corpus()).expect("corpus");
    let entries: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("corpus line"))
        .collect();
    let repairs = Arc::new(AtomicUsize::new(0));
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(LabelledAnswers {
            entries,
            calls: AtomicUsize::new(0),
            repairs: Arc::clone(&repairs),
        })
        .mount(&server)
        .await;
    let score = score_of(
        eval_command()
            .env("OPENAI_API_KEY", "sk-test-corpus")
            .env("OPENAI_BASE_URL", server.uri()),
    )
    .await;
    print_figures("model path", &score);
    eprintln!("repair turns: {}", repairs.load(Ordering::SeqCst));
    let fields = ratio(&score, "fields_correct", "fields_expected");
    assert!(
        fields >= MIN_FIELD_ACCURACY,
        "field accuracy {fields:.3}:\n{}",
        report(&score)
    );
    let refused = ratio(&score, "refused", "must_refuse");
    assert!(
        refused >= MIN_MODEL_REFUSAL_ACCURACY,
        "refusal accuracy {refused:.3}:\n{}",
        report(&score)
    );
    // The contradicting first answers were caught and repaired, not accepted.
    assert!(
        repairs.load(Ordering::SeqCst) >= 40,
        "repair turns: {}",
        repairs.load(Ordering::SeqCst)
    );
}

const DROPPED_WORDS: &str =
    "4 x A100 40GB, us-east1, name it llm-finetune, 2 GPUs per VM, ubuntu 22.04, 500GB disk, spot";

#[tokio::test]
async fn the_pr_body_and_render_state_what_the_plan_does_not_use() {
    use promptops::handlers::pr_text::{PrContext, render};
    use promptops_core::{Catalog, Policy};
    use promptops_planner::{OfflinePlanner, PlanInput};

    let input = PlanInput {
        body: DROPPED_WORDS.to_owned(),
        ..PlanInput::default()
    };
    let catalog = Catalog::embedded();
    let outcome = OfflinePlanner::new()
        .plan(&input, catalog, &Policy::default())
        .expect("planned");
    let body = render(
        catalog,
        &outcome.request,
        &PrContext {
            issue: promptops_core::IssueNumber::new(7),
            request_title: "",
            request_body: DROPPED_WORDS,
            instructions: "",
            planned_by: &outcome.planned_by,
            tfvars_path: "terraform/deployments/llm-finetune/terraform.tfvars",
            notes: &outcome.notes,
            policy: &Policy::default(),
            expires: String::new(),
        },
    )
    .body;
    assert!(body.contains("Deployment **`llm-finetune`**"), "{body}");
    for part in ["\"spot\"", "\"ubuntu 22.04\""] {
        assert!(
            body.contains(part),
            "{part} missing from the PR body:\n{body}"
        );
    }

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_promptops"))
        .env_remove("OPENAI_API_KEY")
        .args(["render", "--offline", DROPPED_WORDS])
        .output()
        .await
        .expect("promptops runs");
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for part in ["\"spot\"", "\"ubuntu 22.04\"", "Planned offline"] {
        assert!(
            stderr.contains(part),
            "{part} missing from stderr:\n{stderr}"
        );
    }
}

#[tokio::test]
async fn render_refusals_name_the_default_policy_not_a_repository() {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_promptops"))
        .env_remove("OPENAI_API_KEY")
        .args(["render", "--offline", "9 H100 VMs with 8 GPUs each"])
        .output()
        .await
        .expect("promptops runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("max_hourly_usd"), "{stderr}");
    assert!(stderr.contains("default policy"), "{stderr}");
    assert!(stderr.contains("--policy FILE"), "{stderr}");
    assert!(!stderr.contains("repository policy"), "{stderr}");
    assert!(!stderr.contains("/promptops plan"), "{stderr}");

    // With a policy file that allows it, the same request is planned.
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("promptops.yml");
    std::fs::write(&file, "policy:\n  max_hourly_usd: 1000\n").expect("policy file");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_promptops"))
        .env_remove("OPENAI_API_KEY")
        .args(["render", "--offline", "--policy"])
        .arg(&file)
        .arg("9 H100 VMs with 8 GPUs each")
        .output()
        .await
        .expect("promptops runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
