//! The client operations merge queues, check-run buttons and drift issues use, against the
//! fake GitHub: buttons stored on a check run, the files between two commits, and an issue
//! opened once even when GitHub's answer to its creation is lost.

mod client_support;

use client_support::{FULL, branch_with_change, env, repo_name};
use promptops_github::client::{
    CheckRunButton, CheckRunButtons, CheckStatus, KeyedIssue, NewCheckRun,
};

/// An in-progress plan check run on `head`, with `buttons`.
fn plan_check(head: &str, buttons: Option<CheckRunButtons>) -> NewCheckRun {
    NewCheckRun {
        name: "promptops/plan".into(),
        head_sha: head.parse().unwrap(),
        status: CheckStatus::InProgress,
        conclusion: None,
        output: None,
        details_url: None,
        external_id: None,
        buttons,
    }
}

#[tokio::test]
async fn buttons_are_stored_on_the_check_run() {
    let e = env().await;
    let head = branch_with_change(&e.gh, "feature/web");
    let id = e
        .api
        .create_check_run(&repo_name(), &plan_check(&head, None))
        .await
        .unwrap();
    let buttons = CheckRunButtons::new(vec![
        CheckRunButton::new("Re-plan", "Plan the head again", "replan").unwrap(),
        CheckRunButton::new("Unlock", "Release the lock", "unlock").unwrap(),
    ])
    .unwrap();
    e.api
        .set_check_run_buttons(&repo_name(), id, &buttons)
        .await
        .unwrap();
    let run = e.gh.check_runs().into_iter().find(|r| r.id == id).unwrap();
    let stored: Vec<(&str, &str, &str)> = run
        .actions
        .iter()
        .map(|a| {
            (
                a.label.as_str(),
                a.description.as_str(),
                a.identifier.as_str(),
            )
        })
        .collect();
    assert_eq!(
        stored,
        [
            ("Re-plan", "Plan the head again", "replan"),
            ("Unlock", "Release the lock", "unlock")
        ]
    );

    // Given with the create, they are there from the start, without an update.
    let with_buttons = e
        .api
        .create_check_run(&repo_name(), &plan_check(&head, Some(buttons)))
        .await
        .unwrap();
    let run =
        e.gh.check_runs()
            .into_iter()
            .find(|r| r.id == with_buttons)
            .unwrap();
    let identifiers: Vec<&str> = run.actions.iter().map(|a| a.identifier.as_str()).collect();
    assert_eq!(identifiers, ["replan", "unlock"]);
    assert_eq!(run.updates, 0);
}

#[tokio::test]
async fn changed_files_are_those_between_the_merge_base_and_the_head() {
    let e = env().await;
    let base = e.gh.branch_head(FULL, "main").unwrap();
    e.gh.set_file(FULL, "feature/x", "terraform/main.tf", "# code\n");
    let head = e.gh.set_file(FULL, "feature/x", "docs/notes.md", "notes\n");
    // A later change on main is not the branch's.
    e.gh.set_file(FULL, "main", "README.md", "readme\n");
    let mut files = e
        .api
        .changed_files(&repo_name(), &base, &head)
        .await
        .unwrap();
    files.sort();
    assert_eq!(files, ["docs/notes.md", "terraform/main.tf"]);
    let main = e.gh.branch_head(FULL, "main").unwrap();
    let files = e
        .api
        .changed_files(&repo_name(), &head, &main)
        .await
        .unwrap();
    assert_eq!(files, ["README.md"]);
}

#[tokio::test]
async fn a_keyed_issue_is_opened_once_even_when_the_answer_is_lost() {
    let e = env().await;
    let issue = KeyedIssue {
        title: "Drift in deployment web",
        body: "The plan shows changes.",
        label: "promptops-drift",
        key: "drift:web",
    };
    e.gh.apply_then_fail("POST", &format!("/repos/{FULL}/issues"), 502);
    let first = e.api.open_keyed_issue(&repo_name(), &issue).await.unwrap();
    assert_eq!(e.gh.pending_faults(), 0, "the lost answer happened");
    let again = e.api.open_keyed_issue(&repo_name(), &issue).await.unwrap();
    assert_eq!(first, again, "the open issue with the key is found");
    let opened: Vec<_> = (1..=10).filter_map(|n| e.gh.issue(FULL, n)).collect();
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(opened[0].labels, ["promptops-drift"]);
    assert!(
        opened[0]
            .body
            .as_deref()
            .is_some_and(|b| b.contains("promptops:key=drift:web")),
        "{opened:?}"
    );
    // Another deployment's issue is a different key: opened on its own.
    let other = KeyedIssue {
        key: "drift:db",
        ..issue
    };
    let db = e.api.open_keyed_issue(&repo_name(), &other).await.unwrap();
    assert_ne!(db.number, first.number);
}
