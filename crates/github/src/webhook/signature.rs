//! `X-Hub-Signature-256` verification: HMAC-SHA256 of the raw request body, keyed with the
//! webhook secret, sent as `sha256=<64 hex digits>`.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// The header GitHub puts the signature in.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

const SCHEME: &str = "sha256=";
const DIGEST_LEN: usize = 32;
/// How much of a malformed header value is echoed in an error (it is attacker-controlled).
const ECHO_LIMIT: usize = 80;

/// Why a delivery's signature was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the {SIGNATURE_HEADER} header is missing")]
    Missing,
    #[error("the {SIGNATURE_HEADER} header is malformed: {reason}")]
    Malformed { reason: String },
    #[error("the {SIGNATURE_HEADER} signature does not match the body for any configured secret")]
    Mismatch,
    #[error("no webhook secret is configured, so no delivery can be verified")]
    NoSecretConfigured,
}

/// The webhook secrets a delivery may be signed with. More than one during a rotation: the
/// old and the new secret are both accepted until GitHub uses only the new one.
#[derive(Clone)]
pub struct WebhookSecrets {
    secrets: Vec<SecretString>,
}

impl std::fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSecrets")
            .field("count", &self.secrets.len())
            .finish()
    }
}

impl WebhookSecrets {
    /// Empty secrets are dropped: anyone can compute an HMAC with an empty key, so accepting
    /// one would accept forged deliveries.
    pub fn new(secrets: Vec<SecretString>) -> WebhookSecrets {
        let secrets = secrets
            .into_iter()
            .filter(|secret| !secret.expose_secret().is_empty())
            .collect();
        WebhookSecrets { secrets }
    }

    /// How many usable secrets are configured.
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// True when no usable secret is configured (every delivery will be rejected).
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// Checks `header` (the `X-Hub-Signature-256` value) against `body`, the exact bytes
    /// received. Succeeds when any secret produced the signature; the comparison is constant
    /// time.
    pub fn verify(&self, body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
        let header = header.ok_or(SignatureError::Missing)?;
        let expected = decode_header(header)?;
        if self.secrets.is_empty() {
            return Err(SignatureError::NoSecretConfigured);
        }
        let matches = self.secrets.iter().any(|secret| {
            // HMAC accepts keys of any length, so this cannot fail; a failure counts as no match.
            Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
                .map(|mut mac| {
                    mac.update(body);
                    mac.verify_slice(&expected).is_ok()
                })
                .unwrap_or(false)
        });
        if matches {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }

    /// Checks that `header` is present and has the form of a signature, without a body:
    /// a server can refuse a delivery that cannot be verified before reading its body.
    pub fn check_header_form(header: Option<&str>) -> Result<(), SignatureError> {
        decode_header(header.ok_or(SignatureError::Missing)?).map(|_| ())
    }

    /// The header value GitHub would send for `body` signed with the first secret; `None`
    /// when no secret is configured. For tests and tools that replay deliveries.
    pub fn sign(&self, body: &[u8]) -> Option<String> {
        let secret = self.secrets.first()?;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()).ok()?;
        mac.update(body);
        Some(format!(
            "{SCHEME}{}",
            hex::encode(mac.finalize().into_bytes())
        ))
    }
}

/// The digest bytes of a `sha256=<hex>` header value.
fn decode_header(header: &str) -> Result<[u8; DIGEST_LEN], SignatureError> {
    let value = header.trim();
    let malformed = |reason: String| SignatureError::Malformed { reason };
    let scheme = value.get(..SCHEME.len()).unwrap_or_default();
    if !scheme.eq_ignore_ascii_case(SCHEME) {
        return Err(malformed(format!(
            "expected `{SCHEME}<64 hex digits>`, got `{}`",
            shorten(value)
        )));
    }
    let digits = &value[SCHEME.len()..];
    if digits.len() != DIGEST_LEN * 2 {
        return Err(malformed(format!(
            "expected 64 hex digits after `{SCHEME}`, got {} characters",
            digits.chars().count()
        )));
    }
    let mut digest = [0u8; DIGEST_LEN];
    hex::decode_to_slice(digits, &mut digest).map_err(|error| {
        malformed(format!(
            "`{}` is not hexadecimal ({error})",
            shorten(digits)
        ))
    })?;
    Ok(digest)
}

fn shorten(text: &str) -> String {
    let mut short: String = text.chars().take(ECHO_LIMIT).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}
