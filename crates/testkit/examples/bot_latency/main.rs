//! The bot's end-to-end latency and its many-deployments throughput, measured on the real
//! `promptops serve` binary against the stateful fake GitHub (in this process, so at zero
//! network latency), real Terraform on the service tests' fixture module, and the offline
//! planner. `bench/latency/run.sh` builds and runs it; see `bench/latency/README.md`.
//!
//!   bot_latency latency [RUNS]            (default 20)
//!   bot_latency parallel [DEPLOYMENTS]    (default 20; BENCH_ROUNDS rounds, default 5)
//!
//! Environment: PROMPTOPS_BIN (the binary to measure, required), TERRAFORM_BIN (default
//! `terraform` on PATH), PROMPTOPS_WORKERS (passed to the bot), BENCH_TERRAFORM_READ_PATHS
//! (colon-separated paths Terraform reads inside the sandbox, for a launcher),
//! BENCH_GITHUB_RTT_MS (a round trip added to every GitHub request; the targets are
//! judged at zero only), BENCH_MODULE (`fixture`, the default, or `chain`: the
//! repository's own `terraform/` with the stand-in providers, see `chain.rs`; plans only).

mod chain;
mod latency;
mod parallel;
mod report;
mod waits;
mod world;

use std::path::PathBuf;

use promptops_testkit::bare_terraform::Module;
use world::{Settings, World};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count = |default: usize| -> anyhow::Result<usize> {
        args.get(1).map_or(Ok(default), |n| {
            n.parse()
                .map_err(|_| anyhow::anyhow!("the count must be a whole number, not {n:?}"))
        })
    };
    let settings = settings()?;
    match args.first().map(String::as_str) {
        Some("latency") => {
            let runs = count(20)?;
            let world = World::start(&settings).await?;
            let mut samples = Vec::with_capacity(runs);
            for run in 0..runs {
                let sample = match latency::run_once(&world, &settings).await {
                    Ok(sample) => sample,
                    Err(err) => {
                        eprintln!(
                            "run {} failed; the bot's log ends:\n{}",
                            run + 1,
                            world.serve_log_tail(40)
                        );
                        if let Err(kept) = world.keep_log() {
                            eprintln!("could not keep the bot's log: {kept:#}");
                        }
                        return Err(err);
                    }
                };
                eprintln!("run {:>2}/{runs}: {sample:?}", run + 1);
                samples.push(sample);
            }
            world.stop()?;
            report::latency(&settings, &samples)
        }
        Some("parallel") => {
            anyhow::ensure!(
                settings.chain.is_none(),
                "the parallel mode plans the fixture module only: unset BENCH_MODULE"
            );
            let deployments = count(20)?;
            let world = World::start(&settings).await?;
            let parallelism = report::parallelism(&settings);
            let plan = parallel::Plan {
                deployments,
                rounds: rounds()?,
                solo_runs: 3,
                parallelism,
            };
            let bursts = parallel::run(&world, &settings.terraform, &plan).await?;
            world.stop()?;
            report::parallel(&settings, &bursts)
        }
        _ => {
            anyhow::bail!("usage: bot_latency latency [RUNS] | bot_latency parallel [DEPLOYMENTS]")
        }
    }
}

/// How many rounds the parallel mode measures (`BENCH_ROUNDS`, default 5).
fn rounds() -> anyhow::Result<usize> {
    match std::env::var("BENCH_ROUNDS") {
        Err(_) => Ok(5),
        Ok(value) => match value.parse() {
            Ok(n) if n > 0 => Ok(n),
            _ => anyhow::bail!("BENCH_ROUNDS must be a whole number above 0, not {value:?}"),
        },
    }
}

fn settings() -> anyhow::Result<Settings> {
    let promptops = std::env::var_os("PROMPTOPS_BIN").map(PathBuf::from).ok_or_else(|| {
        anyhow::anyhow!("set PROMPTOPS_BIN to the promptops binary to measure (bench/latency/run.sh builds the release one)")
    })?;
    anyhow::ensure!(
        promptops.is_file(),
        "PROMPTOPS_BIN={} does not exist",
        promptops.display()
    );
    let terraform = match std::env::var_os("TERRAFORM_BIN") {
        Some(path) => PathBuf::from(path),
        None => which("terraform").ok_or_else(|| {
            anyhow::anyhow!("terraform is not on PATH: install it or set TERRAFORM_BIN")
        })?,
    };
    let workers =
        match std::env::var("PROMPTOPS_WORKERS") {
            Ok(n) => Some(n.parse().map_err(|_| {
                anyhow::anyhow!("PROMPTOPS_WORKERS must be a whole number, not {n:?}")
            })?),
            Err(_) => None,
        };
    let github_round_trip = match std::env::var("BENCH_GITHUB_RTT_MS") {
        Ok(ms) => std::time::Duration::from_millis(ms.parse().map_err(|_| {
            anyhow::anyhow!(
                "BENCH_GITHUB_RTT_MS must be a whole number of milliseconds, not {ms:?}"
            )
        })?),
        Err(_) => std::time::Duration::ZERO,
    };
    let mut settings = Settings {
        github_round_trip,
        promptops,
        terraform,
        terraform_read_paths: std::env::var("BENCH_TERRAFORM_READ_PATHS")
            .unwrap_or_default()
            .split(':')
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .collect(),
        workers,
        module: Module::fixture()?,
        serve_env: Vec::new(),
        chain: None,
    };
    match std::env::var("BENCH_MODULE").as_deref() {
        Err(_) | Ok("fixture") => {}
        Ok("chain") => {
            let chain = chain::ChainStack::start()?;
            settings.terraform = chain.terraform.clone();
            settings.terraform_read_paths = chain.read_paths.clone();
            settings.module = chain.module()?;
            settings.serve_env = chain.serve_env();
            settings.chain = Some(chain);
        }
        Ok(other) => anyhow::bail!("BENCH_MODULE must be fixture or chain, not {other:?}"),
    }
    Ok(settings)
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    })
}
