//! Test support: a stateful fake GitHub API served over HTTP, and webhook signing helpers.
