//! Runner behaviour that needs a scripted terraform stand-in: a hung terraform, a process
//! escaping the group, and the concurrency limits. (`apply -invoke` runs against real
//! Terraform 1.15.5 in actions.rs.)

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Scratch, pid_alive, processes_left_with_env, processes_with_env, runner, standin};
use promptops_terraform::comment::{CommentOptions, render_plan_comments};
use promptops_terraform::{
    FailureReason, PlanOutcome, PlanSpec, RunPurpose, SandboxConfig, Source,
};

/// A repo with an empty root module and a var file for each deployment.
fn minimal_repo(root: &Path, deployments: &[String]) {
    std::fs::create_dir_all(root.join("terraform")).unwrap();
    std::fs::write(root.join("terraform/main.tf"), "# stand-in module\n").unwrap();
    for name in deployments {
        let dir = root.join("terraform/deployments").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("terraform.tfvars"),
            format!("deployment_name = \"{name}\"\n"),
        )
        .unwrap();
    }
}

#[tokio::test]
async fn a_hung_terraform_is_killed_with_its_children_at_the_timeout() {
    let scratch = Scratch::new();
    let pid_file = scratch.dir.path().join("child.pid");
    let mut config = scratch.config(standin("hang.sh"));
    // Pids as this process sees them: outside a PID namespace (the sandboxed case is
    // `a_hung_sandboxed_terraform_leaves_no_process_behind`).
    config.sandbox = SandboxConfig::off();
    config.timeout = Duration::from_secs(2);
    config.kill_grace = Duration::from_millis(500);
    config.env = vec![("HANG_CHILD_PID_FILE".into(), pid_file.display().to_string())];
    let runner = runner(config);

    let report = runner.plan(&scratch.dir_spec("alpha")).await.unwrap();
    assert_eq!(report.outcome, PlanOutcome::Failed);
    let failure = report.failure.clone().unwrap();
    assert_eq!(failure.step, "init");
    assert_eq!(failure.reason, FailureReason::TimedOut { after_secs: 2 });
    assert_eq!(report.summary, "terraform init timed out after 2 s");
    assert!(report.output.contains("working on init"));
    assert!(report.output.contains("terraform init timed out after 2 s"));

    let child: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The child was SIGKILLed with its group; give init a moment to reap it.
    let mut alive = pid_alive(child);
    for _ in 0..50 {
        if !alive {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        alive = pid_alive(child);
    }
    assert!(
        !alive,
        "the hung terraform's child {child} survived the timeout"
    );
    assert_eq!(scratch.leftover_work_dirs(), Vec::<String>::new());

    let comment = &render_plan_comments(&report, &CommentOptions::default())[0];
    assert!(comment.contains("terraform init timed out after 2 s"));
}

#[tokio::test]
async fn a_hung_sandboxed_terraform_leaves_no_process_behind() {
    let scratch = Scratch::new();
    // The stand-in writes into its private /tmp; the unique path marks its processes.
    let marker = format!(
        "/tmp/hang-{}-{}.pid",
        std::process::id(),
        scratch.dir.path().file_name().unwrap().to_string_lossy()
    );
    let mut config = scratch.config(standin("hang.sh"));
    config.timeout = Duration::from_secs(2);
    config.kill_grace = Duration::from_millis(500);
    config.env = vec![("HANG_CHILD_PID_FILE".into(), marker.clone())];
    let runner = runner(config);
    let running = {
        let runner = runner.clone();
        let spec = scratch.dir_spec("alpha");
        tokio::spawn(async move { runner.plan(&spec).await })
    };
    let mut seen = Vec::new();
    for _ in 0..40 {
        seen = processes_with_env(&marker);
        if seen.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        seen.len() >= 2,
        "the stand-in and its child should run: {seen:?}"
    );
    let report = running.await.unwrap().unwrap();
    assert_eq!(
        report.failure.unwrap().reason,
        FailureReason::TimedOut { after_secs: 2 }
    );
    assert_eq!(
        processes_left_with_env(&marker).await,
        Vec::<String>::new(),
        "processes survived the timeout"
    );
    assert_eq!(scratch.leftover_work_dirs(), Vec::<String>::new());
}

#[tokio::test]
async fn runs_respect_the_global_limit_and_one_run_per_deployment() {
    let scratch = Scratch::new();
    let repo = scratch.dir.path().join("many");
    let names: Vec<String> = (0..6).map(|i| format!("dep-{i}")).collect();
    minimal_repo(&repo, &names);
    // In the state dir: the sandbox lets the stand-in write there.
    let log = scratch.dir.path().join("state/plans.log");
    let mut config = scratch.config(standin("slow-plan.sh"));
    config.max_concurrent_runs = 2;
    config.env = vec![
        ("SLOW_PLAN_LOG".into(), log.display().to_string()),
        ("SLOW_PLAN_SECONDS".into(), "0.3".into()),
    ];
    let runner = runner(config);
    let mut tasks = Vec::new();
    for round in 0..2 {
        for name in &names {
            let runner = runner.clone();
            let mut spec: PlanSpec = scratch.spec(Source::Directory(repo.clone()), name);
            spec.commit = Some(format!("round-{round}"));
            tasks.push(tokio::spawn(async move { runner.plan(&spec).await }));
        }
    }
    for task in tasks {
        let report = task.await.unwrap().unwrap();
        assert_eq!(
            report.outcome,
            PlanOutcome::Changes,
            "{}",
            report.output.text()
        );
    }
    let text = std::fs::read_to_string(&log).unwrap();
    let mut events: Vec<(u128, bool, String)> = text
        .lines()
        .map(|line| {
            let mut parts = line.splitn(3, ' ');
            let at: u128 = parts.next().unwrap().parse().unwrap();
            let start = parts.next().unwrap() == "start";
            let dir = parts.next().unwrap();
            let work = dir.split("/work/").nth(1).unwrap();
            let deployment = work.split("-plan-").next().unwrap().to_owned();
            (at, start, deployment)
        })
        .collect();
    assert_eq!(events.len(), 24);
    events.sort_by_key(|(at, start, _)| (*at, *start));
    let mut running: Vec<String> = Vec::new();
    let mut most = 0;
    for (_, start, deployment) in events {
        if start {
            assert!(
                !running.contains(&deployment),
                "two runs of {deployment} overlapped"
            );
            running.push(deployment);
            most = most.max(running.len());
        } else {
            let at = running.iter().position(|d| *d == deployment).unwrap();
            running.remove(at);
        }
    }
    assert!(most <= 2, "{most} plans ran at once with a limit of 2");
    assert_eq!(runner.active_deployments(), 0);
}

#[tokio::test]
async fn a_process_that_escapes_the_group_does_not_hold_the_run_open() {
    let scratch = Scratch::new();
    let pid_file = scratch.dir.path().join("escaped.pid");
    let mut config = scratch.config(standin("escape.sh"));
    // Only without the sandbox can a process outlive the run (in it, the PID namespace
    // ends with its first process).
    config.sandbox = SandboxConfig::off();
    config.kill_grace = Duration::from_millis(300);
    config.env = vec![("ESCAPE_PID_FILE".into(), pid_file.display().to_string())];
    let runner = runner(config);
    let report = runner.plan(&scratch.dir_spec("alpha")).await.unwrap();
    let escaped: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Clean up the escaped process ourselves (it is outside anything the runner owns).
    let _ = std::process::Command::new("kill")
        .arg(escaped.to_string())
        .status();
    assert_eq!(report.outcome, PlanOutcome::Failed);
    assert_eq!(report.failure.unwrap().reason, FailureReason::ExitCode(1));
    assert!(
        report.output.contains("init done"),
        "{}",
        report.output.text()
    );
    assert!(
        report
            .output
            .contains("[output cut: a process outside the run's process group kept it open]")
    );
    assert_eq!(scratch.leftover_work_dirs(), Vec::<String>::new());
}

#[tokio::test]
async fn a_rejected_tarball_leaves_no_work_dir_behind() {
    let scratch = Scratch::new();
    let runner = runner(scratch.config(standin("slow-plan.sh")));
    let spec = scratch.spec(
        Source::Tarball(bytes::Bytes::from_static(b"not a tarball")),
        "alpha",
    );
    let err = runner.plan(&spec).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("the source tarball was rejected: not a gzip tar archive"),
        "{err}"
    );
    assert_eq!(scratch.leftover_work_dirs(), Vec::<String>::new());
    assert_eq!(runner.active_deployments(), 0);

    let mut missing = scratch.dir_spec("beta");
    missing.var_file = "deployments/beta/terraform.tfvars".into();
    let err = runner.plan(&missing).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("the var file deployments/beta/terraform.tfvars does not exist"),
        "{err}"
    );
    assert_eq!(scratch.leftover_work_dirs(), Vec::<String>::new());
}

/// The PID namespace each command of a run ran in, as the ns-probe stand-in logged them.
fn namespaces(log: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(|line| {
            let (command, ns) = line.split_once(' ').unwrap();
            (command.to_owned(), ns.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn the_steps_after_init_share_one_sandbox_and_init_has_its_own() {
    let scratch = Scratch::new();
    // In the state dir: the one place outside the run the sandbox lets the stand-in write.
    let log = scratch.dir.path().join("state/ns.log");
    let mut config = scratch.config(standin("ns-probe.sh"));
    config.env = vec![("NS_LOG".into(), log.display().to_string())];
    let runner = runner(config);
    let report = runner.plan(&scratch.dir_spec("alpha")).await.unwrap();
    assert_eq!(
        report.outcome,
        PlanOutcome::Changes,
        "{}",
        report.output.text()
    );
    let first = namespaces(&log);
    let commands: Vec<&str> = first.iter().map(|(command, _)| command.as_str()).collect();
    assert_eq!(commands, ["init", "plan", "show"]);
    let own = format!(
        "{}",
        std::fs::read_link("/proc/self/ns/pid").unwrap().display()
    );
    assert!(
        first.iter().all(|(_, ns)| *ns != own),
        "{first:?} ran outside a sandbox"
    );
    assert_ne!(
        first[0].1, first[1].1,
        "init must not share the later steps' sandbox"
    );
    assert_eq!(
        first[1].1, first[2].1,
        "plan and show should share one sandbox"
    );
    assert!(report.output.contains("$ terraform plan"));
    assert!(report.output.contains("Plan: 1 to add"));

    // The next run gets sandboxes of its own.
    std::fs::remove_file(&log).unwrap();
    runner.plan(&scratch.dir_spec("alpha")).await.unwrap();
    let second = namespaces(&log);
    assert!(
        second
            .iter()
            .all(|(_, ns)| first.iter().all(|(_, old)| old != ns))
    );
    assert_eq!(scratch.leftover_work_dirs(), Vec::<String>::new());
}

#[tokio::test]
async fn a_hung_step_in_the_shared_sandbox_is_stopped_and_leaves_nothing_behind() {
    let scratch = Scratch::new();
    let marker = format!(
        "/tmp/hang-plan-{}-{}.pid",
        std::process::id(),
        scratch.dir.path().file_name().unwrap().to_string_lossy()
    );
    let mut config = scratch.config(standin("hang.sh"));
    config.timeout = Duration::from_secs(2);
    config.kill_grace = Duration::from_millis(500);
    config.env = vec![
        ("HANG_CHILD_PID_FILE".into(), marker.clone()),
        ("HANG_STEP".into(), "plan".into()),
    ];
    let runner = runner(config);
    let report = runner.plan(&scratch.dir_spec("alpha")).await.unwrap();
    assert_eq!(report.outcome, PlanOutcome::Failed);
    let failure = report.failure.clone().unwrap();
    assert_eq!(failure.step, "plan");
    assert_eq!(failure.reason, FailureReason::TimedOut { after_secs: 2 });
    assert!(
        report.output.contains("init done"),
        "{}",
        report.output.text()
    );
    assert!(report.output.contains("working on plan"));
    assert!(report.output.contains("terraform plan timed out after 2 s"));
    assert_eq!(
        processes_left_with_env(&marker).await,
        Vec::<String>::new(),
        "processes survived the timeout"
    );
    assert_eq!(scratch.leftover_work_dirs(), Vec::<String>::new());
}

#[tokio::test]
async fn a_step_server_that_cannot_start_is_named_in_the_report() {
    let scratch = Scratch::new();
    let mut config = scratch.config(standin("slow-plan.sh"));
    // A file that is not a program: the sandbox starts, the server in it cannot.
    let bogus = scratch.dir.path().join("not-a-server");
    std::fs::write(&bogus, "just text\n").unwrap();
    config.sandbox.step_server = Some(bogus);
    let runner = runner(config);
    let err = runner
        .plan(&scratch.dir_spec("alpha"))
        .await
        .expect_err("no step can run without its server");
    // The runner's first check of its sandbox names the server, not the namespaces.
    let text = err.to_string();
    assert!(text.contains("step server"), "{text}");
    assert!(text.contains("not-a-server"), "{text}");
    assert!(!text.contains("namespaces"), "{text}");
    assert_eq!(scratch.leftover_work_dirs(), Vec::<String>::new());
}

#[tokio::test]
async fn a_reservation_serves_only_its_own_deployment() {
    let scratch = Scratch::new();
    let runner = runner(scratch.config(standin("slow-plan.sh")));
    let reservation = runner.reserve("beta", RunPurpose::Plan).await.unwrap();
    let err = runner
        .plan_reserved(reservation, &scratch.dir_spec("alpha"))
        .await
        .expect_err("alpha's plan in beta's run");
    assert!(
        err.to_string().contains("the run was reserved for beta"),
        "{err}"
    );
    let bad = runner.reserve("Not A Name", RunPurpose::Plan).await;
    assert!(bad.is_err_and(|err| err.to_string().contains("^[a-z]")));
    // Both runs are given back: their work dirs are gone, and alpha plans now.
    assert_eq!(scratch.leftover_work_dirs(), Vec::<String>::new());
    let report = runner.plan(&scratch.dir_spec("alpha")).await.unwrap();
    assert_eq!(report.outcome, PlanOutcome::Changes);
}

#[tokio::test]
async fn a_plan_handed_back_early_keeps_its_work_dir_and_lock_until_its_end() {
    let scratch = Scratch::new();
    let runner = runner(scratch.config(standin("slow-plan.sh")));
    let reservation = runner.reserve("alpha", RunPurpose::Plan).await.unwrap();
    let (report, end) = runner
        .plan_reserved_then_end(reservation, &scratch.dir_spec("alpha"))
        .await;
    assert_eq!(report.unwrap().outcome, PlanOutcome::Changes);
    assert_eq!(
        scratch.leftover_work_dirs().len(),
        1,
        "the work dir waits for the run's end"
    );
    let next = tokio::time::timeout(
        Duration::from_millis(300),
        runner.reserve("alpha", RunPurpose::Plan),
    )
    .await;
    assert!(next.is_err(), "the deployment stays locked until the end");
    end.finish().await;
    assert_eq!(scratch.leftover_work_dirs(), Vec::<String>::new());
    let next = tokio::time::timeout(
        Duration::from_secs(5),
        runner.reserve("alpha", RunPurpose::Plan),
    )
    .await;
    assert!(next.is_ok_and(|reserved| reserved.is_ok()));
}
