//! What the fake OpenAI answers: a chat completion shaped as the Chat Completions API
//! documents it (`POST /v1/chat/completions`), for a test's mock server to send back.
//!
//! ```
//! use promptops_testkit::{ChatCompletion, FinishReason};
//! let cut = ChatCompletion::answer("The plan")
//!     .finish_reason(FinishReason::Length)
//!     .usage(300, 60);
//! let json = serde_json::to_value(&cut).unwrap();
//! assert_eq!(json["choices"][0]["message"]["content"], "The plan");
//! assert_eq!(json["choices"][0]["finish_reason"], "length");
//! assert_eq!(json["usage"]["total_tokens"], 360);
//! ```

use serde::Serialize;

/// The model the answers name unless a test sets another.
pub const DEFAULT_MODEL: &str = "gpt-4o-2024-08-06";

/// One chat completion with a single choice: the assistant's content or its refusal, why
/// it stopped, and the tokens it reports. Serialises to the API's JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatCompletion {
    id: &'static str,
    object: &'static str,
    created: u64,
    model: String,
    choices: [Choice; 1],
    usage: Usage,
}

/// Why the model stopped (`finish_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// It said all it had to say.
    Stop,
    /// It ran into `max_completion_tokens`: the content is cut off.
    Length,
    /// Content was left out by the content filter.
    ContentFilter,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Choice {
    index: u32,
    message: Message,
    finish_reason: FinishReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Message {
    role: &'static str,
    content: Option<String>,
    refusal: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
}

impl ChatCompletion {
    /// The assistant answers `content` and stops; 900 prompt and 80 completion tokens.
    pub fn answer(content: impl Into<String>) -> Self {
        Self::with_message(Some(content.into()), None)
    }

    /// The assistant refuses with `reason` (no content), as structured outputs do.
    pub fn refusal(reason: impl Into<String>) -> Self {
        Self::with_message(None, Some(reason.into()))
    }

    fn with_message(content: Option<String>, refusal: Option<String>) -> Self {
        Self {
            id: "chatcmpl-fake",
            object: "chat.completion",
            // 2024-08-06, the day the default model was released.
            created: 1_722_902_400,
            model: DEFAULT_MODEL.to_owned(),
            choices: [Choice {
                index: 0,
                message: Message {
                    role: "assistant",
                    content,
                    refusal,
                },
                finish_reason: FinishReason::Stop,
            }],
            usage: Usage {
                prompt_tokens: 900,
                completion_tokens: 80,
                total_tokens: 980,
            },
        }
    }

    /// The model the answer names.
    pub fn model(mut self, model: &str) -> Self {
        model.clone_into(&mut self.model);
        self
    }

    /// The tokens the answer reports (the total is their sum).
    pub fn usage(mut self, prompt_tokens: u64, completion_tokens: u64) -> Self {
        self.usage = Usage {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
        };
        self
    }

    /// Why the model stopped; [`FinishReason::Stop`] unless set.
    pub fn finish_reason(mut self, reason: FinishReason) -> Self {
        self.choices[0].finish_reason = reason;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_refusal_has_no_content_and_the_documented_fields() {
        let json = serde_json::to_value(ChatCompletion::refusal("No.").model("gpt-4o-test"))
            .expect("serialises");
        assert_eq!(
            json,
            json!({
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 1_722_902_400,
                "model": "gpt-4o-test",
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": null, "refusal": "No."},
                    "finish_reason": "stop"
                }],
                "usage": {"prompt_tokens": 900, "completion_tokens": 80, "total_tokens": 980}
            })
        );
    }
}
