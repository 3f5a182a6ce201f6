//! The `state` of a manifest flow: an unguessable value handed to GitHub with the form
//! and expected back on the callback — once, and only while fresh.
//!
//! States live in this process's memory. That is deliberate: the callback's result (the
//! new App) goes live in the process that receives it, so the setup must start and end
//! in one process anyway; a state kept in a shared store would only let another replica
//! accept a callback whose credentials it then could not use without a restart. A
//! callback that reaches a process which did not issue its state (a restart, another
//! replica) gets a page saying to start again at `/setup`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

use promptops_core::clock::Clock;

/// How long a started setup may take (GitHub's code itself is valid for an hour).
pub const STATE_TTL_MINUTES: i64 = 30;
/// Outstanding setups kept at most; the oldest is forgotten first.
const MAX_PENDING: usize = 64;

/// What was asked when the setup started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSetup {
    pub organization: Option<String>,
    pub issued_at: DateTime<Utc>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum StateError {
    /// Missing from the callback.
    Missing,
    /// Never issued here, already used, or forgotten (restart, another process).
    Unknown,
    Expired {
        issued_at: DateTime<Utc>,
    },
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateError::Missing => f.write_str(
                "the callback carries no `state`: it did not come from a setup started on this service",
            ),
            StateError::Unknown => f.write_str(
                "the setup link's `state` is unknown here: it was already used, or the setup was \
                 started before this service restarted (or on another instance)",
            ),
            StateError::Expired { issued_at } => write!(
                f,
                "the setup started at {} has expired (a setup must finish within {STATE_TTL_MINUTES} minutes)",
                issued_at.format("%H:%M:%S UTC")
            ),
        }
    }
}

/// Issued, not yet used states. Clones share them.
#[derive(Clone)]
pub struct SetupStates {
    clock: Arc<dyn Clock>,
    /// Keyed by the state's SHA-256, so a lookup compares digests, not the secret itself.
    pending: Arc<Mutex<HashMap<[u8; 32], PendingSetup>>>,
}

fn digest(state: &str) -> [u8; 32] {
    Sha256::digest(state.as_bytes()).into()
}

impl SetupStates {
    pub fn new(clock: Arc<dyn Clock>) -> SetupStates {
        SetupStates {
            clock,
            pending: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], PendingSetup>> {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A fresh state (256 bits from the operating system's generator, hex).
    pub fn issue(&self, organization: Option<String>) -> String {
        let state = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let now = self.clock.now();
        let mut pending = self.lock();
        pending.retain(|_, setup| now - setup.issued_at < Duration::minutes(STATE_TTL_MINUTES));
        while pending.len() >= MAX_PENDING {
            let oldest = pending
                .iter()
                .min_by_key(|(_, setup)| setup.issued_at)
                .map(|(key, _)| *key);
            match oldest {
                Some(key) => pending.remove(&key),
                None => break,
            };
        }
        pending.insert(
            digest(&state),
            PendingSetup {
                organization,
                issued_at: now,
            },
        );
        state
    }

    /// Puts a redeemed state back, when the step it guarded failed in a way a retry of the
    /// same callback may cure (GitHub unreachable).
    pub fn restore(&self, state: &str, setup: PendingSetup) {
        self.lock().insert(digest(state), setup);
    }

    /// Takes `state` out (single use) if it was issued here and is still fresh.
    pub fn redeem(&self, state: Option<&str>) -> Result<PendingSetup, StateError> {
        let state = state.filter(|s| !s.is_empty()).ok_or(StateError::Missing)?;
        let wanted = digest(state);
        let mut pending = self.lock();
        let key = pending
            .keys()
            .find(|key| bool::from(key.ct_eq(&wanted)))
            .copied()
            .ok_or(StateError::Unknown)?;
        let setup = pending.remove(&key).ok_or(StateError::Unknown)?;
        if self.clock.now() - setup.issued_at >= Duration::minutes(STATE_TTL_MINUTES) {
            return Err(StateError::Expired {
                issued_at: setup.issued_at,
            });
        }
        Ok(setup)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promptops_testkit::ManualClock;

    fn states() -> (SetupStates, ManualClock) {
        let clock = ManualClock::new(DateTime::from_timestamp(1_800_000_000, 0).unwrap());
        (SetupStates::new(Arc::new(clock.clone())), clock)
    }

    #[test]
    fn a_state_is_random_single_use_and_keeps_its_organization() {
        let (states, _) = states();
        let a = states.issue(Some("acme".into()));
        let b = states.issue(None);
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(
            states.redeem(Some(&a)).unwrap().organization.as_deref(),
            Some("acme")
        );
        assert_eq!(states.redeem(Some(&a)), Err(StateError::Unknown));
        assert_eq!(states.redeem(Some("forged")), Err(StateError::Unknown));
        assert_eq!(states.redeem(None), Err(StateError::Missing));
        assert!(states.redeem(Some(&b)).is_ok());
    }

    #[test]
    fn a_state_expires() {
        let (states, clock) = states();
        let state = states.issue(None);
        clock.advance(Duration::minutes(STATE_TTL_MINUTES));
        let err = states.redeem(Some(&state)).unwrap_err();
        assert!(matches!(err, StateError::Expired { .. }), "{err}");
        assert!(err.to_string().contains("expired"));
        let fresh = states.issue(None);
        clock.advance(Duration::minutes(STATE_TTL_MINUTES - 1));
        assert!(states.redeem(Some(&fresh)).is_ok());
    }

    #[test]
    fn outstanding_states_are_bounded_oldest_first() {
        let (states, clock) = states();
        let first = states.issue(None);
        clock.advance(Duration::seconds(1));
        let kept: Vec<String> = (0..MAX_PENDING).map(|_| states.issue(None)).collect();
        assert_eq!(states.redeem(Some(&first)), Err(StateError::Unknown));
        assert!(states.redeem(Some(kept.last().unwrap())).is_ok());
    }
}
