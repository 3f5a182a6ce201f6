//! Service processes: each registers itself and heartbeats; the jobs of a process known to
//! be gone are taken over without waiting for their leases to run out. Worker ids are
//! `<process id>/<n>`, which is how a lease names its process.

use chrono::{DateTime, Utc};

use crate::backend::with_pool;
use crate::clock::{from_micros, to_micros};
use crate::error::Result;
use crate::store::Store;

/// A registered process, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessRecord {
    /// Unique per process start (its workers' ids begin with it and a `/`).
    pub id: String,
    pub host: String,
    pub pid: u32,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
}

/// Leases whose worker id begins with the process id and a `/` (no LIKE: ids may hold `_`).
const LEASES_OF_PROCESS: &str =
    "status = 'running' AND substr(locked_by, 1, length($1) + 1) = $1 || '/'";

impl Store {
    /// Records the process as alive (again, when it was taken for gone).
    pub async fn register_process(&self, process: &ProcessRecord) -> Result<()> {
        with_pool!(&self.inner.backend, pool => {
            sqlx::query(
                "INSERT INTO processes (id, host, pid, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
            )
            .bind(&process.id)
            .bind(&process.host)
            .bind(i64::from(process.pid))
            .bind(to_micros(process.started_at))
            .bind(to_micros(process.heartbeat_at))
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Moves the process's heartbeat to `now`. `false` when it is not registered (another
    /// process took it for gone and took its jobs over): it must register again.
    pub async fn heartbeat(&self, process_id: &str, now: DateTime<Utc>) -> Result<bool> {
        let changed = with_pool!(&self.inner.backend, pool => {
            sqlx::query("UPDATE processes SET heartbeat_at = $2 WHERE id = $1")
                .bind(process_id)
                .bind(to_micros(now))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(changed > 0)
    }

    /// Every registered process.
    pub async fn processes(&self) -> Result<Vec<ProcessRecord>> {
        let rows: Vec<(String, String, i64, i64, i64)> = with_pool!(&self.inner.backend, pool => {
            sqlx::query_as("SELECT id, host, pid, started_at, heartbeat_at FROM processes ORDER BY id")
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(id, host, pid, started_at, heartbeat_at)| {
                Ok(ProcessRecord {
                    id,
                    host,
                    pid: u32::try_from(pid).unwrap_or_default(),
                    started_at: from_micros("processes.started_at", started_at)?,
                    heartbeat_at: from_micros("processes.heartbeat_at", heartbeat_at)?,
                })
            })
            .collect()
    }

    /// The process is gone: its leases end at `leases_end` at the latest (the caller leaves
    /// time for a request it may have sent to land, see the worker), and its registration
    /// is removed. Returns how many leases were shortened.
    pub async fn take_over_process(
        &self,
        process_id: &str,
        leases_end: DateTime<Utc>,
    ) -> Result<u64> {
        let end = to_micros(leases_end);
        let shortened = with_pool!(&self.inner.backend, pool => {
            let mut tx = pool.begin().await?;
            let shortened = sqlx::query(&format!(
                "UPDATE jobs SET locked_until = $2 WHERE {LEASES_OF_PROCESS} AND locked_until > $2"
            ))
            .bind(process_id)
            .bind(end)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query("DELETE FROM processes WHERE id = $1")
                .bind(process_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            shortened
        });
        Ok(shortened)
    }

    /// Commits a one-row write: succeeds only when the store can commit now (readiness).
    /// A failed log sync (SQLite) or a failed delivery write not followed by a commit
    /// (PostgreSQL, see `write_health`) fails it too: the one-row write can succeed where
    /// deliveries cannot.
    pub async fn probe_write(&self) -> Result<()> {
        if let Some(reason) = self.inner.sync_failure.get() {
            return Err(crate::error::StoreError::LogSyncFailed {
                reason: reason.clone(),
            });
        }
        self.inner.write_health.check(self.now())?;
        let now = to_micros(self.now());
        with_pool!(&self.inner.backend, pool => {
            sqlx::query(
                "INSERT INTO write_probe (id, at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at = excluded.at",
            )
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}
