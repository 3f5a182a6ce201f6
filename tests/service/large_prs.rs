//! Pull requests larger than GitHub lists: GitHub lists at most 3,000 of a pull request's
//! files and 250 of its commits. A file it leaves out could be a deployment's variables
//! (removed: a destroy) and a commit it leaves out anyone's, so such a pull request is
//! neither planned nor applied on a partial list, and says why.

use crate::lifecycle;
use crate::support;

use lifecycle::{Lifecycle, tfvars, tfvars_path};
use promptops_github::client::{MAX_PR_COMMITS, MAX_PR_FILES};
use support::REPO;

#[tokio::test(flavor = "multi_thread")]
async fn a_pull_request_with_more_files_than_github_lists_is_neither_planned_nor_applied() {
    let mut t = Lifecycle::start().await;
    let github = t.service.github.clone();
    // The deployment's variables sort after the 3,000 documents: GitHub leaves them out.
    let docs: Vec<String> = (0..MAX_PR_FILES)
        .map(|i| format!("docs/{i:05}.md"))
        .collect();
    let vars = tfvars("kappa", 1, "us-central1-a");
    let path = tfvars_path("kappa");
    let mut files: Vec<(&str, Option<&[u8]>)> = docs
        .iter()
        .map(|doc| (doc.as_str(), Some(b"notes\n".as_slice())))
        .collect();
    files.push((path.as_str(), Some(vars.as_bytes())));
    github.commit_files(REPO, "big", &files, "Documents and kappa");
    let pr = github.open_pr(REPO, "big", "main", "Big", "", "alice");

    t.deliver(pr, "opened").await;
    let told = t.comments_with(pr, "Not planned");
    assert_eq!(told.len(), 1, "{:?}", github.comments(REPO, pr));
    assert!(
        told[0].contains(&format!("changes {} files", MAX_PR_FILES + 1)),
        "{}",
        told[0]
    );
    assert!(
        told[0].contains("GitHub lists only the first 3000"),
        "{}",
        told[0]
    );
    assert!(t.checks("promptops/plan").is_empty());
    assert_eq!(t.lock_holder("kappa").await, None);

    github.merge_pr(REPO, pr);
    t.deliver(pr, "closed").await;
    let refused = t.comments_with(pr, "Merged, but nothing was applied");
    assert_eq!(refused.len(), 1, "{:?}", github.comments(REPO, pr));
    assert!(t.runs(pr).await.is_empty(), "nothing ran");
    assert!(!t.state_file("kappa").exists());
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pull_request_with_more_commits_than_github_lists_waits_for_a_go_ahead() {
    let mut t = Lifecycle::start().await;
    let github = t.service.github.clone();
    // alice (write) makes the first 250 commits; the one GitHub leaves out is mallory's,
    // who may not have anything planned.
    for i in 0..MAX_PR_COMMITS {
        github.set_file(REPO, "long", "notes.md", format!("{i}\n"));
    }
    github.commit_files_as(
        REPO,
        "long",
        &[(
            tfvars_path("lambda").as_str(),
            Some(tfvars("lambda", 1, "us-central1-a").as_bytes()),
        )],
        "lambda",
        Some("mallory"),
    );
    let pr = github.open_pr(REPO, "long", "main", "Long", "", "alice");
    let head = github.pr(REPO, pr).unwrap().head_sha;

    t.deliver(pr, "opened").await;
    let waiting = t.comments_with(pr, "Not planned");
    assert_eq!(waiting.len(), 1, "{:?}", github.comments(REPO, pr));
    assert!(
        waiting[0].contains(&format!(
            "this pull request has {} commits",
            MAX_PR_COMMITS + 1
        )),
        "{}",
        waiting[0]
    );
    assert!(!waiting[0].contains("mallory"), "{}", waiting[0]);
    assert!(
        waiting[0].contains(&format!("/promptops plan {head}")),
        "{}",
        waiting[0]
    );
    assert!(t.checks("promptops/plan").is_empty());
    assert!(t.runs(pr).await.is_empty(), "nothing ran");
    t.service.stop().await;
}
