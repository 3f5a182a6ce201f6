//! The Terraform runner's settings for every App: what Terraform may see (environment and
//! sandbox) and which values are masked in everything the service posts or stores.

use anyhow::Context as _;
use promptops_terraform::{Runner, RunnerConfig};
use secrecy::{ExposeSecret as _, SecretString};

use crate::config::ServeSettings;

/// Secrets and credentials of this process's environment: their values are masked in every
/// comment, check run and stored run, whatever Terraform prints (only the allowlisted ones
/// are passed to it; masking is the last line if another reaches it).
pub const SECRET_ENV_VARS: &[&str] = &[
    "GITHUB_PRIVATE_KEY",
    "GITHUB_WEBHOOK_SECRET",
    "GITHUB_CLIENT_SECRET",
    "OPENAI_API_KEY",
    "DATABASE_URL",
    "PROMPTOPS_DASHBOARD_TOKEN",
    "GOOGLE_CREDENTIALS",
    "GOOGLE_OAUTH_ACCESS_TOKEN",
    "VAULT_TOKEN",
    "AAP_TOKEN",
    "AAP_PASSWORD",
    "PROMPTOPS_AAP_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "ARM_CLIENT_SECRET",
];

/// PEM body lines shorter than this (the last one may be a few characters) are not masked
/// on their own: they would mask ordinary text.
const PEM_LINE_MIN_MASK: usize = 16;

/// A private key's values to mask: the whole PEM, and each base64 line of its body, so
/// that the key is masked however it is printed (re-wrapped, or JSON-escaped as in the
/// credentials file).
pub fn key_mask_values(pem: &SecretString) -> Vec<SecretString> {
    let text = pem.expose_secret();
    let mut values = vec![SecretString::from(text.trim().to_owned())];
    values.extend(
        text.lines()
            .map(str::trim)
            .filter(|line| !line.starts_with("-----") && line.len() >= PEM_LINE_MIN_MASK)
            .map(|line| SecretString::from(line.to_owned())),
    );
    values
}

/// The runner's settings for every App: Terraform's allowlisted environment and sandbox
/// (see [`crate::app::terraform_boundary`]); the variables above and `PROMPTOPS_MASK_ENV` masked
/// by their values in this process's environment, and the secrets the settings hold (also
/// when given as flags or files: the key from `GITHUB_PRIVATE_KEY_PATH`, each of several
/// comma-separated webhook secrets on its own). A secret too short to mask or a setting that
/// would hand Terraform a service secret stops the start; a Terraform that cannot be found
/// or a sandbox that cannot be set up is logged as an error, and readiness reports it.
pub(super) fn terraform_config(settings: &ServeSettings) -> anyhow::Result<RunnerConfig> {
    let mut config = RunnerConfig::new(&settings.workdir);
    config.terraform_bin = settings.terraform_bin.clone();
    config.timeout = std::time::Duration::from_secs(settings.terraform_timeout_secs);
    let max_source_bytes = settings.max_source_mib * 1024 * 1024;
    config.source_limits.max_archive_bytes = max_source_bytes;
    config.source_limits.max_total_bytes = max_source_bytes;
    // A run's sandboxes are started ahead of it (see `Runner::start_spare`).
    config.spare_run = true;
    crate::app::terraform_boundary::apply(&mut config, settings)?;
    let file_secrets = crate::app::credential_files::mask_values(&config.env);
    let mut names: Vec<&str> = SECRET_ENV_VARS.to_vec();
    names.extend(settings.mask_env.iter().map(String::as_str));
    let mut config = config.mask_process_env_vars(&names);
    config.mask_values.extend(settings.github.webhook_secrets());
    config.mask_values.extend(file_secrets);
    if let Ok(Some(key)) = settings.github.private_key() {
        config.mask_values.extend(key_mask_values(&key));
    }
    let named_secrets = [
        (
            "GITHUB_CLIENT_SECRET",
            settings.github_client_secret.as_ref(),
        ),
        (
            "PROMPTOPS_DASHBOARD_TOKEN",
            settings.dashboard_token.as_ref(),
        ),
        ("OPENAI_API_KEY", settings.planner.openai_api_key.as_ref()),
    ];
    let present: Vec<(&str, &SecretString)> = named_secrets
        .iter()
        .filter_map(|(name, value)| value.map(|value| (*name, value)))
        .collect();
    crate::app::terraform_boundary::refuse_short_secrets(&present)?;
    config
        .mask_values
        .extend(present.iter().map(|(_, value)| (*value).clone()));
    // Checked now, so that a work directory that cannot be created stops the start.
    Runner::new(config.clone()).with_context(|| {
        format!(
            "setting up the Terraform runner in {}",
            settings.workdir.display()
        )
    })?;
    crate::app::terraform_boundary::check_terraform(&config);
    crate::app::terraform_boundary::check_sandbox(&config);
    Ok(config)
}
