//! Deployments that expire, end to end: a request that says "for 2 days" is planned by the
//! offline planner into a pull request that says when it expires; merging applies it with
//! the real `terraform`; the date is set and two queued jobs wait for it. A manual clock
//! (the workers claim jobs by it) moves time: a day before, the issue is warned; `/promptops
//! extend 3d` moves the date (within `expiry.max_lifetime`), so the job queued for the old
//! date does nothing; at the new date the destroy pull request is opened and left for review.

use crate::{lifecycle, support};

use chrono::TimeDelta;
use lifecycle::{Lifecycle, PlannedRequest};
use promptops_core::PrNumber;
use promptops_core::clock::Clock;
use promptops_store::JobStatus;
use support::{REPO, repo_name};

async fn get(t: &Lifecycle, path: &str) -> String {
    let response = t
        .service
        .http
        .get(t.service.url(path))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

fn open_prs(t: &Lifecycle) -> Vec<promptops_testkit::PullRequest> {
    t.service
        .github
        .prs()
        .into_iter()
        .filter(|pr| pr.open)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_two_day_deployment_is_warned_extended_and_then_offered_for_destruction() {
    let (mut t, clock) = Lifecycle::start_on_manual_clock("expiry:\n  max_lifetime: 7d\n").await;
    let github = t.service.github.clone();
    let issue = t.open_issue("GPUs for the demo", "2 T4 VMs in us-central1 for 2 days");
    let number = issue.number;

    let PlannedRequest { deployment, pr } = t.plan_issue(&issue).await;
    let pr_body = github.pr(REPO, pr).unwrap().body.unwrap_or_default();
    assert!(
        pr_body.contains("| Expires | for 2d after the apply"),
        "{pr_body}"
    );
    assert!(pr_body.contains("at most 1w"), "{pr_body}");

    // The manual clock stands still while the pull request is merged and applied.
    let applied_at = clock.now();
    t.open_merge_and_apply(pr).await;
    let expiry = t
        .service
        .store
        .expiry(&repo_name(), &deployment)
        .await
        .unwrap()
        .expect("the expiry is recorded");
    let first_date = expiry.expires_at.expect("the apply set the date");
    assert_eq!(first_date, applied_at + TimeDelta::days(2));
    let told = t.comments_with(number, "expires on");
    assert_eq!(told.len(), 1, "{told:?}");
    let page = get(&t, "/dashboard/schedules").await;
    assert!(
        page.contains(&format!("<td>{deployment}</td>")) && page.contains("scheduled"),
        "{page}"
    );
    let metrics = get(&t, "/metrics").await;
    assert!(
        metrics.contains("promptops_expiring_deployments{state=\"scheduled\"} 1"),
        "{metrics}"
    );

    // Nothing is due yet: the jobs wait in the queue.
    let waiting = t
        .service
        .store
        .list_jobs(Some(JobStatus::Queued), 10)
        .await
        .unwrap();
    let kinds: Vec<&str> = waiting.iter().map(|job| job.kind.as_str()).collect();
    assert_eq!(kinds, ["expiry_warning", "expiry_due"], "{waiting:?}");

    let kind = t
        .advance_and_run(&clock, TimeDelta::days(1) + TimeDelta::minutes(1))
        .await;
    assert_eq!(kind, "expiry_warning");
    let warned = t.comments_with(number, "in about a day");
    assert_eq!(warned.len(), 1, "{warned:?}");

    // Too long for the repository's maximum: refused, the date stays.
    t.service
        .command(&issue, "alice", "/promptops extend 1w")
        .await;
    assert_eq!(t.comments_with(number, "Not extended").len(), 1);
    // Not a lifetime: the reply says what is.
    t.service
        .command(&issue, "alice", "/promptops extend later")
        .await;
    assert_eq!(t.comments_with(number, "e.g. 36h, 3d or 1w").len(), 1);
    // Someone who may not plan may not extend either.
    t.service
        .command(&issue, "rita", "/promptops extend 3d")
        .await;
    let unchanged = t
        .service
        .store
        .expiry(&repo_name(), &deployment)
        .await
        .unwrap();
    assert_eq!(unchanged.unwrap().expires_at, Some(first_date));

    t.service
        .command(&issue, "alice", "/promptops extend 3d")
        .await;
    let new_date = first_date + TimeDelta::days(3);
    let moved = t
        .service
        .store
        .expiry(&repo_name(), &deployment)
        .await
        .unwrap();
    assert_eq!(moved.unwrap().expires_at, Some(new_date));
    assert_eq!(t.comments_with(number, "Extended").len(), 1);

    // The job queued for the old date runs and does nothing.
    let kind = t.advance_and_run(&clock, TimeDelta::days(1)).await;
    assert_eq!(kind, "expiry_due");
    assert_eq!(open_prs(&t).len(), 0, "the old date destroys nothing");

    let kind = t.advance_and_run(&clock, TimeDelta::days(2)).await;
    assert_eq!(kind, "expiry_warning");
    assert_eq!(t.comments_with(number, "in about a day").len(), 2);

    let kind = t.advance_and_run(&clock, TimeDelta::days(1)).await;
    assert_eq!(kind, "expiry_due");
    let destroy = open_prs(&t);
    assert_eq!(destroy.len(), 1, "{destroy:?}");
    let destroy = &destroy[0];
    assert!(!destroy.merged, "the destroy PR waits for review");
    let destroy_body = destroy.body.clone().unwrap_or_default();
    assert!(destroy_body.contains("expired on"), "{destroy_body}");
    assert!(
        github
            .file(
                REPO,
                &destroy.head_ref,
                &lifecycle::tfvars_path(&deployment)
            )
            .is_none(),
        "the destroy PR removes the deployment's variables"
    );
    let said = t.comments_with(number, "expired on");
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].contains(&format!("#{}", destroy.number)),
        "{}",
        said[0]
    );
    let recorded = t
        .service
        .store
        .expiry(&repo_name(), &deployment)
        .await
        .unwrap();
    assert_eq!(
        recorded.unwrap().destroy_pr,
        Some(PrNumber::new(destroy.number))
    );
    let page = get(&t, "/dashboard/schedules").await;
    assert!(
        page.contains(&format!("destroy PR #{} opened", destroy.number)),
        "{page}"
    );
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lifetime_over_the_repository_maximum_opens_no_pull_request() {
    let mut t = Lifecycle::start().await;
    t.set_settings("expiry:\n  max_lifetime: 3d\n");
    let issue = t.open_issue("Long run", "1 T4 VM in us-central1 for 2 weeks");
    let number = issue.number;
    t.command(&issue, "/promptops plan").await;
    let refused = t.comments_with(number, "max_lifetime: 3d");
    assert_eq!(
        refused.len(),
        1,
        "{:?}",
        t.service.github.comments(REPO, number)
    );
    assert!(t.service.github.prs().is_empty());
    t.service.stop().await;
}
