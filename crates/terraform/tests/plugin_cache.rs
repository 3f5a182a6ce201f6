//! The shared plugin cache under concurrent runs. Terraform's plugin cache is not safe for
//! concurrent `init`s that install the same provider (Atlantis #2242: parallel plans
//! leaving a half-written provider in the cache, later inits failing on its checksum). 20
//! deployments whose first runs all start at once, on an empty cache, through the runner
//! as the service uses it: every init succeeds, the cache holds exactly the mirror's
//! provider, and an init after them installs from that cache.
//!
//! Terraform 1.15.5 with the stand-in `hashicorp/google` provider from the filesystem
//! mirror of `scripts/setup-terraform.sh`, in the bubblewrap sandbox.

mod common;

use std::path::{Path, PathBuf};

use common::{Scratch, runner};
use promptops_terraform::{PlanOutcome, Runner};
use promptops_testkit::terraform_1_15;

const DEPLOYMENTS: usize = 20;
const PROVIDER: &str = "registry.terraform.io/hashicorp/google/6.50.0/linux_amd64";

/// A root module that needs the google provider (from the mirror) and plans one
/// `terraform_data` per deployment.
fn provider_repo(scratch: &Scratch, names: &[String]) {
    let module = scratch.repo().join("terraform");
    std::fs::create_dir_all(&module).unwrap();
    std::fs::write(
        module.join("main.tf"),
        r#"terraform {
  backend "local" {}
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "6.50.0"
    }
  }
}

variable "deployment_name" {
  type = string
}

provider "google" {
  project = "bench-project"
  region  = "us-central1"
}

resource "terraform_data" "vm" {
  input = var.deployment_name
}
"#,
    )
    .unwrap();
    for name in names {
        let dir = module.join("deployments").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("terraform.tfvars"),
            format!("deployment_name = \"{name}\"\n"),
        )
        .unwrap();
    }
}

fn cli_config_runner(scratch: &Scratch, parallel: usize) -> Runner {
    let (terraform, cli_config) = terraform_1_15();
    let mut config = scratch.config(terraform);
    config.env = vec![(
        "TF_CLI_CONFIG_FILE".into(),
        cli_config.display().to_string(),
    )];
    config.max_concurrent_runs = parallel;
    runner(config)
}

/// The provider package as the mirror holds it (the directory the CLI config names).
fn mirror_package(cli_config: &Path) -> PathBuf {
    let text = std::fs::read_to_string(cli_config).unwrap();
    let path = text
        .lines()
        .find_map(|line| {
            let (key, value) = line.split_once('=')?;
            (key.trim() == "path").then(|| value.trim().trim_matches('"').to_owned())
        })
        .expect("the CLI config names the mirror's path");
    PathBuf::from(path).join(PROVIDER)
}

/// Every regular file under `root`, by relative path, with its bytes.
fn tree(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in
            std::fs::read_dir(&dir).unwrap_or_else(|err| panic!("reading {}: {err}", dir.display()))
        {
            let path = entry.unwrap().path();
            let meta = std::fs::metadata(&path).unwrap();
            if meta.is_dir() {
                pending.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                files.push((path.strip_prefix(root).unwrap().to_path_buf(), bytes));
            }
        }
    }
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_first_inits_at_once_share_the_plugin_cache_without_corrupting_it() {
    let scratch = Scratch::new();
    let names: Vec<String> = (0..DEPLOYMENTS).map(|i| format!("race-{i:02}")).collect();
    provider_repo(&scratch, &names);
    // Every run at once: the cache is empty when all 20 inits start.
    let runner = cli_config_runner(&scratch, DEPLOYMENTS);
    let cache = runner.config().plugin_cache_dir.clone();
    assert!(
        tree(&cache).is_empty(),
        "the cache starts empty: {}",
        cache.display()
    );

    let plans: Vec<_> = names
        .iter()
        .map(|name| {
            let runner = runner.clone();
            let spec = scratch.dir_spec(name);
            tokio::spawn(async move { runner.plan(&spec).await })
        })
        .collect();
    for (name, plan) in names.iter().zip(plans) {
        let report = plan.await.unwrap().unwrap();
        assert_eq!(
            report.outcome,
            PlanOutcome::Changes,
            "{name}: {}\n{}",
            report.summary,
            report.output.text()
        );
    }

    let (_, cli_config) = terraform_1_15();
    let mirror = tree(&mirror_package(&cli_config));
    let cached = tree(&cache.join(PROVIDER));
    assert!(!mirror.is_empty(), "the mirror holds the provider");
    let names_of = |files: &[(PathBuf, Vec<u8>)]| -> Vec<PathBuf> {
        files.iter().map(|(path, _)| path.clone()).collect()
    };
    assert_eq!(
        names_of(&cached),
        names_of(&mirror),
        "the cache holds the provider's files, no more, no fewer"
    );
    for ((path, cached), (_, original)) in cached.iter().zip(&mirror) {
        assert!(
            cached == original,
            "{} in the cache differs from the mirror's ({} bytes, {} expected)",
            path.display(),
            cached.len(),
            original.len()
        );
    }

    // A later run installs from the shared cache as it was left.
    let later = runner.plan(&scratch.dir_spec(&names[0])).await.unwrap();
    assert_eq!(
        later.outcome,
        PlanOutcome::Changes,
        "{}\n{}",
        later.summary,
        later.output.text()
    );
}
