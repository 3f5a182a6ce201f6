//! A clock that only moves when a test tells it to, so that leases expire, states and
//! sessions age and backoffs elapse without sleeping.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use promptops_core::clock::Clock;

/// A manual clock; clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

/// A step the clock can move by: chrono's or the standard library's durations.
pub trait ClockStep {
    fn delta(self) -> TimeDelta;
}

impl ClockStep for TimeDelta {
    fn delta(self) -> TimeDelta {
        self
    }
}

impl ClockStep for std::time::Duration {
    fn delta(self) -> TimeDelta {
        TimeDelta::from_std(self).expect("a test's clock step fits chrono's range")
    }
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// A clock at a fixed, whole-second moment (2026-03-01 12:00:00 UTC).
    pub fn fixed() -> Self {
        Self::new(Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap())
    }

    /// `now` as a store keeps it: whole microseconds.
    pub fn now_rounded(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.now().timestamp_micros()).unwrap()
    }

    pub fn advance(&self, by: impl ClockStep) {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now += by.delta();
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
