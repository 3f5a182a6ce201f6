//! A pull request cannot plant a provider binary in the shared plugin cache.
//!
//! Terraform takes providers from "implied local mirrors" when its CLI configuration has
//! no `provider_installation` block, and the first of them is `terraform.d/plugins` in the
//! working directory: the PR's module dir. A package installed from there goes into the
//! shared plugin cache, and a later init (another PR's plan, an apply with the cloud
//! credentials) links it from the cache without checking it
//! (`TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE`). The operator here has no CLI
//! configuration of their own, as the service runs by default; the registry Terraform
//! would then download from is played by a system-wide mirror of the operator's
//! (`XDG_DATA_DIRS`, as `/usr/share/terraform/plugins` would be), holding the stand-in
//! `hashicorp/google` 6.50.0 of `scripts/setup-terraform.sh`.
//!
//! The planted package is a zip (the packed layout): Terraform unpacks it into the cache,
//! so it outlives the planting run's work dir. Its "provider" notes where it ran in a file
//! outside every run, then starts the genuine one, so every plan succeeds either way.
//!
//! Terraform 1.15.5 in the bubblewrap sandbox, through the runner as the service uses it.

mod common;

use std::path::{Path, PathBuf};

use common::{Scratch, copy_tree, runner, tarball_of};
use promptops_terraform::{PlanOutcome, PlanSpec, Runner, RunnerError, Source};
use promptops_testkit::terraform_1_15;

const PACKAGE: &str = "registry.terraform.io/hashicorp/google/6.50.0/linux_amd64";
const EXECUTABLE: &str = "terraform-provider-google_v6.50.0";
const PLANTED_ZIP: &str = "terraform.d/plugins/registry.terraform.io/hashicorp/google/terraform-provider-google_6.50.0_linux_amd64.zip";

const MAIN_TF: &str = r#"terraform {
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
  project = "planted-project"
  region  = "us-central1"
}

resource "terraform_data" "vm" {
  input = var.deployment_name
}
"#;

/// The operator's side: a system-wide provider mirror and a place outside every run where
/// the planted provider leaves its mark.
struct Operator {
    mirror_data_dir: PathBuf,
    genuine: PathBuf,
    marks: PathBuf,
}

impl Operator {
    fn new(scratch: &Scratch) -> Operator {
        let (_, cli_config) = terraform_1_15();
        let standins = mirror_of(&cli_config).join(PACKAGE);
        let mirror_data_dir = scratch.dir.path().join("share");
        let package = mirror_data_dir.join("terraform/plugins").join(PACKAGE);
        copy_tree(&standins, &package);
        let marks = scratch.dir.path().join("marks");
        std::fs::create_dir_all(&marks).unwrap();
        Operator {
            genuine: package.join(EXECUTABLE),
            mirror_data_dir,
            marks,
        }
    }

    /// A runner with no CLI configuration of the operator's, the mirror in XDG_DATA_DIRS.
    fn runner(&self, scratch: &Scratch) -> Runner {
        let (terraform, _) = terraform_1_15();
        let mut config = scratch.config(terraform);
        config.env = vec![(
            "XDG_DATA_DIRS".into(),
            self.mirror_data_dir.display().to_string(),
        )];
        config.sandbox.read_only.push(self.mirror_data_dir.clone());
        config.sandbox.writable.push(self.marks.clone());
        runner(config)
    }

    /// Where the planted provider ran so far (its working dirs), forgetting them.
    fn take_marks(&self) -> String {
        let file = self.marks.join("planted-provider-ran");
        let marks = std::fs::read_to_string(&file).unwrap_or_default();
        let _ = std::fs::remove_file(&file);
        marks
    }
}

/// The filesystem mirror the test CLI configuration names.
fn mirror_of(cli_config: &Path) -> PathBuf {
    let text = std::fs::read_to_string(cli_config).unwrap();
    let path = text
        .lines()
        .find_map(|line| {
            let (key, value) = line.split_once('=')?;
            (key.trim() == "path").then(|| value.trim().trim_matches('"').to_owned())
        })
        .expect("the CLI config names the mirror's path");
    PathBuf::from(path)
}

/// A source tree with the module and the deployment's var file.
fn module_tree(root: &Path, deployment: &str) {
    let module = root.join("terraform");
    let vars = module.join("deployments").join(deployment);
    std::fs::create_dir_all(&vars).unwrap();
    std::fs::write(module.join("main.tf"), MAIN_TF).unwrap();
    std::fs::write(
        vars.join("terraform.tfvars"),
        format!("deployment_name = \"{deployment}\"\n"),
    )
    .unwrap();
}

/// The planted "provider": marks where it runs, then runs the genuine one.
fn planted_provider(operator: &Operator) -> Vec<u8> {
    format!(
        "#!/bin/sh\necho \"$PWD\" >> '{}'\nexec '{}' \"$@\"\n",
        operator.marks.join("planted-provider-ran").display(),
        operator.genuine.display()
    )
    .into_bytes()
}

async fn plan(runner: &Runner, spec: &PlanSpec) {
    let report = runner.plan(spec).await.unwrap();
    assert_eq!(
        report.outcome,
        PlanOutcome::Changes,
        "{}\n{}",
        report.summary,
        report.output.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_planted_in_a_pull_requests_terraform_d_is_never_started() {
    let scratch = Scratch::new();
    let operator = Operator::new(&scratch);
    let runner = operator.runner(&scratch);

    // The pull request: the module, and a google 6.50.0 of its own beside it.
    let pr = scratch.dir.path().join("pr");
    module_tree(&pr, "alpha");
    let zip = pr.join("terraform").join(PLANTED_ZIP);
    std::fs::create_dir_all(zip.parent().unwrap()).unwrap();
    std::fs::write(&zip, stored_zip(EXECUTABLE, &planted_provider(&operator))).unwrap();
    let pr_spec = scratch.spec(Source::Tarball(tarball_of(&pr, "org-repo-abc123")), "alpha");
    plan(&runner, &pr_spec).await;
    let in_planting_run = operator.take_marks();

    // A later run of other code (no terraform.d at all), e.g. the default branch's.
    let main = scratch.dir.path().join("main");
    module_tree(&main, "beta");
    plan(&runner, &scratch.spec(Source::Directory(main), "beta")).await;
    let in_later_run = operator.take_marks();

    assert_eq!(
        in_later_run, "",
        "a later run started the provider binary the pull request planted in the plugin cache"
    );
    assert_eq!(
        in_planting_run, "",
        "the planting run installed the provider from the pull request's terraform.d/plugins"
    );
    // What the cache holds for google 6.50.0 is the operator's package.
    let cache = runner.config().plugin_cache_dir.join(PACKAGE);
    assert_eq!(
        std::fs::read(cache.join(EXECUTABLE)).unwrap(),
        std::fs::read(&operator.genuine).unwrap(),
        "the plugin cache holds another google 6.50.0 than the operator's ({})",
        cache.display()
    );
    assert_eq!(scratch.leftover_work_dirs(), Vec::<String>::new());
}

/// A CLI configuration Terraform cannot read would leave it with the implied mirrors (the
/// module's terraform.d/plugins among them): no run starts, and the message says why.
#[tokio::test]
async fn an_unreadable_cli_configuration_stops_runs_before_init() {
    let scratch = Scratch::new();
    let broken = scratch.dir.path().join("terraformrc");
    std::fs::write(
        &broken,
        "credentials \"app.terraform.io\" {\n  token = \"x\"\n",
    )
    .unwrap();
    let (terraform, _) = terraform_1_15();
    let mut config = scratch.config(terraform);
    config.env = vec![("TF_CLI_CONFIG_FILE".into(), broken.display().to_string())];
    let runner = runner(config);

    let main = scratch.dir.path().join("main");
    module_tree(&main, "alpha");
    let err = runner
        .plan(&scratch.spec(Source::Directory(main), "alpha"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RunnerError::InvalidConfig { setting, .. } if *setting == "TF_CLI_CONFIG_FILE"),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("Error parsing"), "{message}");
    assert!(
        std::fs::read_dir(&runner.config().plugin_cache_dir)
            .unwrap()
            .all(|entry| entry.unwrap().file_name() != "registry.terraform.io"),
        "nothing was installed"
    );
}

/// A zip archive holding one executable file, stored (not compressed): the packed layout of
/// a provider mirror.
fn stored_zip(name: &str, body: &[u8]) -> Vec<u8> {
    let mut crc = flate2::Crc::new();
    crc.update(body);
    let (crc, size, name_len) = (crc.sum(), body.len() as u32, name.len() as u16);
    // Version 2.0, no flags, stored, 1980-01-01 00:00, then CRC and sizes.
    let common = |out: &mut Vec<u8>| {
        for half in [20u16, 0, 0, 0, 0x21] {
            out.extend(half.to_le_bytes());
        }
        for word in [crc, size, size] {
            out.extend(word.to_le_bytes());
        }
    };
    let mut zip = 0x0403_4b50u32.to_le_bytes().to_vec();
    common(&mut zip);
    zip.extend(name_len.to_le_bytes());
    zip.extend(0u16.to_le_bytes());
    zip.extend(name.as_bytes());
    zip.extend(body);

    let central_at = zip.len() as u32;
    zip.extend(0x0201_4b50u32.to_le_bytes());
    // Made by Unix (3) so that the external attributes hold the file mode: 0755.
    zip.extend(0x031eu16.to_le_bytes());
    common(&mut zip);
    for half in [name_len, 0, 0, 0, 0] {
        zip.extend(half.to_le_bytes());
    }
    zip.extend((0o100_755u32 << 16).to_le_bytes());
    zip.extend(0u32.to_le_bytes());
    zip.extend(name.as_bytes());
    let central_len = zip.len() as u32 - central_at;

    zip.extend(0x0605_4b50u32.to_le_bytes());
    for half in [0u16, 0, 1, 1] {
        zip.extend(half.to_le_bytes());
    }
    zip.extend(central_len.to_le_bytes());
    zip.extend(central_at.to_le_bytes());
    zip.extend(0u16.to_le_bytes());
    zip
}
