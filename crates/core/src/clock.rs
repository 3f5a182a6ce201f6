//! Time as a dependency: production reads the system clock; tests inject a clock they move
//! by hand, so that leases expire, backoffs elapse and HTTP-date `Retry-After` values are
//! read without sleeping. Every crate that reads "now" takes this one trait.

use std::fmt;

use chrono::{DateTime, Utc};

/// Where "now" is read.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
