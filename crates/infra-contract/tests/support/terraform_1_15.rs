//! Terraform 1.15.5 with the stand-in google, vault and aap providers, as
//! `scripts/setup-terraform.sh` installs them, run on a copy of the repository's own
//! `terraform/`. A missing install fails the test with the command that makes it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SETUP_HINT: &str = "run `eval \"$(bash scripts/setup-terraform.sh)\"` first (it installs Terraform 1.15.5 and the stand-in providers)";

pub struct Terraform {
    bin: PathBuf,
    cli_config: PathBuf,
    env: Vec<(String, String)>,
}

impl Terraform {
    pub fn from_env() -> Terraform {
        let setting = |name: &str| {
            let path = std::env::var_os(name)
                .map(PathBuf::from)
                .unwrap_or_else(|| panic!("{name} is not set: {SETUP_HINT}"));
            assert!(
                path.is_file(),
                "{name}={} does not exist: {SETUP_HINT}",
                path.display()
            );
            path
        };
        Terraform {
            bin: setting("PROMPTOPS_TEST_TERRAFORM_1_15"),
            cli_config: setting("PROMPTOPS_TEST_TERRAFORM_CLI_CONFIG"),
            env: Vec::new(),
        }
    }

    /// With `key=value` in Terraform's environment (e.g. VAULT_TOKEN for the providers).
    pub fn with_env(mut self, key: &str, value: &str) -> Terraform {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Runs `terraform <args>` in `dir`; the output, whatever the exit code.
    pub fn run(&self, dir: &Path, args: &[&str]) -> Output {
        Command::new(&self.bin)
            .args(args)
            .current_dir(dir)
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.bin.display()))
    }

    /// Runs `terraform <args>` in `dir` and fails the test unless it succeeds.
    pub fn ok(&self, dir: &Path, args: &[&str]) -> String {
        let output = self.run(dir, args);
        assert!(
            output.status.success(),
            "terraform {} failed ({}):\n{}\n{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("terraform printed UTF-8")
    }
}

/// A copy of `module` in `to`, with the partial `gcs` backend overridden by a local one
/// (an `_override.tf` file, which Terraform merges over the module's own `terraform` block).
pub fn copy_module_with_local_backend(module: &Path, to: &Path) {
    copy_tree(module, to);
    std::fs::write(
        to.join("backend_override.tf"),
        "terraform {\n  backend \"local\" {}\n}\n",
    )
    .unwrap();
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == ".terraform" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
