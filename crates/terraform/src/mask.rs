//! Replacing secret values, their secret parts (the fields of a credentials JSON, the
//! lines of a PEM key) and the encoded copies of both (base64, also of UTF-16; hex; URL;
//! JSON) by `***` in text, including text that arrives in chunks.
//!
//! A secret may be split across two reads of a pipe, so the streaming masker holds back
//! the last `longest secret - 1` bytes of every chunk until it knows whether they start
//! a secret.

use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use secrecy::{ExposeSecret, SecretString};

mod credential_parts;
mod encoded;

pub use credential_parts::proxy_secrets;

/// What replaces every secret value.
pub const MASK: &str = "***";

/// Secret values shorter than this are not masked: masking "1" or "true" would destroy
/// the output without protecting anything. Secrets the service is configured with are
/// never that short: `serve` refuses to start with one (see [`too_short_to_mask`]); only
/// values a plan marks sensitive can be, and those Terraform itself prints redacted.
pub const MIN_SECRET_LEN: usize = 4;

/// Above this many bytes of patterns the masker is a contiguous NFA, never a DFA.
const LARGE_PATTERN_BYTES: usize = 4 * 1024;

/// Whether a configured secret is too short to be masked in Terraform's output (an empty
/// value is not a secret at all).
pub fn too_short_to_mask(value: &SecretString) -> bool {
    let len = value.expose_secret().len();
    len > 0 && len < MIN_SECRET_LEN
}

/// A set of secret values to mask. Cheap to clone.
///
/// The values are held in layers, each one automaton: the service's own secrets in the
/// first, built once at start; the values a plan marks sensitive in a small layer of their
/// own. Building one automaton for everything again would cost every run the service's
/// secrets once more (a GitHub App key alone gives hundreds of patterns: about 20 ms).
#[derive(Clone, Default)]
pub struct Masker {
    layers: Vec<Arc<Layer>>,
}

/// One automaton over a set of values and their encoded forms.
struct Layer {
    automaton: AhoCorasick,
    /// How many patterns (values and their encoded forms) the automaton holds.
    patterns: usize,
    longest: usize,
    /// Sorted, without duplicates.
    values: Vec<SecretString>,
}

impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count: usize = self.layers.iter().map(|layer| layer.values.len()).sum();
        write!(f, "Masker({count} secret values)")
    }
}

impl Masker {
    /// Builds a masker for these values, their secret parts and the encoded forms of both;
    /// values shorter than [`MIN_SECRET_LEN`] are ignored.
    pub fn new<I>(values: I) -> Masker
    where
        I: IntoIterator<Item = SecretString>,
    {
        Masker {
            layers: Layer::build(values, &[])
                .map(Arc::new)
                .into_iter()
                .collect(),
        }
    }

    /// A masker holding this masker's values plus `more`. Only the values this masker
    /// does not hold yet are compiled, into a layer of their own.
    pub fn with_values<I>(&self, more: I) -> Masker
    where
        I: IntoIterator<Item = SecretString>,
    {
        let mut layers = self.layers.clone();
        layers.extend(Layer::build(more, &self.layers).map(Arc::new));
        Masker { layers }
    }

    /// Whether this masker masks more than `base`, which it was made from with
    /// [`Masker::with_values`] (no layer is added when every value was masked already).
    pub fn has_more_layers_than(&self, base: &Masker) -> bool {
        self.layers.len() > base.layers.len()
    }

    /// Whether there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// Masks a complete string.
    pub fn mask_str(&self, text: &str) -> String {
        let mut masked = text.to_owned();
        for layer in &self.layers {
            masked = layer
                .automaton
                .replace_all(&masked, &vec![MASK; layer.patterns]);
        }
        masked
    }

    /// Masks a complete byte buffer.
    pub fn mask_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        let mut masked = bytes.to_vec();
        for layer in &self.layers {
            masked = layer
                .automaton
                .replace_all_bytes(&masked, &vec![MASK.as_bytes(); layer.patterns]);
        }
        masked
    }

    /// Masks every string inside a JSON value.
    pub fn mask_json(&self, value: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(s) => Value::String(self.mask_str(&s)),
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|v| self.mask_json(v)).collect())
            }
            Value::Object(fields) => Value::Object(
                fields
                    .into_iter()
                    .map(|(k, v)| (k, self.mask_json(v)))
                    .collect(),
            ),
            other => other,
        }
    }

    /// A masker for one stream of chunks.
    pub fn stream(&self) -> StreamMasker {
        StreamMasker {
            layers: self
                .layers
                .iter()
                .map(|layer| LayerStream {
                    layer: layer.clone(),
                    pending: Vec::new(),
                })
                .collect(),
        }
    }
}

impl Layer {
    /// The layer for `values` not already held by `held`, with their secret parts and
    /// encoded forms; `None` when nothing is left to mask.
    fn build<I>(values: I, held: &[Arc<Layer>]) -> Option<Layer>
    where
        I: IntoIterator<Item = SecretString>,
    {
        let given: Vec<SecretString> = values.into_iter().collect();
        let parts: Vec<SecretString> = given
            .iter()
            .flat_map(|value| credential_parts::secret_parts(value.expose_secret()))
            .map(SecretString::from)
            .collect();
        let mut kept: Vec<SecretString> = given
            .into_iter()
            .chain(parts)
            .filter(|value| value.expose_secret().len() >= MIN_SECRET_LEN)
            .filter(|value| !held.iter().any(|layer| layer.holds(value)))
            .collect();
        kept.sort_by(|a, b| a.expose_secret().cmp(b.expose_secret()));
        kept.dedup_by(|a, b| a.expose_secret() == b.expose_secret());
        if kept.is_empty() {
            return None;
        }
        let mut patterns: Vec<String> = Vec::with_capacity(kept.len() * 12);
        for value in &kept {
            patterns.push(value.expose_secret().to_owned());
            patterns.extend(encoded::encoded_forms(value.expose_secret()));
        }
        patterns.sort();
        patterns.dedup();
        let longest = patterns.iter().map(|p| p.len()).max().unwrap_or(0);
        // A credentials file gives a few dozen patterns of hundreds of bytes each: a DFA
        // of those takes seconds to build, the contiguous NFA milliseconds. Short secrets
        // keep the faster-scanning automaton the crate picks.
        let pattern_bytes: usize = patterns.iter().map(String::len).sum();
        let kind = (pattern_bytes > LARGE_PATTERN_BYTES).then_some(AhoCorasickKind::ContiguousNFA);
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .kind(kind)
            .build(&patterns)
            .expect("plain literal patterns always build");
        Some(Layer {
            automaton,
            patterns: patterns.len(),
            longest,
            values: kept,
        })
    }

    fn holds(&self, value: &SecretString) -> bool {
        self.values
            .binary_search_by(|held| held.expose_secret().cmp(value.expose_secret()))
            .is_ok()
    }

    fn mask(&self, bytes: &[u8]) -> Vec<u8> {
        self.automaton
            .replace_all_bytes(bytes, &vec![MASK.as_bytes(); self.patterns])
    }
}

/// Masks a stream delivered in arbitrary chunks; memory is bounded by the chunk size plus
/// the longest secret. Each layer masks what the one before it let through.
pub struct StreamMasker {
    layers: Vec<LayerStream>,
}

struct LayerStream {
    layer: Arc<Layer>,
    pending: Vec<u8>,
}

impl StreamMasker {
    /// Feeds a chunk; appends to `out` every byte that can no longer be part of a secret.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let mut input = chunk.to_vec();
        for stream in &mut self.layers {
            let mut passed = Vec::with_capacity(input.len());
            stream.push(&input, &mut passed);
            input = passed;
        }
        out.extend_from_slice(&input);
    }

    /// Flushes what is held back, masked.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let mut input: Vec<u8> = Vec::new();
        for stream in &mut self.layers {
            let mut passed = Vec::with_capacity(input.len() + stream.pending.len());
            stream.push(&input, &mut passed);
            let rest = std::mem::take(&mut stream.pending);
            passed.extend_from_slice(&stream.layer.mask(&rest));
            input = passed;
        }
        out.extend_from_slice(&input);
    }
}

impl LayerStream {
    fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        self.pending.extend_from_slice(chunk);
        // A match starting before `safe` ends inside `pending`, so it is final.
        let safe = self.pending.len().saturating_sub(self.layer.longest - 1);
        let mut emitted = 0;
        for found in self.layer.automaton.find_iter(&self.pending) {
            if found.start() >= safe {
                break;
            }
            out.extend_from_slice(&self.pending[emitted..found.start()]);
            out.extend_from_slice(MASK.as_bytes());
            emitted = found.end();
        }
        let keep_from = emitted.max(safe);
        out.extend_from_slice(&self.pending[emitted..keep_from]);
        self.pending.drain(..keep_from);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masker(values: &[&str]) -> Masker {
        Masker::new(values.iter().map(|v| SecretString::from(v.to_string())))
    }

    #[test]
    fn only_new_values_add_a_layer() {
        let base = masker(&["hunter22"]);
        let same = base.with_values([SecretString::from("hunter22".to_owned())]);
        assert!(
            !same.has_more_layers_than(&base),
            "a value masked already adds nothing"
        );
        let more = base.with_values([SecretString::from("sensitive-output".to_owned())]);
        assert!(more.has_more_layers_than(&base));
        assert_eq!(more.mask_str("hunter22 sensitive-output"), "*** ***");
    }

    #[test]
    fn masks_every_occurrence_and_ignores_short_values() {
        let m = masker(&["hunter22", "ab"]);
        assert_eq!(m.mask_str("pw=hunter22 ab hunter22"), "pw=*** ab ***");
    }

    #[test]
    fn secret_split_at_every_chunk_boundary_is_masked() {
        let m = masker(&["s3cr3t-token-value", "tok3n"]);
        let text = b"before s3cr3t-token-value middle tok3n after s3cr3t-token-valu";
        let expected = m.mask_bytes(text);
        for size in 1..text.len() {
            let mut stream = m.stream();
            let mut out = Vec::new();
            for chunk in text.chunks(size) {
                stream.push(chunk, &mut out);
            }
            stream.finish(&mut out);
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&expected),
                "chunk size {size}"
            );
            assert!(!String::from_utf8_lossy(&out).contains("s3cr3t-token-value"));
        }
    }

    #[test]
    fn encoded_copies_are_masked_in_a_stream() {
        use base64::Engine;
        let secret = "ghs_webhook-Secret/42";
        let m = masker(&[secret]);
        let environ = format!("HOME=/root\0WEBHOOK={secret}\0PATH=/usr/bin\0");
        let b64 = base64::engine::general_purpose::STANDARD.encode(&environ);
        let url_b64 = base64::engine::general_purpose::URL_SAFE.encode(format!("x{secret}"));
        let text = format!(
            "a = {b64}\nb = {url_b64}\nc = {}\nd = {}\ne = ghs_webhook-Secret%2F42\n",
            hex::encode(secret),
            hex::encode_upper(secret)
        );
        let mut stream = m.stream();
        let mut out = Vec::new();
        for chunk in text.as_bytes().chunks(5) {
            stream.push(chunk, &mut out);
        }
        stream.finish(&mut out);
        let out = String::from_utf8(out).unwrap();
        assert_eq!(out.matches(MASK).count(), 5, "{out}");
        for leaked in encoded::encoded_forms(secret) {
            assert!(!out.contains(&leaked), "{leaked} left in {out}");
        }
    }

    #[test]
    fn configured_secrets_under_the_minimum_are_named_too_short() {
        assert!(too_short_to_mask(&SecretString::from("abc".to_string())));
        assert!(!too_short_to_mask(&SecretString::from("abcd".to_string())));
        assert!(!too_short_to_mask(&SecretString::from(String::new())));
    }

    #[test]
    fn each_field_of_a_credentials_json_is_masked_in_every_form() {
        let key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n";
        let email = "deployer@demo-project.iam.gserviceaccount.com";
        let credentials = serde_json::json!({
            "type": "service_account",
            "private_key_id": "7d1f0c2b9a8e6f5d4c3b2a1908f7e6d5c4b3a291",
            "private_key": key,
            "client_email": email,
        })
        .to_string();
        let m = masker(&[&credentials]);
        let escaped = key.replace('\n', "\\n");
        let text = format!(
            "key_id = 7d1f0c2b9a8e6f5d4c3b2a1908f7e6d5c4b3a291\nemail = {email}\nkey = {escaped}\nline = MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\nurl = deployer%40demo-project.iam.gserviceaccount.com\ntype = service_account\n"
        );
        let out = m.mask_str(&text);
        assert_eq!(
            out,
            "key_id = ***\nemail = ***\nkey = ***\nline = ***\nurl = ***\ntype = service_account\n"
        );
    }

    #[test]
    fn longest_secret_wins_when_one_contains_another() {
        let m = masker(&["abcd", "abcdefgh"]);
        let mut stream = m.stream();
        let mut out = Vec::new();
        stream.push(b"xxabcd", &mut out);
        stream.push(b"efghyy", &mut out);
        stream.finish(&mut out);
        assert_eq!(out, b"xx***yy");
    }

    #[test]
    fn added_values_mask_alongside_the_first_ones_in_whole_text_and_in_a_stream() {
        let base = masker(&["service-secret-1", "another-service-secret"]);
        let more = base.with_values(
            ["plan-sensitive-value", "service-secret-1"].map(|v| SecretString::from(v.to_string())),
        );
        assert_eq!(more.layers.len(), 2);
        assert_eq!(
            more.layers[1].values.len(),
            1,
            "a held value is not compiled again"
        );
        let text = b"a=service-secret-1 b=plan-sensitive-value c=another-service-secret d=plan-sensitive-valu";
        let whole = more.mask_bytes(text);
        assert_eq!(
            String::from_utf8_lossy(&whole),
            "a=*** b=*** c=*** d=plan-sensitive-valu"
        );
        for size in 1..text.len() {
            let mut stream = more.stream();
            let mut out = Vec::new();
            for chunk in text.chunks(size) {
                stream.push(chunk, &mut out);
            }
            stream.finish(&mut out);
            assert_eq!(out, whole, "chunk size {size}");
        }
        assert_eq!(
            base.mask_str("plan-sensitive-value"),
            "plan-sensitive-value"
        );
    }
}
