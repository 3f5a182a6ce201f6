//! The branches PromptOps commits on have predictable names (`promptops/issue-<n>`,
//! `promptops/destroy-<name>`): one created first by someone else, with commits of their
//! own or with commits listed under PromptOps' login that it did not make, is never built
//! on, so that a pull request PromptOps opens carries nothing but its own work.
//! PromptOps' own branch is built on, and one left behind by a merge is moved up to the
//! default branch first.

use crate::lifecycle;
use crate::support;

use lifecycle::{Lifecycle, tfvars, tfvars_path};
use promptops_core::IssueNumber;
use support::{IssueRef, Options, REPO, TestService, repo_name};

#[tokio::test(flavor = "multi_thread")]
async fn a_branch_someone_made_before_the_issue_is_planned_never_ends_up_in_the_bots_pr() {
    let mut service = TestService::start(Options::default()).await;
    let github = service.github.clone();
    github.set_permission(REPO, "mallory", "write");
    let issue = IssueRef::open(&github, "alice", "GPUs", "I need 5 T4 GPUs in us-west1");
    let branch = format!("promptops/issue-{}", issue.number);
    let planted = github.commit_files_as(
        REPO,
        &branch,
        &[("terraform/main.tf", Some(b"# exfiltrate\n".as_slice()))],
        "Tidy up",
        Some("mallory"),
    );

    service.command(&issue, "alice", "/promptops plan").await;
    assert!(github.prs().is_empty(), "{:?}", github.prs());
    assert_eq!(
        github.branch_head(REPO, &branch),
        Some(planted.clone()),
        "nothing was committed on it, and it was not reset either"
    );
    let told = support::comments_with(&github, issue.number, "did not commit this request");
    assert_eq!(told.len(), 1, "{:?}", github.comments(REPO, issue.number));
    let told = &told[0];
    assert!(told.contains(&format!("`{branch}`")), "{told}");
    assert!(
        told.contains(&format!("commit `{}` by `mallory`", &planted[..12])),
        "{told}"
    );
    assert!(told.contains("a change to `terraform/main.tf`"), "{told}");
    assert!(told.contains("Delete the branch"), "{told}");
    assert!(told.contains("`/promptops plan`"), "{told}");

    // Once the branch is gone, the request is planned from the default branch.
    github.delete_branch(REPO, &branch);
    service.command(&issue, "alice", "/promptops plan").await;
    let prs = github.prs();
    assert_eq!(prs.len(), 1, "{prs:?}");
    let main = github.branch_head(REPO, "main").unwrap();
    let commit = github.commit(REPO, &prs[0].head_sha).unwrap();
    assert_eq!(commit.parents, vec![main]);
    assert_eq!(commit.author.as_deref(), Some(github.bot_login().as_str()));
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_branch_holding_a_commit_under_the_bots_login_that_it_did_not_make_is_refused() {
    let mut service = TestService::start(Options::default()).await;
    let github = service.github.clone();
    let issue = IssueRef::open(&github, "alice", "GPUs", "I need 5 T4 GPUs in us-west1");
    service.command(&issue, "alice", "/promptops plan").await;
    let pr = github.prs().remove(0);
    let record = service
        .store
        .request_for_issue(&repo_name(), IssueNumber::new(issue.number))
        .await
        .unwrap()
        .expect("the request is recorded");
    let path = tfvars_path(&record.deployment);

    // The branch goes (its pull request is closed with it) and comes back with a commit
    // that changes nothing but the deployment's variables, under the App's login: GitHub
    // lists a commit under whoever's e-mail it carries, and anyone who pushes can write
    // the App's.
    github.delete_branch(REPO, &pr.head_ref);
    let bot = github.bot_login();
    let vars = tfvars(&record.deployment, 8, "us-west1-b");
    let forged = github.commit_files_as(
        REPO,
        &pr.head_ref,
        &[(&path, Some(vars.as_bytes()))],
        &format!(
            "PromptOps: plan {} for #{}",
            record.deployment, issue.number
        ),
        Some(&bot),
    );
    let listed = github.commit(REPO, &forged).unwrap();
    assert_eq!(
        (listed.author.as_deref(), listed.committer.as_deref()),
        (Some(bot.as_str()), Some(bot.as_str()))
    );

    service.command(&issue, "alice", "/promptops plan").await;
    assert_eq!(github.branch_head(REPO, &pr.head_ref), Some(forged.clone()));
    assert!(github.prs().iter().all(|pr| !pr.open), "{:?}", github.prs());
    let told = support::comments_with(&github, issue.number, "did not commit this request");
    assert_eq!(told.len(), 1, "{:?}", github.comments(REPO, issue.number));
    let told = &told[0];
    assert!(
        told.contains(&format!(
            "commit `{}` claims to be PromptOps' own (it is listed under `{bot}`), but PromptOps did not make it",
            &forged[..12]
        )),
        "{told}"
    );
    assert!(!told.contains("a change to"), "{told}");
    assert!(
        told.contains(&format!("Delete the branch `{}`", pr.head_ref)),
        "{told}"
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_commit_pushed_onto_the_bots_branch_stops_a_revision_and_its_own_commits_do_not() {
    let mut service = TestService::start(Options::default()).await;
    let github = service.github.clone();
    let issue = IssueRef::open(
        &github,
        "alice",
        "GPUs",
        "2 VMs with an L4 each in us-central1",
    );
    service.command(&issue, "alice", "/promptops plan").await;
    let pr = github.prs().remove(0);
    // The App's own commit is its work: a revision commits on top.
    service
        .command(&issue, "alice", "/promptops plan make it 3 VMs")
        .await;
    let revised = github.pr(REPO, pr.number).unwrap().head_sha;
    assert_ne!(revised, pr.head_sha, "the revision was committed");
    assert_eq!(
        github.commit(REPO, &revised).unwrap().parents,
        vec![pr.head_sha]
    );

    github.set_file(REPO, &pr.head_ref, "notes.md", "mine\n");
    let pushed = github.pr(REPO, pr.number).unwrap().head_sha;
    service
        .command(&issue, "alice", "/promptops plan make it 4 VMs")
        .await;
    assert_eq!(github.pr(REPO, pr.number).unwrap().head_sha, pushed);
    let told = support::comments_with(&github, issue.number, "did not commit this request");
    assert_eq!(told.len(), 1, "{:?}", github.comments(REPO, issue.number));
    assert!(told[0].contains("by `alice`"), "{}", told[0]);
    assert!(told[0].contains("a change to `notes.md`"), "{}", told[0]);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_destroy_branch_made_by_someone_else_is_refused_and_one_left_by_a_merge_moves_up() {
    let mut t = Lifecycle::start().await;
    let github = t.service.github.clone();
    github.set_file(
        REPO,
        "main",
        &tfvars_path("nu"),
        tfvars("nu", 1, "us-central1-a"),
    );
    let issue = t.linked_issue("nu", None).await;
    let branch = "promptops/destroy-nu";
    let planted = github.set_file(REPO, branch, "terraform/main.tf", "# mine\n");
    t.command(&issue, "/promptops destroy").await;
    assert!(github.prs().is_empty(), "{:?}", github.prs());
    assert_eq!(github.branch_head(REPO, branch), Some(planted));
    let told = t.comments_with(issue.number, "did not open a pull request to destroy");
    assert_eq!(told.len(), 1, "{:?}", github.comments(REPO, issue.number));
    assert!(told[0].contains("`/promptops destroy`"), "{}", told[0]);

    // A branch holding nothing the default branch lacks is moved up to it.
    let old_main = github.branch_head(REPO, "main").unwrap();
    github.delete_branch(REPO, branch);
    github.ensure_branch(REPO, branch);
    let main = github.set_file(REPO, "main", "README.md", "later\n");
    assert_eq!(github.branch_head(REPO, branch), Some(old_main));
    t.command(&issue, "/promptops destroy").await;
    let prs = github.prs();
    assert_eq!(prs.len(), 1, "{prs:?}");
    let commit = github.commit(REPO, &prs[0].head_sha).unwrap();
    assert_eq!(commit.parents, vec![main]);
    assert!(github.file(REPO, branch, &tfvars_path("nu")).is_none());
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_push_landing_while_the_bot_commits_is_never_committed_on_top_of() {
    let mut service = TestService::start(Options::default()).await;
    let github = service.github.clone();
    github.set_permission(REPO, "mallory", "write");
    let issue = IssueRef::open(&github, "alice", "GPUs", "I need 5 T4 GPUs in us-west1");
    let branch = format!("promptops/issue-{}", issue.number);
    // After PromptOps has looked at the branch and made its commit, just before the
    // branch is moved to it, someone pushes to the branch.
    let (pusher, pushed_to) = (github.clone(), branch.clone());
    let pushed = std::sync::Arc::new(std::sync::Mutex::new(None));
    let slot = std::sync::Arc::clone(&pushed);
    github.before_next(
        "PATCH",
        &format!("/repos/{REPO}/git/refs/heads/{branch}"),
        move || {
            let sha = pusher.commit_files_as(
                REPO,
                &pushed_to,
                &[("terraform/main.tf", Some(b"# exfiltrate\n".as_slice()))],
                "Tidy up",
                Some("mallory"),
            );
            *slot.lock().unwrap() = Some(sha);
        },
    );

    service.command(&issue, "alice", "/promptops plan").await;
    assert_eq!(
        github.pending_hooks(),
        0,
        "the branch was about to be moved"
    );
    let pushed = pushed.lock().unwrap().clone().expect("the push happened");
    assert_eq!(
        github.branch_head(REPO, &branch),
        Some(pushed.clone()),
        "PromptOps' commit did not go on the branch, and the push stayed"
    );
    assert!(github.prs().is_empty(), "{:?}", github.prs());
    // Looking at the branch again found the push, and said so.
    let told = support::comments_with(&github, issue.number, "did not commit this request");
    assert_eq!(told.len(), 1, "{:?}", github.comments(REPO, issue.number));
    assert!(
        told[0].contains(&format!("commit `{}` by `mallory`", &pushed[..12])),
        "{}",
        told[0]
    );
    service.stop().await;
}
