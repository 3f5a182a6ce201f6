//! After setup: `promptops check` reports dashboard access and sign-in settings, and every
//! secret the settings hold is masked in Terraform's output.

use crate::support::setup_flow::InProcess;
use promptops_testkit::FakeGithub;

use crate::support::sign_in_flow::{check, key_body_line, line, masked_by_the_app};

#[test]
fn check_reports_dashboard_access_and_sign_in_settings() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/p.db", dir.path().display());
    let db = db.as_str();

    let (_, report) = check(&[("DATABASE_URL", db)]);
    assert!(
        line(&report, "dashboard sign-in").starts_with("ok       dashboard sign-in: off"),
        "{report}"
    );
    assert!(
        line(&report, "dashboard access").starts_with("ok       dashboard access: loopback-open"),
        "{report}"
    );

    let (_, report) = check(&[("DATABASE_URL", db), ("PROMPTOPS_BIND", "0.0.0.0:3000")]);
    let access = line(&report, "dashboard access");
    assert!(
        access.starts_with("warning  dashboard access: refused"),
        "{report}"
    );
    assert!(access.contains("PROMPTOPS_DASHBOARD_TOKEN"), "{report}");

    let (_, report) = check(&[
        ("DATABASE_URL", db),
        ("PROMPTOPS_BIND", "0.0.0.0:3000"),
        ("PROMPTOPS_DASHBOARD_TOKEN", "t0ken-t0ken"),
    ]);
    assert!(
        line(&report, "dashboard access").starts_with("ok       dashboard access: token:"),
        "{report}"
    );
    assert!(
        !report.contains("t0ken-t0ken"),
        "the token is never printed: {report}"
    );

    // Half a configuration names what is missing, and `serve` would not start.
    let (passed, report) = check(&[("DATABASE_URL", db), ("GITHUB_CLIENT_ID", "Iv23liabc")]);
    assert!(!passed, "{report}");
    let sign_in = line(&report, "dashboard sign-in");
    assert!(sign_in.starts_with("MISSING"), "{report}");
    assert!(
        sign_in.contains("GITHUB_CLIENT_SECRET, PROMPTOPS_PUBLIC_URL missing"),
        "{report}"
    );
    assert!(
        line(&report, "dashboard access").starts_with("MISSING"),
        "{report}"
    );

    let (_, report) = check(&[
        ("DATABASE_URL", db),
        ("PROMPTOPS_BIND", "0.0.0.0:3000"),
        ("PROMPTOPS_DASHBOARD_TOKEN", "t0ken-t0ken"),
        ("GITHUB_CLIENT_ID", "Iv23liabc"),
        ("GITHUB_CLIENT_SECRET", "client-s3cret"),
        ("PROMPTOPS_PUBLIC_URL", "https://ops.example.com"),
    ]);
    let sign_in = line(&report, "dashboard sign-in");
    assert!(sign_in.starts_with("ok"), "{report}");
    assert!(
        sign_in.contains("Iv23liabc from the environment"),
        "{report}"
    );
    assert!(
        sign_in.contains("https://ops.example.com/dashboard/oauth/callback"),
        "{report}"
    );
    assert!(!report.contains("client-s3cret"), "{report}");
    assert!(
        line(&report, "dashboard access")
            .starts_with("ok       dashboard access: token or sign-in:"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_secret_the_settings_hold_is_masked_in_terraform_output() {
    assert!(
        promptops::app::SECRET_ENV_VARS.contains(&"GITHUB_CLIENT_SECRET"),
        "terraform inherits the environment's client secret"
    );
    let github = FakeGithub::start().await;
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("key.pem");
    std::fs::write(&key_path, github.private_key_pem()).unwrap();
    let key_path = key_path.display().to_string();
    let app_id = github.app_id().to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service = InProcess::start_on(
        &github.url(),
        dir.path(),
        listener,
        &[
            "--github-app-id",
            &app_id,
            "--github-private-key-path",
            &key_path,
            "--github-webhook-secret",
            "old-hook-secret-1111,new-hook-secret-2222",
            "--github-client-id",
            "Iv23liabc",
            "--github-client-secret",
            "client-secret-3333",
            "--public-url",
            "http://127.0.0.1:3000",
            "--dashboard-token",
            "dashboard-token-4444",
        ],
    )
    .await;
    let masked = masked_by_the_app(
        &service.slot,
        &format!(
            "old-hook-secret-1111 new-hook-secret-2222 client-secret-3333 dashboard-token-4444 {}",
            key_body_line(github.private_key_pem())
        ),
    );
    assert_eq!(masked, "*** *** *** *** ***");
    service.stop().await;
}
