//! Errors of the GitHub client: each names the operation, and GitHub's answer when there was one.

use std::time::Duration;

/// What went wrong talking to GitHub.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    /// Bad App settings (API URL, private key).
    #[error("GitHub App settings: {0}")]
    Config(String),

    /// GitHub answered with an error status that retrying will not fix.
    #[error("{operation}: GitHub answered {status}: {message}")]
    Api {
        operation: String,
        status: u16,
        message: String,
    },

    /// A rate limit asks for a longer wait than the retry policy allows; try again later.
    #[error("{operation}: GitHub rate limit; retry after {}s", retry_after.as_secs())]
    RateLimited {
        operation: String,
        retry_after: Duration,
    },

    /// Every attempt failed with a transient error (5xx, connection trouble, rate limits).
    #[error("{operation}: gave up after {attempts} attempts; last error: {last}")]
    Exhausted {
        operation: String,
        attempts: u32,
        last: String,
    },

    /// The request could not be sent or the answer not read.
    #[error("{operation}: {}", describe(source))]
    Transport {
        operation: String,
        #[source]
        source: octocrab::Error,
    },

    /// GitHub's answer did not have the expected shape.
    #[error("{operation}: unexpected answer from GitHub: {message}")]
    Decode { operation: String, message: String },

    /// A caller-supplied value GitHub would not accept (checked before sending).
    #[error("{operation}: {message}")]
    Invalid { operation: String, message: String },
}

/// octocrab's `Display` for some errors is only a variant name ("GitHub", "Hyper"); add the
/// cause so the message says what happened.
pub(crate) fn describe(e: &octocrab::Error) -> String {
    match e {
        octocrab::Error::GitHub { source, .. } => {
            format!(
                "{} (installation token): {}",
                source.status_code, source.message
            )
        }
        other => match std::error::Error::source(other) {
            Some(cause) => format!("{other}: {cause}"),
            None => other.to_string(),
        },
    }
}

impl GithubError {
    /// GitHub's HTTP status, when the error is an answer from GitHub.
    pub fn status(&self) -> Option<u16> {
        match self {
            GithubError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Whether a later attempt (e.g. a re-queued job) may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            GithubError::RateLimited { .. }
                | GithubError::Exhausted { .. }
                | GithubError::Transport { .. }
        ) || self.status().is_some_and(|s| s >= 500)
    }
}

pub type Result<T, E = GithubError> = std::result::Result<T, E>;
