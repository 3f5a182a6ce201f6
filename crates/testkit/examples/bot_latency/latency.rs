//! One request's life through the bot, timed at each hand-over a person waits for:
//! `/promptops plan` on an issue → the PR is opened; the PR's `opened` event → its plan
//! comment; a push (`synchronize`) → the new plan comment; the merge → the apply comment.
//! Each Terraform step is repeated bare on the same module and variables.

use std::time::{Duration, Instant};

use chrono::Utc;

use crate::waits::{self, since};
use crate::world::{PERSON, REPO, Settings, World};
use promptops_testkit::bare_terraform::{self as bare, Sequence};

const STEP_TIMEOUT: Duration = Duration::from_secs(120);
/// The VM the push adds (the third), as the plan comment lists it on either module
/// (`terraform_data.vm[2]`, `module.compute.google_compute_instance.vm[2]`).
const PUSHED_VM: &str = ".vm[2]";

/// The figures of one run, in milliseconds of wall time.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    pub comment_to_pr: Duration,
    pub opened_to_plan: Duration,
    pub push_to_plan: Duration,
    pub merge_to_apply: Duration,
    /// Terraform alone: init → plan → show on the pushed variables.
    pub bare_plan: Duration,
    /// Terraform alone: init → plan → show → apply → output on the same variables.
    pub bare_apply: Duration,
    /// The time the bot's own Terraform commands took in each step (from its log).
    pub own_terraform: OwnTerraform,
}

/// The wall time of the Terraform commands the bot ran in each step, as its runner logs
/// them; `None` when the log does not say (a `BENCH_RUST_LOG` without the step lines).
#[derive(Debug, Clone, Default)]
pub struct OwnTerraform {
    pub opened: Option<Duration>,
    pub push: Option<Duration>,
    pub merge: Option<Duration>,
}

/// Runs one request through the bot, then the same Terraform steps bare.
pub async fn run_once(world: &World, settings: &Settings) -> anyhow::Result<Sample> {
    let mut sample = Sample::default();
    let title = "GPUs for the latency benchmark";
    let body = "2 T4 VMs in us-central1";
    let issue = world.github.add_issue(REPO, PERSON, title, body);
    let branch = format!("promptops/issue-{issue}");

    // Comment → PR: until the fake receives the request that opens the PR.
    let started = Instant::now();
    let payload = world.comment_payload(issue, title, body, "/promptops plan");
    world.deliver("issue_comment", &payload).await?;
    let pr = waits::until(world, "the request's PR", STEP_TIMEOUT, || {
        world
            .github
            .prs()
            .into_iter()
            .find(|p| p.head_ref == branch)
            .map(|p| p.number)
    })
    .await?;
    let opened_at = world
        .github
        .requests_to("POST", &format!("/repos/{REPO}/pulls"))
        .into_iter()
        .filter(|r| r.at >= started && r.status == 201 && !r.path.contains("/pulls/"))
        .map(|r| r.at)
        .min()
        .ok_or_else(|| anyhow::anyhow!("no PR-creating request was recorded for #{issue}"))?;
    sample.comment_to_pr = opened_at - started;
    // The job's last write: its answer on the issue.
    waits::until(world, "the answer on the issue", STEP_TIMEOUT, || {
        (!world.github.comments(REPO, issue).is_empty()).then_some(())
    })
    .await?;
    world.until_idle(STEP_TIMEOUT).await?;
    waits::trace(world, "comment -> PR opened and the answer", started);
    // The PR's own tfvars: the branch also holds the deployments merged by earlier runs.
    let merged = world.github.paths(REPO, "main");
    let tfvars_path = world
        .github
        .paths(REPO, &branch)
        .into_iter()
        .filter(|p| !merged.contains(p))
        .find(|p| p.starts_with("terraform/deployments/") && p.ends_with("/terraform.tfvars"))
        .ok_or_else(|| anyhow::anyhow!("no tfvars on {branch}"))?;
    let deployment = tfvars_path
        .trim_start_matches("terraform/deployments/")
        .trim_end_matches("/terraform.tfvars")
        .to_owned();
    let plan_marker = format!("Terraform plan for `{deployment}`");

    // The PR's `opened` event (GitHub sends it with the bot as sender) → its plan.
    let head = head_sha(world, pr)?;
    let bot = world.github.bot_login();
    // Built first: rendering the payload reads the fake GitHub, which is not the bot's time.
    let opened = world.pr_payload("opened", pr, &bot)?;
    let log_offset = world.log_offset();
    let started = Utc::now();
    world.deliver("pull_request", &opened).await?;
    let written = waits::comment_written(world, pr, &[&plan_marker], STEP_TIMEOUT).await?;
    sample.opened_to_plan = since(started, written);
    waits::check_completed(world, "promptops/plan", &head, STEP_TIMEOUT).await?;
    world.until_idle(STEP_TIMEOUT).await?;
    sample.own_terraform.opened = world.terraform_time_since(log_offset);

    // A push of one more VM → the new plan.
    let tfvars = world
        .github
        .file(REPO, &branch, &tfvars_path)
        .ok_or_else(|| anyhow::anyhow!("{tfvars_path} is missing on {branch}"))?;
    let pushed = with_vm_count(&tfvars, 3)?;
    world.github.set_file(REPO, &branch, &tfvars_path, &pushed);
    let head = head_sha(world, pr)?;
    let synchronize = world.pr_payload("synchronize", pr, PERSON)?;
    let log_offset = world.log_offset();
    let started = Utc::now();
    let traced = Instant::now();
    world.deliver("pull_request", &synchronize).await?;
    let written =
        waits::comment_written(world, pr, &[&plan_marker, PUSHED_VM], STEP_TIMEOUT).await?;
    sample.push_to_plan = since(started, written);
    waits::check_completed(world, "promptops/plan", &head, STEP_TIMEOUT).await?;
    world.until_idle(STEP_TIMEOUT).await?;
    sample.own_terraform.push = world.terraform_time_since(log_offset);
    waits::trace(world, "push -> plan comment", traced);

    let terraform = settings.terraform.clone();
    let bare_deployment = format!("{deployment}-bare");
    sample.bare_plan = tokio::task::spawn_blocking({
        let (terraform, deployment, pushed) =
            (terraform.clone(), bare_deployment.clone(), pushed.clone());
        let module = settings.module.clone();
        move || bare::run_module(&terraform, &module, Sequence::Plan, &deployment, &pushed)
    })
    .await??;
    if !settings.with_apply() {
        return Ok(sample);
    }

    // The merge → the apply comment.
    let merge_sha = world.github.merge_pr(REPO, pr);
    let closed = world.pr_payload("closed", pr, PERSON)?;
    let log_offset = world.log_offset();
    let started = Utc::now();
    let traced = Instant::now();
    world.deliver("pull_request", &closed).await?;
    let apply_marker = format!("Terraform apply for `{deployment}`");
    let written = waits::comment_written(world, pr, &[&apply_marker], STEP_TIMEOUT).await?;
    sample.merge_to_apply = since(started, written);
    waits::check_completed(world, "promptops/apply", &merge_sha, STEP_TIMEOUT).await?;
    world.until_idle(STEP_TIMEOUT).await?;
    sample.own_terraform.merge = world.terraform_time_since(log_offset);
    waits::trace(world, "merge -> apply comment", traced);

    let module = settings.module.clone();
    sample.bare_apply = tokio::task::spawn_blocking(move || {
        bare::run_module(
            &terraform,
            &module,
            Sequence::Apply,
            &bare_deployment,
            &pushed,
        )
    })
    .await??;
    Ok(sample)
}

fn head_sha(world: &World, pr: u64) -> anyhow::Result<String> {
    world
        .github
        .pr(REPO, pr)
        .map(|p| p.head_sha)
        .ok_or_else(|| anyhow::anyhow!("the fake GitHub has no PR #{pr}"))
}

/// `tfvars` with its `vm_count` line set to `count`.
fn with_vm_count(tfvars: &str, count: u32) -> anyhow::Result<String> {
    let mut found = false;
    let lines: Vec<String> = tfvars
        .lines()
        .map(|line| {
            if line.split('=').next().map(str::trim) == Some("vm_count") {
                found = true;
                format!("vm_count = {count}")
            } else {
                line.to_owned()
            }
        })
        .collect();
    anyhow::ensure!(found, "the bot's tfvars have no vm_count line:\n{tfvars}");
    Ok(lines.join("\n") + "\n")
}
