//! Whether the pooled delivery writer's latest write failed, for readiness.
//!
//! PostgreSQL refuses a write that needs new space ("could not extend file: No space left
//! on device") while the readiness probe's one-row update still fits in a page the probe
//! table already has: the probe alone stays green while every delivery is refused. The
//! writer therefore records each batch's outcome here, and the probe reports a failed one,
//! as it reports a failed SQLite log sync (`sqlite_writer`).
//!
//! Unlike that sync, a failed PostgreSQL write was rolled back whole and nothing is in
//! doubt, so the report does not last until a restart: it ends with the next batch that
//! commits, or `REPORTED_FOR` after the failure. The second way matters when readiness takes
//! the replica out of rotation: no delivery reaches it, so none could end the report, and
//! readiness is tried again instead (a delivery that still fails reports it anew).

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};

use crate::error::{Result, StoreError};

/// How long a failed delivery write keeps readiness failing when no write commits after it.
pub(crate) const REPORTED_FOR: TimeDelta = TimeDelta::seconds(30);

/// The outcome of the delivery writer's latest batch, as far as readiness cares.
#[derive(Debug, Default)]
pub(crate) struct WriteHealth {
    failed: Mutex<Option<FailedWrite>>,
}

#[derive(Debug, Clone)]
struct FailedWrite {
    at: DateTime<Utc>,
    reason: String,
}

impl WriteHealth {
    /// Records a batch's outcome: a failure until the next commit, a commit clears it.
    pub(crate) fn record<T>(&self, written: &Result<T>, at: DateTime<Utc>) {
        let mut failed = self.failed.lock().unwrap_or_else(PoisonError::into_inner);
        *failed = match written {
            Ok(_) => None,
            Err(err) => Some(FailedWrite {
                at,
                reason: err.to_string(),
            }),
        };
    }

    /// Fails when the latest batch failed less than `REPORTED_FOR` before `now`.
    pub(crate) fn check(&self, now: DateTime<Utc>) -> Result<()> {
        let failed = self.failed.lock().unwrap_or_else(PoisonError::into_inner);
        match &*failed {
            Some(failure) if now - failure.at < REPORTED_FOR => {
                Err(StoreError::DeliveryWriteFailed {
                    reason: failure.reason.clone(),
                    seconds_ago: (now - failure.at).num_seconds(),
                })
            }
            _ => Ok(()),
        }
    }
}
