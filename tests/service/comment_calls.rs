//! What updating the bot's comments costs in GitHub API calls, counted in the fake
//! GitHub's request log on a realistic flow: an issue planned into a pull request with
//! a long conversation, planned, re-planned on request and after a push, merged and
//! applied. The bot remembers the id of every comment it wrote, so an update is one
//! `PATCH`; it lists an issue's comments only to find one whose id it does not know.
//!
//! `cargo nextest run --test service -E 'test(/^comment_calls::/)' --no-capture` prints the figures.

use crate::{lifecycle, support};

use lifecycle::*;
use promptops_core::PrNumber;
use support::{IssueRef, REPO, repo_name};

/// Human comments already on the pull request: listing them takes three pages.
const CONVERSATION: usize = 250;

#[tokio::test(flavor = "multi_thread")]
async fn updating_a_comment_is_one_patch_however_long_the_conversation() {
    let mut t = Lifecycle::start().await;
    let github = t.service.github.clone();
    let number = github.add_issue(REPO, "alice", "GPUs", "one T4 VM in us-central1");
    let issue = IssueRef {
        number,
        title: "GPUs".to_owned(),
        body: "one T4 VM in us-central1".to_owned(),
        is_pull_request: false,
    };
    let start = github.requests().len();

    t.command(&issue, "/promptops plan").await;
    let pr = github
        .prs()
        .last()
        .expect("a pull request was opened")
        .number;
    for n in 0..CONVERSATION {
        github.add_comment(REPO, pr, "rita", &format!("comment {n}"));
    }
    t.deliver(pr, "opened").await;
    let on_pr = IssueRef {
        number: pr,
        title: "PR".to_owned(),
        body: String::new(),
        is_pull_request: true,
    };
    t.command(&on_pr, "/promptops plan").await;
    let branch = github.pr(REPO, pr).unwrap().head_ref;
    let deployment = t
        .service
        .store
        .request_for_pr(&repo_name(), PrNumber::new(pr))
        .await
        .unwrap()
        .unwrap()
        .deployment;
    github.set_file(
        REPO,
        &branch,
        &tfvars_path(&deployment),
        tfvars(&deployment, 2, "us-central1-a"),
    );
    t.deliver(pr, "synchronize").await;
    github.merge_pr(REPO, pr);
    t.deliver(pr, "closed").await;

    let log = &github.requests()[start..];
    let lists = log
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/comments"))
        .count();
    let patches = log
        .iter()
        .filter(|r| r.method == "PATCH" && r.path.contains("/issues/comments/"))
        .count();
    eprintln!(
        "comment calls for plan → PR with {CONVERSATION} comments → plan → /promptops plan → push → merge → apply: {} requests in all, {lists} comment listings (pages), {patches} comment updates",
        log.len()
    );
    let plans = t.comments_with(pr, "Terraform plan for");
    assert_eq!(plans.len(), 1, "one plan comment, updated in place");
    assert!(plans[0].contains("Plan: 2 to add"), "{}", plans[0]);
    assert_eq!(t.comments_with(pr, "Terraform apply for").len(), 1);
    assert!(patches >= 2, "the plan comment was updated: {patches}");
    // Every listing is a first write of a key on the pull request (3 pages each) or on
    // the issue (1 page): plan, apply and the issue's reply. Updates list nothing.
    assert!(lists <= 3 * 3 + 2, "{lists} comment listings");

    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_comment_deleted_on_github_is_posted_again() {
    let mut t = Lifecycle::start().await;
    let github = t.service.github.clone();
    let pr = t
        .open_pr(
            "promptops/issue-1",
            "alpha",
            &tfvars("alpha", 1, "us-central1-a"),
            "alice",
        )
        .await;
    let plan = || {
        github
            .comments(REPO, pr)
            .into_iter()
            .filter(|c| c.body.contains("Terraform plan for `alpha`"))
            .map(|c| c.id)
            .collect::<Vec<_>>()
    };
    let first = plan();
    assert_eq!(first.len(), 1);
    github.delete_comment(first[0]);
    let on_pr = IssueRef {
        number: pr,
        title: "PR".to_owned(),
        body: String::new(),
        is_pull_request: true,
    };
    let patches = github.requests_to(
        "PATCH",
        &format!("/repos/{REPO}/issues/comments/{}", first[0]),
    );
    assert!(patches.is_empty());
    t.command(&on_pr, "/promptops plan").await;
    let again = plan();
    assert_eq!(again.len(), 1, "posted anew");
    assert_ne!(again[0], first[0]);
    let tried = github.requests_to(
        "PATCH",
        &format!("/repos/{REPO}/issues/comments/{}", first[0]),
    );
    assert_eq!(tried.len(), 1, "the remembered id was tried first");
    assert_eq!(tried[0].status, 404);
    t.service.stop().await;
}
