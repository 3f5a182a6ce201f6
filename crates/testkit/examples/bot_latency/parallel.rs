//! Many deployments at once: `n` pull requests, each adding one deployment's variables,
//! opened together, against one PR planned alone. The bot plans at most `parallelism` at a
//! time (its workers, and Terraform runs at once, one per core by default), so the naive
//! ideal for `n` is ceil(n / parallelism) × one plan alone. Terraform's own plans slow each
//! other down when they run side by side on few cores, so the same `n` plans are also run
//! bare, `parallelism` at a time, and alone: their ratio is the slowdown Terraform brings
//! itself, which the ideal is scaled by.
//!
//! On a shared VM one plan's time drifts by half within an hour, so the figures an ideal is
//! built from are taken close together: the measurement runs in rounds, each taking its
//! bare burst and the bot's burst back to back, with a few plans alone before them. The
//! plans alone are pooled over all rounds (`report::parallel`): three samples swing by a
//! third, and the rounds take about a minute.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::waits::{self, since};
use crate::world::{PERSON, REPO, World};
use promptops_testkit::bare_terraform::{self as bare, Sequence};

const TIMEOUT: Duration = Duration::from_secs(600);

/// One round's figures, taken one after the other.
pub struct Burst {
    /// One PR planned alone, each of `solo_runs` times: event → plan comment.
    pub alone: Vec<Duration>,
    /// Terraform alone, one plan sequence at a time, `solo_runs` times.
    pub bare_alone: Vec<Duration>,
    /// Terraform alone, the same `n` plan sequences `parallelism` at a time.
    pub bare_together: Duration,
    /// From the first of the `n` deliveries to the last plan comment.
    pub together: Duration,
    pub deployments: usize,
}

/// How a measurement is made: `rounds` rounds of `deployments` at once, each with
/// `solo_runs` plans alone.
pub struct Plan {
    pub deployments: usize,
    pub rounds: usize,
    pub solo_runs: usize,
    pub parallelism: usize,
}

/// A PR by [`PERSON`] adding `deployment`'s variables; not yet announced to the bot.
fn open_pr(world: &World, deployment: &str) -> u64 {
    let branch = format!("add-{deployment}");
    let path = format!("terraform/deployments/{deployment}/terraform.tfvars");
    world
        .github
        .set_file(REPO, &branch, &path, bare::fixture_tfvars(deployment, 2));
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

/// Every round, one after the other.
pub async fn run(
    world: &World,
    terraform: &std::path::Path,
    plan: &Plan,
) -> anyhow::Result<Vec<Burst>> {
    let mut rounds = Vec::with_capacity(plan.rounds);
    for round in 0..plan.rounds {
        let burst = run_round(world, terraform, plan, round).await?;
        eprintln!(
            "round {}/{}: together {:?}, bare together {:?}",
            round + 1,
            plan.rounds,
            burst.together,
            burst.bare_together
        );
        rounds.push(burst);
    }
    Ok(rounds)
}

async fn run_round(
    world: &World,
    terraform: &std::path::Path,
    plan: &Plan,
    round: usize,
) -> anyhow::Result<Burst> {
    let (deployments, solo_runs, parallelism) =
        (plan.deployments, plan.solo_runs, plan.parallelism);
    let (bare_alone, bare_together) = {
        let terraform = terraform.to_path_buf();
        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let alone = (0..solo_runs)
                .map(|i| {
                    let deployment = format!("bare-solo-{i:02}");
                    bare::run(
                        &terraform,
                        Sequence::Plan,
                        &deployment,
                        &bare::fixture_tfvars(&deployment, 2),
                    )
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let together = bare::run_many(&terraform, deployments, parallelism, &|d| {
                bare::fixture_tfvars(d, 2)
            })?;
            Ok((alone, together))
        })
        .await??
    };
    let mut alone = Vec::new();
    for i in 0..solo_runs {
        let deployment = format!("solo-{round:02}-{i:02}");
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
            let deployment = format!("many-{round:02}-{i:02}");
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
    // The next round starts on a quiet bot: every check run of this one completed.
    for (pr, _) in &prs {
        let head = world
            .github
            .pr(REPO, *pr)
            .map(|p| p.head_sha)
            .unwrap_or_default();
        waits::check_completed(world, "promptops/plan", &head, TIMEOUT).await?;
    }
    Ok(Burst {
        alone,
        bare_alone,
        bare_together,
        together: since(started, last),
        deployments,
    })
}
