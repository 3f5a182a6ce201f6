//! Waiting for the bot's effects on the fake GitHub, and reading when they happened.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::world::{REPO, World};

/// Checks `check` after each request the fake GitHub answers until it returns `Some`; an
/// error names `what` after `timeout`. Waking on answers rather than polling keeps the
/// driver off the CPU while the bot and Terraform run (the times come from the fake's
/// own timestamps, so how soon the driver notices does not change them).
pub async fn until<T>(
    world: &World,
    what: &str,
    timeout: Duration,
    check: impl Fn() -> Option<T>,
) -> anyhow::Result<T> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut answered = world.github.answered();
    loop {
        answered.mark_unchanged();
        if let Some(found) = check() {
            return Ok(found);
        }
        let woken = tokio::time::timeout_at(deadline, answered.changed()).await;
        anyhow::ensure!(
            matches!(woken, Ok(Ok(()))),
            "gave up after {timeout:?} waiting for {what}"
        );
    }
}

/// When the comment on `issue` containing every one of `needles` was last written (the
/// bot edits its report comments in place).
pub async fn comment_written(
    world: &World,
    issue: u64,
    needles: &[&str],
    timeout: Duration,
) -> anyhow::Result<DateTime<Utc>> {
    until(
        world,
        &format!("a comment on #{issue} with {needles:?}"),
        timeout,
        || {
            world
                .github
                .comments(REPO, issue)
                .into_iter()
                .find(|c| needles.iter().all(|needle| c.body.contains(needle)))
                .map(|c| c.updated_at)
        },
    )
    .await
    .map_err(|err| {
        // What the bot did write there says why the awaited comment never came.
        let written: Vec<String> = world
            .github
            .comments(REPO, issue)
            .into_iter()
            .map(|c| c.body.chars().take(400).collect())
            .collect();
        err.context(format!("the comments on #{issue}: {written:#?}"))
    })
}

/// Waits until the check run `name` on `sha` is completed (the job's last GitHub write).
pub async fn check_completed(
    world: &World,
    name: &str,
    sha: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    until(
        world,
        &format!("check run {name} on {sha}"),
        timeout,
        || {
            world
                .github
                .check_runs()
                .into_iter()
                .any(|c| c.name == name && c.head_sha == sha && c.status == "completed")
                .then_some(())
        },
    )
    .await
}

/// Wall time from `started` to `at`.
pub fn since(started: DateTime<Utc>, at: DateTime<Utc>) -> Duration {
    (at - started).to_std().unwrap_or_default()
}

/// With `BENCH_TRACE=1`: the GitHub requests the bot made since `started`, with their
/// offsets, to see where a step's time goes.
pub fn trace(world: &World, step: &str, started: std::time::Instant) {
    if std::env::var_os("BENCH_TRACE").is_none() {
        return;
    }
    eprintln!("-- {step}: GitHub requests (ms after the delivery)");
    for request in world.github.requests() {
        if request.at >= started {
            eprintln!(
                "  {:>8.1}  {} {} -> {}",
                (request.at - started).as_secs_f64() * 1e3,
                request.method,
                request.path,
                request.status
            );
        }
    }
}
