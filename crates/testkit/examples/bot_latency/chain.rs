//! The real chain (`BENCH_MODULE=chain`): the repository's own `terraform/` planned by
//! Terraform 1.15.5 with the stand-in providers (google, vault, aap) against OpenBao and
//! the Compute and AAP stand-ins, set up as the service's chain test sets them up
//! (tests/service/chain_e2e.rs). Needs the environments of scripts/setup-terraform.sh and
//! scripts/setup-ansible.sh, and root (the Compute stand-in's machines are namespaces).

#[allow(dead_code)]
#[path = "../../../infra-contract/tests/support/openbao.rs"]
mod openbao;
#[allow(dead_code)]
#[path = "../../../infra-contract/tests/support/standin_cloud.rs"]
mod standin_cloud;
#[allow(dead_code)]
#[path = "../../../infra-contract/tests/support/tools.rs"]
mod tools;

use std::path::{Path, PathBuf};

use promptops_testkit::bare_terraform::Module;

/// What Terraform talks to on the chain; stopped when dropped.
pub struct ChainStack {
    bao: openbao::OpenBao,
    compute: standin_cloud::Compute,
    aap: standin_cloud::Aap,
    /// The Terraform 1.15.5 launcher.
    pub terraform: PathBuf,
    /// What the launcher and the stand-in providers read (the sandbox's read-only binds).
    pub read_paths: Vec<PathBuf>,
    cli_config: PathBuf,
    _scratch: tempfile::TempDir,
}

impl ChainStack {
    pub fn start() -> anyhow::Result<ChainStack> {
        let var = |name: &str| {
            std::env::var(name).map_err(|_| {
                anyhow::anyhow!(
                    "{name} is not set: BENCH_MODULE=chain needs `eval \"$(bash scripts/setup-terraform.sh)\"` and `eval \"$(bash scripts/setup-ansible.sh)\"` first"
                )
            })
        };
        let terraform = PathBuf::from(var("PROMPTOPS_TEST_TERRAFORM_1_15")?);
        let cli_config = PathBuf::from(var("PROMPTOPS_TEST_TERRAFORM_CLI_CONFIG")?);
        let read_paths = var("PROMPTOPS_TEST_TERRAFORM_READ_PATHS")?
            .split(':')
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .collect();
        let tools = tools::Tools::from_env();
        let scratch = tempfile::Builder::new()
            .prefix("promptops-bench-chain-")
            .tempdir()?;
        let bao = openbao::OpenBao::start();
        let (compute, aap) =
            standin_cloud::start_chain_cloud(&tools.python, &tools.ansible_bin, scratch.path());
        Ok(ChainStack {
            bao,
            compute,
            aap,
            terraform,
            read_paths,
            cli_config,
            _scratch: scratch,
        })
    }

    /// The root module's files (paths under `terraform/`) with a local backend and the
    /// installation's values (project, Vault and AAP addresses) as an auto-loaded file.
    pub fn module(&self) -> anyhow::Result<Module> {
        let mut files = Vec::new();
        files_under(
            &standin_cloud::repo_root().join("terraform"),
            Path::new(""),
            &mut files,
        )?;
        files.push((
            PathBuf::from("backend_override.tf"),
            b"terraform {\n  backend \"local\" {}\n}\n".to_vec(),
        ));
        files.push((
            PathBuf::from("environment.auto.tfvars"),
            format!(
                "project = \"promptops-bench\"\nvault_address = \"{}\"\naap_host = \"{}\"\naap_job_template_id = {}\nssh_source_ranges = [\"{h}/32\"]\napp_source_ranges = [\"{h}/32\"]\n",
                self.bao.addr,
                self.aap.url(),
                standin_cloud::JOB_TEMPLATE_ID,
                h = standin_cloud::HOST_ADDRESS,
            )
            .into_bytes(),
        ));
        Ok(Module {
            files,
            env: self.terraform_env(),
        })
    }

    /// What Terraform's environment holds on the chain: the provider mirror, the Compute
    /// endpoint and the credentials.
    fn terraform_env(&self) -> Vec<(String, String)> {
        [
            ("TF_CLI_CONFIG_FILE", self.cli_config.display().to_string()),
            ("GOOGLE_COMPUTE_CUSTOM_ENDPOINT", self.compute.endpoint()),
            ("VAULT_ADDR", self.bao.addr.clone()),
            ("VAULT_TOKEN", self.bao.token.clone()),
            ("AAP_HOSTNAME", self.aap.url()),
            ("AAP_TOKEN", self.aap.token.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// The service's environment for the chain: Terraform's, and which of it the runner
    /// passes on (the credentials it passes by itself).
    pub fn serve_env(&self) -> Vec<(String, String)> {
        let mut env = self.terraform_env();
        env.extend([
            (
                "PROMPTOPS_TERRAFORM_ENV".to_owned(),
                "TF_CLI_CONFIG_FILE,GOOGLE_COMPUTE_CUSTOM_ENDPOINT".to_owned(),
            ),
            ("PROMPTOPS_AAP_URL".to_owned(), self.aap.url()),
            ("PROMPTOPS_AAP_TOKEN".to_owned(), self.aap.token.clone()),
        ]);
        env
    }
}

/// Every file under `dir` (but `.terraform`), as (path under `prefix`, content).
fn files_under(
    dir: &Path,
    prefix: &Path,
    files: &mut Vec<(PathBuf, Vec<u8>)>,
) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = prefix.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            if entry.file_name() != ".terraform" {
                files_under(&entry.path(), &name, files)?;
            }
        } else {
            files.push((name, std::fs::read(entry.path())?));
        }
    }
    Ok(())
}
