//! What the sign-in-after-setup tests share: a fake GitHub with a member ready to sign
//! in, the setup flow driven through its page, and the credentials file `/setup` writes.
//! (The service in-process: `setup_flow`; the browser: `oauth_browser`.)

use std::process::Command;

use promptops::setup::{AppCredentials, AppSlot};
use promptops_testkit::FakeGithub;
use secrecy::SecretString;
use serde_json::Value;

use super::html::attribute;
use super::setup_flow::InProcess;
use super::{INSTALLATION, OWNER, REPO};

/// The fake GitHub with the fixtures' repository installed on `OWNER`, and `octocat`
/// about to approve sign-in as a member of that installation.
pub async fn github_with_member() -> FakeGithub {
    let github = FakeGithub::start().await;
    github.add_repo(REPO);
    github.add_installation(INSTALLATION, OWNER);
    github.set_oauth_user("octocat");
    github.add_installation_member(INSTALLATION, "octocat");
    github
}

/// The setup page's form posted to the fake GitHub, which redirects to the callback:
/// the manifest sent and the page the callback answers with.
pub async fn connect_through_setup(service: &InProcess, setup_path: &str) -> (Value, String) {
    // A `?token=` link leaves its cookie and sends the browser on without the token.
    let (http, setup_path) = if setup_path.contains("token=") {
        let cookie = super::local_link::open_token_link(&service.url(setup_path)).await;
        let page = setup_path.split('?').next().unwrap_or(setup_path);
        (super::local_link::client_with_cookie(Some(&cookie)), page)
    } else {
        (service.http(), setup_path)
    };
    let page = http
        .get(service.url(setup_path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let action =
        attribute(&page, "create-app", "action").unwrap_or_else(|| panic!("no setup form: {page}"));
    let manifest: Value =
        serde_json::from_str(&attribute(&page, "manifest", "value").unwrap()).unwrap();
    let connected = http
        .post(&action)
        .form(&[("manifest", manifest.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(connected.status(), 200);
    (manifest, connected.text().await.unwrap())
}

/// An App's credentials file as `/setup` writes it, for the fake's App (so that `check`
/// authenticates at once).
pub fn credentials(github: &FakeGithub, client_secret: &str) -> AppCredentials {
    AppCredentials {
        id: github.app_id(),
        slug: "promptops-file".into(),
        html_url: None,
        client_id: "Iv1.fromthefile".into(),
        client_secret: SecretString::from(client_secret.to_owned()),
        webhook_secret: SecretString::from("file-webhook-secret-0123".to_owned()),
        pem: SecretString::from(github.private_key_pem().to_owned()),
    }
}

/// What Terraform output becomes once the App's runner masked it.
pub fn masked_by_the_app(slot: &AppSlot, text: &str) -> String {
    let app = slot.load().expect("an App is configured");
    let runner = app.handlers.terraform.as_ref().expect("a Terraform runner");
    runner.masker().mask_str(text)
}

/// A line of the key's base64 body (not its BEGIN/END lines).
pub fn key_body_line(pem: &str) -> &str {
    pem.lines()
        .find(|line| !line.starts_with("-----") && line.len() > 40)
        .unwrap()
}

pub fn check(envs: &[(&str, &str)]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_promptops"))
        .arg("check")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TERRAFORM_BIN", "/nonexistent/terraform")
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

/// The report's line about `what`.
pub fn line<'r>(report: &'r str, what: &str) -> &'r str {
    report
        .lines()
        .find(|line| line.contains(&format!("  {what}: ")))
        .unwrap_or_else(|| panic!("no line about {what}:\n{report}"))
}
