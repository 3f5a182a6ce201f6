//! Incoming webhook deliveries: signature verification and parsing into the bot's own types.
//!
//! Parsing uses hand-written serde types rather than octocrab's webhook enums, which fail on
//! actions added after they were written; here an unknown event or action is `Event::Ignored`.

pub mod event;
pub mod signature;

pub use event::{
    AccountType, Actor, BranchRef, Comment, Event, EventParseError, InstallationAction,
    InstallationEvent, Issue, IssueAction, IssueCommentAction, IssueCommentEvent, IssueEvent,
    PullRequest, PullRequestAction, PullRequestEvent, RepoRef, parse_event,
};
pub use signature::{SIGNATURE_HEADER, SignatureError, WebhookSecrets};
