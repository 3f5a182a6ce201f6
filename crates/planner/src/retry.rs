//! When to try a model call again: `Retry-After` (seconds or an HTTP date, capped) when the
//! server sends one, jittered exponential backoff otherwise.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use promptops_core::backoff::{exponential_step, jittered};
use promptops_core::clock::{Clock, SystemClock};

/// How long to wait between attempts.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// The first backoff step; doubled per attempt, with full jitter.
    pub base_delay: Duration,
    /// No wait is ever longer, whatever the server asks for.
    pub max_delay: Duration,
    /// The wall clock, injected so that an HTTP-date `Retry-After` can be tested.
    pub clock: Arc<dyn Clock>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            clock: Arc::new(SystemClock),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (attempts count from 1): the server's
    /// `Retry-After` when given and readable, else backoff; capped at `max_delay`.
    pub fn delay(
        &self,
        attempt: u32,
        retry_after: Option<&str>,
        rng: &mut fastrand::Rng,
    ) -> Duration {
        let now = SystemTime::from(self.clock.now());
        let asked = retry_after.and_then(|value| parse_retry_after(value, now));
        asked
            .unwrap_or_else(|| self.backoff(attempt, rng))
            .min(self.max_delay)
    }

    /// Full-jitter exponential backoff: uniform in [step/2, step], step = base × 2^(attempt-1).
    fn backoff(&self, attempt: u32, rng: &mut fastrand::Rng) -> Duration {
        let step = exponential_step(self.base_delay, self.max_delay, attempt);
        jittered(step, 0.5, rng.f64())
    }
}

/// Reads a `Retry-After` value: delta-seconds ("2") or an HTTP date. A date in the past
/// means "now". Unreadable values give `None` (the caller falls back to backoff).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    if let Ok(seconds) = value.parse::<f64>()
        && seconds.is_finite()
        && seconds >= 0.0
    {
        return Some(Duration::from_secs_f64(seconds.min(86_400.0)));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct FixedClock(SystemTime);
    impl Clock for FixedClock {
        fn now(&self) -> chrono::DateTime<chrono::Utc> {
            self.0.into()
        }
    }

    fn policy_at(now: SystemTime) -> RetryPolicy {
        RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
            clock: Arc::new(FixedClock(now)),
        }
    }

    #[test]
    fn retry_after_in_seconds_and_http_date() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("0.5", now),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:40 GMT", now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }

    #[test]
    fn server_wait_is_capped_and_garbage_falls_back_to_backoff() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let policy = policy_at(now);
        let mut rng = fastrand::Rng::with_seed(7);
        assert_eq!(
            policy.delay(1, Some("3600"), &mut rng),
            Duration::from_secs(10)
        );
        assert_eq!(policy.delay(1, Some("2"), &mut rng), Duration::from_secs(2));
        let fallback = policy.delay(1, Some("whenever"), &mut rng);
        assert!(fallback >= Duration::from_millis(50) && fallback <= Duration::from_millis(100));
    }

    #[test]
    fn backoff_doubles_with_jitter_and_stays_under_the_cap() {
        let policy = policy_at(SystemTime::UNIX_EPOCH);
        let mut rng = fastrand::Rng::with_seed(1);
        for attempt in 1..=3u32 {
            let step = Duration::from_millis(100 * (1 << (attempt - 1)));
            for _ in 0..50 {
                let wait = policy.delay(attempt, None, &mut rng);
                assert!(
                    wait >= step / 2 && wait <= step,
                    "attempt {attempt}: {wait:?}"
                );
            }
        }
        let late = policy.delay(30, None, &mut rng);
        assert!(
            late >= Duration::from_secs(5) && late <= Duration::from_secs(10),
            "{late:?}"
        );
    }
}
