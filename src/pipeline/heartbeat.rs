//! This process in the store's process table: registered when its workers start,
//! heartbeating while they run, removed at shutdown. Each heartbeat also looks for
//! processes that are gone — a heartbeat older than `stale_after`, or a process of this
//! host whose pid is no longer alive (the one this process replaced) — and ends their jobs'
//! leases early, so that their work runs again within seconds instead of when the leases
//! would have run out.
//!
//! A gone process may have sent a GitHub request that GitHub has not finished yet; its
//! leases therefore end `resume_pause` after its last sign of life, long enough for such a
//! request to land, so that the job's next run finds what it created (by its hidden key)
//! instead of creating it again.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use promptops_store::{ProcessRecord, Store};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use promptops_core::clock::Clock;

/// Who this process is, for the process table and its workers' lease ids.
#[derive(Debug, Clone)]
pub struct ProcessIdentity {
    /// Unique per start: `<hostname>-<pid>-<start time>`.
    pub id: String,
    /// The host and pid namespace: pids are compared only between processes that share it.
    pub host: String,
    pub pid: u32,
}

impl ProcessIdentity {
    /// This process, as the operating system names it.
    pub fn current() -> Self {
        let hostname = std::fs::read_to_string("/etc/hostname")
            .map(|name| name.trim().to_owned())
            .ok()
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "promptops".to_owned());
        // Two containers can share a host name but not a pid namespace; a pid says nothing
        // about a process in another namespace.
        let namespace = std::fs::read_link("/proc/self/ns/pid")
            .map(|link| link.display().to_string())
            .unwrap_or_default();
        let pid = std::process::id();
        let started = Utc::now().timestamp_micros();
        Self {
            id: format!("{hostname}-{pid}-{started:x}"),
            host: format!("{hostname} {namespace}"),
            pid,
        }
    }
}

/// How often this process says it is alive, and when others are taken for gone.
#[derive(Debug, Clone)]
pub struct HeartbeatSettings {
    pub interval: Duration,
    /// A process whose heartbeat is older than this is gone.
    pub stale_after: Duration,
    /// How long after its last sign of life a gone process's leases end (and how long a job
    /// released at shutdown waits): longer than GitHub takes to finish a request it received
    /// (GitHub ends requests that run over 10 s).
    pub resume_pause: Duration,
}

impl Default for HeartbeatSettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(5),
            stale_after: Duration::from_secs(15),
            resume_pause: Duration::from_secs(15),
        }
    }
}

pub struct Heartbeat {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub identity: ProcessIdentity,
    pub settings: HeartbeatSettings,
}

impl Heartbeat {
    /// Registers, then beats until `stop`; a failed beat is logged and retried at the next.
    pub async fn run(&self, stop: CancellationToken) {
        let mut tick = tokio::time::interval(self.settings.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut registered = false;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.cancelled() => return,
            }
            if let Err(err) = self.beat(&mut registered).await {
                warn!(error = %err, "process heartbeat failed");
            }
        }
    }

    async fn beat(&self, registered: &mut bool) -> anyhow::Result<()> {
        let now = self.clock.now();
        if !*registered || !self.store.heartbeat(&self.identity.id, now).await? {
            self.store
                .register_process(&ProcessRecord {
                    id: self.identity.id.clone(),
                    host: self.identity.host.clone(),
                    pid: self.identity.pid,
                    started_at: now,
                    heartbeat_at: now,
                })
                .await?;
            *registered = true;
        }
        for process in self.store.processes().await? {
            if process.id != self.identity.id && self.is_gone(&process, now) {
                let leases_end =
                    process.heartbeat_at + self.settings.interval + self.settings.resume_pause;
                let leases = self
                    .store
                    .take_over_process(&process.id, leases_end)
                    .await?;
                info!(
                    process = %process.id,
                    leases,
                    %leases_end,
                    "a process is gone; its jobs run again once their leases end"
                );
            }
        }
        Ok(())
    }

    fn is_gone(&self, process: &ProcessRecord, now: DateTime<Utc>) -> bool {
        let silent = (now - process.heartbeat_at).to_std().unwrap_or_default();
        if silent > self.settings.stale_after {
            return true;
        }
        process.host == self.identity.host
            && (process.pid == self.identity.pid || !pid_alive(process.pid))
    }

    /// Leaves the process table at shutdown: leases still held (an outcome that could not
    /// be recorded) end after the resume pause, like those of a process that died.
    pub async fn leave(&self) {
        let leases_end = self.clock.now() + self.settings.resume_pause;
        if let Err(err) = self
            .store
            .take_over_process(&self.identity.id, leases_end)
            .await
        {
            warn!(error = %err, "removing this process from the process table failed");
        }
    }
}

fn pid_alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}
