//! The one representation of time in the database: timestamps are stored as whole
//! microseconds since the Unix epoch (UTC) on both backends.
//!
//! The store reads "now" from a [`Clock`] for the timestamps it sets itself (received_at,
//! created_at, lock since, run start/finish); queue operations take `now` explicitly instead.

use chrono::{DateTime, Utc};
pub use promptops_core::clock::{Clock, SystemClock};

use crate::error::{Result, StoreError};

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
