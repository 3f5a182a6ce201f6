//! `promptops check`: reports, line by line, what is configured and what is missing, and
//! exits non-zero when the service could not do its job as configured.

mod database;

use std::process::ExitCode;

use promptops_terraform::{ACTIONS_MIN_VERSION, TerraformVersion};
use secrecy::SecretString;

use crate::config::ServeSettings;
use crate::setup::sign_in_plan::{SignInPlan, SignInSource};
use crate::setup::startup::StartCredentials;
use crate::web::{Access, GithubSignIn};

enum Status {
    Ok,
    Warn,
    Missing,
}

struct Report {
    failed: bool,
}

impl Report {
    fn line(&mut self, status: Status, what: &str, detail: impl AsRef<str>) {
        let tag = match status {
            Status::Ok => "ok     ",
            Status::Warn => "warning",
            Status::Missing => {
                self.failed = true;
                "MISSING"
            }
        };
        println!("{tag}  {what}: {}", detail.as_ref());
    }
}

pub async fn run(settings: ServeSettings) -> ExitCode {
    let mut report = Report { failed: false };
    let start = app_lines(&mut report, &settings).await;

    dashboard_lines(&mut report, &settings, start.as_ref().ok());

    match &settings.planner.openai_api_key {
        Some(_) => report.line(
            Status::Ok,
            "planner",
            format!(
                "model {} at {}",
                settings.planner.model, settings.planner.openai_base_url
            ),
        ),
        None => report.line(
            Status::Warn,
            "planner",
            "OPENAI_API_KEY not set: the offline rule-based planner is used",
        ),
    }
    match settings.planner.load_catalog() {
        Ok(catalog) => report.line(
            Status::Ok,
            "catalog",
            format!(
                "{} GPU types, prices as of {}",
                catalog.gpus().len(),
                catalog.prices_as_of()
            ),
        ),
        Err(err) => report.line(Status::Missing, "catalog", format!("{err:#}")),
    }

    database::database_line(&mut report, &settings).await;

    terraform_line(&mut report, &settings.terraform_bin).await;

    sandbox_line(&mut report, &settings);

    if report.failed {
        println!("\nSome settings are missing; `promptops serve` would not be able to do its job.");
        ExitCode::FAILURE
    } else {
        println!("\nAll set.");
        ExitCode::SUCCESS
    }
}

/// Where the App's credentials come from (or what is missing, in one line) and whether
/// GitHub accepts them.
async fn app_lines(
    report: &mut Report,
    settings: &ServeSettings,
) -> anyhow::Result<StartCredentials> {
    let github = &settings.github;
    let start = crate::setup::startup::start_credentials(settings);
    match &start {
        Ok(StartCredentials::Environment { .. }) => {
            report.line(
                Status::Ok,
                "GitHub App credentials",
                "from the environment (GITHUB_APP_ID, private key, GITHUB_WEBHOOK_SECRET)",
            );
            env_credential_lines(report, settings);
        }
        Ok(StartCredentials::File {
            path,
            credentials,
            ignored_env,
        }) => {
            report.line(
                Status::Ok,
                "GitHub App credentials",
                format!(
                    "from the credentials file {} (App `{}`, id {})",
                    path.display(),
                    credentials.slug,
                    credentials.id
                ),
            );
            if !ignored_env.is_empty() {
                report.line(
                    Status::Warn,
                    "GitHub App credentials",
                    format!(
                        "{} set in the environment, but not a complete App: ignored",
                        ignored_env.join(", ")
                    ),
                );
            }
        }
        Ok(StartCredentials::Missing { missing, file }) => {
            // One problem, one line: whichever parts the environment lacks, the fix is
            // the setup page or the complete set of settings.
            let setup = crate::setup::startup::setup_address(
                settings.bind,
                settings.public_url_parsed().ok().flatten().as_ref(),
            );
            let lacking = if missing.len() == 3 {
                "no GitHub App is connected".to_owned()
            } else {
                format!("the environment lacks {}", missing.join(" and "))
            };
            report.line(
                Status::Missing,
                "GitHub App",
                format!(
                    "{lacking} and there is no credentials file at {}: start `promptops serve` and open {setup} to connect one (on a loopback bind without a token, the link with ?access= its log names), or set GITHUB_APP_ID, GITHUB_PRIVATE_KEY (or GITHUB_PRIVATE_KEY_PATH) and GITHUB_WEBHOOK_SECRET",
                    file.display()
                ),
            );
        }
        Err(err) => report.line(
            Status::Missing,
            "GitHub App credentials",
            format!("{err:#}"),
        ),
    }
    api_lines(report, &github.github_api_url, start.as_ref().ok()).await;
    start
}

/// Whether `GITHUB_API_URL` can be used and, when it can and the App is known, whether
/// GitHub accepts the App. `serve` refuses a URL GitHub's client cannot use: said here
/// rather than "ok" (and not tried).
async fn api_lines(report: &mut Report, api_url: &str, start: Option<&StartCredentials>) {
    if let Err(err) = promptops_github::client::check_api_url(api_url) {
        report.line(Status::Missing, "GITHUB_API_URL", err.to_string());
        return;
    }
    report.line(Status::Ok, "GITHUB_API_URL", api_url);
    if let Some((id, key, _)) = start.and_then(StartCredentials::app) {
        app_auth_line(report, api_url, id, &key).await;
    }
}

/// Whether GitHub accepts the App's id and key.
async fn app_auth_line(report: &mut Report, api_url: &str, id: u64, key: &SecretString) {
    match promptops_github::client::GithubApp::new(api_url, id, key) {
        Ok(app) => match app.app_info().await {
            Ok(info) => {
                report.line(
                    Status::Ok,
                    "GitHub App",
                    format!(
                        "authenticated as `{}` ({})",
                        info.slug.as_deref().unwrap_or_default(),
                        info.name
                    ),
                );
                let missing = super::app_events::missing_events(&info.events);
                if missing.is_empty() {
                    report.line(
                        Status::Ok,
                        "GitHub App events",
                        "every event PromptOps handles",
                    );
                } else {
                    let detail = super::app_events::missing_events_detail(&missing);
                    report.line(Status::Warn, "GitHub App events", detail);
                }
            }
            Err(err) => report.line(
                Status::Missing,
                "GitHub App",
                format!("authentication failed: {err}"),
            ),
        },
        Err(err) => report.line(Status::Missing, "GitHub App", err.to_string()),
    }
}

/// Which isolation Terraform runs under, and whether it can be set up here.
fn sandbox_line(report: &mut Report, settings: &ServeSettings) {
    let mut config = promptops_terraform::RunnerConfig::new(&settings.workdir);
    let checked = crate::app::terraform_boundary::apply(&mut config, settings)
        .and_then(|()| config.sandbox.probe().map_err(anyhow::Error::from));
    match (checked, config.sandbox.mode) {
        (Err(err), _) => report.line(Status::Missing, "terraform sandbox", format!("{err:#}")),
        (Ok(()), promptops_terraform::SandboxMode::Off) => {
            report.line(Status::Warn, "terraform sandbox", config.sandbox.describe())
        }
        (Ok(()), _) => report.line(Status::Ok, "terraform sandbox", config.sandbox.describe()),
    }
}

/// The App settings the environment gives (or lacks), one line each.
fn env_credential_lines(report: &mut Report, settings: &ServeSettings) {
    let github = &settings.github;
    match github.github_app_id {
        Some(id) => report.line(Status::Ok, "GITHUB_APP_ID", id.to_string()),
        None => report.line(
            Status::Missing,
            "GITHUB_APP_ID",
            "not set: the App cannot authenticate",
        ),
    }
    match github.private_key() {
        Ok(Some(_)) => report.line(
            Status::Ok,
            "GitHub App private key",
            "present (an RSA private key, PEM)",
        ),
        Ok(None) => report.line(
            Status::Missing,
            "GitHub App private key",
            "set GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH",
        ),
        Err(err) => report.line(Status::Missing, "GitHub App private key", err.to_string()),
    }
    let secrets = match github.checked_webhook_secrets() {
        Ok(secrets) => secrets,
        Err(err) => {
            report.line(Status::Missing, "GITHUB_WEBHOOK_SECRET", err.to_string());
            return;
        }
    };
    match secrets.len() {
        0 => report.line(
            Status::Missing,
            "GITHUB_WEBHOOK_SECRET",
            "not set: webhooks would be refused",
        ),
        1 => report.line(Status::Ok, "GITHUB_WEBHOOK_SECRET", "1 secret"),
        n => report.line(
            Status::Ok,
            "GITHUB_WEBHOOK_SECRET",
            format!("{n} secrets (rotation)"),
        ),
    }
}

/// Dashboard sign-in (complete, half configured, its source) and who may see the
/// dashboard as `serve` would guard it.
fn dashboard_lines(
    report: &mut Report,
    settings: &ServeSettings,
    start: Option<&StartCredentials>,
) {
    const SIGN_IN: &str = "dashboard sign-in";
    const ACCESS: &str = "dashboard access";
    let plan = settings.sign_in_plan(start.and_then(StartCredentials::app_file));
    let problem = plan.problem().unwrap_or_default();
    let sign_in = match &plan {
        SignInPlan::Off => {
            report.line(
                Status::Ok,
                SIGN_IN,
                "off: GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET are not set, and no App credentials file gives an OAuth client",
            );
            None
        }
        SignInPlan::Incomplete {
            source: SignInSource::Environment,
            ..
        } => {
            report.line(Status::Missing, SIGN_IN, &problem);
            report.line(
                Status::Missing,
                ACCESS,
                "unknown: `promptops serve` does not start with half a sign-in configuration",
            );
            return;
        }
        SignInPlan::Incomplete { .. } => {
            report.line(Status::Warn, SIGN_IN, &problem);
            None
        }
        SignInPlan::Ready {
            settings: sign_in,
            source,
        } => match GithubSignIn::new(
            sign_in.clone(),
            std::sync::Arc::new(promptops_core::clock::SystemClock),
        ) {
            Ok(sign_in) => {
                report.line(
                    Status::Ok,
                    SIGN_IN,
                    format!(
                        "with GitHub, OAuth client {} from {source}; GitHub sends browsers back to {} (one of the App's callback URLs)",
                        sign_in.client_id(),
                        sign_in.callback_url()
                    ),
                );
                Some(sign_in)
            }
            Err(err) => {
                report.line(
                    Status::Missing,
                    SIGN_IN,
                    format!("{err} (client from {source})"),
                );
                return;
            }
        },
    };
    let mut access = Access::new(settings.dashboard_token.as_ref(), settings.bind);
    if let Some(sign_in) = sign_in {
        access = access.with_sign_in(std::sync::Arc::new(sign_in));
    }
    let status = match access {
        Access::Refused { .. } => Status::Warn,
        _ => Status::Ok,
    };
    report.line(status, ACCESS, access.describe());
}

/// The Terraform version against what the PromptOps root module needs: its
/// `required_version` (terraform/versions.tf) is `>= 1.14.1`, the first release whose
/// actions (the configuration job, `/promptops configure`) run after their resource. An
/// older Terraform runs, but every plan of that module fails: a problem, with what to
/// install.
async fn terraform_line(report: &mut Report, bin: &std::path::Path) {
    let version = match terraform_version(bin).await {
        Ok(version) => version,
        Err(err) => {
            report.line(
                Status::Missing,
                "terraform",
                format!(
                    "{}: {err} (install Terraform >= {ACTIONS_MIN_VERSION} and set TERRAFORM_BIN to it)",
                    bin.display()
                ),
            );
            return;
        }
    };
    if version < ACTIONS_MIN_VERSION {
        report.line(
            Status::Missing,
            "terraform",
            format!(
                "{version} at {} is older than {ACTIONS_MIN_VERSION}, which the PromptOps root module's \
                 required_version (>= {ACTIONS_MIN_VERSION}, terraform/versions.tf) and its configuration \
                 job (Terraform actions, /promptops configure) need: plans of that module fail with \
                 \"Unsupported Terraform Core version\". Install Terraform >= {ACTIONS_MIN_VERSION} and \
                 set TERRAFORM_BIN to it",
                bin.display()
            ),
        );
    } else {
        report.line(
            Status::Ok,
            "terraform",
            format!(
                "{version} at {} (the root module's required_version is >= {ACTIONS_MIN_VERSION})",
                bin.display()
            ),
        );
    }
}

async fn terraform_version(bin: &std::path::Path) -> Result<TerraformVersion, String> {
    let output = tokio::process::Command::new(bin)
        .args(["version", "-json"])
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .await
        .map_err(|err| err.to_string())?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).trim().to_owned());
    }
    TerraformVersion::from_version_json(&String::from_utf8_lossy(&output.stdout))
}
