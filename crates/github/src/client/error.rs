//! Errors of the GitHub client: each names the operation, and GitHub's answer when there was one.
//!
//! Each message carries the text of its cause, and the cause is not also the error's
//! `source()`: errors are printed with anyhow's `{:#}`, which appends every source, so a
//! cause that were both would be printed twice.

use std::time::Duration;

/// What went wrong talking to GitHub.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    /// Bad App settings (API URL, private key).
    #[error("GitHub App settings: {0}")]
    Config(ConfigError),

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
    #[error("{operation}: {}", describe(cause))]
    Transport {
        operation: String,
        cause: octocrab::Error,
    },

    /// The answer is larger than the caller can take (a download with a size limit); it
    /// was not read past the limit.
    #[error("{operation}: the answer is larger than {limit} bytes, the most accepted")]
    TooLarge { operation: String, limit: u64 },

    /// GitHub's answer did not have the expected shape.
    #[error("{operation}: unexpected answer from GitHub: {message}")]
    Decode { operation: String, message: String },

    /// A caller-supplied value GitHub would not accept (checked before sending).
    #[error("{operation}: {problem}")]
    Invalid {
        operation: String,
        problem: InvalidInput,
    },
}

/// What is wrong with the App's settings.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "GITHUB_API_URL {url:?} is not a URL ({cause}): give the whole address with its scheme, e.g. https://api.github.com"
    )]
    NotAUrl { url: String, cause: url::ParseError },
    #[error("GITHUB_API_URL {url:?} must start with https:// (or http:// for a local server)")]
    NotHttp { url: String },
    #[error("the GitHub App private key cannot be used: {0}")]
    PrivateKey(super::KeyProblem),
    #[error("GITHUB_API_URL {url:?}: {cause}")]
    BaseUri { url: String, cause: octocrab::Error },
    #[error("building the GitHub client: {0}")]
    Client(octocrab::Error),
    #[error("installation {id}: {cause}")]
    Installation { id: u64, cause: octocrab::Error },
}

/// A value the client refuses before sending it, since GitHub would.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidInput {
    #[error("check run summary is {chars} characters; GitHub allows {limit}", limit = super::CHECK_OUTPUT_LIMIT_CHARS)]
    CheckSummaryTooLong { chars: usize },
    #[error("a completed check run needs a conclusion")]
    CompletedWithoutConclusion,
    #[error(
        "comment body is {chars} characters with its marker; GitHub allows {limit} (split it first)",
        limit = super::GITHUB_COMMENT_LIMIT_CHARS
    )]
    CommentTooLong { chars: usize },
    #[error(transparent)]
    CommentKey(#[from] super::marker::CommentKeyError),
    #[error("the comparison lists {files} files, GitHub's maximum, so it may be incomplete")]
    ComparisonCut { files: usize },
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

impl From<ConfigError> for GithubError {
    fn from(cause: ConfigError) -> Self {
        GithubError::Config(cause)
    }
}

pub type Result<T, E = GithubError> = std::result::Result<T, E>;
