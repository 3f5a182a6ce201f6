//! `expiry: {auto_merge: true}`, end to end with the real `terraform`: at the expiry date
//! the bot opens the destroy pull request and merges it itself; GitHub's events for it
//! (opened, then closed as merged — delivered twice) destroy the deployment exactly once.

use crate::{lifecycle, support};
use promptops_store::RunKind;

use chrono::TimeDelta;
use lifecycle::{Lifecycle, PlannedRequest, state_instances};
use promptops_core::PrNumber;
use promptops_store::RunFilter;
use support::{REPO, repo_name};

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_deployment_is_destroyed_once_by_the_bots_own_merge() {
    let (mut t, clock) =
        Lifecycle::start_on_manual_clock("expiry:\n  max_lifetime: 7d\n  auto_merge: true\n").await;
    let github = t.service.github.clone();
    let issue = t.open_issue("A short demo", "1 T4 VM in us-central1 for 2 days");
    let number = issue.number;
    let PlannedRequest { deployment, pr } = t.plan_issue(&issue).await;
    t.open_merge_and_apply(pr).await;
    assert_eq!(state_instances(&t.state_file(&deployment)), 1);
    assert_eq!(
        t.comments_with(number, "and merges it (`expiry.auto_merge`)")
            .len(),
        1
    );

    let kind = t
        .advance_and_run(&clock, TimeDelta::days(1) + TimeDelta::minutes(1))
        .await;
    assert_eq!(kind, "expiry_warning");
    let kind = t.advance_and_run(&clock, TimeDelta::days(1)).await;
    assert_eq!(kind, "expiry_due");
    let destroy = github
        .prs()
        .into_iter()
        .find(|p| p.head_ref == format!("promptops/destroy-{deployment}"))
        .expect("the destroy pull request was opened");
    assert!(
        destroy.merged && !destroy.open,
        "the bot merged it: {destroy:?}"
    );
    let said = t.comments_with(number, "and merged it (`expiry.auto_merge`)");
    assert_eq!(said.len(), 1, "{said:?}");

    // What GitHub sends for a pull request opened and merged at once; `closed` twice.
    t.deliver(destroy.number, "opened").await;
    t.deliver(destroy.number, "closed").await;
    t.deliver(destroy.number, "closed").await;
    let destroys = t
        .service
        .store
        .list_runs(&RunFilter {
            repo: Some(repo_name()),
            deployment: Some(deployment.clone()),
            ..RunFilter::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|run| run.kind == RunKind::Destroy)
        .collect::<Vec<_>>();
    assert_eq!(destroys.len(), 1, "destroyed once: {destroys:?}");
    assert_eq!(destroys[0].pr, Some(PrNumber::new(destroy.number)));
    assert_eq!(state_instances(&t.state_file(&deployment)), 0);
    let expiry = t
        .service
        .store
        .expiry(&repo_name(), &deployment)
        .await
        .unwrap();
    assert!(expiry.is_none(), "nothing is left to expire: {expiry:?}");
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_push_to_the_destroy_branch_after_the_bots_commit_keeps_it_from_merging() {
    let (mut t, clock) =
        Lifecycle::start_on_manual_clock("expiry:\n  max_lifetime: 7d\n  auto_merge: true\n").await;
    let github = t.service.github.clone();
    let issue = t.open_issue("A short demo", "1 T4 VM in us-central1 for 2 days");
    let number = issue.number;
    let PlannedRequest { deployment, pr } = t.plan_issue(&issue).await;
    t.open_merge_and_apply(pr).await;
    t.advance_and_run(&clock, TimeDelta::days(1) + TimeDelta::minutes(1))
        .await;

    // Someone with write access pushes to the destroy branch between PromptOps' commit
    // and its merge: the merge would take their commit in unreviewed.
    let branch = format!("promptops/destroy-{deployment}");
    let (pusher, pushed_to) = (github.clone(), branch.clone());
    let pushed = std::sync::Arc::new(std::sync::Mutex::new(None));
    let slot = std::sync::Arc::clone(&pushed);
    github.before_next("PUT", &format!("/repos/{REPO}/pulls/"), move || {
        let sha = pusher.commit_files_as(
            REPO,
            &pushed_to,
            &[("terraform/main.tf", Some(b"# more\n".as_slice()))],
            "One more thing",
            Some("mallory"),
        );
        *slot.lock().unwrap() = Some(sha);
    });
    let kind = t.advance_and_run(&clock, TimeDelta::days(1)).await;
    assert_eq!(kind, "expiry_due");
    assert_eq!(github.pending_hooks(), 0, "the merge was attempted");
    let destroy = github
        .prs()
        .into_iter()
        .find(|p| p.head_ref == branch)
        .expect("the destroy pull request was opened");
    assert!(destroy.open && !destroy.merged, "{destroy:?}");
    let pushed = pushed.lock().unwrap().clone().expect("the push happened");
    assert_eq!(destroy.head_sha, pushed);
    let said = t.comments_with(
        number,
        "did not merge it: its branch has commits PromptOps did not make",
    );
    assert_eq!(said.len(), 1, "{:?}", github.comments(REPO, number));
    assert!(t.comments_with(number, "and merged it").is_empty());
    assert_eq!(
        state_instances(&t.state_file(&deployment)),
        1,
        "nothing destroyed"
    );
    t.service.stop().await;
}
