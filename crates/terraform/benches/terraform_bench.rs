//! Benchmarks: rendering comments for a 10 MB plan output (time, peak memory), and wall
//! time for 20 deployments planned at once against a stand-in whose plan sleeps 1 s.
//!
//! Run: `cargo bench -p promptops-terraform --bench terraform_bench`
//! (`-- render` or `-- plans` to run one of them).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use promptops_terraform::capture::{OutputCapture, OutputLimits, RunOutput};
use promptops_terraform::comment::markdown::check_balance;
use promptops_terraform::comment::{CommentOptions, render_plan_comments};
use promptops_terraform::{
    ChangeAction, ChangeCounts, Masker, PlanOutcome, PlanReport, PlanSpec, ResourceChange, Runner,
    RunnerConfig, Source, TerraformVersion,
};

/// Peak resident set size of this process so far (kB), from /proc/self/status.
fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Plan-shaped text: one resource block per VM, until `bytes` are written.
fn plan_lines(mut emit: impl FnMut(&str), bytes: usize) -> usize {
    let mut written = 0;
    let mut i = 0;
    while written < bytes {
        let block = format!(
            "  # terraform_data.vm[{i}] will be created\n  + resource \"terraform_data\" \"vm\" {{\n      + id     = (known after apply)\n      + input  = {{\n          + name         = \"bench-{i}\"\n          + machine_type = \"n1-standard-4\"\n        }}\n      + output = (known after apply)\n    }}\n\n"
        );
        written += block.len();
        emit(&block);
        i += 1;
    }
    emit(&format!("Plan: {i} to add, 0 to change, 0 to destroy.\n"));
    i
}

fn report_with(output: RunOutput, resources: usize) -> PlanReport {
    let changes: Vec<ResourceChange> = (0..resources)
        .map(|i| ResourceChange {
            address: format!("terraform_data.vm[{i}]"),
            action: ChangeAction::Create,
        })
        .collect();
    PlanReport {
        deployment: "bench".into(),
        commit: Some("0123456789abcdef".into()),
        terraform_version: TerraformVersion::new(1, 11, 4),
        destroy: false,
        outcome: PlanOutcome::Changes,
        summary: format!("Plan: {resources} to add, 0 to change, 0 to destroy."),
        counts: ChangeCounts::from_changes(&changes),
        changes,
        actions: Vec::new(),
        failure: None,
        findings: Default::default(),
        output,
    }
}

fn check(comments: &[String]) {
    for comment in comments {
        assert!(comment.chars().count() < 65_536);
        check_balance(comment).expect("balanced");
    }
}

fn bench_render(dir: &Path) {
    const SIZE: usize = 10 * 1024 * 1024;
    println!(
        "== rendering comments for a {} MB plan output",
        SIZE / (1024 * 1024)
    );
    println!("VmHWM at start: {} kB", vm_hwm_kb());

    // As the runner does it: streamed through the masking capture to a log file, only a
    // bounded head/tail in memory.
    let started = Instant::now();
    let masker = Masker::new([secrecy::SecretString::from(
        "bench-secret-value".to_string(),
    )]);
    let mut capture =
        OutputCapture::create(&dir.join("render.log"), &masker, OutputLimits::default()).unwrap();
    let resources = plan_lines(|chunk| capture.push(chunk.as_bytes()).unwrap(), SIZE);
    let output = capture.finish().unwrap();
    let capture_time = started.elapsed();
    let report = report_with(output, resources);
    let started = Instant::now();
    let comments = render_plan_comments(&report, &CommentOptions::default());
    let render_time = started.elapsed();
    check(&comments);
    println!(
        "streamed capture: {} bytes, {} resources, capture+mask+log {:?}, render {:?}, {} comments ({} bytes), VmHWM {} kB",
        report.output.total_bytes,
        resources,
        capture_time,
        render_time,
        comments.len(),
        comments.iter().map(String::len).sum::<usize>(),
        vm_hwm_kb()
    );
    drop((report, comments));

    // Worst case for the renderer alone: all 10 MB held in memory.
    let mut text = String::with_capacity(SIZE + 4096);
    let resources = plan_lines(|chunk| text.push_str(chunk), SIZE);
    let output = RunOutput {
        log_path: PathBuf::new(),
        total_bytes: text.len() as u64,
        head: text,
        tail: String::new(),
        omitted_bytes: 0,
    };
    let report = report_with(output, resources);
    let mut best = Duration::MAX;
    let mut comments = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        comments = render_plan_comments(&report, &CommentOptions::default());
        best = best.min(started.elapsed());
    }
    check(&comments);
    println!(
        "whole 10 MB in memory: render best of 5 {:?}, {} comments, VmHWM {} kB",
        best,
        comments.len(),
        vm_hwm_kb()
    );
}

fn bench_plans(dir: &Path) {
    let standin = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bin/slow-plan.sh");
    let repo = dir.join("repo");
    let names: Vec<String> = (0..20).map(|i| format!("dep-{i}")).collect();
    std::fs::create_dir_all(repo.join("terraform")).unwrap();
    std::fs::write(repo.join("terraform/main.tf"), "# stand-in module\n").unwrap();
    for name in &names {
        let d = repo.join("terraform/deployments").join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("terraform.tfvars"), "vm_count = 1\n").unwrap();
    }
    let mut config = RunnerConfig::new(dir.join("work"));
    config.terraform_bin = standin;
    config.env = vec![("SLOW_PLAN_SECONDS".into(), "1".into())];
    let limit = config.max_concurrent_runs;
    let runner = Runner::new(config).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    runtime.block_on(async {
        let mut tasks = Vec::new();
        for name in &names {
            let runner = runner.clone();
            let spec = PlanSpec::new(Source::Directory(repo.clone()), name);
            tasks.push(tokio::spawn(async move { runner.plan(&spec).await }));
        }
        for task in tasks {
            let report = task.await.unwrap().unwrap();
            assert_eq!(report.outcome, PlanOutcome::Changes);
        }
    });
    let wall = started.elapsed();
    let ideal = names.len().div_ceil(limit);
    println!("== 20 deployments planned at once, stand-in plan sleeps 1 s");
    println!(
        "limit {limit} (default: CPU cores): wall {:.2} s, ideal ceil(20/{limit}) = {ideal} s, overhead {:.0} ms per round",
        wall.as_secs_f64(),
        (wall.as_secs_f64() - ideal as f64) * 1000.0 / ideal as f64
    );
}

fn main() {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wants = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let dir = tempfile::tempdir().unwrap();
    if wants("render") {
        bench_render(dir.path());
    }
    if wants("plans") {
        bench_plans(dir.path());
    }
}
