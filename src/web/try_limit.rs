//! How many prompts one person may plan on the try page per minute. Each may be a model
//! call billed to the operator, and the page is open to everyone with a repository's
//! `min_permission`: a script (or a stuck browser) should not be able to spend without
//! bound. Kept in memory by each replica, like the limit on jobs from comments.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::access::Viewer;

/// Past this many people tracked, those whose budget is full again are forgotten.
const MAX_TRACKED: usize = 10_000;

pub struct TryLimit {
    limiter: DefaultKeyedRateLimiter<String>,
    per_minute: NonZeroU32,
}

/// A plan refused by the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverLimit {
    pub per_minute: NonZeroU32,
    /// When the next plan is allowed.
    pub retry_after: Duration,
}

impl TryLimit {
    /// The default: 10 plans a minute per person (in bursts of up to 10).
    pub const DEFAULT_PER_MINUTE: NonZeroU32 = NonZeroU32::new(10).expect("10 is not zero");

    pub fn per_minute(per_minute: NonZeroU32) -> TryLimit {
        TryLimit {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
            per_minute,
        }
    }

    /// Counts one plan by `viewer`, if allowed now. The operator (token or loopback link)
    /// is one person, each GitHub login another.
    pub fn allow(&self, viewer: &Viewer) -> Result<(), OverLimit> {
        let key = match viewer {
            Viewer::SignedIn { session, .. } => format!("github:{}", session.login.to_lowercase()),
            Viewer::Local | Viewer::Token => "operator".to_owned(),
        };
        let checked = self.limiter.check_key(&key);
        if self.limiter.len() > MAX_TRACKED {
            self.limiter.retain_recent();
        }
        checked.map_err(|not_until| OverLimit {
            per_minute: self.per_minute,
            retry_after: not_until.wait_time_from(DefaultClock::default().now()),
        })
    }
}

impl Default for TryLimit {
    fn default() -> TryLimit {
        TryLimit::per_minute(TryLimit::DEFAULT_PER_MINUTE)
    }
}

impl std::fmt::Debug for TryLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TryLimit({}/min per person)", self.per_minute)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::session::Session;

    fn signed_in(login: &str) -> Viewer {
        Viewer::SignedIn {
            session: Session {
                login: login.to_owned(),
                expires_at: chrono::Utc::now() + chrono::TimeDelta::hours(1),
            },
            csrf: String::new(),
        }
    }

    #[test]
    fn each_person_has_a_budget_of_their_own_and_the_operator_is_one_person() {
        let limit = TryLimit::per_minute(NonZeroU32::new(2).unwrap());
        assert_eq!(limit.allow(&signed_in("alice")), Ok(()));
        assert_eq!(limit.allow(&signed_in("Alice")), Ok(()));
        let over = limit.allow(&signed_in("ALICE")).unwrap_err();
        assert_eq!(over.per_minute.get(), 2);
        assert!(
            over.retry_after > Duration::ZERO && over.retry_after <= Duration::from_secs(30),
            "{over:?}"
        );
        assert_eq!(limit.allow(&signed_in("bob")), Ok(()));
        assert_eq!(limit.allow(&Viewer::Token), Ok(()));
        assert_eq!(limit.allow(&Viewer::Local), Ok(()));
        assert!(
            limit.allow(&Viewer::Token).is_err(),
            "token and link are the operator"
        );
    }
}
