//! Time as a dependency, and the one representation of it in the database.
//!
//! Timestamps are stored as whole microseconds since the Unix epoch (UTC) on both backends.

use chrono::{DateTime, Utc};

use crate::error::{Result, StoreError};

/// Where the store reads "now" for the timestamps it sets itself (received_at, created_at,
/// lock since, run start/finish). Queue operations take `now` explicitly instead.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

pub(crate) fn to_micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub(crate) fn from_micros(field: &'static str, micros: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros).ok_or_else(|| StoreError::Corrupt {
        field,
        value: micros.to_string(),
        expected: "microseconds since the Unix epoch within chrono's range",
    })
}

pub(crate) fn opt_from_micros(
    field: &'static str,
    micros: Option<i64>,
) -> Result<Option<DateTime<Utc>>> {
    micros.map(|m| from_micros(field, m)).transpose()
}

/// Saturating conversion of a std duration to microseconds.
pub(crate) fn duration_micros(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}
