//! Every RepoApi operation against the fake GitHub, checked against the fake's state.

mod client_support;

use client_support::{FULL, OWNER, branch_with_change, env, repo_name};
use promptops_core::{IssueNumber, RepoName};
use promptops_github::client::{
    BranchMove, CheckConclusion, CheckOutput, CheckRunUpdate, CheckStatus, FileChange, IssueState,
    NewCheckRun, NewPullRequest, Permission, PrState, PullRequestUpdate,
};

const TFVARS: &str = "terraform/deployments/web/terraform.tfvars";

#[tokio::test]
async fn app_info_and_default_branch() {
    let e = env().await;
    let info = e.app.app_info().await.unwrap();
    assert_eq!(info.id, e.gh.app_id());
    assert_eq!(e.api.bot_login().await.unwrap(), e.gh.bot_login());

    e.gh.add_repo_with_default_branch("acme/trunky", "trunk");
    assert_eq!(
        e.api
            .default_branch(&RepoName::new(OWNER, "trunky").unwrap())
            .await
            .unwrap(),
        "trunk"
    );
    assert_eq!(e.api.default_branch(&repo_name()).await.unwrap(), "main");
}

#[tokio::test]
async fn files_are_read_written_and_deleted_on_a_branch() {
    let e = env().await;
    let repo = repo_name();
    e.gh.set_file(
        FULL,
        "main",
        ".github/promptops.yml",
        "trigger_label: gpu\n",
    );

    let cfg = e
        .api
        .get_file(&repo, ".github/promptops.yml", "main")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cfg.text, "trigger_label: gpu\n");
    assert!(
        e.api
            .get_file(&repo, "missing.txt", "main")
            .await
            .unwrap()
            .is_none()
    );
    let dir = e.api.get_file(&repo, ".github", "main").await.unwrap_err();
    assert!(dir.to_string().contains("directory"), "{dir}");

    let main_head = e.api.branch_head(&repo, "main").await.unwrap().unwrap();
    assert_eq!(Some(main_head.to_string()), e.gh.branch_head(FULL, "main"));
    assert_eq!(
        e.api.branch_head(&repo, "promptops/issue-1").await.unwrap(),
        None
    );

    let b = e
        .api
        .ensure_branch(&repo, "promptops/issue-1", &main_head)
        .await
        .unwrap();
    assert!(b.created);
    assert_eq!(b.head_sha, main_head);
    let again = e
        .api
        .ensure_branch(&repo, "promptops/issue-1", &main_head)
        .await
        .unwrap();
    assert!(!again.created);

    let branch = "promptops/issue-1";
    let commit_sha = e
        .api
        .commit_change_on(
            &repo,
            &main_head,
            TFVARS,
            FileChange::Write("vm_count = 5\n"),
            "Plan web",
        )
        .await
        .unwrap()
        .expect("a commit");
    assert_eq!(
        e.gh.branch_head(FULL, branch),
        Some(main_head.to_string()),
        "the commit is on no branch yet"
    );
    let made = e.gh.commit(FULL, commit_sha.as_str()).unwrap();
    assert_eq!(made.message, "Plan web");
    assert_eq!(made.parents, vec![main_head.to_string()]);
    assert_eq!(made.author.as_deref(), Some(e.gh.bot_login().as_str()));
    let moved = e
        .api
        .advance_branch(&repo, branch, &commit_sha)
        .await
        .unwrap();
    assert_eq!(moved, BranchMove::Advanced);
    assert_eq!(e.gh.branch_head(FULL, branch), Some(commit_sha.to_string()));
    assert_eq!(
        e.gh.file(FULL, branch, TFVARS).as_deref(),
        Some("vm_count = 5\n")
    );
    assert_eq!(
        e.gh.file(FULL, branch, ".github/promptops.yml").as_deref(),
        Some("trigger_label: gpu\n"),
        "the parent's other files are kept"
    );
    assert_eq!(e.gh.file(FULL, "main", TFVARS), None, "main is untouched");

    // The parent already holds it: no commit.
    let same = e
        .api
        .commit_change_on(
            &repo,
            &commit_sha,
            TFVARS,
            FileChange::Write("vm_count = 5\n"),
            "again",
        )
        .await
        .unwrap();
    assert_eq!(same, None);

    let removal = e
        .api
        .commit_change_on(
            &repo,
            &commit_sha,
            TFVARS,
            FileChange::Remove,
            "Destroy web",
        )
        .await
        .unwrap()
        .expect("a commit");
    assert_eq!(
        e.api.advance_branch(&repo, branch, &removal).await.unwrap(),
        BranchMove::Advanced
    );
    assert_eq!(e.gh.file(FULL, branch, TFVARS), None);
    let again = e
        .api
        .commit_change_on(&repo, &removal, TFVARS, FileChange::Remove, "again")
        .await
        .unwrap();
    assert_eq!(again, None);

    // A commit whose parent the branch has moved off is not taken: the branch stays.
    let stale = e
        .api
        .commit_change_on(
            &repo,
            &commit_sha,
            TFVARS,
            FileChange::Write("vm_count = 6\n"),
            "Edit",
        )
        .await
        .unwrap()
        .expect("a commit");
    assert_eq!(
        e.api.advance_branch(&repo, branch, &stale).await.unwrap(),
        BranchMove::Moved
    );
    assert_eq!(e.gh.branch_head(FULL, branch), Some(removal.to_string()));
    let main_head = main_head.clone();

    // Moving a branch back is refused without force, allowed with it.
    let err = e
        .api
        .update_branch(&repo, "promptops/issue-1", &main_head, false)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422), "{err}");
    e.api
        .update_branch(&repo, "promptops/issue-1", &main_head, true)
        .await
        .unwrap();
    assert_eq!(
        e.gh.branch_head(FULL, "promptops/issue-1"),
        Some(main_head.to_string())
    );
}

#[tokio::test]
async fn pull_requests_are_opened_found_read_and_updated() {
    let e = env().await;
    let repo = repo_name();
    branch_with_change(&e.gh, "promptops/issue-3");
    assert!(
        e.api
            .find_open_pr(&repo, "promptops/issue-3")
            .await
            .unwrap()
            .is_none()
    );

    let new = NewPullRequest {
        head: "promptops/issue-3".into(),
        base: "main".into(),
        title: "web: 1 x T4".into(),
        body: "Closes #3".into(),
    };
    let pr = e.api.create_pr(&repo, &new).await.unwrap();
    assert_eq!(pr.head_ref, "promptops/issue-3");
    assert_eq!(pr.head_repo.as_deref(), Some(FULL));
    assert_eq!(pr.author, e.gh.bot_login());
    let prs = e.gh.prs();
    assert_eq!(prs.len(), 1);
    assert_eq!(prs[0].title, "web: 1 x T4");
    assert_eq!(prs[0].body.as_deref(), Some("Closes #3"));
    assert_eq!(prs[0].number, pr.number.get());

    let found = e
        .api
        .find_open_pr(&repo, "promptops/issue-3")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.number, pr.number);
    assert_eq!(
        found.head_sha,
        e.gh.branch_head(FULL, "promptops/issue-3").unwrap()
    );

    // Opening it again returns the same PR rather than failing or duplicating.
    let again = e.api.create_pr(&repo, &new).await.unwrap();
    assert_eq!(again.number, pr.number);
    assert_eq!(e.gh.prs().len(), 1);

    let files = e.api.pr_files(&repo, pr.number).await.unwrap();
    assert_eq!((pr.changed_files, pr.commits), (Some(1), Some(1)));
    assert_eq!(files.paths(pr.changed_files), Ok(vec![TFVARS.to_string()]));

    let upd = PullRequestUpdate {
        title: Some("web: 2 x T4".into()),
        body: Some("Closes #3\n\nmore".into()),
        state: None,
    };
    let updated = e.api.update_pr(&repo, pr.number, &upd).await.unwrap();
    assert_eq!(updated.title, "web: 2 x T4");
    assert_eq!(
        e.gh.pr(FULL, pr.number.get()).unwrap().body.as_deref(),
        Some("Closes #3\n\nmore")
    );

    let merge_sha = e.gh.merge_pr(FULL, pr.number.get());
    let merged = e.api.get_pr(&repo, pr.number).await.unwrap();
    assert!(merged.merged);
    assert_eq!(merged.merge_commit_sha.unwrap(), merge_sha);
    assert_eq!(merged.state, "closed");
    assert!(
        e.api
            .find_open_pr(&repo, "promptops/issue-3")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        e.gh.file(FULL, "main", TFVARS).as_deref(),
        Some("vm_count = 1\n")
    );

    branch_with_change(&e.gh, "other");
    let other = e
        .api
        .create_pr(
            &repo,
            &NewPullRequest {
                head: "other".into(),
                base: "main".into(),
                title: "t".into(),
                body: "b".into(),
            },
        )
        .await;
    // `other` holds the same content main now has after the merge, but it is still a new commit.
    let other = other.unwrap();
    let closed = e
        .api
        .update_pr(
            &repo,
            other.number,
            &PullRequestUpdate {
                state: Some(PrState::Closed),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(closed.state, "closed");
    assert!(!e.gh.pr(FULL, other.number.get()).unwrap().open);
}

#[tokio::test]
async fn issues_and_comments_round_trip() {
    let e = env().await;
    let repo = repo_name();
    let n = e.gh.add_issue_with_labels(
        FULL,
        "alice",
        "GPUs please",
        "5 T4 in us-west1",
        &["promptops"],
    );
    let number = IssueNumber::new(n);
    let issue = e.api.get_issue(&repo, number).await.unwrap();
    assert_eq!(issue.title, "GPUs please");
    assert_eq!(issue.body.as_deref(), Some("5 T4 in us-west1"));
    assert_eq!(issue.author, "alice");
    assert_eq!(issue.state, IssueState::Open);
    assert_eq!(issue.labels, vec!["promptops".to_string()]);
    assert!(!issue.is_pull_request);

    e.gh.add_comment(FULL, n, "alice", "/promptops plan");
    let id = e
        .api
        .create_comment(&repo, number, "Opened #2")
        .await
        .unwrap();
    let stored = e.gh.comments(FULL, n);
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1].id, id);
    assert!(
        stored[1]
            .body
            .starts_with("Opened #2\n\n<!-- promptops:key="),
        "{}",
        stored[1].body
    );
    assert_eq!(stored[1].author, e.gh.bot_login());

    let listed = e.api.list_comments(&repo, number).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].author, "alice");
    assert_eq!(listed[0].author_type, "User");
    assert_eq!(listed[1].author_type, "Bot");
    assert!(listed[1].key.is_some());

    e.api
        .update_comment(&repo, id, "Opened #2 (edited)")
        .await
        .unwrap();
    assert_eq!(e.gh.comments(FULL, n)[1].body, "Opened #2 (edited)");
    let patches =
        e.gh.requests_to("PATCH", &format!("/repos/{FULL}/issues/comments/{id}"));
    assert_eq!(patches.len(), 1, "update_comment uses PATCH");

    // Upsert: first posts, then edits the same comment in place.
    let (c1, new1) = e
        .api
        .upsert_comment(&repo, number, "plan:web", "Plan: 1 to add")
        .await
        .unwrap();
    let (c2, new2) = e
        .api
        .upsert_comment(&repo, number, "plan:web", "Plan: 2 to add")
        .await
        .unwrap();
    assert!(new1 && !new2);
    assert_eq!(c1, c2);
    let all = e.gh.comments(FULL, n);
    assert_eq!(all.len(), 3);
    assert!(all[2].body.starts_with("Plan: 2 to add"));

    // A user's comment carrying the same marker is never taken for the bot's.
    e.gh.add_comment(FULL, n, "mallory", "<!-- promptops:key=plan:db -->");
    let (_, created) = e
        .api
        .upsert_comment(&repo, number, "plan:db", "Plan db")
        .await
        .unwrap();
    assert!(created);
    assert_eq!(
        e.gh.comments(FULL, n)[3].body,
        "<!-- promptops:key=plan:db -->"
    );

    let too_long = "x".repeat(65_536);
    let err = e
        .api
        .create_comment(&repo, number, &too_long)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("65536"), "{err}");
    assert_eq!(e.gh.comments(FULL, n).len(), 5);

    // A key with `--` would end the hidden HTML comment early: refused before any request.
    let posts_before =
        e.gh.requests_to("POST", &format!("/repos/{FULL}/issues/{n}/comments"))
            .len();
    let err = e
        .api
        .upsert_comment(&repo, number, "plan:web--db:part:0", "Plan web--db")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("without \"--\""), "{err}");
    assert_eq!(e.gh.comments(FULL, n).len(), 5);
    assert_eq!(
        e.gh.requests_to("POST", &format!("/repos/{FULL}/issues/{n}/comments"))
            .len(),
        posts_before
    );
}

#[tokio::test]
async fn permissions_use_the_precise_role() {
    let e = env().await;
    for (user, role) in [
        ("ada", "admin"),
        ("max", "maintain"),
        ("wes", "write"),
        ("tri", "triage"),
        ("rea", "read"),
    ] {
        e.gh.set_permission(FULL, user, role);
        let p = e
            .api
            .collaborator_permission(&repo_name(), user)
            .await
            .unwrap();
        assert_eq!(p.as_str(), role, "{user}");
    }
    let stranger = e
        .api
        .collaborator_permission(&repo_name(), "stranger")
        .await
        .unwrap();
    assert_eq!(stranger, Permission::None);
    let maintain = e
        .api
        .collaborator_permission(&repo_name(), "max")
        .await
        .unwrap();
    assert!(maintain >= Permission::Write);
    let triage = e
        .api
        .collaborator_permission(&repo_name(), "tri")
        .await
        .unwrap();
    assert!(triage < Permission::Write);
}

#[tokio::test]
async fn check_runs_are_created_and_completed() {
    let e = env().await;
    let head = branch_with_change(&e.gh, "promptops/issue-9");
    let new = NewCheckRun {
        name: "promptops/plan".into(),
        head_sha: head.parse().unwrap(),
        status: CheckStatus::InProgress,
        conclusion: None,
        output: None,
        details_url: None,
        external_id: Some("plan-web-1".into()),
        buttons: None,
    };
    let no_conclusion = NewCheckRun {
        status: CheckStatus::Completed,
        ..new.clone()
    };
    let err = e
        .api
        .create_check_run(&repo_name(), &no_conclusion)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("needs a conclusion"), "{err}");

    let id = e.api.create_check_run(&repo_name(), &new).await.unwrap();
    let runs = e.gh.check_runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].id, id);
    assert_eq!(runs[0].status, "in_progress");
    assert_eq!(runs[0].head_sha, head);
    assert_eq!(runs[0].external_id.as_deref(), Some("plan-web-1"));

    let done = CheckRunUpdate {
        conclusion: Some(CheckConclusion::Failure),
        output: Some(CheckOutput {
            title: "Plan failed".into(),
            summary: "variable vm_count: must be positive".into(),
            text: None,
        }),
        ..Default::default()
    };
    e.api
        .update_check_run(&repo_name(), id, &done)
        .await
        .unwrap();
    let runs = e.gh.check_runs();
    assert_eq!(runs[0].status, "completed");
    assert_eq!(runs[0].conclusion.as_deref(), Some("failure"));
    assert_eq!(
        runs[0].summary.as_deref(),
        Some("variable vm_count: must be positive")
    );
    assert_eq!(runs[0].updates, 1);
}

#[tokio::test]
async fn long_check_output_keeps_its_end_and_long_summaries_are_refused() {
    let e = env().await;
    let head = branch_with_change(&e.gh, "b");
    let text = format!("{}\nError: the end matters", "line\n".repeat(20_000));
    let new = NewCheckRun {
        name: "promptops/plan".into(),
        head_sha: head.parse().unwrap(),
        status: CheckStatus::Completed,
        conclusion: Some(CheckConclusion::Failure),
        output: Some(CheckOutput {
            title: "t".into(),
            summary: "s".into(),
            text: Some(text),
        }),
        details_url: None,
        external_id: None,
        buttons: None,
    };
    e.api.create_check_run(&repo_name(), &new).await.unwrap();
    let stored = e.gh.check_runs()[0].text.clone().unwrap();
    assert_eq!(
        stored.chars().count(),
        promptops_github::client::CHECK_OUTPUT_LIMIT_CHARS
    );
    assert!(stored.starts_with("… (output truncated"));
    assert!(stored.ends_with("Error: the end matters"));

    let huge = NewCheckRun {
        output: Some(CheckOutput {
            title: "t".into(),
            summary: "s".repeat(65_536),
            text: None,
        }),
        ..new
    };
    let err = e
        .api
        .create_check_run(&repo_name(), &huge)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("65535"), "{err}");
    assert_eq!(e.gh.check_runs().len(), 1);
}

#[tokio::test]
async fn comment_lists_follow_every_page() {
    let e = env().await;
    let n = e.gh.add_issue(FULL, "alice", "busy", "thread");
    for i in 0..230 {
        e.gh.add_comment(FULL, n, "alice", &format!("c{i}"));
    }
    let number = IssueNumber::new(n);
    let all = e.api.list_comments(&repo_name(), number).await.unwrap();
    assert_eq!(all.len(), 230);
    assert_eq!(all[229].body, "c229");
    assert_eq!(
        e.gh.requests_to("GET", "/repos/acme/infra/issues/1/comments")
            .len(),
        3
    );
}
