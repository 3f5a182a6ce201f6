//! `promptops check` reports the Terraform version against the root module's
//! required_version (>= 1.14.1) and, when it is older, fails and says what to do: with
//! the image's Terraform 1.11 and with Terraform 1.15.5 from scripts/setup-terraform.sh.

use std::path::PathBuf;
use std::process::Command;

/// The `terraform` line of `promptops check`'s report (a `MISSING` line fails the check).
fn terraform_line(terraform: &std::path::Path) -> String {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_promptops"))
        .arg("check")
        .env_clear()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/p.db", dir.path().display()),
        )
        .env("TERRAFORM_BIN", terraform)
        .output()
        .unwrap();
    let report = String::from_utf8(output.stdout).unwrap();
    report
        .lines()
        .find(|line| line.contains("  terraform: "))
        .unwrap_or_else(|| panic!("no terraform line:\n{report}"))
        .to_owned()
}

#[test]
fn an_older_terraform_fails_the_check_and_names_the_required_version_and_the_fix() {
    let old = std::env::var_os("TERRAFORM_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/local/bin/terraform"));
    assert!(
        old.is_file(),
        "the image's terraform (1.11) is needed at {}",
        old.display()
    );
    let line = terraform_line(&old);
    assert!(line.starts_with("MISSING  terraform: 1.11."), "{line}");
    assert!(line.contains("is older than 1.14.1"), "{line}");
    assert!(line.contains("required_version (>= 1.14.1"), "{line}");
    assert!(
        line.contains("Install Terraform >= 1.14.1 and set TERRAFORM_BIN to it"),
        "{line}"
    );
}

#[test]
fn terraform_1_15_is_reported_as_fitting_the_required_version() {
    let launcher = std::env::var_os("PROMPTOPS_TEST_TERRAFORM_1_15")
        .map(PathBuf::from)
        .expect("PROMPTOPS_TEST_TERRAFORM_1_15 is not set: run `eval \"$(bash scripts/setup-terraform.sh)\"` first");
    let line = terraform_line(&launcher);
    assert!(line.starts_with("ok       terraform: 1.15.5 at "), "{line}");
    assert!(
        line.contains("the root module's required_version is >= 1.14.1"),
        "{line}"
    );
}
