//! The client's own retry policy (octocrab's retry layer is off on purpose: it re-sends POSTs
//! blindly). Rate-limit answers are waited out as GitHub asks; 5xx and connection errors back
//! off and retry; creating requests check whether the failed attempt took effect first.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};
use http::{HeaderMap, StatusCode};
use promptops_core::backoff::{exponential_step, jittered};
use promptops_core::clock::Clock;

/// Bounds on retrying.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per operation, the first included.
    pub max_attempts: u32,
    /// First back-off after a 5xx or connection error; doubles per attempt, with jitter.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// The longest rate-limit wait obeyed in place; a longer one fails with
    /// `GithubError::RateLimited` so the caller can reschedule instead of blocking.
    pub max_rate_limit_wait: Duration,
    /// How long a job is rescheduled for after a secondary-rate-limit answer that names no
    /// time (GitHub: "at least one minute").
    pub secondary_limit_default_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_rate_limit_wait: Duration::from_secs(60),
            secondary_limit_default_wait: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Back-off before attempt `attempt + 1` (attempt counts from 1), with up to 25% jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let step = exponential_step(self.base_backoff, self.max_backoff, attempt);
        jittered(step, 0.25, fastrand::f64())
    }
}

/// How the client waits and reads the time. Injected so tests can record waits instead of
/// sleeping, and so `x-ratelimit-reset` is compared with a known clock.
pub trait Sleeper: Clock {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// Real time.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

impl Clock for TokioSleeper {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// What to do with an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Hand it to the caller (success, or an error retrying cannot fix).
    Final,
    /// A rate limit: GitHub did not process the request; resend after the wait.
    RateLimited(Duration),
    /// A rate limit that names no time (a secondary limit without `retry-after`): GitHub
    /// asks for at least this long, too long to hold a worker; the job is rescheduled.
    Reschedule(Duration),
    /// A server error: the request may or may not have taken effect.
    Transient,
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// Classifies an answer per GitHub's rate-limit documentation: `retry-after` first, then
/// `x-ratelimit-remaining: 0` with `x-ratelimit-reset` (epoch seconds), then a 403/429 whose
/// message speaks of a rate limit (reschedule after the default wait).
pub fn classify(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
    policy: &RetryPolicy,
) -> Verdict {
    if status.is_server_error() {
        return Verdict::Transient;
    }
    if status != StatusCode::FORBIDDEN && status != StatusCode::TOO_MANY_REQUESTS {
        return Verdict::Final;
    }
    if let Some(secs) = header_u64(headers, "retry-after") {
        return Verdict::RateLimited(Duration::from_secs(secs));
    }
    if header_u64(headers, "x-ratelimit-remaining") == Some(0)
        && let Some(reset) = header_u64(headers, "x-ratelimit-reset")
    {
        let wait = (reset as i64 - now.timestamp()).max(0) as u64 + 1;
        return Verdict::RateLimited(Duration::from_secs(wait));
    }
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    if status == StatusCode::TOO_MANY_REQUESTS || text.contains("rate limit") {
        return Verdict::Reschedule(policy.secondary_limit_default_wait);
    }
    Verdict::Final
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn retry_after_wins() {
        let v = classify(
            StatusCode::FORBIDDEN,
            &headers(&[("retry-after", "3")]),
            b"{}",
            Utc::now(),
            &RetryPolicy::default(),
        );
        assert_eq!(v, Verdict::RateLimited(Duration::from_secs(3)));
    }

    #[test]
    fn primary_limit_waits_until_reset() {
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let v = classify(
            StatusCode::FORBIDDEN,
            &headers(&[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "1000010"),
            ]),
            b"{}",
            now,
            &RetryPolicy::default(),
        );
        assert_eq!(v, Verdict::RateLimited(Duration::from_secs(11)));
    }

    #[test]
    fn plain_forbidden_is_final_and_5xx_transient() {
        let p = RetryPolicy::default();
        let body = br#"{"message":"Resource not accessible by integration"}"#;
        assert_eq!(
            classify(
                StatusCode::FORBIDDEN,
                &HeaderMap::new(),
                body,
                Utc::now(),
                &p
            ),
            Verdict::Final
        );
        assert_eq!(
            classify(
                StatusCode::BAD_GATEWAY,
                &HeaderMap::new(),
                b"",
                Utc::now(),
                &p
            ),
            Verdict::Transient
        );
        let secondary = br#"{"message":"You have exceeded a secondary rate limit."}"#;
        assert_eq!(
            classify(
                StatusCode::FORBIDDEN,
                &HeaderMap::new(),
                secondary,
                Utc::now(),
                &p
            ),
            Verdict::Reschedule(p.secondary_limit_default_wait)
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        assert!(p.backoff(1) <= Duration::from_millis(500));
        assert!(p.backoff(1) >= Duration::from_millis(375));
        assert!(p.backoff(3) >= Duration::from_millis(1500));
        assert!(p.backoff(30) <= p.max_backoff);
    }
}
