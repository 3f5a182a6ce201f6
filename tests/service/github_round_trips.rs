//! What a plan and an apply cost in GitHub round trips, counted in the fake GitHub's
//! request log: against the real API each is tens of milliseconds the person waits for,
//! so a job reads what it needs once.

use crate::{lifecycle, support};

use lifecycle::*;
use support::REPO;

#[tokio::test(flavor = "multi_thread")]
async fn each_job_reads_the_default_branch_once_and_a_plan_lists_the_files_once_and_fetches_the_source_once()
 {
    let mut t = Lifecycle::start().await;
    let github = t.service.github.clone();
    let issue = t.open_issue("GPUs", "one T4 VM in us-central1");
    let pr = t.plan_issue(&issue).await.pr;

    let repo_reads = |from: usize| {
        github.requests()[from..]
            .iter()
            .filter(|r| r.method == "GET" && r.path == format!("/repos/{REPO}"))
            .count()
    };
    let file_lists = |from: usize| {
        github.requests()[from..]
            .iter()
            .filter(|r| r.method == "GET" && r.path.ends_with(&format!("/pulls/{pr}/files")))
            .count()
    };

    let tarballs = |from: usize| {
        github.requests()[from..]
            .iter()
            .filter(|r| r.method == "GET" && r.path.contains("/tarball/"))
            .count()
    };

    // The plan job reads the settings and the plan's "before" from the default branch.
    let start = github.requests().len();
    t.deliver(pr, "opened").await;
    let plans = t.comments_with(pr, "Terraform plan for");
    assert_eq!(plans.len(), 1, "the PR was planned");
    assert!(plans[0].contains("In short"), "{}", plans[0]);
    assert_eq!(
        repo_reads(start),
        1,
        "the plan job read the repository once"
    );
    assert_eq!(
        file_lists(start),
        1,
        "the plan job listed the PR's files once"
    );
    assert_eq!(
        tarballs(start),
        1,
        "the head's source, fetched while the gate decided, was not fetched again"
    );

    // The apply job reads the settings and the default branch's head from it.
    let start = github.requests().len();
    github.merge_pr(REPO, pr);
    t.deliver(pr, "closed").await;
    assert_eq!(t.comments_with(pr, "Terraform apply for").len(), 1);
    assert_eq!(
        repo_reads(start),
        1,
        "the apply job read the repository once"
    );
    assert_eq!(
        tarballs(start),
        1,
        "the apply job fetched the merge's source once"
    );

    t.service.stop().await;
}
