//! Where the tests find Terraform 1.15.5 (the launcher `scripts/setup-terraform.sh`
//! installs, with the stand-in providers' mirror) and what Terraform's sandbox must let it
//! read. The script prints the variables; a test run without them fails saying so.

use std::path::PathBuf;

/// The Terraform 1.15.5 launcher and the CLI config file that takes the google, vault and
/// aap providers from the stand-ins' mirror.
pub fn terraform_1_15() -> (PathBuf, PathBuf) {
    (
        existing_file("PROMPTOPS_TEST_TERRAFORM_1_15"),
        existing_file("PROMPTOPS_TEST_TERRAFORM_CLI_CONFIG"),
    )
}

/// What the launcher and the stand-in providers read (their virtualenv, the Python
/// installation, the provider mirror and CLI config): read-only binds of the sandbox.
pub fn launcher_read_paths() -> Vec<PathBuf> {
    std::env::var("PROMPTOPS_TEST_TERRAFORM_READ_PATHS")
        .unwrap_or_default()
        .split(':')
        .filter(|path| !path.is_empty())
        .map(PathBuf::from)
        .collect()
}

fn existing_file(name: &str) -> PathBuf {
    let path = std::env::var_os(name)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!(
                "{name} is not set: this test runs Terraform 1.15.5 with the stand-in providers; \
             run `eval \"$(bash scripts/setup-terraform.sh)\"` first"
            )
        });
    assert!(path.is_file(), "{name}={} does not exist", path.display());
    path
}
