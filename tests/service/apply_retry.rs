//! `/promptops apply` on a merged pull request retries its merge commit, but never one
//! that a later apply or destroy of the deployment has moved past: that would undo
//! reviewed work without a review.

use crate::lifecycle;
use crate::support;

use lifecycle::recording::on_pr;
use lifecycle::*;
use promptops_store::{RunKind, RunStatus};
use support::REPO;

/// Opens a pull request setting `deployment` to `vms` VMs from branch `branch`, merges it
/// and delivers the events; returns its number.
async fn merged(t: &mut Lifecycle, branch: &str, deployment: &str, vms: i64) -> u64 {
    let github = t.service.github.clone();
    github.set_file(
        REPO,
        branch,
        &tfvars_path(deployment),
        tfvars(deployment, vms, "us-central1-a"),
    );
    let pr = github.open_pr(REPO, branch, "main", deployment, "", "alice");
    t.deliver(pr, "opened").await;
    github.merge_pr(REPO, pr);
    t.deliver(pr, "closed").await;
    pr
}

#[tokio::test(flavor = "multi_thread")]
async fn an_old_merge_is_not_applied_again_over_a_later_one() {
    let mut t = Lifecycle::start().await;
    let first = merged(&mut t, "rho-one", "rho", 1).await;
    assert_eq!(state_instances(&t.state_file("rho")), 1);
    let second = merged(&mut t, "rho-two", "rho", 2).await;
    assert_eq!(state_instances(&t.state_file("rho")), 2);

    t.command(&on_pr(first), "/promptops apply").await;
    let refused = t.comments_with(first, "Not applied");
    assert_eq!(
        refused.len(),
        1,
        "{:?}",
        t.service.github.comments(REPO, first)
    );
    assert!(
        refused[0].contains("`rho` has since been applied from commit")
            && refused[0].contains(&format!("(#{second})"))
            && refused[0].contains("Nothing was run"),
        "{}",
        refused[0]
    );
    assert_eq!(
        state_instances(&t.state_file("rho")),
        2,
        "the later apply stands"
    );
    let first_applies = t
        .runs(first)
        .await
        .into_iter()
        .filter(|run| run.kind == RunKind::Apply)
        .count();
    assert_eq!(first_applies, 1, "no second apply of the old merge was run");

    // The latest merge may be retried: it contains everything applied so far.
    t.command(&on_pr(second), "/promptops apply").await;
    assert!(t.comments_with(second, "Not applied").is_empty());
    let statuses: Vec<RunStatus> = t
        .runs(second)
        .await
        .into_iter()
        .filter(|run| run.kind == RunKind::Apply)
        .map(|run| run.status)
        .collect();
    assert_eq!(statuses, vec![RunStatus::Succeeded, RunStatus::Succeeded]);
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_merge_while_the_settings_are_broken_is_announced_and_applied_once_they_are_fixed() {
    let mut t = Lifecycle::start().await;
    let github = t.service.github.clone();
    github.set_file(
        REPO,
        "sigma",
        &tfvars_path("sigma"),
        tfvars("sigma", 1, "us-central1-a"),
    );
    let pr = github.open_pr(REPO, "sigma", "main", "sigma", "", "alice");
    t.deliver(pr, "opened").await;
    assert_eq!(t.lock_holder("sigma").await, Some(pr));
    // The settings break between the plan and the merge.
    t.set_settings("policy:\n  max_vms: 0\n");
    github.merge_pr(REPO, pr);
    t.deliver(pr, "closed").await;
    let told = t.comments_with(pr, "Merged, but nothing was applied");
    assert_eq!(told.len(), 1, "{:?}", github.comments(REPO, pr));
    assert!(
        told[0].contains("policy.max_vms") && told[0].contains("`/promptops apply`"),
        "{}",
        told[0]
    );
    assert!(!t.state_file("sigma").exists());

    t.set_settings("");
    t.command(&on_pr(pr), "/promptops apply").await;
    assert_eq!(state_instances(&t.state_file("sigma")), 1);
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn closing_unmerged_releases_the_locks_even_while_the_settings_are_broken() {
    let mut t = Lifecycle::start().await;
    let github = t.service.github.clone();
    github.set_file(
        REPO,
        "tau",
        &tfvars_path("tau"),
        tfvars("tau", 1, "us-central1-a"),
    );
    let pr = github.open_pr(REPO, "tau", "main", "tau", "", "alice");
    t.deliver(pr, "opened").await;
    assert_eq!(t.lock_holder("tau").await, Some(pr));
    t.set_settings("policy:\n  max_vm: 3\n");
    github.close_issue(REPO, pr);
    t.deliver(pr, "closed").await;
    assert_eq!(t.lock_holder("tau").await, None);
    t.service.stop().await;
}
