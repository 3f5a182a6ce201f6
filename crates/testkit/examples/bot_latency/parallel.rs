//! Many deployments at once: `n` pull requests, each adding one deployment's variables,
//! opened together, against one PR planned alone. The bot plans at most `parallelism` at a
//! time (its workers, and Terraform runs at once, one per core by default), so the ideal
//! for `n` is ceil(n / parallelism) × one plan alone.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::waits::{self, since};
use crate::world::{PERSON, REPO, World};

const TIMEOUT: Duration = Duration::from_secs(600);

pub struct Burst {
    /// One PR planned alone, each of `solo_runs` times: event → plan comment.
    pub alone: Vec<Duration>,
    /// From the first of the `n` deliveries to the last plan comment.
    pub together: Duration,
    pub deployments: usize,
}

/// Variables of a deployment of the fixture module with `vm_count` VMs.
fn tfvars(deployment: &str, vm_count: u32) -> String {
    format!(
        "deployment_name   = \"{deployment}\"\nvm_count          = {vm_count}\ngpu_type          = \"nvidia-tesla-t4\"\ngpu_count         = 1\nmachine_type      = \"n1-standard-4\"\nzone              = \"us-central1-a\"\nboot_disk_size_gb = 100\n"
    )
}

/// A PR by [`PERSON`] adding `deployment`'s variables; not yet announced to the bot.
fn open_pr(world: &World, deployment: &str) -> u64 {
    let branch = format!("add-{deployment}");
    let path = format!("terraform/deployments/{deployment}/terraform.tfvars");
    world
        .github
        .set_file(REPO, &branch, &path, tfvars(deployment, 2));
    world.github.open_pr(
        REPO,
        &branch,
        "main",
        &format!("Deployment {deployment}"),
        "",
        PERSON,
    )
}

/// When the plan comment of `deployment` on `pr` was written.
async fn planned(world: &World, pr: u64, deployment: &str) -> anyhow::Result<DateTime<Utc>> {
    let marker = format!("Terraform plan for `{deployment}`");
    waits::comment_written(world, pr, &[&marker, "Plan: 2 to add"], TIMEOUT).await
}

pub async fn run(world: &World, deployments: usize, solo_runs: usize) -> anyhow::Result<Burst> {
    let mut alone = Vec::new();
    for i in 0..solo_runs {
        let deployment = format!("solo-{i:02}");
        let pr = open_pr(world, &deployment);
        let started = Utc::now();
        world
            .deliver("pull_request", &world.pr_payload("opened", pr, PERSON)?)
            .await?;
        alone.push(since(started, planned(world, pr, &deployment).await?));
        let head = world
            .github
            .pr(REPO, pr)
            .map(|p| p.head_sha)
            .unwrap_or_default();
        waits::check_completed(world, "promptops/plan", &head, TIMEOUT).await?;
    }

    let prs: Vec<(u64, String)> = (0..deployments)
        .map(|i| {
            let deployment = format!("many-{i:02}");
            (open_pr(world, &deployment), deployment)
        })
        .collect();
    let started = Utc::now();
    for (pr, _) in &prs {
        world
            .deliver("pull_request", &world.pr_payload("opened", *pr, PERSON)?)
            .await?;
    }
    let mut last = started;
    for (pr, deployment) in &prs {
        last = last.max(planned(world, *pr, deployment).await?);
    }
    Ok(Burst {
        alone,
        together: since(started, last),
        deployments,
    })
}
