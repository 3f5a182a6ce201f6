use clap::Parser as _;

use super::*;
use crate::setup::sign_in_plan::{CLIENT_SECRET, PUBLIC_URL, SignInPlan, SignInSource};

fn serve_settings(args: &[&str]) -> ServeSettings {
    let mut all = vec!["promptops", "serve"];
    all.extend_from_slice(args);
    match crate::cli::Cli::try_parse_from(all).unwrap().command {
        crate::cli::Command::Serve(settings) => *settings,
        _ => unreachable!("parsed `serve`"),
    }
}

#[test]
fn the_credentials_file_sits_beside_the_sqlite_database_unless_named() {
    let beside = serve_settings(&[
        "--database-url",
        "sqlite:///var/lib/promptops/p.db?mode=rwc",
    ]);
    assert_eq!(
        beside.app_credentials_path(),
        PathBuf::from("/var/lib/promptops/promptops-app.json")
    );
    let relative = serve_settings(&["--database-url", "sqlite://promptops.db"]);
    assert_eq!(
        relative.app_credentials_path(),
        PathBuf::from("promptops-app.json")
    );
    let postgres = serve_settings(&["--database-url", "postgres://db/promptops"]);
    assert_eq!(
        postgres.app_credentials_path(),
        PathBuf::from("promptops-app.json")
    );
    let named = serve_settings(&[
        "--database-url",
        "sqlite:///data/p.db",
        "--app-credentials",
        "/etc/promptops/app.json",
    ]);
    assert_eq!(
        named.app_credentials_path(),
        PathBuf::from("/etc/promptops/app.json")
    );
}

fn secrets_of(value: &str) -> Result<Vec<String>, WebhookSecretError> {
    serve_settings(&["--github-webhook-secret", value])
        .github
        .checked_webhook_secrets()
        .map(|secrets| {
            secrets
                .iter()
                .map(|s| s.expose_secret().to_owned())
                .collect()
        })
}

#[test]
fn every_webhook_secret_part_has_sixteen_characters_and_none_is_empty() {
    let long = "0123456789abcdef";
    assert_eq!(
        secrets_of(&format!("{long}, {long}-next")),
        Ok(vec![long.to_owned(), format!("{long}-next")])
    );
    let short = secrets_of(&format!("{long},ab")).unwrap_err();
    assert_eq!(
        short,
        WebhookSecretError::TooShort {
            position: 2,
            count: 2,
            chars: 2
        }
    );
    let message = short.to_string();
    assert!(
        message.contains("part 2 of 2") && message.contains("at least 16"),
        "{message}"
    );
    assert!(
        !message.contains("ab "),
        "the value is never printed: {message}"
    );
    assert_eq!(
        secrets_of(&format!("{long},,{long}")),
        Err(WebhookSecretError::Empty {
            position: 2,
            count: 3
        })
    );
    assert_eq!(
        secrets_of(&format!("{long},")),
        Err(WebhookSecretError::Empty {
            position: 2,
            count: 2
        })
    );
    assert_eq!(
        secrets_of("fifteen-chars-x"),
        Err(WebhookSecretError::TooShort {
            position: 1,
            count: 1,
            chars: 15
        })
    );
    assert_eq!(secrets_of("  "), Ok(Vec::new()), "blank is unset");
}

fn file_credentials() -> crate::setup::AppCredentials {
    crate::setup::AppCredentials {
        id: 7,
        slug: "promptops-acme".into(),
        html_url: None,
        client_id: "Iv1.fromfile".into(),
        client_secret: SecretString::from("file-secret".to_owned()),
        webhook_secret: SecretString::from("hook".to_owned()),
        pem: SecretString::from("-----BEGIN RSA PRIVATE KEY-----".to_owned()),
    }
}

#[test]
fn sign_in_takes_the_environments_client_else_the_files_never_a_mix() {
    let path = std::path::Path::new("/var/lib/promptops/promptops-app.json");
    let file = file_credentials();
    let public = ["--public-url", "https://ops.example.com"];

    assert!(matches!(
        serve_settings(&[]).sign_in_plan(None),
        SignInPlan::Off
    ));
    let SignInPlan::Ready { settings, source } =
        serve_settings(&public).sign_in_plan(Some((path, &file)))
    else {
        panic!("the file's client with a public URL is a complete sign-in");
    };
    assert_eq!(settings.client_id, "Iv1.fromfile");
    assert_eq!(settings.client_secret.expose_secret(), "file-secret");
    assert_eq!(source, SignInSource::File(path.to_owned()));

    let without_url = serve_settings(&[]).sign_in_plan(Some((path, &file)));
    let problem = without_url.problem().unwrap();
    assert!(
        matches!(&without_url, SignInPlan::Incomplete { source: SignInSource::File(_), missing } if missing == &vec![PUBLIC_URL]),
        "{without_url:?}"
    );
    assert!(
        problem.contains("/var/lib/promptops/promptops-app.json"),
        "{problem}"
    );

    // Half an environment configuration is not completed from the file.
    let half = serve_settings(&["--github-client-id", "Iv23lienv", public[0], public[1]])
        .sign_in_plan(Some((path, &file)));
    assert!(
        matches!(&half, SignInPlan::Incomplete { source: SignInSource::Environment, missing } if missing == &vec![CLIENT_SECRET]),
        "{half:?}"
    );
    let env = serve_settings(&[
        "--github-client-id",
        "Iv23lienv",
        "--github-client-secret",
        "env-secret",
        public[0],
        public[1],
    ])
    .sign_in_plan(Some((path, &file)));
    let SignInPlan::Ready { settings, source } = env else {
        panic!("{env:?}");
    };
    assert_eq!(
        (settings.client_id.as_str(), source),
        ("Iv23lienv", SignInSource::Environment)
    );
}

#[test]
fn numeric_settings_outside_their_range_are_refused_naming_the_variable() {
    let refused = |flag: &str, value: &str| {
        let given = format!("{flag}={value}");
        let all = ["promptops", "serve", given.as_str()];
        crate::cli::Cli::try_parse_from(all)
            .err()
            .unwrap_or_else(|| panic!("{flag} {value} was accepted"))
            .to_string()
    };
    for (flag, variable, bad) in [
        ("--workers", "PROMPTOPS_WORKERS", ["0", "257"]),
        (
            "--model-timeout-secs",
            "PROMPTOPS_MODEL_TIMEOUT_SECS",
            ["0", "3601"],
        ),
        (
            "--terraform-timeout-secs",
            "PROMPTOPS_TERRAFORM_TIMEOUT_SECS",
            ["0", "86401"],
        ),
        (
            "--resume-pause-secs",
            "PROMPTOPS_RESUME_PAUSE_SECS",
            ["0", "3601"],
        ),
        (
            "--max-source-mib",
            "PROMPTOPS_MAX_SOURCE_MIB",
            ["0", "65537"],
        ),
        (
            "--http-header-timeout-secs",
            "PROMPTOPS_HTTP_HEADER_TIMEOUT_SECS",
            ["0", "3601"],
        ),
        (
            "--http-max-connections",
            "PROMPTOPS_HTTP_MAX_CONNECTIONS",
            ["0", "100001"],
        ),
        (
            "--webhook-body-timeout-secs",
            "PROMPTOPS_WEBHOOK_BODY_TIMEOUT_SECS",
            ["0", "3601"],
        ),
        (
            "--webhook-read-budget-mib",
            "PROMPTOPS_WEBHOOK_READ_BUDGET_MIB",
            ["0", "4096"],
        ),
        (
            "--app-commit-retention-days",
            "PROMPTOPS_APP_COMMIT_RETENTION_DAYS",
            ["0", "36501"],
        ),
    ] {
        for value in bad.into_iter().chain(["-1", "four"]) {
            let error = refused(flag, value);
            assert!(
                error.contains(&format!("{variable} must be a whole number from ")),
                "{error}"
            );
        }
    }
    let settings = serve_settings(&["--workers", "256", "--resume-pause-secs", "5"]);
    assert_eq!((settings.workers, settings.resume_pause_secs), (256, 5));
    let defaults = serve_settings(&[]);
    assert_eq!(
        (
            defaults.workers,
            defaults.planner.model_timeout_secs,
            defaults.terraform_timeout_secs,
            defaults.resume_pause_secs,
            defaults.app_commit_retention_days
        ),
        (4, 60, 1800, 15, 180)
    );
}
