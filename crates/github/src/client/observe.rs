//! What the client reports for monitoring: every request it sends (method, route template,
//! status class, latency), every retry and every rate-limit wait. The service turns these
//! into metrics; this crate only calls the hook.
//!
//! Routes are reported as templates (`/repos/{owner}/{repo}/pulls/{number}`), never as the
//! paths sent: names, numbers, branches and file paths would make one series per value.

use std::sync::Arc;
use std::time::Duration;

/// Receives the client's observations. Every method has an empty default. Called inline on
/// the request's task: keep it cheap (counters), never blocking.
pub trait GithubObserver: Send + Sync {
    /// One HTTP request finished (each attempt is one request).
    fn api_request(&self, _request: &ApiRequest<'_>) {}
    /// A request is sent again after a failed attempt.
    fn api_retry(&self, _retry: &ApiRetry<'_>) {}
    /// The client waits out a rate limit before sending again.
    fn rate_limit_wait(&self, _wait: &RateLimitWait<'_>) {}
}

/// The observer of a client that nobody watches.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl GithubObserver for NoObserver {}

pub(crate) fn no_observer() -> Arc<dyn GithubObserver> {
    Arc::new(NoObserver)
}

/// One request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The route template (see [`route_template`]).
    pub route: &'a str,
    pub status: StatusClass,
    pub latency: Duration,
}

/// A retry of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRetry<'a> {
    pub method: &'a str,
    pub route: &'a str,
    pub reason: RetryReason,
}

/// A rate-limit wait obeyed before sending again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitWait<'a> {
    pub method: &'a str,
    pub route: &'a str,
    pub wait: Duration,
}

/// The class of an answer's status, or no answer at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusClass {
    Success,
    Redirect,
    ClientError,
    ServerError,
    /// No answer: connection refused or dropped, or the installation token could not be had.
    Transport,
}

impl StatusClass {
    pub fn of(status: http::StatusCode) -> StatusClass {
        if status.is_success() {
            StatusClass::Success
        } else if status.is_redirection() {
            StatusClass::Redirect
        } else if status.is_server_error() {
            StatusClass::ServerError
        } else {
            StatusClass::ClientError
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StatusClass::Success => "2xx",
            StatusClass::Redirect => "3xx",
            StatusClass::ClientError => "4xx",
            StatusClass::ServerError => "5xx",
            StatusClass::Transport => "error",
        }
    }
}

/// Why a request is sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetryReason {
    /// A primary or secondary rate limit (403/429 asking to wait).
    RateLimited,
    /// A 5xx answer.
    ServerError,
    /// No answer (connection error).
    Transport,
}

impl RetryReason {
    pub const ALL: [RetryReason; 3] = [
        RetryReason::RateLimited,
        RetryReason::ServerError,
        RetryReason::Transport,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RetryReason::RateLimited => "rate_limited",
            RetryReason::ServerError => "server_error",
            RetryReason::Transport => "transport",
        }
    }
}

/// Path segments kept as they are; any other segment becomes a placeholder.
const LITERAL_SEGMENTS: &[&str] = &[
    "access_tokens",
    "app",
    "check-runs",
    "collaborators",
    "comments",
    "commits",
    "files",
    "git",
    "installation",
    "installations",
    "issues",
    "permission",
    "pulls",
    "ref",
    "reactions",
    "refs",
    "repos",
    "trees",
];

/// Segments after which the rest of the path is one value (file paths, branch names and
/// refs may contain `/`).
const REST_IS_ONE_VALUE: &[(&str, &str)] = &[
    ("contents", "{path}"),
    ("heads", "{branch}"),
    ("tarball", "{ref}"),
];

/// At most this many segments are described; longer paths end in `/...`.
const MAX_SEGMENTS: usize = 8;

/// The route template of a request path: `/repos/{owner}/{repo}` for the repository part,
/// known resource names kept, every other segment a placeholder named after the segment
/// before it, the query string dropped. A full URL (a redirect to another host) is
/// `{external}`. The set of results is bounded by the fixed list of literal segments.
pub fn route_template(route: &str) -> String {
    if !route.starts_with('/') {
        return "{external}".to_owned();
    }
    let path = route.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut template = String::new();
    let mut rest = segments.as_slice();
    if let ["repos", _, _, tail @ ..] = rest {
        template.push_str("/repos/{owner}/{repo}");
        rest = tail;
    }
    let mut previous = "";
    for (index, segment) in rest.iter().enumerate() {
        if index >= MAX_SEGMENTS {
            template.push_str("/...");
            break;
        }
        if let Some((_, placeholder)) = REST_IS_ONE_VALUE.iter().find(|(name, _)| name == segment) {
            template.push('/');
            template.push_str(segment);
            if index + 1 < rest.len() {
                template.push('/');
                template.push_str(placeholder);
            }
            break;
        }
        template.push('/');
        if LITERAL_SEGMENTS.contains(segment) {
            template.push_str(segment);
        } else {
            template.push_str(placeholder_after(previous));
        }
        previous = segment;
    }
    if template.is_empty() {
        template.push('/');
    }
    template
}

fn placeholder_after(previous: &str) -> &'static str {
    match previous {
        "pulls" | "issues" => "{number}",
        "comments" | "check-runs" | "installations" => "{id}",
        "commits" => "{sha}",
        "collaborators" => "{username}",
        _ => "{param}",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_hide_names_numbers_and_paths() {
        let cases = [
            ("/repos/acme/infra", "/repos/{owner}/{repo}"),
            (
                "/repos/acme/infra/contents/deployments/a%20b/terraform.tfvars?ref=main",
                "/repos/{owner}/{repo}/contents/{path}",
            ),
            (
                "/repos/acme/infra/git/ref/heads/promptops/issue-12",
                "/repos/{owner}/{repo}/git/ref/heads/{branch}",
            ),
            (
                "/repos/acme/infra/git/refs/heads/main",
                "/repos/{owner}/{repo}/git/refs/heads/{branch}",
            ),
            (
                "/repos/acme/infra/git/refs",
                "/repos/{owner}/{repo}/git/refs",
            ),
            (
                "/repos/acme/infra/pulls?state=open&head=acme%3Ab",
                "/repos/{owner}/{repo}/pulls",
            ),
            (
                "/repos/acme/infra/pulls/42/files?per_page=100&page=2",
                "/repos/{owner}/{repo}/pulls/{number}/files",
            ),
            (
                "/repos/acme/infra/issues/7/comments",
                "/repos/{owner}/{repo}/issues/{number}/comments",
            ),
            (
                "/repos/acme/infra/issues/comments/99887766",
                "/repos/{owner}/{repo}/issues/comments/{id}",
            ),
            (
                "/repos/acme/infra/issues/comments/99887766/reactions",
                "/repos/{owner}/{repo}/issues/comments/{id}/reactions",
            ),
            (
                "/repos/acme/infra/commits/0123abc/check-runs?per_page=100",
                "/repos/{owner}/{repo}/commits/{sha}/check-runs",
            ),
            (
                "/repos/acme/infra/check-runs/5",
                "/repos/{owner}/{repo}/check-runs/{id}",
            ),
            (
                "/repos/acme/infra/collaborators/alice/permission",
                "/repos/{owner}/{repo}/collaborators/{username}/permission",
            ),
            (
                "/repos/acme/infra/tarball/0123abc",
                "/repos/{owner}/{repo}/tarball/{ref}",
            ),
            ("/app", "/app"),
            (
                "/repos/acme/infra/installation",
                "/repos/{owner}/{repo}/installation",
            ),
            (
                "/app/installations/12/access_tokens",
                "/app/installations/{id}/access_tokens",
            ),
            (
                "https://codeload.example/acme/infra/tar.gz/0123",
                "{external}",
            ),
            ("/", "/"),
        ];
        for (route, expected) in cases {
            assert_eq!(route_template(route), expected, "{route}");
        }
    }

    #[test]
    fn a_repository_named_like_a_resource_is_still_a_placeholder() {
        assert_eq!(
            route_template("/repos/pulls/issues/pulls/3"),
            "/repos/{owner}/{repo}/pulls/{number}"
        );
    }

    #[test]
    fn unknown_and_overlong_paths_stay_bounded() {
        assert_eq!(
            route_template("/repos/a/b/secret-thing/123/x"),
            "/repos/{owner}/{repo}/{param}/{param}/{param}"
        );
        let long = format!("/repos/a/b{}", "/x".repeat(40));
        let template = route_template(&long);
        assert!(template.ends_with("/..."), "{template}");
        assert_eq!(template.matches("{param}").count(), MAX_SEGMENTS);
    }
}
