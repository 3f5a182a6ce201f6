//! A pull request's files and commits as GitHub lists them, against the fake: renamed
//! files under both names, and lists GitHub cuts (3,000 files, 250 commits) told apart
//! from whole ones by the pull request's own counts; what a branch holds beyond a base.

mod client_support;

use client_support::{FULL, env, repo_name};
use promptops_core::PrNumber;
use promptops_github::client::{MAX_PR_COMMITS, MAX_PR_FILES};

const OLD: &str = "terraform/deployments/alpha/terraform.tfvars";

#[tokio::test]
async fn a_renamed_file_is_changed_under_its_old_and_its_new_name() {
    let e = env().await;
    e.gh.set_file(FULL, "main", OLD, "deployment_name = \"alpha\"\n");
    let moved = "archive/alpha.tfvars";
    e.gh.commit_files(
        FULL,
        "move",
        &[(OLD, None), (moved, Some(b"deployment_name = \"alpha\"\n"))],
        "Archive alpha",
    );
    let number =
        e.gh.open_pr(FULL, "move", "main", "Archive alpha", "", "alice");
    let pr = e
        .api
        .get_pr(&repo_name(), PrNumber::new(number))
        .await
        .unwrap();
    assert_eq!(pr.changed_files, Some(1), "a rename is one changed file");
    let files = e.api.pr_files(&repo_name(), pr.number).await.unwrap();
    assert_eq!(files.listed().len(), 1);
    assert_eq!(files.listed()[0].previous_path.as_deref(), Some(OLD));
    assert_eq!(
        files.paths(pr.changed_files),
        Ok(vec![OLD.to_owned(), moved.to_owned()])
    );
}

#[tokio::test]
async fn more_files_than_github_lists_are_a_cut_list() {
    let e = env().await;
    let paths: Vec<String> = (0..=MAX_PR_FILES)
        .map(|i| format!("docs/{i:05}.md"))
        .collect();
    let files: Vec<(&str, Option<&[u8]>)> = paths
        .iter()
        .map(|p| (p.as_str(), Some(b"x\n".as_slice())))
        .collect();
    e.gh.commit_files(FULL, "big", &files, "Many files");
    let number = e.gh.open_pr(FULL, "big", "main", "Big", "", "alice");
    let pr = e
        .api
        .get_pr(&repo_name(), PrNumber::new(number))
        .await
        .unwrap();
    assert_eq!(pr.changed_files, Some(MAX_PR_FILES + 1));
    let listed = e.api.pr_files(&repo_name(), pr.number).await.unwrap();
    assert_eq!(listed.listed().len() as u64, MAX_PR_FILES);
    let cut = listed.paths(pr.changed_files).unwrap_err();
    assert_eq!(
        (cut.listed, cut.total),
        (MAX_PR_FILES, Some(MAX_PR_FILES + 1))
    );
}

#[tokio::test]
async fn more_commits_than_github_lists_are_a_cut_list() {
    let e = env().await;
    for i in 0..=MAX_PR_COMMITS {
        e.gh.set_file(FULL, "long", "notes.md", format!("{i}\n"));
    }
    let number = e.gh.open_pr(FULL, "long", "main", "Long", "", "alice");
    let pr = e
        .api
        .get_pr(&repo_name(), PrNumber::new(number))
        .await
        .unwrap();
    assert_eq!(pr.commits, Some(MAX_PR_COMMITS + 1));
    let listed = e.api.pr_commits(&repo_name(), pr.number).await.unwrap();
    assert_eq!(listed.listed().len() as u64, MAX_PR_COMMITS);
    // Oldest first: the one left out is the last.
    let last = e.gh.branch_head(FULL, "long").unwrap();
    assert!(listed.listed().iter().all(|c| c.sha.as_str() != last));
    let cut = listed.cut(pr.commits).unwrap();
    assert_eq!(cut.total, Some(MAX_PR_COMMITS + 1));
    assert!(listed.whole(pr.commits).is_err());
}

#[tokio::test]
async fn branch_work_names_the_commits_and_files_beyond_the_base() {
    let e = env().await;
    let base = e.gh.branch_head(FULL, "main").unwrap();
    e.gh.commit_files_as(FULL, "side", &[(OLD, Some(b"a\n"))], "one", Some("mallory"));
    let head = e.gh.set_file(FULL, "side", "terraform/main.tf", "# code\n");
    let work = e.api.branch_work(&repo_name(), &base, &head).await.unwrap();
    assert_eq!(work.total_commits, 2);
    let authors: Vec<Option<&str>> = work.commits.iter().map(|c| c.author.as_deref()).collect();
    assert_eq!(authors, [Some("mallory"), None]);
    assert_eq!(
        work.paths,
        Some(vec![OLD.to_owned(), "terraform/main.tf".to_owned()])
    );
    let none = e.api.branch_work(&repo_name(), &head, &base).await.unwrap();
    assert_eq!((none.total_commits, none.paths), (0, Some(Vec::new())));
}
