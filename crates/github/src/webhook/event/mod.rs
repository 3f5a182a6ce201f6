//! `parse_event`: a delivery's event name and raw body into an [`Event`].
//!
//! Tolerant by design: an event or action the bot does not handle is [`Event::Ignored`] (the
//! delivery is acknowledged, never failed), and fields the bot does not read may be missing.
//! A body that is not JSON, or a handled event without a field the bot needs, is an
//! [`EventParseError`] naming the problem.

mod payload;
mod types;

use promptops_core::RepoName;
use serde::de::DeserializeOwned;

pub use types::{
    AccountType, Actor, BranchRef, CheckRunAction, CheckRunActionEvent, CheckRunRef, Comment,
    InstallationAction, InstallationEvent, Issue, IssueAction, IssueCommentAction,
    IssueCommentEvent, IssueEvent, MergeGroupAction, MergeGroupEvent, PullRequest,
    PullRequestAction, PullRequestEvent, RepoRef,
};

use payload::{
    CheckRunPayload, Envelope, InstallationPayload, IssueCommentPayload, IssuesPayload,
    KnownPayload, MergeGroupPayload, PullRequestPayload,
};

/// A webhook delivery, as far as the bot is concerned.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Event {
    IssueComment(IssueCommentEvent),
    Issue(IssueEvent),
    PullRequest(PullRequestEvent),
    /// Sent once when the webhook is created.
    Ping,
    Installation(InstallationEvent),
    /// A merge queue asks for checks on a group (or dropped one).
    MergeGroup(MergeGroupEvent),
    /// A button on one of the bot's check runs was clicked.
    CheckRunAction(CheckRunActionEvent),
    /// An event or action the bot does not act on.
    Ignored {
        event: String,
        action: Option<String>,
    },
}

impl Event {
    /// The webhook event name (`X-GitHub-Event`) this came from.
    pub fn name(&self) -> &str {
        match self {
            Event::IssueComment(_) => "issue_comment",
            Event::Issue(_) => "issues",
            Event::PullRequest(_) => "pull_request",
            Event::Ping => "ping",
            Event::Installation(_) => "installation",
            Event::MergeGroup(_) => "merge_group",
            Event::CheckRunAction(_) => "check_run",
            Event::Ignored { event, .. } => event,
        }
    }

    /// The payload's `action`, if it had one.
    pub fn action(&self) -> Option<&str> {
        match self {
            Event::IssueComment(e) => Some(e.action.as_str()),
            Event::Issue(e) => Some(e.action.as_str()),
            Event::PullRequest(e) => Some(e.action.as_str()),
            Event::Ping => None,
            Event::Installation(e) => Some(e.action.as_str()),
            Event::MergeGroup(e) => Some(e.action.as_str()),
            Event::CheckRunAction(e) => Some(e.action.as_str()),
            Event::Ignored { action, .. } => action.as_deref(),
        }
    }

    /// The repository the event is about (none for ping, installation and ignored events).
    pub fn repo(&self) -> Option<&RepoName> {
        match self {
            Event::IssueComment(e) => Some(&e.repo.full_name),
            Event::Issue(e) => Some(&e.repo.full_name),
            Event::PullRequest(e) => Some(&e.repo.full_name),
            Event::MergeGroup(e) => Some(&e.repo.full_name),
            Event::CheckRunAction(e) => Some(&e.repo.full_name),
            Event::Ping | Event::Installation(_) | Event::Ignored { .. } => None,
        }
    }

    /// The App installation the delivery was sent for, when the payload names one.
    pub fn installation_id(&self) -> Option<u64> {
        match self {
            Event::IssueComment(e) => e.installation_id,
            Event::Issue(e) => e.installation_id,
            Event::PullRequest(e) => e.installation_id,
            Event::Installation(e) => Some(e.installation_id),
            Event::MergeGroup(e) => e.installation_id,
            Event::CheckRunAction(e) => e.installation_id,
            Event::Ping | Event::Ignored { .. } => None,
        }
    }
}

/// Why a delivery body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventParseError {
    /// The body is not a JSON document (syntax error or truncated).
    #[error("the `{event}` delivery body is not valid JSON: {message}")]
    MalformedJson { event: String, message: String },
    /// The body is JSON but a field the bot needs is missing or has the wrong type.
    /// `field` is a dotted path such as `issue.number` (`.` for the document itself).
    #[error("the `{event}` payload has a missing or invalid field `{field}`: {message}")]
    InvalidField {
        event: String,
        field: String,
        message: String,
    },
}

/// Parses a delivery. `event_name` is the `X-GitHub-Event` header; `body` the raw bytes.
pub fn parse_event(event_name: &str, body: &[u8]) -> Result<Event, EventParseError> {
    match event_name {
        "issue_comment" => parse_known::<IssueCommentPayload>(event_name, body),
        "issues" => parse_known::<IssuesPayload>(event_name, body),
        "pull_request" => parse_known::<PullRequestPayload>(event_name, body),
        "installation" => parse_known::<InstallationPayload>(event_name, body),
        "merge_group" => parse_known::<MergeGroupPayload>(event_name, body),
        "check_run" => parse_known::<CheckRunPayload>(event_name, body),
        _ => {
            // Still read in full: a malformed body is an error whatever the event.
            let envelope: Envelope = decode(event_name, body)?;
            Ok(match event_name {
                "ping" => Event::Ping,
                _ => ignored(event_name, envelope.into_action()),
            })
        }
    }
}

/// One pass over the body when it is well formed, which is the common case. Only when it
/// does not fit the payload type is the action read on its own: a new or unhandled action
/// whose payload has another shape is ignored, while a handled one is an error naming the
/// field (found by a second, path-tracking pass).
fn parse_known<P: KnownPayload>(event_name: &str, body: &[u8]) -> Result<Event, EventParseError> {
    // UTF-8 is checked once for the whole body (JSON text is UTF-8, RFC 8259): parsing from
    // a `str` then skips the per-string check, about a tenth of the parse (measured with
    // `cargo bench -p promptops-github --bench webhook_ingress`).
    let text = std::str::from_utf8(body).map_err(|error| not_utf8(event_name, &error))?;
    match serde_json::from_str::<P>(text) {
        Ok(payload) => match payload.action().and_then(P::known_action) {
            Some(action) => Ok(payload.into_event(action)),
            None => Ok(ignored(event_name, payload.action().map(str::to_owned))),
        },
        Err(error) if is_malformed(&error) => Err(describe(event_name, ".", error)),
        Err(_) => {
            let action = decode::<Envelope>(event_name, body)?.into_action();
            match action.as_deref().and_then(P::known_action) {
                Some(known) => Ok(decode::<P>(event_name, body)?.into_event(known)),
                None => Ok(ignored(event_name, action)),
            }
        }
    }
}

fn not_utf8(event_name: &str, error: &std::str::Utf8Error) -> EventParseError {
    EventParseError::MalformedJson {
        event: event_name.to_owned(),
        message: format!(
            "the body is not UTF-8 text (invalid byte at offset {})",
            error.valid_up_to()
        ),
    }
}

fn ignored(event_name: &str, action: Option<String>) -> Event {
    Event::Ignored {
        event: event_name.to_owned(),
        action,
    }
}

fn is_malformed(error: &serde_json::Error) -> bool {
    error.is_syntax() || error.is_eof() || error.is_io()
}

/// Deserializes `body`, turning serde's error into one that names the field by its path.
fn decode<T: DeserializeOwned>(event: &str, body: &[u8]) -> Result<T, EventParseError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|error| describe(event, &error.path().to_string(), error.into_inner()))?;
    // Trailing bytes after the document make it malformed too.
    deserializer
        .end()
        .map_err(|error| describe(event, ".", error))?;
    Ok(value)
}

fn describe(event: &str, path: &str, error: serde_json::Error) -> EventParseError {
    let message = error.to_string();
    if is_malformed(&error) {
        return EventParseError::MalformedJson {
            event: event.to_owned(),
            message,
        };
    }
    EventParseError::InvalidField {
        event: event.to_owned(),
        field: field_path(path, &message),
        message,
    }
}

/// The dotted path of the offending field. For a missing field serde reports the path of the
/// object that lacks it, so the field's own name is appended from the message.
fn field_path(path: &str, message: &str) -> String {
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match (path, missing) {
        (".", Some(field)) => field.to_owned(),
        (_, Some(field)) => format!("{path}.{field}"),
        _ => path.to_owned(),
    }
}
