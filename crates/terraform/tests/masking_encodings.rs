//! A configuration that reads Terraform's own environment and prints the credentials in
//! it field by field and encoded (UTF-16 base64, `jsonencode`'s `\u003c` escapes, `\n`
//! escapes) through the real terraform binary: none of it reaches the report, the
//! comments or the run log.

mod common;

use common::{Scratch, real_terraform, runner};
use promptops_terraform::PlanOutcome;
use promptops_terraform::comment::{CommentOptions, render_plan_comments};
use secrecy::SecretString;

const PRIVATE_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\nMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n-----END PRIVATE KEY-----\n";
const KEY_ID: &str = "7d1f0c2b9a8e6f5d4c3b2a1908f7e6d5c4b3a291";
const EMAIL: &str = "deployer@demo-project.iam.gserviceaccount.com";
const AAP_PASSWORD: &str = "pa<ss>&w0rd-91";
const PROXY_PASSWORD: &str = "pr0xy-pa55word";

/// Reads `/proc/self/environ` (Terraform's own environment) and prints its credentials.
const LEAK_TF: &str = r#"
locals {
  pairs   = [for kv in split("\u0000", file("/proc/self/environ")) : split("=", kv) if length(split("=", kv)) > 1]
  environ = { for p in local.pairs : p[0] => join("=", slice(p, 1, length(p))) }
  creds   = jsondecode(local.environ["GOOGLE_CREDENTIALS"])
}

output "private_key" {
  value = local.creds.private_key
}

output "private_key_escaped" {
  value = replace(local.creds.private_key, "\n", "\\n")
}

output "private_key_id" {
  value = local.creds.private_key_id
}

output "client_email" {
  value = local.creds.client_email
}

output "client_email_utf16" {
  value = textencodebase64(local.creds.client_email, "UTF-16LE")
}

output "aap_json" {
  value = jsonencode(local.environ["AAP_PASSWORD"])
}

output "aap_json_base64" {
  value = base64encode(jsonencode({ p = local.environ["AAP_PASSWORD"] }))
}

output "proxy" {
  value = local.environ["HTTPS_PROXY"]
}
"#;

#[tokio::test]
async fn credentials_printed_field_by_field_and_encoded_are_masked() {
    let scratch = Scratch::new();
    std::fs::write(scratch.repo().join("terraform/leak.tf"), LEAK_TF).unwrap();
    let credentials = serde_json::json!({
        "type": "service_account",
        "project_id": "demo-project",
        "private_key_id": KEY_ID,
        "private_key": PRIVATE_KEY,
        "client_email": EMAIL,
        "client_id": "104857600000000000001",
    })
    .to_string();
    let mut config = scratch.config(real_terraform());
    config.secret_env = vec![
        ("GOOGLE_CREDENTIALS".into(), SecretString::from(credentials)),
        ("AAP_PASSWORD".into(), SecretString::from(AAP_PASSWORD)),
    ];
    // Nothing here needs the network: the proxy is never contacted.
    config.env.push((
        "HTTPS_PROXY".into(),
        format!("http://ops:{PROXY_PASSWORD}@127.0.0.1:9"),
    ));
    let runner = runner(config);
    let report = runner.plan(&scratch.dir_spec("alpha")).await.unwrap();
    let output = report.output.text();
    assert_eq!(report.outcome, PlanOutcome::Changes, "{output}");
    // Terraform read and printed every value (so the masking was exercised).
    for (name, shown) in [
        ("private_key_id", "\"***\""),
        ("client_email", "\"***\""),
        ("client_email_utf16", "\"***\""),
        ("proxy", "\"http://***@127.0.0.1:9\""),
    ] {
        assert!(
            output.lines().any(|line| {
                let line = line.trim_start().trim_start_matches("+ ");
                line.starts_with(&format!("{name} "))
                    && line.trim_end().ends_with(&format!("= {shown}"))
            }),
            "{name} = {shown} not in {output}"
        );
    }
    assert!(output.contains("-----BEGIN PRIVATE KEY-----"), "{output}");

    let mut texts = vec![output.clone(), serde_json::to_string(&report).unwrap()];
    texts.extend(render_plan_comments(&report, &CommentOptions::default()));
    for log in std::fs::read_dir(scratch.work_root().join("logs")).unwrap() {
        texts.push(std::fs::read_to_string(log.unwrap().path()).unwrap());
    }
    let key_line = PRIVATE_KEY.lines().nth(1).unwrap();
    let utf16: Vec<u8> = EMAIL.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let utf16 = base64_of(&utf16);
    let leaks = [
        key_line,
        KEY_ID,
        EMAIL,
        &utf16,
        AAP_PASSWORD,
        "pa\\u003css\\u003e\\u0026w0rd-91",
        PROXY_PASSWORD,
    ];
    for text in &texts {
        for leak in leaks {
            assert!(!text.contains(leak), "{leak} leaked into: {text}");
        }
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
