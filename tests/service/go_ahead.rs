//! The go-ahead for a pull request that changes Terraform code names the commit it
//! approves, end to end through the real router, workers and `terraform`: a push that
//! lands after it — also after the comment arrived but before its job ran — is not
//! planned; a bare, stale or unknown go-ahead is answered with the head's SHA and the
//! command to type.

use crate::{lifecycle, support};

use lifecycle::recording::{calls, comment_as, on_pr, start_recorded};
use lifecycle::*;
use support::{IssueRef, REPO, pr_payload};

const LEAK: &str = "output \"environ\" {\n  value = filebase64(\"/proc/self/environ\")\n}\n";

/// A same-repository pull request by alice adding Terraform code and a deployment.
fn code_change_pr(t: &Lifecycle, branch: &str, deployment: &str) -> u64 {
    let github = &t.service.github;
    github.commit_files(
        REPO,
        branch,
        &[
            (
                &tfvars_path(deployment),
                Some(tfvars(deployment, 1, "us-central1-a").as_bytes()),
            ),
            ("terraform/leak.tf", Some(LEAK.as_bytes())),
        ],
        "Add an output",
    );
    github.open_pr(REPO, branch, "main", "Add an output", "", "alice")
}

fn plans(log: &std::path::Path) -> usize {
    calls(log).iter().filter(|c| c.starts_with("plan")).count()
}

/// The bot's comments on `pr` posted after the first `skip`.
fn new_comments(t: &Lifecycle, pr: u64, skip: usize) -> Vec<String> {
    t.service
        .github
        .comments(REPO, pr)
        .into_iter()
        .skip(skip)
        .map(|c| c.body)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_go_ahead_plans_the_commit_it_names_and_nothing_else() {
    let (mut t, log, _dir) = start_recorded().await;
    let github = t.service.github.clone();
    let pr = code_change_pr(&t, "leak", "nu");
    t.deliver(pr, "opened").await;
    let first = github.pr(REPO, pr).unwrap().head_sha;
    let waiting = t.comments_with(pr, "changes Terraform code");
    assert_eq!(waiting.len(), 1, "{:?}", github.comments(REPO, pr));
    assert!(
        waiting[0].contains(&format!("/promptops plan {first}")),
        "the exact command: {}",
        waiting[0]
    );

    // A bare go-ahead plans nothing: the reply names the head and the command.
    let before = github.comments(REPO, pr).len();
    comment_as(&mut t, &on_pr(pr), "alice", "/promptops plan").await;
    let reply = new_comments(&t, pr, before);
    assert_eq!(reply.len(), 1, "{reply:?}");
    assert!(reply[0].starts_with("@alice"), "{}", reply[0]);
    assert!(
        reply[0].contains(&format!("/promptops plan {first}")),
        "{}",
        reply[0]
    );
    assert_eq!(plans(&log), 0, "terraform planned: {:?}", calls(&log));

    // A prefix of the head's SHA plans nothing: a second commit could share it.
    let before = github.comments(REPO, pr).len();
    let prefix = &first[..12];
    comment_as(
        &mut t,
        &on_pr(pr),
        "alice",
        &format!("/promptops plan {prefix}"),
    )
    .await;
    let reply = new_comments(&t, pr, before);
    assert_eq!(reply.len(), 1, "{reply:?}");
    assert!(
        reply[0].contains("must name the whole commit")
            && reply[0].contains(&format!("/promptops plan {first}")),
        "{}",
        reply[0]
    );
    assert_eq!(plans(&log), 0, "terraform planned: {:?}", calls(&log));

    // The head's full SHA, in any case, plans that head.
    let full = first.to_ascii_uppercase();
    comment_as(
        &mut t,
        &on_pr(pr),
        "alice",
        &format!("/promptops plan {full}"),
    )
    .await;
    let checks = t.checks("promptops/plan");
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert_eq!(checks[0].head_sha, first);
    assert_eq!(plans(&log), 1);

    // A push: the earlier go-ahead is stale, an unknown SHA is refused, neither plans.
    github.set_file(
        REPO,
        "leak",
        "terraform/leak.tf",
        LEAK.replace("environ", "env2"),
    );
    let second = github.pr(REPO, pr).unwrap().head_sha;
    t.deliver(pr, "synchronize").await;
    for (given, says) in [
        (first.clone(), "is no longer the head"),
        (
            "0badc0ffee".to_owned(),
            "is not a commit of this pull request",
        ),
    ] {
        let before = github.comments(REPO, pr).len();
        comment_as(
            &mut t,
            &on_pr(pr),
            "alice",
            &format!("/promptops plan {given}"),
        )
        .await;
        let reply = new_comments(&t, pr, before);
        assert_eq!(reply.len(), 1, "{reply:?}");
        assert!(reply[0].contains(says), "{}", reply[0]);
        assert!(
            reply[0].contains(&format!("/promptops plan {second}")),
            "{}",
            reply[0]
        );
    }
    assert_eq!(plans(&log), 1, "{:?}", calls(&log));
    assert_eq!(t.checks("promptops/plan").len(), 1);
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_push_after_the_go_ahead_arrived_but_before_its_job_ran_is_not_planned() {
    let (mut t, log, _dir) = start_recorded().await;
    let github = t.service.github.clone();
    let pr = code_change_pr(&t, "leak", "xi");
    t.deliver(pr, "opened").await;
    let approved = github.pr(REPO, pr).unwrap().head_sha;

    // The job's first request (the commenter's permission) finds a new commit pushed.
    let pusher = github.clone();
    github.before_next(
        "GET",
        &format!("/repos/{REPO}/collaborators/alice/permission"),
        move || {
            pusher.set_file(
                REPO,
                "leak",
                "terraform/leak.tf",
                "output \"x\" {\n  value = 1\n}\n",
            );
        },
    );
    let before = github.comments(REPO, pr).len();
    comment_as(
        &mut t,
        &on_pr(pr),
        "alice",
        &format!("/promptops plan {approved}"),
    )
    .await;
    assert_eq!(github.pending_hooks(), 0, "the push landed during the job");
    let pushed = github.pr(REPO, pr).unwrap().head_sha;
    assert_ne!(pushed, approved);
    assert!(calls(&log).is_empty(), "terraform ran: {:?}", calls(&log));
    assert!(t.checks("promptops/plan").is_empty());
    let reply = new_comments(&t, pr, before);
    assert_eq!(reply.len(), 1, "{reply:?}");
    assert!(reply[0].contains("is no longer the head"), "{}", reply[0]);
    assert!(reply[0].contains(&pushed), "{}", reply[0]);
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn files_listed_at_a_newer_head_do_not_open_the_gate_for_the_older_one() {
    // The event's head adds code; a push that removes it lands between the job reading the
    // head and listing the files (GitHub lists them at the current head).
    let (mut t, log, _dir) = start_recorded().await;
    let github = t.service.github.clone();
    let pr = code_change_pr(&t, "leak", "pi");
    let payload = pr_payload(&github, "opened", pr);
    let pusher = github.clone();
    github.before_next(
        "GET",
        &format!("/repos/{REPO}/pulls/{pr}/files"),
        move || {
            pusher.remove_file(REPO, "leak", "terraform/leak.tf");
        },
    );
    let response = t.service.deliver("pull_request", &payload).await;
    assert_eq!(response.status(), 202);
    t.service.job_done().await;
    assert_eq!(github.pending_hooks(), 0);
    assert!(calls(&log).is_empty(), "terraform ran: {:?}", calls(&log));
    assert!(t.checks("promptops/plan").is_empty());
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_comment_of_three_commands_gets_one_reply_holding_every_answer() {
    let mut t = Lifecycle::start().await;
    let github = t.service.github.clone();
    let number = github.add_issue(REPO, "alice", "GPUs", "one T4 VM");
    let issue = IssueRef {
        number,
        title: "GPUs".to_owned(),
        body: "one T4 VM".to_owned(),
        is_pull_request: false,
    };
    let posts = || {
        github
            .requests_to("POST", &format!("/repos/{REPO}/issues/{number}/comments"))
            .len()
    };
    // Three commands run (the fourth line is ignored, and said so); each says something.
    t.command(
        &issue,
        "/promptops help\n/promptops unlock\n/promptops apply\n/promptops configure",
    )
    .await;
    assert_eq!(posts(), 1, "{:?}", github.comments(REPO, number));
    let comments = github.comments(REPO, number);
    assert_eq!(comments.len(), 1);
    let reply = &comments[0].body;
    for answer in [
        "PromptOps commands",
        "nothing to unlock",
        "comment it on that pull request",
        "were ignored",
    ] {
        assert!(reply.contains(answer), "{answer:?} missing: {reply}");
    }
    // Every comment has its own reply.
    t.command(&issue, "/promptops unlock").await;
    assert_eq!(posts(), 2);
    t.service.stop().await;
}
