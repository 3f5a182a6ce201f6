//! Terraform alone, the same steps the bot runs for a plan and for an apply, on the same
//! module and variables, in a fresh directory with a fresh state each time (as each of the
//! bot's runs starts from a fresh checkout): the time the bot's overhead is measured
//! against (`bot_latency`, and the runner's `sandbox_bench`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The module the benchmarks plan: `tests/fixtures/terraform/main.tf` of the repository
/// (the shape of the root module, `terraform_data` only, no provider download).
pub fn fixture_module() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/terraform/main.tf")
}

/// A variables file for [`fixture_module`] with `vm_count` VMs.
pub fn fixture_tfvars(deployment: &str, vm_count: u32) -> String {
    format!(
        "deployment_name   = \"{deployment}\"\nvm_count          = {vm_count}\ngpu_type          = \"nvidia-tesla-t4\"\ngpu_count         = 1\nmachine_type      = \"n1-standard-4\"\nzone              = \"us-central1-a\"\nboot_disk_size_gb = 100\n"
    )
}

/// Which of the bot's sequences to run.
#[derive(Debug, Clone, Copy)]
pub enum Sequence {
    /// init → plan -out → show -json (a PR's plan).
    Plan,
    /// init → plan -out → show -json → apply the plan → output -json (a merge's apply).
    Apply,
}

/// A root module as the bare runs lay it out, and what Terraform's environment holds for
/// it beyond the automation settings (a CLI config naming a provider mirror, credentials).
#[derive(Debug, Clone, Default)]
pub struct Module {
    /// Files under the module's directory: (path relative to it, content).
    pub files: Vec<(PathBuf, Vec<u8>)>,
    pub env: Vec<(String, String)>,
}

impl Module {
    /// [`fixture_module`] as `main.tf`, no environment.
    pub fn fixture() -> anyhow::Result<Module> {
        Ok(Module {
            files: vec![(PathBuf::from("main.tf"), std::fs::read(fixture_module())?)],
            env: Vec::new(),
        })
    }
}

/// Runs `sequence` on [`fixture_module`] for `deployment` with `tfvars`; returns its wall
/// time.
pub fn run(
    terraform: &Path,
    sequence: Sequence,
    deployment: &str,
    tfvars: &str,
) -> anyhow::Result<Duration> {
    run_module(terraform, &Module::fixture()?, sequence, deployment, tfvars)
}

/// Runs `sequence` on `module` for `deployment` with `tfvars`; returns its wall time.
pub fn run_module(
    terraform: &Path,
    module_files: &Module,
    sequence: Sequence,
    deployment: &str,
    tfvars: &str,
) -> anyhow::Result<Duration> {
    let dir = tempfile::tempdir()?;
    let module = dir.path().join("src/terraform");
    let vars = module.join("deployments").join(deployment);
    std::fs::create_dir_all(&vars)?;
    std::fs::create_dir_all(dir.path().join("home"))?;
    for (path, content) in &module_files.files {
        let path = module.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, content)?;
    }
    std::fs::write(vars.join("terraform.tfvars"), tfvars)?;
    let state = dir.path().join(format!("{deployment}.tfstate"));
    let backend = format!("-backend-config=path={}", state.display());
    let var_file = format!("-var-file=deployments/{deployment}/terraform.tfvars");
    let mut steps: Vec<Vec<&str>> = vec![
        vec!["init", "-input=false", "-no-color", &backend],
        vec![
            "plan",
            "-input=false",
            "-no-color",
            "-detailed-exitcode",
            "-out=plan.bin",
            &var_file,
        ],
        vec!["show", "-json", "-no-color", "plan.bin"],
    ];
    if let Sequence::Apply = sequence {
        steps.push(vec!["apply", "-input=false", "-no-color", "plan.bin"]);
        steps.push(vec!["output", "-json", "-no-color"]);
    }
    let started = Instant::now();
    for args in &steps {
        let status = Command::new(terraform)
            .args(args)
            .current_dir(&module)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", dir.path().join("home"))
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1")
            .envs(module_files.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        // `plan -detailed-exitcode` exits 2 when there are changes.
        let ok = status.success() || (args[0] == "plan" && status.code() == Some(2));
        anyhow::ensure!(
            ok,
            "bare `terraform {}` failed ({status}) for {deployment}",
            args.join(" ")
        );
    }
    Ok(started.elapsed())
}

/// `n` plan sequences (init → plan → show), `parallelism` at a time, each for its own
/// deployment with `tfvars_for`'s variables; returns the wall time of all of them. On a
/// machine where one plan alone keeps more than one core busy, plans run side by side slow
/// each other down: this is what Terraform itself achieves at that parallelism.
pub fn run_many(
    terraform: &Path,
    n: usize,
    parallelism: usize,
    tfvars_for: &(dyn Fn(&str) -> String + Sync),
) -> anyhow::Result<Duration> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        let lanes: Vec<_> = (0..parallelism.max(1))
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<()> {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= n {
                            return Ok(());
                        }
                        let deployment = format!("bare-{i:02}");
                        run(
                            terraform,
                            Sequence::Plan,
                            &deployment,
                            &tfvars_for(&deployment),
                        )?;
                    }
                })
            })
            .collect();
        lanes.into_iter().try_for_each(|lane| {
            lane.join()
                .map_err(|_| anyhow::anyhow!("a bare Terraform lane panicked"))?
        })
    })?;
    Ok(started.elapsed())
}
