//! Finds the JSON object in a model's answer: the whole answer (structured outputs), a
//! fenced ```json block, or the first JSON object embedded in prose (servers and models
//! without structured outputs). Public so that a fuzz target can drive it with the
//! validator.

use serde_json::{Map, Value};

/// The JSON object the answer carries, or a sentence saying why there is none.
pub fn json_object(content: &str) -> Result<Map<String, Value>, String> {
    let trimmed = content.trim();
    if trimmed.is_empty() {
        return Err("the answer is empty".to_owned());
    }
    if let Ok(value) = serde_json::from_str::<Value>(trimmed) {
        return match value {
            Value::Object(object) => Ok(object),
            other => Err(format!(
                "the answer is JSON but not an object (it is {})",
                kind(&other)
            )),
        };
    }
    for block in fenced_blocks(trimmed) {
        if let Ok(Value::Object(object)) = serde_json::from_str::<Value>(block.trim()) {
            return Ok(object);
        }
    }
    if let Some(object) = first_embedded_object(trimmed) {
        return Ok(object);
    }
    Err("the answer contains no JSON object (expected the deployment fields as a JSON object, optionally in a ```json block)".to_owned())
}

/// The contents of ``` fences, ```json ones first.
fn fenced_blocks(text: &str) -> Vec<&str> {
    let mut tagged = Vec::new();
    let mut untagged = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("```") {
        let after_fence = &rest[start + 3..];
        let line_end = after_fence.find('\n').unwrap_or(after_fence.len());
        let info = after_fence[..line_end].trim().to_ascii_lowercase();
        let body = &after_fence[line_end..];
        let Some(end) = body.find("```") else { break };
        if info == "json" || info == "jsonc" {
            tagged.push(&body[..end]);
        } else {
            untagged.push(&body[..end]);
        }
        rest = &body[end + 3..];
    }
    tagged.extend(untagged);
    tagged
}

/// The first `{...}` in the text that parses as a JSON object.
fn first_embedded_object(text: &str) -> Option<Map<String, Value>> {
    for (index, _) in text.match_indices('{') {
        let mut stream = serde_json::Deserializer::from_str(&text[index..]).into_iter::<Value>();
        if let Some(Ok(Value::Object(object))) = stream.next() {
            return Some(object);
        }
    }
    None
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_answer_fenced_block_and_prose() {
        assert_eq!(json_object(r#"{"vm_count": 2}"#).unwrap()["vm_count"], 2);
        let fenced = "Here you go:\n```json\n{\"vm_count\": 3}\n```\nThanks";
        assert_eq!(json_object(fenced).unwrap()["vm_count"], 3);
        let untagged = "```\n{\"vm_count\": 4}\n```";
        assert_eq!(json_object(untagged).unwrap()["vm_count"], 4);
        let prose = "I suggest {\"vm_count\": 5, \"zone\": \"us-west1-b\"} for this.";
        assert_eq!(json_object(prose).unwrap()["zone"], "us-west1-b");
    }

    #[test]
    fn no_object_is_explained() {
        assert!(json_object("").unwrap_err().contains("empty"));
        assert!(json_object("[1,2]").unwrap_err().contains("an array"));
        assert!(
            json_object("Sorry, I cannot help {with} that.")
                .unwrap_err()
                .contains("no JSON object")
        );
    }
}
