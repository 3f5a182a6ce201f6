//! Fault injection: scripted failures, lost answers and held requests for the next
//! matching requests.

use std::time::Duration;

use http::{Method, StatusCode};

use super::FakeGithub;
use crate::fault::{self, Fault, FaultMode, lock};

impl FakeGithub {
    /// The next `count` requests with `method` whose path starts with `path_prefix` get
    /// `status` with `headers` and GitHub's usual body for that status, and have no effect.
    /// A 403/429 gets the secondary-rate-limit message.
    pub fn fail_next(
        &self,
        method: &str,
        path_prefix: &str,
        status: u16,
        headers: &[(&str, &str)],
        count: usize,
    ) {
        self.push_fault(
            method,
            path_prefix,
            status,
            headers,
            None,
            count,
            FaultMode::Instead,
        );
    }

    /// Like [`FakeGithub::fail_next`] with a body of your own.
    pub fn fail_next_with_body(
        &self,
        method: &str,
        path_prefix: &str,
        status: u16,
        headers: &[(&str, &str)],
        body: &str,
        count: usize,
    ) {
        self.push_fault(
            method,
            path_prefix,
            status,
            headers,
            Some(body),
            count,
            FaultMode::Instead,
        );
    }

    /// The next matching request gets GitHub's secondary-rate-limit answer: 403,
    /// `retry-after: <secs>`, the documented message.
    pub fn secondary_rate_limit_next(
        &self,
        method: &str,
        path_prefix: &str,
        retry_after_secs: u64,
    ) {
        let secs = retry_after_secs.to_string();
        self.fail_next(method, path_prefix, 403, &[("retry-after", &secs)], 1);
    }

    /// The next matching request is carried out (its write happens) but answered with
    /// `status`: a lost response.
    pub fn apply_then_fail(&self, method: &str, path_prefix: &str, status: u16) {
        self.push_fault(
            method,
            path_prefix,
            status,
            &[],
            None,
            1,
            FaultMode::AfterApply,
        );
    }

    /// Same as [`FakeGithub::apply_then_fail`] with 502 (the name in the agreed API list).
    pub fn fail_after_apply(&self, method: &str, path_prefix: &str) {
        self.apply_then_fail(method, path_prefix, 502);
    }

    /// The next matching request is held for `hold`, then carried out and answered
    /// normally — even when the client gave up meanwhile (a request GitHub received lands).
    pub fn hold_next(&self, method: &str, path_prefix: &str, hold: Duration) {
        self.push_fault(
            method,
            path_prefix,
            200,
            &[],
            None,
            1,
            FaultMode::Hold(hold),
        );
    }

    /// Runs `action` just before the next request with `method` whose path starts with
    /// `path_prefix` is handled (e.g. a push landing while a job is between two reads).
    pub fn before_next(
        &self,
        method: &str,
        path_prefix: &str,
        action: impl FnOnce() + Send + 'static,
    ) {
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .unwrap_or_else(|_| panic!("fake GitHub: {method:?} is not an HTTP method"));
        lock(&self.state).hooks.push(crate::fault::Hook {
            method,
            path_prefix: path_prefix.to_string(),
            action: Box::new(action),
        });
    }

    /// Actions of [`FakeGithub::before_next`] not run yet.
    pub fn pending_hooks(&self) -> usize {
        lock(&self.state).hooks.len()
    }

    /// Faults not consumed yet.
    pub fn pending_faults(&self) -> usize {
        lock(&self.state).faults.iter().map(|f| f.remaining).sum()
    }

    #[allow(clippy::too_many_arguments)]
    fn push_fault(
        &self,
        method: &str,
        path_prefix: &str,
        status: u16,
        headers: &[(&str, &str)],
        body: Option<&str>,
        count: usize,
        mode: FaultMode,
    ) {
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .unwrap_or_else(|_| panic!("fake GitHub: {method:?} is not an HTTP method"));
        let status = StatusCode::from_u16(status)
            .unwrap_or_else(|_| panic!("fake GitHub: {status} is not an HTTP status"));
        lock(&self.state).faults.push(Fault {
            method,
            path_prefix: path_prefix.to_string(),
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.map_or_else(|| fault::default_body(status), str::to_string),
            remaining: count,
            mode,
        });
    }
}
