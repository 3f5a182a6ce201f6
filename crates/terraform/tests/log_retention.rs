//! Run log retention: the logs of a deployment's newest runs are kept, older runs' logs and
//! logs past the age limit are deleted, other deployments' recent logs are left alone.
//! Ages come from file modification times set by the test and an injected "now".

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use common::{Scratch, runner, standin};
use promptops_terraform::{
    LogRetention, PlanOutcome, PlanSpec, Runner, RunnerConfig, RunnerError, Source, prune_run_logs,
};

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// A fixed "now" so that ages do not depend on when the test runs.
fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// Writes `name` in `dir`, last modified `age` before [`now`].
fn log_file(dir: &Path, name: &str, age: Duration) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("output of {name}\n")).unwrap();
    File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(now() - age)
        .unwrap();
    path
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn only_the_newest_runs_of_the_deployment_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path();
    // Four runs of `web`, newest first: r4 (1 h), r3 (2 h, plan + apply + output), r2, r1.
    log_file(logs, "web.plan-rrrrr4-plan.log", HOUR);
    log_file(
        logs,
        "web.apply-rrrrr3-plan.log",
        2 * HOUR + Duration::from_secs(20),
    );
    log_file(
        logs,
        "web.apply-rrrrr3-apply.log",
        2 * HOUR + Duration::from_secs(10),
    );
    log_file(logs, "web.apply-rrrrr3-output.log", 2 * HOUR);
    log_file(logs, "web.destroy-plan-rrrrr2-destroy-plan.log", 3 * HOUR);
    log_file(logs, "web.invoke-rrrrr1-invoke.log", 4 * HOUR);
    // Old runs of other deployments, one whose name starts like `web`'s.
    log_file(logs, "web-db.plan-ooooo1-plan.log", 5 * HOUR);
    log_file(logs, "db.plan-ooooo2-plan.log", 6 * HOUR);
    // Not a log.
    log_file(logs, "notes.txt", 10 * DAY);

    let retention = LogRetention {
        keep_runs_per_deployment: 2,
        max_age: None,
    };
    let pruned = prune_run_logs(logs, "web", &retention, now()).unwrap();
    assert!(pruned.failed.is_empty(), "{:?}", pruned.failed);
    assert_eq!(
        pruned.removed,
        vec![
            logs.join("web.destroy-plan-rrrrr2-destroy-plan.log"),
            logs.join("web.invoke-rrrrr1-invoke.log"),
        ]
    );
    assert_eq!(
        names_in(logs),
        vec![
            "db.plan-ooooo2-plan.log",
            "notes.txt",
            "web-db.plan-ooooo1-plan.log",
            "web.apply-rrrrr3-apply.log",
            "web.apply-rrrrr3-output.log",
            "web.apply-rrrrr3-plan.log",
            "web.plan-rrrrr4-plan.log",
        ]
    );

    // A second pass has nothing left to do.
    let again = prune_run_logs(logs, "web", &retention, now()).unwrap();
    assert!(again.removed.is_empty(), "{:?}", again.removed);
}

#[test]
fn logs_past_the_age_limit_go_whatever_their_deployment() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path();
    log_file(logs, "web.plan-aaaaa1-plan.log", DAY);
    log_file(logs, "web.plan-aaaaa0-plan.log", 8 * DAY);
    log_file(
        logs,
        "db.apply-bbbbb1-apply.log",
        7 * DAY + Duration::from_secs(1),
    );
    log_file(
        logs,
        "db.apply-bbbbb2-apply.log",
        7 * DAY - Duration::from_secs(1),
    );
    // Written before logs were named by deployment: only the age limit applies.
    log_file(logs, "web-plan-cccccc-plan.log", 9 * DAY);
    log_file(logs, "web-plan-dddddd-plan.log", HOUR);
    // Not a log, however old.
    log_file(logs, "README.txt", 90 * DAY);

    let retention = LogRetention {
        keep_runs_per_deployment: 100,
        max_age: Some(7 * DAY),
    };
    let pruned = prune_run_logs(logs, "web", &retention, now()).unwrap();
    assert_eq!(
        pruned.removed,
        vec![
            logs.join("db.apply-bbbbb1-apply.log"),
            logs.join("web-plan-cccccc-plan.log"),
            logs.join("web.plan-aaaaa0-plan.log"),
        ]
    );
    assert_eq!(
        names_in(logs),
        vec![
            "README.txt",
            "db.apply-bbbbb2-apply.log",
            "web-plan-dddddd-plan.log",
            "web.plan-aaaaa1-plan.log",
        ]
    );
}

#[test]
fn a_missing_log_dir_is_an_error_for_the_caller_to_log() {
    let dir = tempfile::tempdir().unwrap();
    let err = prune_run_logs(
        &dir.path().join("gone"),
        "web",
        &LogRetention::default(),
        now(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
}

#[test]
fn retention_settings_that_would_delete_the_current_run_are_refused() {
    let scratch = Scratch::new();
    let mut config: RunnerConfig = scratch.config(standin("slow-plan.sh"));
    config.log_retention.keep_runs_per_deployment = 0;
    let err = Runner::new(config).unwrap_err();
    assert!(
        matches!(
            err,
            RunnerError::InvalidConfig {
                setting: "log_retention.keep_runs_per_deployment",
                ..
            }
        ),
        "{err}"
    );
    let mut config = scratch.config(standin("slow-plan.sh"));
    config.log_retention.max_age = Some(Duration::ZERO);
    let err = Runner::new(config).unwrap_err();
    assert!(err.to_string().contains("max_age"), "{err}");
}

#[tokio::test]
async fn each_run_prunes_its_deployments_old_logs() {
    let scratch = Scratch::new();
    let repo = scratch.dir.path().join("repo-min");
    for name in ["alpha", "beta"] {
        let dir = repo.join("terraform/deployments").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("terraform.tfvars"), "deployment_name = \"x\"\n").unwrap();
    }
    std::fs::write(repo.join("terraform/main.tf"), "# stand-in module\n").unwrap();
    let mut config = scratch.config(standin("slow-plan.sh"));
    config.env = vec![("SLOW_PLAN_SECONDS".into(), "0".into())];
    config.log_retention = LogRetention {
        keep_runs_per_deployment: 2,
        max_age: Some(30 * DAY),
    };
    let logs = config.log_dir.clone();
    let runner = runner(config);
    let plan = |name: &str| {
        let spec: PlanSpec = scratch.spec(Source::Directory(repo.clone()), name);
        let runner = runner.clone();
        async move { runner.plan(&spec).await.unwrap() }
    };

    let first = plan("alpha").await;
    assert_eq!(
        first.outcome,
        PlanOutcome::Changes,
        "{}",
        first.output.text()
    );
    assert!(first.output.log_path.is_file());
    // Make the first run's log, and an old log of another deployment, look old.
    let aged = |path: &Path, age: Duration| {
        File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(SystemTime::now() - age)
            .unwrap();
    };
    aged(&first.output.log_path, 2 * HOUR);
    let beta_recent = logs.join("beta.plan-bbbbbb-plan.log");
    std::fs::write(&beta_recent, "beta\n").unwrap();
    aged(&beta_recent, 3 * HOUR);
    let beta_ancient = logs.join("beta.plan-aaaaaa-plan.log");
    std::fs::write(&beta_ancient, "beta\n").unwrap();
    aged(&beta_ancient, 31 * DAY);

    let second = plan("alpha").await;
    aged(&second.output.log_path, HOUR);
    // Both alpha runs fit in the two kept; the ancient beta log is past 30 days.
    assert!(first.output.log_path.is_file());
    assert!(!beta_ancient.exists());
    let third = plan("alpha").await;

    // The third run pushed the first (the oldest) out; the other two and beta's are kept.
    assert!(!first.output.log_path.exists());
    assert!(second.output.log_path.is_file());
    assert!(third.output.log_path.is_file());
    assert!(beta_recent.is_file());
    let alpha_logs: Vec<String> = names_in(&logs)
        .into_iter()
        .filter(|n| n.starts_with("alpha."))
        .collect();
    assert_eq!(alpha_logs.len(), 2, "{alpha_logs:?}");
    let third_name = third.output.log_path.file_name().unwrap().to_string_lossy();
    assert!(third_name.starts_with("alpha.plan-"), "{third_name}");
    assert!(third_name.ends_with("-plan.log"), "{third_name}");
}
