//! A drift issue is opened once even when GitHub creates it and its answer is lost: the
//! scheduled check's `POST /issues` is carried out by the fake and answered 502, and the
//! retry finds the issue (by its label and hidden marker, in the repository's open issues)
//! instead of opening a second one. A later check edits that same issue.

use crate::{drift, lifecycle, support};

use chrono::TimeDelta;
use lifecycle::{Lifecycle, tfvars};
use promptops_core::IssueNumber;
use support::{REPO, repo_name};

#[tokio::test(flavor = "multi_thread")]
async fn a_drift_issue_whose_creation_answer_is_lost_is_opened_once() {
    let (mut t, clock) = Lifecycle::start_on_manual_clock("drift:\n  every: 24h\n").await;
    let github = t.service.github.clone();
    let pr = t
        .open_pr(
            "feature/alpha",
            "alpha",
            &tfvars("alpha", 2, "us-central1-a"),
            "alice",
        )
        .await;
    github.merge_pr(REPO, pr);
    t.deliver(pr, "closed").await;
    drift::delete_an_instance_behind_promptops(&t.state_file("alpha"));

    let create_route = format!("/repos/{REPO}/issues");
    github.apply_then_fail("POST", &create_route, 502);
    clock.advance(TimeDelta::hours(24) + TimeDelta::minutes(1));
    assert_eq!(t.service.job_done().await.kind, "drift_check");
    assert_eq!(github.pending_faults(), 0, "the lost answer happened");
    let creates = github
        .requests_to("POST", &create_route)
        .into_iter()
        .filter(|r| r.path == create_route)
        .count();
    assert_eq!(
        creates, 1,
        "the retry found the issue instead of posting again"
    );
    let drift_issues = || {
        (1..=20)
            .filter_map(|n| github.issue(REPO, n))
            .filter(|issue| issue.title == "Drift in deployment alpha")
            .collect::<Vec<_>>()
    };
    let issues = drift_issues();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(issues[0].open);
    assert!(
        issues[0].labels.iter().any(|l| l == "promptops-drift"),
        "{:?}",
        issues[0].labels
    );
    let check = t
        .service
        .store
        .drift_check(&repo_name(), "alpha")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        check.issue,
        Some(IssueNumber::new(issues[0].number)),
        "the store knows it"
    );

    // The next check still finds drift: the same issue is edited, none is opened.
    clock.advance(TimeDelta::hours(24));
    assert_eq!(t.service.job_done().await.kind, "drift_check");
    assert_eq!(drift_issues().len(), 1);
    t.service.stop().await;
}
