//! Drift detection, end to end with the real `terraform`: a deployment applied by merging
//! its pull request is checked read-only on the repository's schedule (a queued job; a
//! manual clock moves time) and on `/promptops drift`. Drift — here an instance removed from
//! the state behind PromptOps's back — opens one issue with the masked plan and what to do,
//! a later check that still finds it edits that same issue, and a check that finds none
//! closes it. Nothing is ever applied: the state stays as it was tampered with.

use crate::{lifecycle, support};

use std::sync::Arc;

use chrono::{SubsecRound, TimeDelta, Utc};
use lifecycle::{Lifecycle, PLANTED_SECRET, state_instances, tfvars};
use promptops_core::IssueNumber;
use promptops_core::clock::Clock;
use promptops_store::JobStatus;
use promptops_testkit::ManualClock;
use support::{IssueRef, Options, REPO, repo_name};

/// Removes the second instance of `terraform_data.vm` from the state file: a VM deleted by
/// hand.
pub(crate) fn delete_an_instance_behind_promptops(path: &std::path::Path) {
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let resources = state["resources"].as_array_mut().unwrap();
    let vm = resources
        .iter_mut()
        .find(|r| r["type"] == "terraform_data" && r["name"] == "vm")
        .expect("the vm resource in the state");
    vm["instances"].as_array_mut().unwrap().remove(1);
    std::fs::write(path, serde_json::to_string_pretty(&state).unwrap()).unwrap();
}

fn drift_issues(t: &Lifecycle) -> Vec<(u64, bool, String)> {
    (1..=40)
        .filter_map(|n| t.service.github.issue(REPO, n))
        .filter(|issue| issue.title == "Drift in deployment alpha")
        .map(|issue| (issue.number, issue.open, issue.body.unwrap_or_default()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_opens_one_issue_updates_it_in_place_and_closes_it_and_never_applies() {
    // Ahead of the system clock, which stamps the jobs deliveries queue: those are due at once.
    let clock = ManualClock::new(Utc::now().trunc_subsecs(0) + TimeDelta::hours(1));
    let mut t = Lifecycle::start_with(Options {
        clock: Some(Arc::new(clock.clone())),
        ..Options::default()
    })
    .await;
    t.set_settings("drift:\n  every: 24h\n");
    let github = t.service.github.clone();
    let request = github.add_issue(REPO, "alice", "GPUs", "2 T4 VMs in us-central1");
    let pr = t
        .open_request_pr(request, "alpha", &tfvars("alpha", 2, "us-central1-a"))
        .await;
    github.merge_pr(REPO, pr);
    t.deliver(pr, "closed").await;
    assert_eq!(state_instances(&t.state_file("alpha")), 2);

    // The apply started the schedule: one check queued a day from now.
    let queued = t
        .service
        .store
        .list_jobs(Some(JobStatus::Queued), 10)
        .await
        .unwrap();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].kind, "drift_check");
    assert_eq!(queued[0].run_after, clock.now() + TimeDelta::hours(24));

    // The first scheduled check finds nothing and opens nothing.
    clock.advance(TimeDelta::hours(24) + TimeDelta::minutes(1));
    assert_eq!(t.service.job_done().await.kind, "drift_check");
    let check = t
        .service
        .store
        .drift_check(&repo_name(), "alpha")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(check.result, "no_drift", "{check:?}");
    assert!(drift_issues(&t).is_empty());

    delete_an_instance_behind_promptops(&t.state_file("alpha"));
    let on_request = IssueRef {
        number: request,
        title: "GPUs".to_owned(),
        body: "2 T4 VMs in us-central1".to_owned(),
        is_pull_request: false,
    };
    t.service
        .command(&on_request, "alice", "/promptops drift")
        .await;
    let issues = drift_issues(&t);
    assert_eq!(issues.len(), 1, "{issues:?}");
    let (number, open, body) = &issues[0];
    assert!(open);
    assert!(body.contains("1 to add"), "{body}");
    // The plan's explanation: what re-applying would do, at the same cost.
    assert!(
        body.contains("**In short:** This plan creates 1 resource (`terraform_data.vm["),
        "{body}"
    );
    assert!(body.contains("/promptops destroy"), "what to do: {body}");
    assert!(!body.contains(PLANTED_SECRET), "the plan is masked: {body}");
    let said = t.comments_with(request, "Drift in `alpha`");
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].contains(&format!("#{number}")), "{}", said[0]);
    assert_eq!(
        state_instances(&t.state_file("alpha")),
        1,
        "a drift check applies nothing"
    );
    let metrics = t
        .service
        .http
        .get(t.service.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("promptops_drift_deployments{result=\"drift\"} 1"),
        "{metrics}"
    );
    let page = t
        .service
        .http
        .get(t.service.url("/dashboard/schedules"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<td>alpha</td>") && page.contains("class=\"drift-drift\""),
        "{page}"
    );

    // The next scheduled check still finds it: the same issue is edited, not a second one.
    clock.advance(TimeDelta::hours(24));
    assert_eq!(t.service.job_done().await.kind, "drift_check");
    let again = drift_issues(&t);
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0].0, *number);
    assert!(again[0].1);
    assert_eq!(state_instances(&t.state_file("alpha")), 1);

    // Someone re-applies by merging a change; the next check closes the issue.
    let fix = t
        .open_pr(
            "re-apply",
            "alpha",
            &tfvars("alpha", 2, "us-central1-a")
                .replace("boot_disk_size_gb = 100", "boot_disk_size_gb = 100 "),
            "alice",
        )
        .await;
    github.merge_pr(REPO, fix);
    t.deliver(fix, "closed").await;
    assert_eq!(state_instances(&t.state_file("alpha")), 2);
    t.service
        .command(&on_request, "alice", "/promptops drift")
        .await;
    let closed = drift_issues(&t);
    assert_eq!(closed.len(), 1);
    assert!(!closed[0].1, "closed when no drift is found: {closed:?}");
    assert_eq!(t.comments_with(*number, "found no drift").len(), 1);
    let check = t
        .service
        .store
        .drift_check(&repo_name(), "alpha")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(check.result, "no_drift");
    assert_eq!(check.issue, Some(IssueNumber::new(*number)));

    // Someone who may not plan may not run a drift check either.
    let before = t.service.github.comments(REPO, request).len();
    t.service
        .command(&on_request, "rita", "/promptops drift")
        .await;
    let after = t.service.github.comments(REPO, request);
    assert!(
        after.len() == before || after.last().unwrap().body.contains("permission"),
        "{after:?}"
    );
    t.service.stop().await;
}

/// A drift check whose source has grown past the runner's limit says so where drift is
/// reported, naming the setting, and records the check as an error.
#[tokio::test(flavor = "multi_thread")]
async fn a_drift_check_of_a_source_over_the_limit_says_so() {
    let (mut config, scratch) = Lifecycle::runner_config(lifecycle::real_terraform());
    config.source_limits.max_archive_bytes = 64 * 1024;
    let module =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/terraform/main.tf");
    let mut t = Lifecycle::start_configured(config, scratch, &module).await;
    t.set_settings("drift:\n  every: 24h\n");
    let github = t.service.github.clone();
    let request = github.add_issue(REPO, "alice", "GPUs", "2 T4 VMs in us-central1");
    let pr = t
        .open_request_pr(request, "alpha", &tfvars("alpha", 2, "us-central1-a"))
        .await;
    github.merge_pr(REPO, pr);
    t.deliver(pr, "closed").await;
    assert_eq!(state_instances(&t.state_file("alpha")), 2);

    github.set_file(
        REPO,
        "main",
        "assets/noise.bin",
        lifecycle::incompressible(128 * 1024),
    );
    let on_request = IssueRef {
        number: request,
        title: "GPUs".to_owned(),
        body: "2 T4 VMs in us-central1".to_owned(),
        is_pull_request: false,
    };
    t.service
        .command(&on_request, "alice", "/promptops drift")
        .await;
    let said = t.comments_with(request, "Drift check of `alpha` did not run");
    assert_eq!(said.len(), 1, "{:?}", github.comments(REPO, request));
    assert!(said[0].contains("PROMPTOPS_MAX_SOURCE_MIB"), "{}", said[0]);
    let check = t
        .service
        .store
        .drift_check(&repo_name(), "alpha")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(check.result, "error", "{check:?}");
    assert_eq!(
        state_instances(&t.state_file("alpha")),
        2,
        "nothing applied"
    );
    t.service.stop().await;
}
