//! Webhook deliveries the way GitHub sends them: signed, with its headers, and their
//! payloads (in [`payload`]).

pub mod payload;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The `X-Hub-Signature-256` header value for `body`: `sha256=<hex HMAC-SHA256>`.
pub fn sign_webhook(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The headers GitHub sends with a delivery: `X-GitHub-Event`, `X-GitHub-Delivery`,
/// `X-Hub-Signature-256` (signed with `secret`), `Content-Type`, and a GitHub user agent.
pub fn webhook_headers(
    event: &str,
    delivery_id: &str,
    secret: &str,
    body: &[u8],
) -> Vec<(String, String)> {
    vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("user-agent".to_string(), "GitHub-Hookshot/fake".to_string()),
        ("x-github-event".to_string(), event.to_string()),
        ("x-github-delivery".to_string(), delivery_id.to_string()),
        (
            "x-hub-signature-256".to_string(),
            sign_webhook(secret, body),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_githubs_documented_example() {
        // From GitHub's "Validating webhook deliveries" docs.
        assert_eq!(
            sign_webhook("It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }
}
