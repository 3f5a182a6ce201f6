//! Merge queues, end to end with the real `terraform`: two pull requests, each planned (and
//! locking its deployment) on its own head, are queued together; the `merge_group` event
//! (`checks_requested`) gets a concluded `promptops/plan` check on the group's head commit,
//! so a required check never stalls the queue. When the queue merges the group, each pull
//! request's `closed` event applies its own deployment once — a redelivery applies nothing
//! again. A group whose variables are not what was planned (a push after the plan, a policy
//! tightened since) fails the check with the reason, and `destroyed` queues nothing.

use crate::{lifecycle, support};
use promptops_store::RunKind;

use lifecycle::{Lifecycle, state_instances, tfvars, tfvars_path};
use promptops_testkit::{CheckRun, MergeGroup};
use serde_json::{Value, json};
use support::exposition::{present, scrape};
use support::{INSTALLATION, REPO, fixture, repo_name};

/// The `merge_group` delivery GitHub sends for `group` (full refs, the head commit).
fn group_payload(group: &MergeGroup, action: &str) -> Value {
    let repository = fixture("pull_request.opened")["repository"].clone();
    json!({
        "action": action,
        "merge_group": {
            "head_sha": group.head_sha,
            "head_ref": group.head_ref,
            "base_sha": group.base_sha,
            "base_ref": group.base_ref,
            "head_commit": {
                "id": group.head_sha,
                "tree_id": group.head_sha,
                "message": "Merge group",
                "timestamp": "2026-12-02T06:00:00Z",
                "author": { "name": "GitHub", "email": "noreply@github.com" },
                "committer": { "name": "GitHub", "email": "noreply@github.com" }
            }
        },
        "repository": repository,
        "sender": { "login": "alice", "type": "User" },
        "installation": { "id": INSTALLATION }
    })
}

/// A pull request by alice on `branch` giving `deployment` `vm_count` VMs, opened and its
/// `opened` event handled (planned, unless another pull request holds the lock).
async fn open_planned(t: &mut Lifecycle, branch: &str, deployment: &str, vm_count: i64) -> u64 {
    let vars = tfvars(deployment, vm_count, "us-central1-a");
    t.open_pr(branch, deployment, &vars, "alice").await
}

/// Queues `prs` together into main and has the group checked; asserts the check concluded
/// `conclusion` and returns the group and the check.
async fn queue_concluding(
    t: &mut Lifecycle,
    prs: &[u64],
    conclusion: &str,
) -> (MergeGroup, CheckRun) {
    let group = t.service.github.create_merge_group(REPO, "main", prs);
    let check = check_group(t, &group).await;
    assert_eq!(check.conclusion.as_deref(), Some(conclusion), "{check:?}");
    (group, check)
}

async fn check_group(t: &mut Lifecycle, group: &MergeGroup) -> CheckRun {
    let response = t
        .service
        .deliver("merge_group", &group_payload(group, "checks_requested"))
        .await;
    assert_eq!(response.status(), 202);
    assert_eq!(t.service.job_done().await.kind, "merge_group_check");
    let on_head: Vec<_> = t
        .checks("promptops/plan")
        .into_iter()
        .filter(|check| check.head_sha == group.head_sha)
        .collect();
    assert_eq!(
        on_head.len(),
        1,
        "one check on the group's head: {on_head:?}"
    );
    let check = on_head[0].clone();
    assert_eq!(check.status, "completed", "{check:?}");
    check
}

async fn applies_of(t: &Lifecycle, deployment: &str) -> usize {
    t.service
        .store
        .list_runs(&promptops_store::RunFilter {
            repo: Some(repo_name()),
            deployment: Some(deployment.to_owned()),
            ..promptops_store::RunFilter::default()
        })
        .await
        .unwrap()
        .iter()
        .filter(|run| run.kind == RunKind::Apply)
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_of_two_planned_prs_passes_and_each_deployment_is_applied_once() {
    let mut t = Lifecycle::start().await;
    let github = t.service.github.clone();
    let alpha = open_planned(&mut t, "feature/alpha", "alpha", 1).await;
    let beta = open_planned(&mut t, "feature/beta", "beta", 2).await;
    assert_eq!(t.lock_holder("alpha").await, Some(alpha));
    assert_eq!(t.lock_holder("beta").await, Some(beta));

    let (group, check) = queue_concluding(&mut t, &[alpha, beta], "success").await;
    let summary = check.summary.unwrap_or_default();
    assert!(
        summary.contains(&format!("planned on #{alpha}"))
            && summary.contains(&format!("planned on #{beta}")),
        "{summary}"
    );
    assert!(
        check.actions.is_empty(),
        "no buttons on a group: a click has no pull request to answer on"
    );
    let samples = scrape(&t.service).await;
    let passed = present(
        &samples,
        "promptops_merge_group_checks_total",
        &[("conclusion", "success")],
    );
    assert_eq!(passed, 1.0);

    // The queue merges the group: main moves to its head, each PR is merged by its commit.
    github.merge_merge_group(REPO, &group);
    assert_eq!(
        github.branch_head(REPO, "main").as_deref(),
        Some(group.head_sha.as_str())
    );
    t.deliver(alpha, "closed").await;
    t.deliver(beta, "closed").await;
    // GitHub may deliver an event twice: nothing is applied again.
    t.deliver(alpha, "closed").await;
    assert_eq!(applies_of(&t, "alpha").await, 1);
    assert_eq!(applies_of(&t, "beta").await, 1);
    let alpha_runs: Vec<String> = t
        .runs(alpha)
        .await
        .into_iter()
        .filter(|run| run.kind == RunKind::Apply)
        .map(|run| run.deployment)
        .collect();
    assert_eq!(alpha_runs, ["alpha"], "each PR applies its own deployment");
    assert_eq!(state_instances(&t.state_file("alpha")), 1);
    assert_eq!(state_instances(&t.state_file("beta")), 2);
    assert_eq!(t.lock_holder("alpha").await, None);
    assert_eq!(t.lock_holder("beta").await, None);
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_not_matching_its_plans_fails_with_the_reason_and_destroyed_is_ignored() {
    let mut t = Lifecycle::start().await;
    let github = t.service.github.clone();
    let alpha = open_planned(&mut t, "feature/alpha", "alpha", 2).await;

    // Pushed after the plan, and its event not handled yet: the group carries an unplanned file.
    let pushed = github.set_file(
        REPO,
        "feature/alpha",
        &tfvars_path("alpha"),
        tfvars("alpha", 3, "us-central1-a"),
    );
    let (group, check) = queue_concluding(&mut t, &[alpha], "failure").await;
    let summary = check.summary.unwrap_or_default();
    assert!(
        summary.contains(&format!("is not the one planned on #{alpha}")),
        "{summary}"
    );
    let dropped = t
        .service
        .deliver("merge_group", &group_payload(&group, "destroyed"))
        .await;
    assert_eq!(dropped.status(), 202);

    // Planned again at the new head, but the repository's policy now allows fewer VMs:
    // the group is held to the same rules as a pull request's plan.
    t.deliver(alpha, "synchronize").await;
    assert!(
        t.runs(alpha)
            .await
            .iter()
            .any(|run| run.kind == RunKind::Plan
                && run.sha.as_ref().is_some_and(|sha| *sha == pushed))
    );
    t.set_settings("policy:\n  max_vms: 2\n");
    let (_, check) = queue_concluding(&mut t, &[alpha], "failure").await;
    let summary = check.summary.unwrap_or_default();
    assert!(summary.contains("breaks 1 of the rules"), "{summary}");

    // With the policy back, the same PR passes: the check is the plan, not a guess.
    t.set_settings("");
    queue_concluding(&mut t, &[alpha], "success").await;
    let samples = scrape(&t.service).await;
    let failed = present(
        &samples,
        "promptops_merge_group_checks_total",
        &[("conclusion", "failure")],
    );
    assert_eq!(failed, 2.0);
    let jobs = t.service.store.list_jobs(None, 100).await.unwrap();
    let group_jobs = jobs
        .iter()
        .filter(|job| job.kind == "merge_group_check")
        .count();
    assert_eq!(group_jobs, 3, "`destroyed` queues nothing: {jobs:?}");
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_carrying_one_deployment_twice_fails_the_lock_holder_keeps_it() {
    let mut t = Lifecycle::start().await;
    let first = open_planned(&mut t, "feature/alpha-1", "alpha", 1).await;
    // The second change to the same deployment is not planned: the first holds the lock,
    // so its own `promptops/plan` fails and a queue requiring it would not take it.
    let second = open_planned(&mut t, "feature/alpha-2", "alpha", 2).await;
    assert_eq!(t.lock_holder("alpha").await, Some(first));
    assert_eq!(t.comments_with(second, "is locked by").len(), 1);

    // Queued together anyway (a queue without the required check): the group fails.
    let (_, check) = queue_concluding(&mut t, &[first, second], "failure").await;
    let summary = check.summary.unwrap_or_default();
    assert!(
        summary.contains(&format!("is not the one planned on #{first}")),
        "{summary}"
    );
    t.service.stop().await;
}
