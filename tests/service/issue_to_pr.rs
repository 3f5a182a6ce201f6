//! `/promptops plan` on an issue → a pull request with `terraform.tfvars`, driven through
//! the real router with signed GitHub example payloads, against the stateful fake GitHub.
//! Assertions are on the fake's state: PRs, files on branches, comments.

use crate::support;

use crate::support::repo_name;
use promptops_core::parse_tfvars;
use promptops_core::{IssueNumber, PrNumber};
use support::{IssueRef, Options, REPO, TestService, comment_payload};

const TFVARS_DIR: &str = "terraform/deployments";

fn issue(service: &TestService, author: &str, title: &str, body: &str) -> IssueRef {
    let number = service.github.add_issue(REPO, author, title, body);
    IssueRef {
        number,
        title: title.to_owned(),
        body: body.to_owned(),
        is_pull_request: false,
    }
}

fn tfvars_on_branch(service: &TestService, branch: &str) -> (String, promptops_core::TfvarsValues) {
    let paths = service.github.paths(REPO, branch);
    let path = paths
        .iter()
        .find(|p| p.starts_with(TFVARS_DIR) && p.ends_with("/terraform.tfvars"))
        .unwrap_or_else(|| panic!("no tfvars on {branch}: {paths:?}"))
        .clone();
    let text = service.github.file(REPO, branch, &path).unwrap();
    let values = parse_tfvars(&text).unwrap();
    (path, values)
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_command_opens_one_pr_with_the_tfvars() {
    let mut service = TestService::start(Options::default()).await;
    let issue = issue(
        &service,
        "alice",
        "GPUs for inference",
        "I need 5 T4 GPUs in us-west1",
    );
    // The command comment as GitHub holds it, so that it can be reacted to.
    let comment_id = service
        .github
        .add_comment(REPO, issue.number, "alice", "/promptops plan");
    let mut payload = comment_payload(&issue, "alice", "/promptops plan");
    payload["comment"]["id"] = serde_json::json!(comment_id);
    let response = service.deliver("issue_comment", &payload).await;
    assert_eq!(response.status(), 202);
    service.job_done().await;

    // 👀 on the command, before anything else the job writes.
    let reactions = service.github.reactions(REPO, comment_id);
    assert_eq!(reactions.len(), 1, "{reactions:?}");
    assert_eq!(reactions[0].content, "eyes");
    assert_eq!(reactions[0].user, service.github.bot_login());
    let writes: Vec<String> = service
        .github
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET" && r.path.starts_with("/repos/"))
        .map(|r| r.path)
        .collect();
    assert!(
        writes[0].ends_with(&format!("/issues/comments/{comment_id}/reactions")),
        "{writes:?}"
    );

    let prs = service.github.prs();
    assert_eq!(prs.len(), 1, "{prs:?}");
    let pr = &prs[0];
    let branch = format!("promptops/issue-{}", issue.number);
    assert_eq!(pr.head_ref, branch);
    assert_eq!(pr.base_ref, "main");
    let body = pr.body.clone().unwrap_or_default();
    // The issue is linked, not closed by the merge: it is closed once the apply succeeded.
    assert!(
        body.contains(&format!("requested in #{}", issue.number)),
        "{body}"
    );
    assert!(
        !body
            .to_lowercase()
            .contains(&format!("closes #{}", issue.number)),
        "{body}"
    );
    for row in [
        "```text\nGPUs for inference\n\nI need 5 T4 GPUs in us-west1\n```",
        "| Setting | Planned |",
        "| VMs | 5 |",
        "nvidia-tesla-t4",
        "n1-standard-4",
        "/hour",
        "/month",
        "offline planner",
        "### Policy limits checked",
        "| VMs | 5 | at most 20 |",
    ] {
        assert!(body.contains(row), "PR body lacks {row:?}:\n{body}");
    }
    assert!(!body.contains("| | |"), "an empty header row: {body}");
    assert!(pr.title.contains("5 ×"), "{}", pr.title);

    let (path, values) = tfvars_on_branch(&service, &branch);
    assert_eq!(
        path,
        format!("{TFVARS_DIR}/{}/terraform.tfvars", values.deployment_name)
    );
    assert_eq!(values.vm_count, 5);
    assert_eq!(values.gpu_type, "nvidia-tesla-t4");
    assert!(values.zone.starts_with("us-west1-"), "{}", values.zone);
    assert!(
        service.github.file(REPO, "main", &path).is_none(),
        "main is untouched"
    );

    let comments: Vec<_> = service
        .github
        .comments(REPO, issue.number)
        .into_iter()
        .filter(|c| c.author == service.github.bot_login())
        .collect();
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(
        comments[0].body.contains(&format!("Opened #{}", pr.number)),
        "{}",
        comments[0].body
    );

    let record = service
        .store
        .request_for_issue(&repo_name(), IssueNumber::new(issue.number))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.pr, Some(PrNumber::new(pr.number)));
    assert_eq!(record.deployment, values.deployment_name);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn repeating_the_command_updates_the_same_pr() {
    let mut service = TestService::start(Options::default()).await;
    let issue = issue(
        &service,
        "alice",
        "GPUs",
        "2 VMs with an L4 each in us-central1",
    );
    for _ in 0..2 {
        let response = service
            .deliver(
                "issue_comment",
                &comment_payload(&issue, "alice", "/promptops plan"),
            )
            .await;
        assert_eq!(response.status(), 202);
        service.job_done().await;
    }
    let prs = service.github.prs();
    assert_eq!(
        prs.len(),
        1,
        "a second run never opens a second PR: {prs:?}"
    );
    let branch = format!("promptops/issue-{}", issue.number);
    let commits_touching = service
        .github
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/git/commits"))
        .count();
    assert_eq!(
        commits_touching, 1,
        "an unchanged file is not committed again"
    );
    let (_, values) = tfvars_on_branch(&service, &branch);
    assert_eq!(values.vm_count, 2);
    assert_eq!(values.gpu_type, "nvidia-l4");
    let comments = service.github.comments(REPO, issue.number);
    assert_eq!(comments.len(), 2, "one answer per command");
    assert!(
        comments[1].body.contains("Updated #"),
        "{}",
        comments[1].body
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_follow_up_on_the_pr_changes_the_tfvars() {
    let mut service = TestService::start(Options::default()).await;
    let issue = issue(&service, "alice", "GPUs", "I need 5 T4 GPUs in us-west1");
    service.command(&issue, "alice", "/promptops plan").await;
    let pr = service.github.prs().remove(0);
    let branch = pr.head_ref.clone();
    let (path_before, before) = tfvars_on_branch(&service, &branch);

    let on_pr = IssueRef {
        number: pr.number,
        title: pr.title.clone(),
        body: pr.body.clone().unwrap_or_default(),
        is_pull_request: true,
    };
    service
        .command(&on_pr, "alice", "/promptops plan make it 3 VMs")
        .await;

    assert_eq!(service.github.prs().len(), 1);
    let (path_after, after) = tfvars_on_branch(&service, &branch);
    assert_eq!(path_after, path_before, "the deployment keeps its name");
    assert_eq!(after.vm_count, 3);
    assert_eq!(after.gpu_type, before.gpu_type);
    assert_eq!(
        after.zone, before.zone,
        "what was not mentioned stays as it was"
    );
    let pr_comments = service.github.comments(REPO, pr.number);
    assert!(
        pr_comments.iter().any(|c| c.body.contains("Updated #")),
        "{pr_comments:?}"
    );
    let updated = service.github.pr(REPO, pr.number).unwrap();
    assert!(updated.body.unwrap().contains("| VMs | 3 |"));
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_triager_is_refused_politely_and_a_reader_is_not_answered() {
    let mut service = TestService::start(Options::default()).await;
    service.github.set_permission(REPO, "tia", "triage");
    let issue = issue(&service, "rita", "GPUs", "I need 5 T4 GPUs in us-west1");
    // A reader's refused command is logged, not answered: outsiders cannot make the bot write.
    service.command(&issue, "rita", "/promptops plan").await;
    assert!(service.github.comments(REPO, issue.number).is_empty());
    service.command(&issue, "tia", "/promptops plan").await;
    assert!(service.github.prs().is_empty());
    let comments = service.github.comments(REPO, issue.number);
    assert_eq!(comments.len(), 1);
    assert!(comments[0].body.contains("@tia"), "{}", comments[0].body);
    assert!(
        comments[0].body.contains("**write**"),
        "{}",
        comments[0].body
    );
    assert!(
        comments[0].body.contains("you have **triage**"),
        "{}",
        comments[0].body
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_request_explains_every_problem() {
    let mut service = TestService::start(Options::default()).await;
    let issue = issue(
        &service,
        "alice",
        "Big GPUs",
        "40 VMs with 2 V100 GPUs each in asia-south1-a",
    );
    service.command(&issue, "alice", "/promptops plan").await;
    assert!(service.github.prs().is_empty());
    let comments = service.github.comments(REPO, issue.number);
    let body = &comments[0].body;
    assert!(body.contains("could not plan"), "{body}");
    assert!(body.contains("asia-south1-a"), "the zone is named: {body}");
    assert!(
        body.contains("40"),
        "the VM count over the limit is named: {body}"
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn repository_policy_applies_and_unknown_keys_are_named() {
    let mut service = TestService::start(Options::default()).await;
    service.github.set_file(
        REPO,
        "main",
        ".github/promptops.yml",
        "policy:\n  max_vm: 3\n",
    );
    let first = issue(&service, "alice", "GPUs", "I need 5 T4 GPUs in us-west1");
    service.command(&first, "alice", "/promptops plan").await;
    let body = &service.github.comments(REPO, first.number)[0].body;
    assert!(body.contains("max_vm"), "the unknown key is named: {body}");
    assert!(service.github.prs().is_empty());

    service.github.set_file(
        REPO,
        "main",
        ".github/promptops.yml",
        "policy:\n  max_vms: 3\n",
    );
    let second = issue(&service, "alice", "GPUs", "I need 5 T4 GPUs in us-west1");
    service.command(&second, "alice", "/promptops plan").await;
    let body = &service.github.comments(REPO, second.number)[0].body;
    assert!(body.contains("could not plan"), "{body}");
    assert!(
        body.contains('3'),
        "the repository's limit is named: {body}"
    );
    assert!(service.github.prs().is_empty());
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_that_would_turn_a_limit_off_is_refused_not_obeyed() {
    let mut service = TestService::start(Options::default()).await;
    // `.nan` compares false with every cost: obeyed, it would let any cost through.
    service.github.set_file(
        REPO,
        "main",
        ".github/promptops.yml",
        "policy:\n  max_hourly_usd: .nan\n  allowed_gpu_types: [T4]\n",
    );
    let request = issue(
        &service,
        "alice",
        "GPUs",
        "I need 100 A100 GPUs in us-central1",
    );
    service.command(&request, "alice", "/promptops plan").await;
    let body = &service.github.comments(REPO, request.number)[0].body;
    assert!(body.contains("cannot act on this repository"), "{body}");
    assert!(body.contains("policy.max_hourly_usd"), "{body}");
    assert!(
        body.contains("policy.allowed_gpu_types[0] = \"T4\"") && body.contains("nvidia-tesla-t4"),
        "the unknown GPU id is named with the known ones: {body}"
    );
    assert!(service.github.prs().is_empty(), "nothing is planned");
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deployment_named_after_destroy_is_refused_not_read_as_this_ones() {
    let mut service = TestService::start(Options::default()).await;
    let request = issue(&service, "alice", "GPUs", "I need 5 T4 GPUs in us-west1");
    service.command(&request, "alice", "/promptops plan").await;
    assert_eq!(service.github.prs().len(), 1);
    service
        .command(&request, "alice", "/promptops destroy llm-train")
        .await;
    let comments = service.github.comments(REPO, request.number);
    let reply = &comments.last().unwrap().body;
    assert!(
        reply.contains("`/promptops destroy` takes nothing after it"),
        "{reply}"
    );
    assert!(
        reply.contains("`llm-train` was not used and nothing was done"),
        "{reply}"
    );
    assert_eq!(service.github.prs().len(), 1, "no destroy pull request");
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_subcommand_gets_a_did_you_mean_and_help_lists_commands() {
    let mut service = TestService::start(Options::default()).await;
    service.github.set_permission(REPO, "tia", "triage");
    let issue = issue(&service, "rita", "Question", "How does this work?");
    // Unknown commands are answered to people who can triage; help to anyone.
    service.command(&issue, "tia", "/promptops pln").await;
    service.command(&issue, "rita", "/promptops help").await;
    let comments = service.github.comments(REPO, issue.number);
    assert_eq!(comments.len(), 2);
    assert!(
        comments[0].body.to_lowercase().contains("did you mean"),
        "{}",
        comments[0].body
    );
    assert!(comments[0].body.contains("plan"), "{}", comments[0].body);
    for command in ["plan", "apply", "configure", "destroy", "unlock"] {
        assert!(
            comments[1].body.contains(command),
            "help lists {command}: {}",
            comments[1].body
        );
    }
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn quoted_and_bot_commands_do_not_fire() {
    let service = TestService::start(Options::default()).await;
    let issue = issue(&service, "alice", "GPUs", "I need 5 T4 GPUs in us-west1");
    let quoted = comment_payload(
        &issue,
        "alice",
        "> /promptops plan\n\nIs that how it works?\n\n```\n/promptops plan\n```",
    );
    assert_eq!(
        service.deliver("issue_comment", &quoted).await.status(),
        202
    );
    let mut from_bot = comment_payload(&issue, "promptops[bot]", "/promptops plan");
    from_bot["comment"]["user"]["type"] = serde_json::json!("Bot");
    assert_eq!(
        service.deliver("issue_comment", &from_bot).await.status(),
        202
    );
    assert_eq!(service.store.delivery_count().await.unwrap(), 2);
    let jobs = service.store.list_jobs(None, 10).await.unwrap();
    assert!(
        jobs.is_empty(),
        "no job for quoted or bot commands: {jobs:?}"
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_trigger_label_plans_the_issue() {
    let mut service = TestService::start(Options::default()).await;
    let issue = issue(&service, "alice", "GPUs", "I need 2 T4 GPUs in us-central1");
    let mut payload = support::fixture("issues.labeled");
    payload["installation"] = serde_json::json!({ "id": support::INSTALLATION });
    payload["issue"]["number"] = serde_json::json!(issue.number);
    payload["issue"]["title"] = serde_json::json!(issue.title);
    payload["issue"]["body"] = serde_json::json!(issue.body);
    payload["label"]["name"] = serde_json::json!("promptops");
    payload["sender"]["login"] = serde_json::json!("alice");
    assert_eq!(service.deliver("issues", &payload).await.status(), 202);
    service.job_done().await;
    assert_eq!(service.github.prs().len(), 1);

    // Any other label does nothing.
    payload["label"]["name"] = serde_json::json!("bug");
    service.deliver("issues", &payload).await;
    service.job_done().await;
    assert_eq!(service.github.prs().len(), 1);
    assert_eq!(service.github.comments(REPO, issue.number).len(), 1);
    service.stop().await;
}
