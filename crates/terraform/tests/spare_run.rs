//! The spare run (`RunnerConfig::spare_run`): a work dir and its two sandboxes started
//! ahead, taken by the next run, replaced once that run is over, and gone with the runner.
//! Real Terraform in the real sandbox (bubblewrap with the step server).

mod common;

use std::time::Duration;

use common::{Scratch, processes_left_with_env, processes_with_env, real_terraform, runner};
use promptops_terraform::{PlanOutcome, Runner, RunnerConfig};

/// A runner that keeps a spare; its sandboxes' processes carry `marker` in their
/// environment (the runner passes its `env` to every sandbox).
fn spare_runner(scratch: &Scratch, marker: &str) -> Runner {
    let mut config: RunnerConfig = scratch.config(real_terraform());
    config.spare_run = true;
    config.env = vec![("SPARE_RUN_TEST_MARKER".into(), marker.to_owned())];
    runner(config)
}

fn marker_for(scratch: &Scratch) -> String {
    format!(
        "spare-{}-{}",
        std::process::id(),
        scratch.dir.path().file_name().unwrap().to_string_lossy()
    )
}

/// The spare dirs in the work root (`run-*`); run dirs are named after their deployment.
fn spare_dirs(scratch: &Scratch) -> Vec<String> {
    let mut dirs: Vec<String> = scratch
        .leftover_work_dirs()
        .into_iter()
        .filter(|name| name.starts_with("run-"))
        .collect();
    dirs.sort();
    dirs
}

/// The processes of one spare: two sandboxes, each bubblewrap (outside and, as PID 1, in
/// its namespace) with the step server.
const SPARE_PROCESSES: usize = 6;

/// A runner with its spare started: the spare's dir, and its processes once all are up.
async fn runner_with_spare(scratch: &Scratch, marker: &str) -> (Runner, String, Vec<String>) {
    let runner = spare_runner(scratch, marker);
    runner.start_spare();
    let dirs = spare_dirs(scratch);
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let mut up = processes_with_env(marker);
    for _ in 0..100 {
        if up.len() >= SPARE_PROCESSES {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        up = processes_with_env(marker);
    }
    assert_eq!(up.len(), SPARE_PROCESSES, "the spare's sandboxes: {up:?}");
    (runner, dirs[0].clone(), up)
}

#[tokio::test]
async fn a_spare_is_taken_by_the_next_run_replaced_after_it_and_gone_with_the_runner() {
    let scratch = Scratch::new();
    let marker = marker_for(&scratch);
    let (runner, first, _) = runner_with_spare(&scratch, &marker).await;
    runner.start_spare();
    assert_eq!(
        spare_dirs(&scratch),
        vec![first.clone()],
        "one spare at most"
    );

    let report = runner.plan(&scratch.dir_spec("alpha")).await.unwrap();
    assert_eq!(report.outcome, PlanOutcome::Changes, "{}", report.summary);
    // The run took the spare (its dir went with the run) and a new one was started.
    let second = spare_dirs(&scratch);
    assert_eq!(second.len(), 1, "{second:?}");
    assert_ne!(second[0], first, "the spare is used once");
    let others: Vec<String> = scratch
        .leftover_work_dirs()
        .into_iter()
        .filter(|name| !name.starts_with("run-"))
        .collect();
    assert_eq!(others, Vec::<String>::new(), "the run's own dir is gone");
    // The run's logs are named after its deployment and kind, with the spare's id.
    let id = first.trim_start_matches("run-");
    let log = scratch
        .work_root()
        .join("logs")
        .join(format!("alpha.plan-{id}-plan.log"));
    assert!(log.is_file(), "{} is missing", log.display());

    drop(runner);
    assert_eq!(spare_dirs(&scratch), Vec::<String>::new());
    assert_eq!(
        processes_left_with_env(&marker).await,
        Vec::<String>::new(),
        "the spare's sandboxes outlived the runner"
    );
}

#[tokio::test]
async fn a_spare_whose_sandboxes_ended_is_replaced_not_used() {
    let scratch = Scratch::new();
    let marker = marker_for(&scratch);
    let (runner, dead, up) = runner_with_spare(&scratch, &marker).await;
    // Something (an operator, the OOM killer) ends the spare's sandboxes.
    for pid in &up {
        let pid = rustix::process::Pid::from_raw(pid.parse().unwrap()).unwrap();
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
    assert_eq!(processes_left_with_env(&marker).await, Vec::<String>::new());

    let report = runner.plan(&scratch.dir_spec("alpha")).await.unwrap();
    assert_eq!(report.outcome, PlanOutcome::Changes, "{}", report.summary);
    // Had the run taken the dead spare, it would have failed to start its steps.
    let now = spare_dirs(&scratch);
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(now[0], dead, "the dead spare was dropped with its dir");
}

#[tokio::test]
async fn a_runner_without_the_setting_keeps_no_spare() {
    let scratch = Scratch::new();
    let runner = runner(scratch.config(real_terraform()));
    runner.start_spare();
    let report = runner.plan(&scratch.dir_spec("alpha")).await.unwrap();
    assert_eq!(report.outcome, PlanOutcome::Changes, "{}", report.summary);
    assert_eq!(scratch.leftover_work_dirs(), Vec::<String>::new());
}
