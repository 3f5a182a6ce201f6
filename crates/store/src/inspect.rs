//! Reading back what the store holds, for tests only (the `test-support` feature): the
//! service itself never lists jobs or looks deliveries up by id.

use crate::backend::with_pool;
use crate::clock::from_micros;
use crate::error::Result;
use crate::model::{DeliveryRecord, Job, JobStatus};
use crate::queue::{JOB_COLUMNS, JobRow};
use crate::store::Store;

impl Store {
    pub async fn delivery(&self, id: &str) -> Result<Option<DeliveryRecord>> {
        let row: Option<(String, String, Option<String>, i64)> = with_pool!(&self.inner.backend, pool => {
            sqlx::query_as(
                "SELECT delivery_id, event, action, received_at FROM deliveries WHERE delivery_id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        row.map(|(id, event, action, received_at)| {
            Ok(DeliveryRecord {
                id,
                event,
                action,
                received_at: from_micros("deliveries.received_at", received_at)?,
            })
        })
        .transpose()
    }

    pub async fn delivery_count(&self) -> Result<u64> {
        let count: i64 = with_pool!(&self.inner.backend, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM deliveries").fetch_one(pool).await?
        });
        Ok(u64::try_from(count).unwrap_or_default())
    }

    /// Jobs, newest first, optionally only those with `status`.
    pub async fn list_jobs(&self, status: Option<JobStatus>, limit: u32) -> Result<Vec<Job>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE ($1 IS NULL OR status = $1) ORDER BY id DESC LIMIT $2"
        );
        let status = status.map(JobStatus::as_str);
        let rows: Vec<JobRow> = with_pool!(&self.inner.backend, pool => {
            sqlx::query_as(&sql)
                .bind(status)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(Job::try_from).collect()
    }
}
