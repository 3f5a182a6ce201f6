//! Gauges of what the bot does on its own schedule, read from the store at scrape time (as
//! the queue gauges are), so that every replica sharing a database reports the same:
//! deployments by expiry state, deployments by the result of their last drift check, and
//! how old the oldest last check is (a schedule that stopped shows as a growing age).

use std::sync::atomic::AtomicU64;

use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use promptops_store::{DriftCheckRecord, ExpiryRecord};

use crate::handlers::DriftResult;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ExpiryStateLabel {
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DriftResultLabel {
    result: &'static str,
}

const EXPIRY_STATES: [&str; 4] = ["awaiting_apply", "scheduled", "warned", "destroy_pr_opened"];

fn expiry_state(expiry: &ExpiryRecord) -> &'static str {
    match (expiry.expires_at, expiry.warned_at, expiry.destroy_pr) {
        (None, _, _) => "awaiting_apply",
        (Some(_), _, Some(_)) => "destroy_pr_opened",
        (Some(_), Some(_), None) => "warned",
        (Some(_), None, None) => "scheduled",
    }
}

pub struct ScheduleMetrics {
    expiries: Family<ExpiryStateLabel, Gauge>,
    drift: Family<DriftResultLabel, Gauge>,
    oldest_check_age: Gauge<f64, AtomicU64>,
}

impl ScheduleMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            expiries: Family::default(),
            drift: Family::default(),
            oldest_check_age: Gauge::default(),
        };
        registry.register(
            "expiring_deployments",
            "Deployments with an expiry, by state (awaiting_apply, scheduled, warned, destroy_pr_opened)",
            metrics.expiries.clone(),
        );
        registry.register(
            "drift_deployments",
            "Deployments by the result of their last drift check (no_drift, drift, error)",
            metrics.drift.clone(),
        );
        registry.register_with_unit(
            "drift_oldest_check_age",
            "Age of the oldest last drift check over all checked deployments (0 when none)",
            Unit::Seconds,
            metrics.oldest_check_age.clone(),
        );
        metrics
    }

    /// Sets the gauges from the store's records.
    pub fn set(&self, expiries: &[ExpiryRecord], checks: &[DriftCheckRecord], now: DateTime<Utc>) {
        for state in EXPIRY_STATES {
            let count = expiries.iter().filter(|e| expiry_state(e) == state).count();
            self.expiries
                .get_or_create(&ExpiryStateLabel { state })
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
        for result in [DriftResult::NoDrift, DriftResult::Drift, DriftResult::Error] {
            let result = result.as_str();
            let count = checks.iter().filter(|c| c.result == result).count();
            self.drift
                .get_or_create(&DriftResultLabel { result })
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
        let oldest = checks
            .iter()
            .map(|c| (now - c.checked_at).num_milliseconds())
            .max()
            .unwrap_or_default();
        self.oldest_check_age.set(oldest.max(0) as f64 / 1000.0);
    }
}
