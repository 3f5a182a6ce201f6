//! Deletes what the store would otherwise keep for ever: the records of the commits the
//! App made (`app_commits`, one row per file written or removed and per pull request
//! merged) once they are older than the retention. Runs beside the workers, at start and
//! then every `interval`; with several replicas each prunes, and a row goes once,
//! whichever deletes it.
//!
//! Why a record may go: it only tells the App's own commits from ones that claim its
//! identity. A commit whose record was pruned is taken for someone else's, so a plan
//! built on it waits for a go-ahead and the bot's branch holding it is not built on again
//! — the direction a missing record always errs in, never one that lets a foreign commit
//! pass as the App's. The retention only has to outlast the pull requests the App works
//! on; an older one that comes back asks a person once.

use std::time::Duration;

use promptops_store::Store;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// How long records are kept, and how often old ones are looked for.
#[derive(Debug, Clone)]
pub struct HousekeepingSettings {
    /// How often old records are pruned (the first time at start).
    pub interval: Duration,
    /// A record of the App's commit older than this is deleted.
    pub app_commit_retention: Duration,
}

/// Default `app_commit_retention` in days (`PROMPTOPS_APP_COMMIT_RETENTION_DAYS`).
pub const DEFAULT_APP_COMMIT_RETENTION_DAYS: u64 = 180;

impl Default for HousekeepingSettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(3600),
            app_commit_retention: days(DEFAULT_APP_COMMIT_RETENTION_DAYS),
        }
    }
}

/// `count` days as a duration.
pub fn days(count: u64) -> Duration {
    Duration::from_secs(count * 24 * 3600)
}

pub struct Housekeeping {
    pub store: Store,
    pub settings: HousekeepingSettings,
}

impl Housekeeping {
    /// Prunes at once, then every `interval`, until `stop`; a failed pass is logged and
    /// tried again at the next.
    pub async fn run(&self, stop: CancellationToken) {
        let mut tick = tokio::time::interval(self.settings.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.cancelled() => return,
            }
            if let Err(err) = self.prune().await {
                warn!(error = %format!("{err:#}"), "pruning old records failed");
            }
        }
    }

    /// One pass: deletes the records of the App's commits older than the retention (by
    /// the store's clock, which dated them); returns how many went.
    pub async fn prune(&self) -> anyhow::Result<u64> {
        let retention = self.settings.app_commit_retention;
        let pruned = self.store.prune_app_commits(retention).await?;
        if pruned > 0 {
            info!(
                pruned,
                retention_days = retention.as_secs() / (24 * 3600),
                "records of the App's commits older than the retention deleted"
            );
        }
        Ok(pruned)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use futures::future::BoxFuture;
    use promptops_core::CommitSha;
    use promptops_store::Store;
    use promptops_testkit::ManualClock;
    use tokio_util::sync::CancellationToken;

    use super::days;
    use crate::http::metrics::Metrics;
    use crate::pipeline::jobs::JobPayload;
    use crate::pipeline::worker::{JobRunner, QueueSignals, WorkerPool, WorkerSettings};

    /// No job is queued: the pool runs for its housekeeping alone.
    struct NoWork;

    impl JobRunner for NoWork {
        fn run_job<'a>(&'a self, _: i64, _: &'a JobPayload) -> BoxFuture<'a, anyhow::Result<()>> {
            Box::pin(async { Ok(()) })
        }

        fn gave_up<'a>(
            &'a self,
            _: i64,
            _: &'a JobPayload,
            _: u32,
        ) -> BoxFuture<'a, anyhow::Result<()>> {
            Box::pin(async { Ok(()) })
        }
    }

    fn sha(digit: char) -> CommitSha {
        digit.to_string().repeat(40).parse().unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_worker_pool_prunes_commits_recorded_longer_ago_than_the_retention_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let clock = ManualClock::fixed();
        let store = Store::connect_with(&url, Default::default(), Arc::new(clock.clone()))
            .await
            .unwrap();
        let repo = "octo/infra".parse().unwrap();
        store.record_app_commit(&repo, &sha('a')).await.unwrap();
        clock.advance(days(100));
        store.record_app_commit(&repo, &sha('b')).await.unwrap();
        clock.advance(days(81));

        let shutdown = CancellationToken::new();
        let mut pool = WorkerPool {
            store: store.clone(),
            handlers: Arc::new(NoWork),
            clock: Arc::new(clock.clone()),
            signals: QueueSignals::default(),
            metrics: Arc::new(Metrics::new()),
            settings: WorkerSettings {
                workers: 1,
                ..WorkerSettings::default()
            },
        }
        .spawn(shutdown.clone());
        let asked = [sha('a'), sha('b')];
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        // 181 days after the first commit, 81 after the second: only the first is older
        // than the default 180 days.
        while store.app_commits_among(&repo, &asked).await.unwrap().len() > 1 {
            assert!(
                std::time::Instant::now() < deadline,
                "the first pass did not prune"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            store.app_commits_among(&repo, &asked).await.unwrap(),
            [sha('b')].into()
        );
        shutdown.cancel();
        while pool.join_next().await.is_some() {}
        store.close().await;
    }
}
