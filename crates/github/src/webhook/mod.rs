//! Incoming webhook deliveries: signature verification and parsing into the bot's own types.
//!
//! Parsing uses hand-written serde types rather than octocrab's webhook enums, which fail on
//! actions added after they were written; here an unknown event or action is `Event::Ignored`.

pub mod event;
pub mod signature;

pub use event::{
    AccountType, Actor, BranchRef, CheckRunAction, CheckRunActionEvent, CheckRunRef, Comment,
    Event, EventParseError, InstallationAction, InstallationEvent, Issue, IssueAction,
    IssueCommentAction, IssueCommentEvent, IssueEvent, MergeGroupAction, MergeGroupEvent,
    PullRequest, PullRequestAction, PullRequestEvent, RepoRef, parse_event,
};
pub use signature::{SIGNATURE_HEADER, SignatureError, WebhookSecrets};

/// The header naming the event (`issue_comment`, `pull_request`, ...): `parse_event`'s first
/// argument.
pub const EVENT_HEADER: &str = "X-GitHub-Event";
/// The header carrying the delivery's unique id; a redelivery keeps it.
pub const DELIVERY_HEADER: &str = "X-GitHub-Delivery";
