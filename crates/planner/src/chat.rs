//! The OpenAI chat-completions call: request body, bearer auth, per-request timeout,
//! bounded retries on 429/5xx/connection errors, and the few response fields we read.
//! OpenAI's wire types stay in this file.

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::TokenUsage;
use crate::error::PlanError;
use crate::observe::{ModelRequestObservation, ModelRequestResult, Observer};
use crate::retry::RetryPolicy;

/// Request parameters a server may not support, with the words its 400 answer uses for
/// them; each is dropped once when named.
const OPTIONAL_PARAMETERS: [(&str, &[&str]); 2] = [
    ("response_format", &["response_format", "json_schema"]),
    ("temperature", &["temperature"]),
];

/// Longest excerpt of a server's error body quoted in an error message.
const ERROR_EXCERPT_CHARS: usize = 300;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: &'static str,
    pub content: String,
}

impl ChatMessage {
    pub fn system(content: String) -> Self {
        ChatMessage {
            role: "system",
            content,
        }
    }
    pub fn user(content: String) -> Self {
        ChatMessage {
            role: "user",
            content,
        }
    }
    pub fn assistant(content: String) -> Self {
        ChatMessage {
            role: "assistant",
            content,
        }
    }
}

/// What the model answered.
#[derive(Debug, Clone)]
pub struct ChatAnswer {
    pub content: Option<String>,
    pub refusal: Option<String>,
    pub finish_reason: Option<String>,
    pub usage: Option<TokenUsage>,
}

#[derive(Debug)]
pub struct ChatClient {
    http: reqwest::Client,
    endpoint: String,
    api_key: SecretString,
    model: String,
    timeout: Duration,
    max_attempts: u32,
    retry: RetryPolicy,
    observer: Observer,
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    choices: Vec<WireChoice>,
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireChoice {
    message: WireMessage,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireMessage {
    content: Option<String>,
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

/// Why one attempt failed.
enum AttemptError {
    /// Worth another attempt (429, 5xx, timeout, connection), with the server's Retry-After.
    Transient {
        reason: String,
        retry_after: Option<String>,
    },
    /// The server does not take an optional parameter we sent (named in its 400 answer).
    Unsupported {
        parameter: &'static str,
        reason: String,
    },
    /// No point in trying again (401, 404, other 4xx).
    Final(String),
}

impl ChatClient {
    pub fn new(
        base_url: &str,
        api_key: SecretString,
        model: String,
        timeout: Duration,
        max_attempts: u32,
        retry: RetryPolicy,
    ) -> Self {
        ChatClient {
            http: reqwest::Client::new(),
            endpoint: format!("{}/chat/completions", base_url.trim_end_matches('/')),
            api_key,
            model,
            timeout,
            max_attempts: max_attempts.max(1),
            retry,
            observer: Observer::default(),
        }
    }

    pub(crate) fn set_observer(&mut self, observer: Observer) {
        self.observer = observer;
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    /// One chat completion with `response_format` (structured outputs) and temperature 0.
    /// A server that rejects one of these optional parameters (a server without structured
    /// outputs, a model without temperature) is asked again without it; the answer is then
    /// read from fenced JSON.
    pub async fn complete(
        &self,
        messages: &[ChatMessage],
        response_format: &Value,
    ) -> Result<ChatAnswer, PlanError> {
        let mut body = serde_json::json!({
            "model": self.model,
            "messages": messages,
            "temperature": 0,
            "response_format": response_format,
        });
        loop {
            match self.send_with_retries(&body).await {
                // Each parameter is removed at most once, so this ends.
                Err(AttemptError::Unsupported { parameter, reason }) => {
                    tracing::warn!(parameter, %reason, "the server rejected an optional parameter; asking without it");
                    if let Some(object) = body.as_object_mut() {
                        object.remove(parameter);
                    }
                }
                other => return other.map_err(into_plan_error),
            }
        }
    }

    async fn send_with_retries(&self, body: &Value) -> Result<ChatAnswer, AttemptError> {
        let mut rng = fastrand::Rng::new();
        let mut attempt = 1;
        loop {
            let started = Instant::now();
            let (result, request_result) = self.send_once(body).await;
            let latency = started.elapsed();
            let latency_ms = latency.as_millis();
            self.observer.0.model_request(&ModelRequestObservation {
                result: request_result,
                latency,
                usage: result.as_ref().ok().and_then(|answer| answer.usage),
            });
            match result {
                Ok(answer) => {
                    let usage = answer.usage.unwrap_or_default();
                    tracing::info!(
                        model = %self.model,
                        attempt,
                        latency_ms,
                        prompt_tokens = usage.prompt_tokens,
                        completion_tokens = usage.completion_tokens,
                        finish_reason = answer.finish_reason.as_deref().unwrap_or("none"),
                        "chat completion answered"
                    );
                    return Ok(answer);
                }
                Err(AttemptError::Transient {
                    reason,
                    retry_after,
                }) if attempt < self.max_attempts => {
                    let wait = self.retry.delay(attempt, retry_after.as_deref(), &mut rng);
                    tracing::warn!(
                        model = %self.model,
                        attempt,
                        latency_ms,
                        wait_ms = wait.as_millis(),
                        %reason,
                        "chat completion failed; retrying"
                    );
                    self.observer.0.model_retry(wait);
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(AttemptError::Transient { reason, .. }) => {
                    tracing::warn!(model = %self.model, attempt, latency_ms, %reason, "chat completion failed; giving up");
                    return Err(AttemptError::Final(format!(
                        "{reason} (gave up after {attempt} attempts)"
                    )));
                }
                Err(other) => return Err(other),
            }
        }
    }

    /// One HTTP request, and how it ended for the observer.
    async fn send_once(
        &self,
        body: &Value,
    ) -> (Result<ChatAnswer, AttemptError>, ModelRequestResult) {
        let (status, retry_after, text) = match self.exchange(body).await {
            Ok(answer) => answer,
            Err(err) => return (Err(err), ModelRequestResult::Transport),
        };
        let class = if status.is_success() {
            ModelRequestResult::Answered
        } else if status.as_u16() == 429 {
            ModelRequestResult::RateLimited
        } else if status.is_server_error() {
            ModelRequestResult::ServerError
        } else {
            ModelRequestResult::ClientError
        };
        (read_answer(body, status, retry_after, &text), class)
    }

    /// Sends the request and reads the whole answer: status, `Retry-After`, body.
    async fn exchange(
        &self,
        body: &Value,
    ) -> Result<(reqwest::StatusCode, Option<String>, String), AttemptError> {
        let response = self
            .http
            .post(&self.endpoint)
            .bearer_auth(self.api_key.expose_secret())
            .timeout(self.timeout)
            .json(body)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response.text().await.map_err(transport_error)?;
        Ok((status, retry_after, text))
    }
}

fn read_answer(
    body: &Value,
    status: reqwest::StatusCode,
    retry_after: Option<String>,
    text: &str,
) -> Result<ChatAnswer, AttemptError> {
    if status.is_success() {
        return parse_answer(text);
    }
    let reason = format!("the model API answered {status}: {}", error_excerpt(text));
    if status.as_u16() == 429 || status.is_server_error() {
        return Err(AttemptError::Transient {
            reason,
            retry_after,
        });
    }
    if status.as_u16() == 400
        && let Some((parameter, _)) = OPTIONAL_PARAMETERS.into_iter().find(|(parameter, words)| {
            body.get(*parameter).is_some() && words.iter().any(|w| text.contains(w))
        })
    {
        return Err(AttemptError::Unsupported { parameter, reason });
    }
    Err(AttemptError::Final(reason))
}

fn parse_answer(text: &str) -> Result<ChatAnswer, AttemptError> {
    let wire: WireResponse = serde_json::from_str(text).map_err(|err| {
        AttemptError::Final(format!(
            "the model API's answer is not a chat completion ({err})"
        ))
    })?;
    let choice =
        wire.choices.into_iter().next().ok_or_else(|| {
            AttemptError::Final("the model API's answer has no choices".to_owned())
        })?;
    Ok(ChatAnswer {
        content: choice.message.content,
        refusal: choice.message.refusal,
        finish_reason: choice.finish_reason,
        usage: wire.usage.map(|u| TokenUsage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
        }),
    })
}

fn transport_error(err: reqwest::Error) -> AttemptError {
    if err.is_builder() {
        // A malformed base URL: no attempt can succeed.
        return AttemptError::Final(format!(
            "the model API address is not usable ({}); check OPENAI_BASE_URL",
            err.without_url()
        ));
    }
    let reason = if err.is_timeout() {
        "the model API did not answer in time".to_owned()
    } else if err.is_connect() {
        "cannot connect to the model API".to_owned()
    } else {
        format!(
            "the connection to the model API failed ({})",
            err.without_url()
        )
    };
    AttemptError::Transient {
        reason,
        retry_after: None,
    }
}

/// The server's own error message when it sent OpenAI's error shape, else the body start.
fn error_excerpt(body: &str) -> String {
    let message = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| body.trim().to_owned());
    let excerpt: String = message.chars().take(ERROR_EXCERPT_CHARS).collect();
    if excerpt.is_empty() {
        "(empty body)".to_owned()
    } else {
        excerpt
    }
}

fn into_plan_error(err: AttemptError) -> PlanError {
    match err {
        AttemptError::Transient { reason, .. }
        | AttemptError::Unsupported { reason, .. }
        | AttemptError::Final(reason) => PlanError::ModelUnreachable(reason),
    }
}
