//! The review boundary, end to end through the real router, workers and `terraform`: who
//! may have a pull request planned, which merges are applied, which variables Terraform
//! may see, and how much work one comment can cause.
//!
//! Terraform runs through a wrapper that records every invocation before running the real
//! binary (`lifecycle::recording`), so that "nothing ran" is observed, not assumed.

use crate::lifecycle;
use crate::support;

use lifecycle::recording::{calls, comment_as, on_pr, start_recorded};
use lifecycle::*;
use promptops_store::RunStatus;
use support::{IssueRef, REPO, pr_payload, repo_name};

/// Delivers `pull_request.<action>` with `sender` as the one who caused it.
async fn deliver_from(t: &mut Lifecycle, pr: u64, action: &str, sender: &str) {
    let mut payload = pr_payload(&t.service.github, action, pr);
    payload["sender"]["login"] = serde_json::json!(sender);
    let response = t.service.deliver("pull_request", &payload).await;
    assert_eq!(response.status(), 202);
    t.service.job_done().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_min_permission_admin_a_write_users_push_to_the_bots_pr_waits_for_an_admin() {
    let (mut t, log, _dir) = start_recorded().await;
    t.set_settings("permissions:\n  min_permission: admin\n");
    let github = t.service.github.clone();
    github.set_permission(REPO, "ada", "admin");
    let bot = github.bot_login();
    let vars = tfvars("mu", 1, "us-central1-a");
    let own = github.commit_files_as(
        REPO,
        "promptops/issue-9",
        &[(&tfvars_path("mu"), Some(vars.as_bytes()))],
        "PromptOps: plan mu",
        Some(&bot),
    );
    // The App made it: it recorded the SHA GitHub answered its write with.
    t.service
        .store
        .record_app_commit(&repo_name(), &own.parse().unwrap())
        .await
        .unwrap();
    let pr = github.open_pr(REPO, "promptops/issue-9", "main", "mu", "", &bot);
    deliver_from(&mut t, pr, "opened", &bot).await;
    assert_eq!(
        t.comments_with(pr, "Terraform plan for `mu`").len(),
        1,
        "the App's own variables are planned on their own"
    );

    // alice (write) pushes to the App's branch: her commit and her push need admin.
    let pushed = tfvars("mu", 2, "us-central1-a");
    github.commit_files_as(
        REPO,
        "promptops/issue-9",
        &[(&tfvars_path("mu"), Some(pushed.as_bytes()))],
        "two VMs",
        Some("alice"),
    );
    let head = github.pr(REPO, pr).unwrap().head_sha;
    let plans_before = calls(&log).iter().filter(|c| c.starts_with("plan")).count();
    deliver_from(&mut t, pr, "synchronize", "alice").await;
    let waiting = t.comments_with(pr, "Not planned");
    assert_eq!(waiting.len(), 1, "{:?}", github.comments(REPO, pr));
    assert!(
        waiting[0].contains("`alice` has **write**"),
        "{}",
        waiting[0]
    );
    assert!(waiting[0].contains("**admin**"), "{}", waiting[0]);
    assert!(waiting[0].contains("/promptops plan"), "{}", waiting[0]);
    assert!(waiting[0].contains(&head[..12]), "{}", waiting[0]);
    assert_eq!(
        calls(&log).iter().filter(|c| c.starts_with("plan")).count(),
        plans_before,
        "no plan ran for the write user's push"
    );
    assert!(
        t.checks("promptops/plan")
            .iter()
            .all(|c| c.head_sha != head)
    );

    // A write user's go-ahead is refused; an admin's plans this head.
    comment_as(&mut t, &on_pr(pr), "alice", "/promptops plan").await;
    assert!(
        t.checks("promptops/plan")
            .iter()
            .all(|c| c.head_sha != head)
    );
    comment_as(
        &mut t,
        &on_pr(pr),
        "ada",
        &format!("/promptops plan {head}"),
    )
    .await;
    let planned: Vec<_> = t
        .checks("promptops/plan")
        .into_iter()
        .filter(|c| c.head_sha == head)
        .collect();
    assert_eq!(planned.len(), 1);
    assert_eq!(planned[0].conclusion.as_deref(), Some("success"));
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_commit_under_the_apps_login_that_it_did_not_make_waits_for_a_go_ahead_naming_it() {
    let (mut t, log, _dir) = start_recorded().await;
    let github = t.service.github.clone();
    let bot = github.bot_login();
    // alice has write (the minimum): her own change of variables alone would be planned.
    let vars = tfvars("mu", 1, "us-central1-a");
    github.commit_files_as(
        REPO,
        "gpus",
        &[(&tfvars_path("mu"), Some(vars.as_bytes()))],
        "One VM",
        Some("alice"),
    );
    // A commit under the App's login and e-mail, which anyone who pushes can write: GitHub
    // lists it as the App's, but the App never made it.
    let vars = tfvars("mu", 2, "us-central1-a");
    let forged = github.commit_files_as(
        REPO,
        "gpus",
        &[(&tfvars_path("mu"), Some(vars.as_bytes()))],
        "PromptOps: plan mu",
        Some(&bot),
    );
    let pr = github.open_pr(REPO, "gpus", "main", "mu", "", "alice");
    deliver_from(&mut t, pr, "opened", "alice").await;
    let waiting = t.comments_with(pr, "Not planned");
    assert_eq!(waiting.len(), 1, "{:?}", github.comments(REPO, pr));
    assert!(
        waiting[0].contains(&format!(
            "commit `{}` claims to be PromptOps' own (it is listed under `{bot}`), but PromptOps did not make it",
            &forged[..12]
        )),
        "{}",
        waiting[0]
    );
    assert!(!waiting[0].contains("`alice` has"), "{}", waiting[0]);
    assert!(
        waiting[0].contains(&format!("/promptops plan {forged}")),
        "{}",
        waiting[0]
    );
    assert!(calls(&log).is_empty(), "terraform ran: {:?}", calls(&log));
    assert!(t.checks("promptops/plan").is_empty());

    // A person with the permission who reviewed the head lets it be planned.
    comment_as(
        &mut t,
        &on_pr(pr),
        "alice",
        &format!("/promptops plan {forged}"),
    )
    .await;
    let planned = t.checks("promptops/plan");
    assert_eq!(planned.len(), 1, "{planned:?}");
    assert_eq!(planned[0].head_sha, forged);
    assert_eq!(planned[0].conclusion.as_deref(), Some("success"));
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_terraform_code_change_waits_for_a_go_ahead_at_every_push_and_its_output_stays_fenced() {
    let (mut t, log, _dir) = start_recorded().await;
    let github = t.service.github.clone();
    // Text the bot did not write, in the plan output: a longer backtick run, a mention, a link.
    let leak =
        "output \"note\" {\n  value = \"`````\\n@org/team [x](https://evil.example) #1\"\n}\n";
    github.commit_files(
        REPO,
        "leak",
        &[
            (
                &tfvars_path("nu"),
                Some(tfvars("nu", 1, "us-central1-a").as_bytes()),
            ),
            ("terraform/leak.tf", Some(leak.as_bytes())),
        ],
        "Add an output",
    );
    let pr = github.open_pr(REPO, "leak", "main", "Add an output", "", "alice");
    deliver_from(&mut t, pr, "opened", "alice").await;
    let waiting = t.comments_with(pr, "changes Terraform code");
    assert_eq!(waiting.len(), 1, "{:?}", github.comments(REPO, pr));
    assert!(waiting[0].contains("terraform/leak.tf"), "{}", waiting[0]);
    assert!(waiting[0].contains("runs that code"), "{}", waiting[0]);
    assert!(
        waiting[0].contains("forks are never planned"),
        "{}",
        waiting[0]
    );
    assert!(calls(&log).is_empty(), "terraform ran: {:?}", calls(&log));

    // alice has write (the minimum): her `/promptops plan <head>` is the go-ahead for it.
    let head = github.pr(REPO, pr).unwrap().head_sha;
    comment_as(
        &mut t,
        &on_pr(pr),
        "alice",
        &format!("/promptops plan {head}"),
    )
    .await;
    let checks = t.checks("promptops/plan");
    assert_eq!(checks.len(), 1, "{checks:?}");
    let text = checks[0].text.clone().unwrap();
    assert!(text.contains("@org/team"), "the output is shown: {text}");
    let fence = promptops_commands::longest_backtick_run(&text);
    assert!(
        text.starts_with(&"`".repeat(fence)) && fence > 5,
        "the check-run text is fenced longer than the output's run of five: {text}"
    );
    assert!(text.trim_end().ends_with(&"`".repeat(fence)), "{text}");

    // The next push waits again, whoever pushed it.
    github.set_file(
        REPO,
        "leak",
        "terraform/leak.tf",
        leak.replace("note", "note2"),
    );
    let plans = calls(&log).len();
    deliver_from(&mut t, pr, "synchronize", "alice").await;
    assert_eq!(t.comments_with(pr, "changes Terraform code").len(), 2);
    assert_eq!(calls(&log).len(), plans, "the new head was not planned");
    assert_eq!(t.checks("promptops/plan").len(), 1);
    t.service.stop().await;
}

/// Hand-written variables far over the policy: 500 VMs with 8 A100 each, an unknown key,
/// and a zone carrying a mention and a link.
fn oversized(deployment: &str) -> String {
    format!(
        "deployment_name   = \"{deployment}\"\nvm_count          = 500\ngpu_type          = \"nvidia-tesla-a100\"\ngpu_count         = 8\nmachine_type      = \"a2-highgpu-8g\"\nzone              = \"us-central1-a @org/team https://evil.example\"\nboot_disk_size_gb = 100\nnote              = \"hello\"\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn merges_into_a_side_branch_are_not_applied_and_oversized_variables_never_reach_terraform() {
    let (mut t, log, _dir) = start_recorded().await;
    let github = t.service.github.clone();
    github.ensure_branch(REPO, "side");

    // Into a side branch: merged, not applied, told why.
    github.set_file(REPO, "big-side", &tfvars_path("xi"), oversized("xi"));
    let side = github.open_pr(REPO, "big-side", "side", "xi", "", "alice");
    deliver_from(&mut t, side, "opened", "alice").await;
    github.merge_pr(REPO, side);
    deliver_from(&mut t, side, "closed", "alice").await;
    let told = t.comments_with(side, "Not applied");
    assert_eq!(told.len(), 1, "{:?}", github.comments(REPO, side));
    assert!(told[0].contains("`main`"), "{}", told[0]);
    assert!(t.checks("promptops/apply").is_empty());
    assert!(!t.state_file("xi").exists());

    // Into the default branch: refused on open and on merge, every problem named.
    github.set_file(
        REPO,
        "big-main",
        &tfvars_path("omicron"),
        oversized("omicron"),
    );
    let main = github.open_pr(REPO, "big-main", "main", "omicron", "", "alice");
    deliver_from(&mut t, main, "opened", "alice").await;
    let refused = t.comments_with(main, "Terraform plan for `omicron`: refused");
    assert_eq!(refused.len(), 1, "{:?}", github.comments(REPO, main));
    github.merge_pr(REPO, main);
    deliver_from(&mut t, main, "closed", "alice").await;
    let refused = t.comments_with(main, "Terraform apply for `omicron`: refused");
    assert_eq!(refused.len(), 1, "{:?}", github.comments(REPO, main));
    let body = &refused[0];
    for field in ["vm_count = 500", "note", "zone"] {
        assert!(body.contains(field), "{field} is not named: {body}");
    }
    // The hand-written text is quoted inside a fence, never live.
    let fence_at = body.find("```").unwrap();
    assert!(body.find("@org/team").unwrap() > fence_at, "{body}");
    // Both pull requests' plans and the default branch's apply: failed checks.
    for (name, count) in [("promptops/plan", 2), ("promptops/apply", 1)] {
        let checks = t.checks(name);
        assert_eq!(checks.len(), count, "{name}: {checks:?}");
        assert!(
            checks
                .iter()
                .all(|c| c.conclusion.as_deref() == Some("failure")),
            "{name}: {checks:?}"
        );
    }
    let runs = t.runs(main).await;
    assert!(
        runs.iter().all(|r| r.status == RunStatus::Failed),
        "{runs:?}"
    );
    assert!(!t.state_file("omicron").exists());
    assert!(calls(&log).is_empty(), "terraform ran: {:?}", calls(&log));
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_comment_of_three_hundred_commands_is_one_job_and_at_most_one_reply() {
    let mut t = Lifecycle::start().await;
    let github = t.service.github.clone();
    github.set_permission(REPO, "tia", "triage");
    let number = github.add_issue(REPO, "rita", "GPUs", "one T4 VM");
    let issue = IssueRef {
        number,
        title: "GPUs".to_owned(),
        body: "one T4 VM".to_owned(),
        is_pull_request: false,
    };
    let flood = "/promptops x\n".repeat(300);
    let requests_before = github.requests().len();

    // A read-only outsider: one job, no reply at all.
    comment_as(&mut t, &issue, "rita", &flood).await;
    let jobs = t.service.store.list_jobs(None, 1000).await.unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert!(github.comments(REPO, number).is_empty());

    // Someone who can triage: one reply, the unknown command once, the rest named as ignored.
    comment_as(&mut t, &issue, "tia", &flood).await;
    assert_eq!(
        t.service.store.list_jobs(None, 1000).await.unwrap().len(),
        2
    );
    let replies = github.comments(REPO, number);
    assert_eq!(replies.len(), 1, "{replies:?}");
    let reply = &replies[0].body;
    assert_eq!(reply.matches("Unknown command").count(), 1, "{reply}");
    assert!(reply.contains("297 were ignored"), "{reply}");
    assert!(reply.contains("and 292 more"), "{reply}");
    let calls = github.requests().len() - requests_before;
    eprintln!("GitHub API calls for two comments of 300 `/promptops x` lines: {calls}");
    assert!(
        calls <= 20,
        "{calls} GitHub API calls for two flooding comments"
    );
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_min_permission_maintain_a_writers_own_merge_waits_for_a_maintainers_apply() {
    let (mut t, log, _dir) = start_recorded().await;
    t.set_settings("permissions:\n  min_permission: maintain\n");
    let github = t.service.github.clone();
    github.set_permission(REPO, "ada", "maintain");
    github.set_permission(REPO, "wally", "write");
    // wally (write) opens and merges his own change: GitHub lets a writer merge.
    github.set_file(
        REPO,
        "wally-nu",
        &tfvars_path("nu"),
        tfvars("nu", 1, "us-central1-a"),
    );
    let pr = github.open_pr(REPO, "wally-nu", "main", "nu", "", "wally");
    deliver_from(&mut t, pr, "opened", "wally").await;
    github.merge_pr_as(REPO, pr, "wally");
    deliver_from(&mut t, pr, "closed", "wally").await;
    let waiting = t.comments_with(pr, "Not applied yet");
    assert_eq!(waiting.len(), 1, "{:?}", github.comments(REPO, pr));
    assert!(
        waiting[0].contains("@wally merged this pull request with **write** permission")
            && waiting[0].contains("needs **maintain**")
            && waiting[0].contains("`/promptops apply`"),
        "{}",
        waiting[0]
    );
    assert!(t.checks("promptops/apply").is_empty());
    assert!(!t.state_file("nu").exists());
    assert!(
        !calls(&log).iter().any(|c| c.starts_with("apply")),
        "terraform applied: {:?}",
        calls(&log)
    );

    // wally cannot apply it by command either; ada, who can, does.
    comment_as(&mut t, &on_pr(pr), "wally", "/promptops apply").await;
    assert!(!t.state_file("nu").exists());
    comment_as(&mut t, &on_pr(pr), "ada", "/promptops apply").await;
    let applied = t.comments_with(pr, "Terraform apply for `nu`");
    assert_eq!(applied.len(), 1, "{:?}", github.comments(REPO, pr));
    assert!(
        t.state_file("nu").exists(),
        "applied on the maintainer's command"
    );
    t.service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_min_permission_maintain_a_maintainers_merge_is_applied_at_once() {
    let (mut t, _log, _dir) = start_recorded().await;
    t.set_settings("permissions:\n  min_permission: maintain\n");
    let github = t.service.github.clone();
    github.set_permission(REPO, "ada", "maintain");
    github.set_file(
        REPO,
        "ada-pi",
        &tfvars_path("pi"),
        tfvars("pi", 1, "us-central1-a"),
    );
    let pr = github.open_pr(REPO, "ada-pi", "main", "pi", "", "ada");
    deliver_from(&mut t, pr, "opened", "ada").await;
    github.merge_pr_as(REPO, pr, "ada");
    deliver_from(&mut t, pr, "closed", "ada").await;
    assert!(t.comments_with(pr, "Not applied yet").is_empty());
    assert_eq!(t.comments_with(pr, "Terraform apply for `pi`").len(), 1);
    assert!(t.state_file("pi").exists());
    t.service.stop().await;
}
