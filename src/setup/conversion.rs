//! `POST {GITHUB_API_URL}/app-manifests/{code}/conversions`: GitHub hands the new App's
//! credentials over once for the code its redirect carried. No authentication: the code
//! is the proof.

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::credentials::AppCredentials;

#[derive(Debug, thiserror::Error)]
pub enum ConversionError {
    /// 404/422: the code was used already, expired, or never existed.
    #[error(
        "GitHub refused the code ({status}: {message}). A code works once and only for an hour; \
         it was probably used already"
    )]
    CodeRefused { status: u16, message: String },
    #[error("GitHub answered {status}: {message}")]
    Github { status: u16, message: String },
    #[error("GitHub could not be reached at {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("GitHub's answer is missing what PromptOps needs: {0}")]
    Unusable(String),
}

impl ConversionError {
    /// Whether the same code may work on a retry (GitHub unreachable or failing).
    pub fn retryable(&self) -> bool {
        match self {
            ConversionError::Unreachable { .. } => true,
            ConversionError::Github { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

#[derive(Deserialize)]
struct Conversion {
    id: u64,
    slug: Option<String>,
    html_url: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    webhook_secret: Option<String>,
    pem: Option<String>,
}

/// Whether `code` can go into a URL path as it is (GitHub's codes are hex).
pub fn plausible_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 200
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

pub async fn convert(
    http: &reqwest::Client,
    api_url: &str,
    code: &str,
) -> Result<AppCredentials, ConversionError> {
    let url = format!(
        "{}/app-manifests/{code}/conversions",
        api_url.trim_end_matches('/')
    );
    let answer = http
        .post(&url)
        .header(reqwest::header::ACCEPT, "application/vnd.github+json")
        .header("x-github-api-version", "2022-11-28")
        .header(reqwest::header::USER_AGENT, "promptops-setup")
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|err| ConversionError::Unreachable {
            url: url.clone(),
            message: error_chain(&err),
        })?;
    let status = answer.status().as_u16();
    let body = answer
        .text()
        .await
        .map_err(|err| ConversionError::Unreachable {
            url: url.clone(),
            message: error_chain(&err),
        })?;
    if !(200..300).contains(&status) {
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| body.chars().take(200).collect());
        return Err(if status == 404 || status == 422 {
            ConversionError::CodeRefused { status, message }
        } else {
            ConversionError::Github { status, message }
        });
    }
    let conversion: Conversion = serde_json::from_str(&body)
        .map_err(|err| ConversionError::Unusable(format!("not the expected JSON: {err}")))?;
    let field = |value: Option<String>, name: &str| {
        value
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ConversionError::Unusable(format!("no `{name}`")))
    };
    Ok(AppCredentials {
        id: conversion.id,
        slug: field(conversion.slug, "slug")?,
        html_url: conversion.html_url,
        client_id: field(conversion.client_id, "client_id")?,
        client_secret: SecretString::from(field(conversion.client_secret, "client_secret")?),
        webhook_secret: SecretString::from(field(conversion.webhook_secret, "webhook_secret")?),
        pem: SecretString::from(field(conversion.pem, "pem")?),
    })
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
