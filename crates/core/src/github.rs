//! What GitHub imposes on every part that talks to it or renders for it.

/// GitHub rejects issue and pull request comment bodies longer than this many characters
/// (HTTP 422).
pub const COMMENT_LIMIT_CHARS: usize = 65_536;

/// The longest GitHub account name (user or organization login).
pub const LOGIN_MAX_CHARS: usize = 39;
