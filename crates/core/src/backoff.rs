//! Exponential backoff between attempts, shared by the job queue, the model client and the
//! GitHub client so that the three agree on how a wait grows and is capped.

use std::time::Duration;

/// The un-jittered wait before attempt `attempt + 1` (attempts count from 1):
/// `base · 2^(attempt-1)`, capped at `max`.
pub fn exponential_step(base: Duration, max: Duration, attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
    base.saturating_mul(factor).min(max)
}

/// `step` shortened by up to `spread` of itself (`0.0..=1.0`), by how much `unit`
/// (`0.0..=1.0`, usually random) says: callers that fail together then do not retry together.
pub fn jittered(step: Duration, spread: f64, unit: f64) -> Duration {
    step.saturating_sub(step.mul_f64(spread.clamp(0.0, 1.0) * unit.clamp(0.0, 1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_the_base_and_stays_under_the_cap() {
        let base = Duration::from_millis(500);
        let max = Duration::from_secs(8);
        let steps: Vec<_> = (1..=7).map(|a| exponential_step(base, max, a)).collect();
        assert_eq!(
            steps,
            [500, 1_000, 2_000, 4_000, 8_000, 8_000, 8_000].map(Duration::from_millis)
        );
        assert_eq!(exponential_step(base, max, 0), base);
        assert_eq!(exponential_step(base, max, u32::MAX), max);
    }

    #[test]
    fn jitter_takes_off_at_most_the_spread() {
        let step = Duration::from_secs(8);
        assert_eq!(jittered(step, 0.25, 0.0), step);
        assert_eq!(jittered(step, 0.25, 1.0), Duration::from_secs(6));
        assert_eq!(jittered(step, 0.5, 1.0), Duration::from_secs(4));
        assert_eq!(jittered(step, 0.5, 7.0), Duration::from_secs(4));
    }
}
