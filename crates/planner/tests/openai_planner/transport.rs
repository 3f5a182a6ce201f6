//! The model planner's transport: rate limits and server errors retried within the
//! attempt limit, timeouts and closed ports reported as unreachable, a 401 final and never
//! echoing the key, servers without structured outputs or temperature asked again, a
//! malformed base URL reported at once, and token usage and latency logged.

use super::*;

#[tokio::test]
async fn a_429_with_retry_after_then_success() {
    let server = MockServer::start().await;
    let limited = ResponseTemplate::new(429)
        .insert_header("retry-after", "1")
        .set_body_json(json!({"error": {"message": "Rate limit reached", "type": "requests"}}));
    answer_in_order(&server, vec![limited, completion(&draft(json!({})))]).await;
    let outcome = plan(&server, &input()).await.expect("retried");
    assert_eq!(outcome.request.vm_count, 2);
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn a_500_then_success() {
    let server = MockServer::start().await;
    let broken = ResponseTemplate::new(500).set_body_string("upstream exploded");
    answer_in_order(&server, vec![broken, completion(&draft(json!({})))]).await;
    let outcome = plan(&server, &input()).await.expect("retried");
    assert_eq!(outcome.request.zone, "us-west1-b");
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn persistent_server_errors_give_up_after_the_attempt_limit() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(503).set_body_json(json!({"error": {"message": "overloaded"}})),
        )
        .mount(&server)
        .await;
    let err = plan(&server, &input()).await.expect_err("unreachable");
    assert!(matches!(err, PlanError::ModelUnreachable(_)), "{err:?}");
    let shown = err.to_string();
    assert!(
        shown.contains("503") && shown.contains("overloaded") && shown.contains("3 attempts"),
        "{shown}"
    );
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn a_timeout_is_unreachable_after_bounded_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(completion(&draft(json!({}))).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let settings = settings(&server, Duration::from_millis(200), 2);
    let planner = OpenAiPlanner::new(&settings, SecretString::from(KEY), fast_retries());
    let err = planner
        .plan(&input(), Catalog::embedded(), &Policy::default())
        .await
        .expect_err("timed out");
    assert!(matches!(err, PlanError::ModelUnreachable(_)), "{err:?}");
    let shown = err.to_string();
    assert!(
        shown.contains("did not answer in time") && shown.contains("2 attempts"),
        "{shown}"
    );
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn a_401_is_final_and_never_echoes_the_key() {
    let server = MockServer::start().await;
    let denied = ResponseTemplate::new(401).set_body_json(
        json!({"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}}),
    );
    answer_in_order(&server, vec![denied]).await;
    let err = plan(&server, &input()).await.expect_err("denied");
    let shown = err.to_string();
    assert!(
        shown.contains("401") && shown.contains("Incorrect API key"),
        "{shown}"
    );
    assert!(!shown.contains(KEY));
    assert_eq!(requests(&server).await.len(), 1, "no retry on 401");
}

#[tokio::test]
async fn a_server_without_structured_outputs_is_asked_again_without_them() {
    let server = MockServer::start().await;
    let unsupported = ResponseTemplate::new(400).set_body_json(json!({
        "error": {"message": "response_format json_schema is not supported by this model"}
    }));
    let fenced = format!("```json\n{}\n```", draft(json!({})));
    answer_in_order(&server, vec![unsupported, completion(&fenced)]).await;
    let outcome = plan(&server, &input()).await.expect("planned");
    assert_eq!(outcome.request.vm_count, 2);
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    assert!(body(&sent[0]).get("response_format").is_some());
    assert!(body(&sent[1]).get("response_format").is_none());
}

#[tokio::test]
async fn a_model_without_temperature_is_asked_again_without_it() {
    let server = MockServer::start().await;
    let unsupported = ResponseTemplate::new(400).set_body_json(json!({
        "error": {"message": "Unsupported parameter: 'temperature' is not supported with this model."}
    }));
    answer_in_order(&server, vec![unsupported, completion(&draft(json!({})))]).await;
    plan(&server, &input()).await.expect("planned");
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    assert!(body(&sent[1]).get("temperature").is_none());
    assert!(
        body(&sent[1]).get("response_format").is_some(),
        "structured outputs kept"
    );
}

/// Collects formatted log lines.
#[derive(Clone, Default)]
struct LogCapture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogCapture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn token_usage_and_latency_are_logged() {
    let capture = LogCapture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    answer_in_order(&server, vec![completion(&draft(json!({})))]).await;
    plan(&server, &input()).await.expect("planned");

    let logs =
        String::from_utf8(capture.0.lock().expect("log buffer").clone()).expect("utf-8 logs");
    let line = logs
        .lines()
        .find(|l| l.contains("chat completion answered"))
        .unwrap_or_else(|| panic!("no completion log line in:\n{logs}"));
    for field in [
        "prompt_tokens=1200",
        "completion_tokens=80",
        "latency_ms=",
        "model=gpt-4o-test",
    ] {
        assert!(line.contains(field), "{field} missing from {line}");
    }
    assert!(!logs.contains(KEY), "the API key never reaches the logs");
}

#[tokio::test]
async fn a_malformed_base_url_is_reported_without_retrying() {
    let settings = PlannerSettings {
        api_key: Some(SecretString::from(KEY)),
        base_url: "not a url".to_owned(),
        model: MODEL.to_owned(),
        timeout: Duration::from_secs(1),
        max_attempts: 3,
    };
    let planner = OpenAiPlanner::new(&settings, SecretString::from(KEY), fast_retries());
    let err = planner
        .plan(&input(), Catalog::embedded(), &Policy::default())
        .await
        .expect_err("no server");
    assert!(matches!(err, PlanError::ModelUnreachable(_)), "{err:?}");
    let shown = err.to_string();
    assert!(
        shown.contains("OPENAI_BASE_URL") && !shown.contains("attempts"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_closed_port_is_unreachable_after_bounded_attempts() {
    // A port that was just free: nothing listens on it once the listener is dropped.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free local port");
    let base_url = format!("http://{}/v1", listener.local_addr().expect("address"));
    drop(listener);
    let settings = PlannerSettings {
        api_key: Some(SecretString::from(KEY)),
        base_url,
        model: MODEL.to_owned(),
        timeout: Duration::from_secs(1),
        max_attempts: 2,
    };
    let planner = OpenAiPlanner::new(&settings, SecretString::from(KEY), fast_retries());
    let err = planner
        .plan(&input(), Catalog::embedded(), &Policy::default())
        .await
        .expect_err("nothing listens");
    let shown = err.to_string();
    assert!(
        shown.contains("cannot connect") && shown.contains("2 attempts"),
        "{shown}"
    );
}
