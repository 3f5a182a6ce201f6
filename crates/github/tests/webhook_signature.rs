//! `X-Hub-Signature-256` verification against published vectors, rotation and bad headers.

use promptops_github::webhook::{SignatureError, WebhookSecrets};
use proptest::prelude::*;
use secrecy::SecretString;

fn secrets(values: &[&str]) -> WebhookSecrets {
    WebhookSecrets::new(values.iter().map(|v| SecretString::from(*v)).collect())
}

/// The example in GitHub's "Validating webhook deliveries" documentation.
const GITHUB_SECRET: &str = "It's a Secret to Everybody";
const GITHUB_PAYLOAD: &[u8] = b"Hello, World!";
const GITHUB_SIGNATURE: &str =
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

#[test]
fn githubs_documented_example_verifies() {
    let secrets = secrets(&[GITHUB_SECRET]);
    assert_eq!(
        secrets.verify(GITHUB_PAYLOAD, Some(GITHUB_SIGNATURE)),
        Ok(())
    );
    assert_eq!(
        secrets.sign(GITHUB_PAYLOAD).as_deref(),
        Some(GITHUB_SIGNATURE)
    );
}

#[test]
fn rfc4231_test_case_2_verifies() {
    // RFC 4231 section 4.3: key "Jefe", data "what do ya want for nothing?".
    let header = "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
    let secrets = secrets(&["Jefe"]);
    assert_eq!(
        secrets.verify(b"what do ya want for nothing?", Some(header)),
        Ok(())
    );
}

#[test]
fn header_is_read_leniently_where_github_could_vary() {
    let secrets = secrets(&[GITHUB_SECRET]);
    let upper = GITHUB_SIGNATURE.to_uppercase();
    assert_eq!(secrets.verify(GITHUB_PAYLOAD, Some(&upper)), Ok(()));
    let padded = format!("  {GITHUB_SIGNATURE} ");
    assert_eq!(secrets.verify(GITHUB_PAYLOAD, Some(&padded)), Ok(()));
}

#[test]
fn a_changed_body_is_a_mismatch() {
    let secrets = secrets(&[GITHUB_SECRET]);
    assert_eq!(
        secrets.verify(b"Hello, World?", Some(GITHUB_SIGNATURE)),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn a_wrong_secret_is_a_mismatch() {
    let secrets = secrets(&["another secret"]);
    assert_eq!(
        secrets.verify(GITHUB_PAYLOAD, Some(GITHUB_SIGNATURE)),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn any_configured_secret_is_accepted_during_rotation() {
    let body = br#"{"action":"created"}"#;
    let old = secrets(&["old-secret"]).sign(body).expect("signs");
    let new = secrets(&["new-secret"]).sign(body).expect("signs");
    let other = secrets(&["unrelated"]).sign(body).expect("signs");

    let rotating = secrets(&["new-secret", "old-secret"]);
    assert_eq!(rotating.len(), 2);
    assert_eq!(rotating.verify(body, Some(&old)), Ok(()));
    assert_eq!(rotating.verify(body, Some(&new)), Ok(()));
    assert_eq!(
        rotating.verify(body, Some(&other)),
        Err(SignatureError::Mismatch)
    );

    // After the rotation the old secret no longer works.
    let rotated = secrets(&["new-secret"]);
    assert_eq!(
        rotated.verify(body, Some(&old)),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn a_missing_header_is_reported_as_missing() {
    let secrets = secrets(&[GITHUB_SECRET]);
    assert_eq!(
        secrets.verify(GITHUB_PAYLOAD, None),
        Err(SignatureError::Missing)
    );
}

#[test]
fn malformed_headers_are_reported_with_the_reason() {
    let secrets = secrets(&[GITHUB_SECRET]);
    let cases = [
        (
            "sha1=0123456789abcdef0123456789abcdef01234567",
            "expected `sha256=",
        ),
        (
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            "expected `sha256=",
        ),
        ("sha256=", "got 0 characters"),
        ("sha256=757107ea", "got 8 characters"),
        (
            "sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            "is not hexadecimal",
        ),
        ("", "expected `sha256="),
        (
            "sha256=é57107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1",
            "hexadecimal",
        ),
    ];
    for (header, reason) in cases {
        match secrets.verify(GITHUB_PAYLOAD, Some(header)) {
            Err(SignatureError::Malformed { reason: got }) => {
                assert!(got.contains(reason), "{header:?}: {got:?} lacks {reason:?}")
            }
            other => panic!("{header:?}: expected Malformed, got {other:?}"),
        }
    }
}

#[test]
fn a_huge_malformed_header_is_not_echoed_in_full() {
    let header = "x".repeat(10_000);
    let error = secrets(&[GITHUB_SECRET])
        .verify(GITHUB_PAYLOAD, Some(&header))
        .expect_err("malformed");
    assert!(error.to_string().len() < 300, "{error}");
}

#[test]
fn empty_secrets_are_never_used() {
    // Anyone can compute an HMAC with an empty key; such a secret must not verify anything.
    let forged =
        "sha256=".to_owned() + "2bbcfa9524f3218c7a34b30e6936f8b1a4516cb097f1a85a1c7d98b5977ec769";
    let secrets = secrets(&["", ""]);
    assert!(secrets.is_empty());
    assert_eq!(
        secrets.verify(GITHUB_PAYLOAD, Some(&forged)),
        Err(SignatureError::NoSecretConfigured)
    );
    assert_eq!(secrets.sign(GITHUB_PAYLOAD), None);
}

#[test]
fn debug_output_does_not_show_secrets() {
    let shown = format!("{:?}", secrets(&["hunter2-very-secret"]));
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("count: 1"), "{shown}");
}

#[test]
fn agrees_with_the_test_kit_signer() {
    let body = br#"{"zen":"Keep it logically awesome."}"#;
    let header = promptops_testkit::sign_webhook("kit-secret", body);
    assert_eq!(secrets(&["kit-secret"]).verify(body, Some(&header)), Ok(()));
}

proptest! {
    #[test]
    fn signing_round_trips_and_any_flipped_bit_fails(
        secret in "[ -~]{1,40}",
        body in prop::collection::vec(any::<u8>(), 0..512),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let secrets = secrets(&[&secret]);
        let header = secrets.sign(&body).expect("a secret is configured");
        prop_assert_eq!(secrets.verify(&body, Some(&header)), Ok(()));
        if !body.is_empty() {
            let mut tampered = body.clone();
            let at = flip.index(tampered.len());
            tampered[at] ^= 1 << bit;
            prop_assert_eq!(secrets.verify(&tampered, Some(&header)), Err(SignatureError::Mismatch));
        }
    }

    #[test]
    fn arbitrary_headers_never_panic(header in any::<String>()) {
        let result = secrets(&[GITHUB_SECRET]).verify(GITHUB_PAYLOAD, Some(&header));
        prop_assert!(result.is_err());
    }
}
