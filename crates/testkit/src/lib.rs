//! Test support: a stateful fake GitHub REST API served over HTTP, webhook payloads and
//! their signing, and the fake OpenAI's answers.
//!
//! ```no_run
//! # async fn demo() {
//! use promptops_testkit::FakeGithub;
//! let gh = FakeGithub::start().await;
//! gh.add_repo("acme/infra");
//! gh.add_installation(7, "acme");
//! gh.set_permission("acme/infra", "alice", "write");
//! let issue = gh.add_issue("acme/infra", "alice", "GPUs please", "5 T4 in us-west1");
//! // ... point the client at gh.url() with gh.app_id() and gh.private_key_pem() ...
//! assert!(gh.comments("acme/infra", issue).is_empty());
//! # }
//! ```

// Handlers build GitHub's error answer where a check fails and return it as the `Err`;
// boxing every `Response` would only add noise to a test double.
#![allow(clippy::result_large_err)]

mod aap;
mod auth;
pub mod bare_terraform;
pub mod clock;
mod diff;
mod fake;
mod fault;
mod keys;
mod model;
mod openai;
pub mod postgres;
mod render;
mod routes;
mod server;
mod snapshot;
mod terraform_launcher;
mod webhook;

pub use aap::{AapJobResult, AapLaunch, FakeAap};
pub use clock::ManualClock;
pub use fake::merge_queue::MergeGroup;
pub use fake::{DEFAULT_APP_ID, FakeGithub, ROLES};
pub use keys::{APP_PRIVATE_KEY_PEM, APP_PUBLIC_KEY_PEM};
pub use model::{AuthKind, CheckRun, CheckRunAction, Comment, Reaction, RequestRecord};
pub use openai::{ChatCompletion, FinishReason};
pub use routes::app_manifests::{
    CreatedApp, MANIFEST_APP_PRIVATE_KEY_PEM, MANIFEST_APP_PUBLIC_KEY_PEM, MANIFEST_CREATOR,
    RegisteredManifest,
};
pub use routes::issues::MAX_COMMENT_CHARS;
pub use routes::pulls::DEFAULT_MERGER;
pub use snapshot::{CommitInfo, IssueInfo, PullRequest};
pub use terraform_launcher::{launcher_read_paths, terraform_1_15};
pub use webhook::payload::{
    CommentedIssue, example_payload, installation_field, issue_comment_payload,
    pull_request_payload,
};
pub use webhook::{sign_webhook, webhook_headers};
