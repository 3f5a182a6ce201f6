//! What isolating Terraform costs a plan: the runner's `plan` (init → plan → show -json) on
//! the fixture module of the latency benchmark with real Terraform, in three sandbox
//! settings, next to the same three commands run bare (`bare_terraform` of the testkit, the
//! latency benchmark's baseline). The settings take turns round by round, so that a slow spell of
//! the machine hits them all alike; medians and 90th percentiles over `ROUNDS` (20).
//!
//! - bare: the three commands started directly, output discarded (no runner);
//! - runner, sandbox off: the runner without isolation (`PROMPTOPS_TERRAFORM_SANDBOX=off`);
//! - runner, one sandbox per command: bubblewrap for each of the three;
//! - runner, step server: `init` in a sandbox of its own, plan and show in one shared
//!   sandbox through the step server (what the service does).
//!
//! Run: `cargo bench -p promptops-terraform --bench sandbox_bench` (needs bubblewrap and
//! terraform; `TERRAFORM_BIN` picks the binary, default /usr/local/bin/terraform;
//! `ROUNDS=n`; `RUST_LOG=promptops_terraform=debug` logs each run's steps with their times).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use promptops_terraform::{PlanOutcome, PlanSpec, Runner, RunnerConfig, SandboxConfig, Source};
use promptops_testkit::bare_terraform::{self, Sequence};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Setting {
    Bare,
    Off,
    PerCommand,
    StepServer,
}

impl Setting {
    const ALL: [Setting; 4] = [
        Setting::Bare,
        Setting::Off,
        Setting::PerCommand,
        Setting::StepServer,
    ];

    fn name(self) -> &'static str {
        match self {
            Setting::Bare => "terraform alone (bare)",
            Setting::Off => "runner, sandbox off",
            Setting::PerCommand => "runner, one sandbox per command",
            Setting::StepServer => "runner, step server (init + one shared)",
        }
    }
}

/// A repository with the fixture module and `alpha`'s variables, as the runner reads it.
fn fixture_repo(dir: &Path, tfvars: &str) -> PathBuf {
    let repo = dir.join("repo");
    let vars = repo.join("terraform/deployments/alpha");
    std::fs::create_dir_all(&vars).unwrap();
    std::fs::copy(
        bare_terraform::fixture_module(),
        repo.join("terraform/main.tf"),
    )
    .unwrap();
    std::fs::write(vars.join("terraform.tfvars"), tfvars).unwrap();
    repo
}

fn terraform() -> PathBuf {
    let bin = std::env::var_os("TERRAFORM_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/local/bin/terraform"));
    assert!(bin.is_file(), "terraform not found at {}", bin.display());
    bin
}

fn runner(setting: Setting, work: &Path, state: &Path) -> Runner {
    let mut config = RunnerConfig::new(work.join(format!("{}", setting as u8)));
    config.terraform_bin = terraform();
    config.sandbox = match setting {
        Setting::Off => SandboxConfig::off(),
        _ => SandboxConfig::default(),
    };
    config.sandbox.writable.push(state.to_path_buf());
    if setting == Setting::StepServer {
        config.sandbox.step_server = Some(PathBuf::from(env!(
            "CARGO_BIN_EXE_promptops-terraform-steps"
        )));
    }
    Runner::new(config).expect("runner settings")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    // RUST_LOG=promptops_terraform=debug shows where each run's time goes.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let tfvars = bare_terraform::fixture_tfvars("alpha", 2);
    let repo = fixture_repo(dir.path(), &tfvars);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let runners: Vec<Option<Runner>> = Setting::ALL
        .iter()
        .map(|&s| (s != Setting::Bare).then(|| runner(s, dir.path(), &state)))
        .collect();
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); Setting::ALL.len()];
    // One warm-up round (page cache, the runner's version check), not counted.
    for round in 0..=rounds {
        for (i, setting) in Setting::ALL.iter().enumerate() {
            let took = match &runners[i] {
                None => bare_terraform::run(&terraform(), Sequence::Plan, "alpha", &tfvars)
                    .expect("bare terraform plans"),
                Some(runner) => runtime.block_on(async {
                    let mut spec = PlanSpec::new(Source::Directory(repo.clone()), "alpha");
                    let path = state.join(format!("{}.tfstate", *setting as u8));
                    spec.backend_config = vec![("path".into(), path.display().to_string())];
                    let started = Instant::now();
                    let report = runner.plan(&spec).await.expect("the plan runs");
                    assert_eq!(report.outcome, PlanOutcome::Changes, "{}", report.summary);
                    started.elapsed()
                }),
            };
            if round > 0 {
                times[i].push(took);
            }
        }
    }
    println!(
        "== a plan (init, plan, show -json) of tests/fixtures/terraform, {rounds} rounds, settings taking turns"
    );
    // Each round ran every setting back to back: the difference to the same round's bare
    // run is what the setting adds, with most of the machine's drift taken out.
    println!("| setting | median | p90 | fastest | added to bare, median of rounds |");
    println!("|---|---|---|---|---|");
    for (i, setting) in Setting::ALL.iter().enumerate() {
        let mut sorted = times[i].clone();
        sorted.sort();
        let mut added: Vec<f64> = times[i]
            .iter()
            .zip(&times[0])
            .map(|(took, bare)| ms(*took) - ms(*bare))
            .collect();
        added.sort_by(f64::total_cmp);
        println!(
            "| {} | {:.1} ms | {:.1} ms | {:.1} ms | {:+.1} ms |",
            setting.name(),
            ms(percentile(&sorted, 0.5)),
            ms(percentile(&sorted, 0.9)),
            ms(sorted[0]),
            added[added.len() / 2]
        );
    }
}
