//! How long a deployment is wanted: a lifetime ("for 2 days", `expires_in: 2d`) counted
//! from its apply, or a date ("until Friday", `expires_at: 2026-12-04`). GPUs are billed
//! by the hour, so a request that says how long it is needed gets a date on which the bot
//! proposes to destroy it. Both planners produce an [`ExpiryRequest`]; this module reads
//! the model's strings strictly and checks the value against the repository's maximum.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Days, NaiveDate, TimeDelta, Utc, Weekday};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ValidationError;

/// The longest lifetime anyone may ask for (a year); longer is a mistake, not a plan.
pub const MAX_SANE_LIFETIME_HOURS: u32 = 366 * 24;

/// The model's keys for the expiry (also in [`crate::DRAFT_FIELDS`]).
pub const EXPIRES_IN_FIELD: &str = "expires_in";
pub const EXPIRES_AT_FIELD: &str = "expires_at";

/// A positive whole number of hours, written `36h`, `2d` or `1w` (and read back so).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Lifetime {
    hours: u32,
}

impl Lifetime {
    /// `None` when `hours` is zero or above [`MAX_SANE_LIFETIME_HOURS`].
    pub fn from_hours(hours: u32) -> Option<Lifetime> {
        (1..=MAX_SANE_LIFETIME_HOURS)
            .contains(&hours)
            .then_some(Lifetime { hours })
    }

    pub fn hours(self) -> u32 {
        self.hours
    }

    pub fn as_delta(self) -> TimeDelta {
        TimeDelta::hours(i64::from(self.hours))
    }
}

/// Why a lifetime could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{given:?} is not a lifetime: write a whole number followed by h (hours), d (days) or w (weeks), e.g. 36h, 3d or 1w, at most {max_days} days",
    max_days = MAX_SANE_LIFETIME_HOURS / 24
)]
pub struct LifetimeError {
    pub given: String,
}

impl FromStr for Lifetime {
    type Err = LifetimeError;

    fn from_str(text: &str) -> Result<Lifetime, LifetimeError> {
        let error = || LifetimeError {
            given: text.chars().take(40).collect(),
        };
        let trimmed = text.trim().to_ascii_lowercase();
        let unit_at = trimmed
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(error)?;
        let (number, unit) = trimmed.split_at(unit_at);
        let number: u32 = number.parse().map_err(|_| error())?;
        let per_unit = match unit.trim() {
            "h" | "hour" | "hours" => 1,
            "d" | "day" | "days" => 24,
            "w" | "week" | "weeks" => 24 * 7,
            _ => return Err(error()),
        };
        number
            .checked_mul(per_unit)
            .and_then(Lifetime::from_hours)
            .ok_or_else(error)
    }
}

impl fmt::Display for Lifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.hours {
            h if h % (24 * 7) == 0 => write!(f, "{}w", h / (24 * 7)),
            h if h % 24 == 0 => write!(f, "{}d", h / 24),
            h => write!(f, "{h}h"),
        }
    }
}

impl TryFrom<String> for Lifetime {
    type Error = LifetimeError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Lifetime> for String {
    fn from(lifetime: Lifetime) -> String {
        lifetime.to_string()
    }
}

/// What the request says about how long the deployment is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExpiryRequest {
    /// For this long after it is applied (the GPUs cost from then on).
    For { lifetime: Lifetime },
    /// Through the end of this day (UTC).
    Through { day: NaiveDate },
    /// Through the end of the next such day (UTC) after the request is planned.
    ThroughWeekday {
        #[serde(with = "weekday_name")]
        weekday: Weekday,
    },
    /// Through the end of the next such day of the year (UTC) after the request is
    /// planned: "until Dec 20". Built by [`ExpiryRequest::through_month_day`], which
    /// refuses days no year has.
    ThroughMonthDay { month: u32, day: u32 },
    /// Through the end of the day `days` after the one the request is planned on (UTC):
    /// "until today" is 0, "until tomorrow" 1.
    ThroughDaysAhead { days: u32 },
}

impl ExpiryRequest {
    /// Reads the model's `expires_in` / `expires_at` keys: `null` or absent is no expiry;
    /// a string that is not a lifetime, a date or a weekday is an error naming the field.
    /// Both set is an error too: the model must pick one.
    pub fn from_model_json(
        object: &serde_json::Map<String, Value>,
    ) -> Result<Option<ExpiryRequest>, ValidationError> {
        let text = |field: &str| match object.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(ValidationError::with_raw_value(
                field,
                other.to_string().chars().take(40).collect::<String>(),
                "expected a string (or null)",
            )),
        };
        match (text(EXPIRES_IN_FIELD)?, text(EXPIRES_AT_FIELD)?) {
            (None, None) => Ok(None),
            (Some(_), Some(_)) => Err(ValidationError::missing(
                EXPIRES_AT_FIELD,
                "give either expires_in or expires_at, not both",
            )),
            (Some(lifetime), None) => lifetime
                .parse()
                .map(|lifetime| Some(ExpiryRequest::For { lifetime }))
                .map_err(|err: LifetimeError| {
                    ValidationError::new(EXPIRES_IN_FIELD, &lifetime, err.to_string())
                }),
            (None, Some(at)) => Self::parse_end(&at).map(Some).ok_or_else(|| {
                ValidationError::new(
                    EXPIRES_AT_FIELD,
                    &at,
                    "expected a date (YYYY-MM-DD) or a weekday name (e.g. friday)",
                )
            }),
        }
    }

    /// `2026-12-04` or a weekday name (`friday`, `fri`).
    pub fn parse_end(text: &str) -> Option<ExpiryRequest> {
        let text = text.trim();
        if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            return Some(ExpiryRequest::Through { day });
        }
        text.parse::<Weekday>()
            .ok()
            .map(|weekday| ExpiryRequest::ThroughWeekday { weekday })
    }

    /// "Through 2026-12-20": `None` for a day that year does not have.
    pub fn through_date(year: i32, month: u32, day: u32) -> Option<ExpiryRequest> {
        NaiveDate::from_ymd_opt(year, month, day).map(|day| ExpiryRequest::Through { day })
    }

    /// "Through Dec 20": `None` for a day no year has (February 30).
    pub fn through_month_day(month: u32, day: u32) -> Option<ExpiryRequest> {
        // 2024 is a leap year: February 29 is a day of some years.
        NaiveDate::from_ymd_opt(2024, month, day)
            .map(|_| ExpiryRequest::ThroughMonthDay { month, day })
    }

    /// The date this request asks for if the deployment were applied at `applied`
    /// (a weekday or a day of the year counts from `planned`, when the request was read).
    pub fn date(&self, planned: DateTime<Utc>, applied: DateTime<Utc>) -> DateTime<Utc> {
        match *self {
            ExpiryRequest::For { lifetime } => applied + lifetime.as_delta(),
            ExpiryRequest::Through { day } => end_of(day),
            ExpiryRequest::ThroughWeekday { weekday } => end_of(next_weekday(planned, weekday)),
            ExpiryRequest::ThroughMonthDay { month, day } => {
                end_of(next_month_day(planned, month, day))
            }
            ExpiryRequest::ThroughDaysAhead { days } => {
                let today = planned.date_naive();
                end_of(
                    today
                        .checked_add_days(Days::new(u64::from(days)))
                        .unwrap_or(today),
                )
            }
        }
    }

    /// Checks the request when it is planned at `now`: a date must lie ahead, and no
    /// request may outlive `max` (the repository's `expiry.max_lifetime`).
    pub fn check(&self, now: DateTime<Utc>, max: Option<Lifetime>) -> Result<(), ValidationError> {
        let end = self.date(now, now);
        if end <= now {
            return Err(ValidationError::new(
                EXPIRES_AT_FIELD,
                &end.format("%Y-%m-%d").to_string(),
                "lies in the past; give a later date or a lifetime such as 3d",
            ));
        }
        if let Some(max) = max
            && end > now + max.as_delta()
        {
            let field = match self {
                ExpiryRequest::For { .. } => EXPIRES_IN_FIELD,
                _ => EXPIRES_AT_FIELD,
            };
            return Err(ValidationError::new(
                field,
                &self.to_string(),
                format!(
                    "is longer than this repository allows (expiry.max_lifetime: {max}); ask for at most {max}"
                ),
            ));
        }
        Ok(())
    }
}

impl fmt::Display for ExpiryRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpiryRequest::For { lifetime } => write!(f, "for {lifetime} after the apply"),
            ExpiryRequest::Through { day } => write!(f, "through {day} (UTC)"),
            ExpiryRequest::ThroughWeekday { weekday } => write!(f, "through {weekday} (UTC)"),
            ExpiryRequest::ThroughMonthDay { month, day } => {
                let month = u8::try_from(*month)
                    .ok()
                    .and_then(|m| chrono::Month::try_from(m).ok())
                    .map_or_else(|| format!("month {month}"), |m| m.name().to_owned());
                write!(f, "through {month} {day} (UTC)")
            }
            ExpiryRequest::ThroughDaysAhead { days: 0 } => {
                write!(f, "through the day it is planned (UTC)")
            }
            ExpiryRequest::ThroughDaysAhead { days: 1 } => {
                write!(f, "through the day after it is planned (UTC)")
            }
            ExpiryRequest::ThroughDaysAhead { days } => {
                write!(f, "through {days} days after the day it is planned (UTC)")
            }
        }
    }
}

/// The first instant after `day` (its end), UTC.
fn end_of(day: NaiveDate) -> DateTime<Utc> {
    let next = day.checked_add_days(Days::new(1)).unwrap_or(day);
    next.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// The next `weekday` after `now`'s day (today counts when it is that day).
fn next_weekday(now: DateTime<Utc>, weekday: Weekday) -> NaiveDate {
    let today = now.date_naive();
    let ahead = (7 + weekday.num_days_from_monday() - today.weekday().num_days_from_monday()) % 7;
    today
        .checked_add_days(Days::new(u64::from(ahead)))
        .unwrap_or(today)
}

/// The next `month`/`day` on or after `now`'s day; `now`'s day when no year of the next
/// eight has it (only a day `through_month_day` refuses).
fn next_month_day(now: DateTime<Utc>, month: u32, day: u32) -> NaiveDate {
    let today = now.date_naive();
    (today.year()..today.year() + 8)
        .filter_map(|year| NaiveDate::from_ymd_opt(year, month, day))
        .find(|date| *date >= today)
        .unwrap_or(today)
}

/// A weekday as its lower-case English name in stored JSON.
mod weekday_name {
    use chrono::Weekday;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(weekday: &Weekday, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&weekday.to_string().to_ascii_lowercase())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Weekday, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
