//! What Terraform gets from the service: the allowlisted environment, the sandbox and its
//! binds. Checked at start, so that `serve` refuses a setting that would hand Terraform one
//! of the service's secrets rather than run with it.

use std::path::{Path, PathBuf};

use anyhow::bail;
use promptops_terraform::environment::EnvAllowlist;
use promptops_terraform::mask::{MIN_SECRET_LEN, too_short_to_mask};
use promptops_terraform::{RunnerConfig, SandboxConfig, SandboxMode};
use secrecy::SecretString;

use crate::config::ServeSettings;

/// The variables the service keeps its own secrets in: never passed to Terraform, and a
/// `PROMPTOPS_TERRAFORM_ENV` pattern matching one stops the start.
pub const SERVICE_SECRET_VARS: &[&str] = &[
    "GITHUB_PRIVATE_KEY",
    "GITHUB_PRIVATE_KEY_PATH",
    "GITHUB_WEBHOOK_SECRET",
    "GITHUB_CLIENT_SECRET",
    "OPENAI_API_KEY",
    "DATABASE_URL",
    "PROMPTOPS_DASHBOARD_TOKEN",
    "PROMPTOPS_APP_CREDENTIALS",
    "PROMPTOPS_AAP_TOKEN",
];

/// Sets Terraform's environment (the allowlisted part of this process's) and sandbox.
pub fn apply(config: &mut RunnerConfig, settings: &ServeSettings) -> anyhow::Result<()> {
    let allowlist = EnvAllowlist::new(&settings.terraform_env, SERVICE_SECRET_VARS)
        .map_err(|err| anyhow::anyhow!("PROMPTOPS_TERRAFORM_ENV: {err}"))?;
    let env = allowlist.collect(std::env::vars_os());
    config.env = env.settings;
    config.secret_env = env.credentials;
    let mut read_only = settings.terraform_bind_ro.clone();
    read_only.extend(env.paths);
    config.sandbox = SandboxConfig {
        mode: settings.terraform_sandbox,
        read_only,
        writable: settings.terraform_bind.clone(),
        step_server: settings.terraform_step_server.clone(),
        ..SandboxConfig::default()
    };
    refuse_binds_over_service_files(&config.sandbox, settings)?;
    Ok(())
}

/// Fails when a bind would show Terraform the App key, the credentials file, the
/// database or the work directory (other runs, the logs).
fn refuse_binds_over_service_files(
    sandbox: &SandboxConfig,
    settings: &ServeSettings,
) -> anyhow::Result<()> {
    let mut protected: Vec<(&str, PathBuf)> = vec![
        ("the App credentials file", settings.app_credentials_path()),
        (
            "the work directory (PROMPTOPS_WORKDIR)",
            settings.workdir.clone(),
        ),
    ];
    if let Some(key) = &settings.github.github_private_key_path {
        protected.push(("the App key (GITHUB_PRIVATE_KEY_PATH)", key.clone()));
    }
    if let Some(db) = settings.sqlite_database_file() {
        protected.push(("the database (DATABASE_URL)", db));
    }
    for bind in sandbox.read_only.iter().chain(&sandbox.writable) {
        let bind_abs = absolute(bind);
        for (what, path) in &protected {
            let path_abs = absolute(path);
            // A bind inside the work directory is refused too: the directory is the
            // runner's, and its runs and logs are in it.
            let inside_workdir =
                what.starts_with("the work directory") && bind_abs.starts_with(&path_abs);
            if path_abs.starts_with(&bind_abs) || inside_workdir {
                bail!(
                    "the Terraform sandbox bind {} would let Terraform reach {what} ({}); bind a directory that holds only what Terraform needs (PROMPTOPS_TERRAFORM_BIND, PROMPTOPS_TERRAFORM_BIND_RO, or a path named by GOOGLE_APPLICATION_CREDENTIALS and the like)",
                    bind.display(),
                    path.display()
                );
            }
        }
    }
    Ok(())
}

/// `path` made absolute with symlinks resolved as far as it exists.
fn absolute(path: &Path) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(path) {
        return real;
    }
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match (abs.parent(), abs.file_name()) {
        (Some(parent), Some(name)) => absolute(parent).join(name),
        _ => abs,
    }
}

/// Fails naming the first secret too short to be masked in Terraform's output.
pub fn refuse_short_secrets(named: &[(&str, &SecretString)]) -> anyhow::Result<()> {
    if let Some((name, _)) = named.iter().find(|(_, value)| too_short_to_mask(value)) {
        bail!(
            "{name} is shorter than {MIN_SECRET_LEN} characters: a secret that short cannot be masked in Terraform's output without destroying it (and is easy to guess); use a longer value"
        );
    }
    Ok(())
}

/// Checks at start that Terraform is installed where the settings say. A missing one does
/// not stop the service either (no run works until it is installed; readiness says so).
pub fn check_terraform(config: &RunnerConfig) {
    match config.terraform_found() {
        Ok(path) => tracing::info!(terraform = %path.display(), "Terraform found"),
        Err(err) => tracing::error!(
            error = %err,
            "Terraform cannot be found: every Terraform run fails until it is installed (`promptops check` tells the same)"
        ),
    }
}

/// Checks at start that the sandbox can be used, and says what it found; with `off`, says
/// loudly that there is none. A sandbox that cannot be used does not stop the service: it
/// takes deliveries, plans requests and opens pull requests without Terraform, and every
/// Terraform run is refused (reported on its thread as could not run, naming the fix)
/// until the sandbox works; Terraform never runs without it unless `off` says so.
pub fn check_sandbox(config: &RunnerConfig) {
    match config.sandbox.mode {
        SandboxMode::Off => tracing::warn!(
            "PROMPTOPS_TERRAFORM_SANDBOX=off: Terraform runs without isolation and a planned configuration can read every file this service can (its App key, database and credentials file)"
        ),
        SandboxMode::Bubblewrap => match config.sandbox.probe() {
            Ok(()) => {
                tracing::info!(sandbox = %config.sandbox.describe(), "Terraform sandbox ready")
            }
            Err(err) => tracing::error!(
                error = %err,
                "the Terraform sandbox cannot be used: every Terraform run is refused until it can (`promptops check` tells the same)"
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn settings(args: &[&str]) -> ServeSettings {
        let mut argv = vec!["promptops", "serve"];
        argv.extend(args);
        match crate::cli::Cli::try_parse_from(argv).unwrap().command {
            crate::cli::Command::Serve(settings) => *settings,
            _ => unreachable!("parsed `serve`"),
        }
    }

    #[test]
    fn the_source_limit_reaches_the_runner_and_a_zero_is_refused() {
        let default =
            crate::app::terraform::terraform_config(&settings(&["--terraform-sandbox", "off"]))
                .unwrap();
        assert_eq!(default.source_limits.max_archive_bytes, 512 << 20);
        let small = crate::app::terraform::terraform_config(&settings(&[
            "--terraform-sandbox",
            "off",
            "--max-source-mib",
            "3",
        ]))
        .unwrap();
        assert_eq!(small.source_limits.max_archive_bytes, 3 << 20);
        assert_eq!(small.source_limits.max_total_bytes, 3 << 20);
        let zero = crate::cli::Cli::try_parse_from(["promptops", "serve", "--max-source-mib", "0"])
            .expect_err("0 MiB is refused")
            .to_string();
        assert!(zero.contains("--max-source-mib"), "{zero}");
    }

    #[test]
    fn a_bind_holding_the_database_or_key_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("promptops.db");
        let url = format!("sqlite://{}", db.display());
        // The credentials file elsewhere, so that the database is what the bind reaches.
        let s = settings(&[
            "--database-url",
            &url,
            "--app-credentials",
            "/etc/promptops/promptops-app.json",
        ]);
        let sandbox = SandboxConfig {
            writable: vec![dir.path().to_path_buf()],
            ..SandboxConfig::default()
        };
        let err = refuse_binds_over_service_files(&sandbox, &s)
            .unwrap_err()
            .to_string();
        assert!(err.contains("the database"), "{err}");

        let key = dir.path().join("keys/app.pem");
        let key_arg = key.display().to_string();
        let s = settings(&["--github-private-key-path", &key_arg]);
        let sandbox = SandboxConfig {
            read_only: vec![dir.path().join("keys")],
            ..SandboxConfig::default()
        };
        let err = refuse_binds_over_service_files(&sandbox, &s)
            .unwrap_err()
            .to_string();
        assert!(err.contains("GITHUB_PRIVATE_KEY_PATH"), "{err}");
    }

    #[test]
    fn a_bind_inside_the_work_directory_is_refused_and_a_separate_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().join("work");
        let work_arg = work.display().to_string();
        let db = format!("sqlite://{}", dir.path().join("db/p.db").display());
        let s = settings(&["--workdir", &work_arg, "--database-url", &db]);
        let inside = SandboxConfig {
            writable: vec![work.join("logs")],
            ..SandboxConfig::default()
        };
        assert!(refuse_binds_over_service_files(&inside, &s).is_err());
        let separate = SandboxConfig {
            writable: vec![dir.path().join("state")],
            ..SandboxConfig::default()
        };
        refuse_binds_over_service_files(&separate, &s).unwrap();
    }

    #[test]
    fn the_automation_controller_token_is_never_handed_to_terraform() {
        // The service's own AAP token launches jobs with the service's rights; a plan that
        // could read it could launch any job template.
        for pattern in ["PROMPTOPS_AAP_TOKEN", "PROMPTOPS_AAP_*", "PROMPTOPS_*"] {
            let err = crate::app::terraform::terraform_config(&settings(&[
                "--terraform-sandbox",
                "off",
                "--terraform-env",
                pattern,
            ]))
            .unwrap_err()
            .to_string();
            assert!(err.contains("PROMPTOPS_TERRAFORM_ENV"), "{pattern}: {err}");
            assert!(err.contains("secret"), "{pattern}: {err}");
        }
    }

    #[test]
    fn short_secrets_are_named() {
        let short = SecretString::from("ab".to_string());
        let long = SecretString::from("abcdefgh".to_string());
        let err = refuse_short_secrets(&[("OPENAI_API_KEY", &long), ("AAP_TOKEN", &short)])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("AAP_TOKEN is shorter than 4"), "{err}");
    }
}
