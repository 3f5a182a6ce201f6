//! GitHub's payload shapes, reduced to the fields the bot reads. Unknown fields are skipped;
//! a field that is `Option` or `#[serde(default)]` may be missing or null, every other field
//! is required and its absence is reported by name.

use promptops_core::{CommitSha, IssueNumber, PrNumber, RepoName};
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};

use super::Event;
use crate::client::{IssueState, PrState};

use super::types::{
    Actor, BranchRef, CheckRunAction, CheckRunActionEvent, CheckRunRef, Comment,
    InstallationAction, InstallationEvent, Issue, IssueAction, IssueCommentAction,
    IssueCommentEvent, IssueEvent, MergeGroupAction, MergeGroupEvent, PullRequest,
    PullRequestAction, PullRequestEvent, RepoRef,
};

/// Read first, from every payload, to decide how (and whether) to parse the rest.
#[derive(Deserialize)]
pub(super) struct Envelope {
    /// Not a `String`: an unexpected type here makes the delivery ignored, not an error.
    #[serde(default)]
    action: Option<serde_json::Value>,
}

impl Envelope {
    /// The action when it is a string.
    pub(super) fn into_action(self) -> Option<String> {
        match self.action {
            Some(serde_json::Value::String(action)) => Some(action),
            _ => None,
        }
    }
}

/// A handled event's payload: which actions it knows and how it becomes an [`Event`].
pub(super) trait KnownPayload: DeserializeOwned {
    type Action: Copy;
    /// The bot's action for GitHub's spelling; `None` when the bot does not handle it.
    fn known_action(action: &str) -> Option<Self::Action>;
    /// The payload's action when it is a string.
    fn action(&self) -> Option<&str>;
    fn into_event(self, action: Self::Action) -> Event;
}

/// Implements [`KnownPayload`] for a payload struct with an `action` field.
macro_rules! known_payload {
    ($payload:ident, $action:ident, $variant:ident) => {
        impl KnownPayload for $payload {
            type Action = $action;
            fn known_action(action: &str) -> Option<$action> {
                $action::from_github(action)
            }
            fn action(&self) -> Option<&str> {
                self.action.as_ref().and_then(|value| value.as_str())
            }
            fn into_event(self, action: $action) -> Event {
                Event::$variant(self.into_typed(action))
            }
        }
    };
}

known_payload!(IssueCommentPayload, IssueCommentAction, IssueComment);
known_payload!(IssuesPayload, IssueAction, Issue);
known_payload!(PullRequestPayload, PullRequestAction, PullRequest);
known_payload!(InstallationPayload, InstallationAction, Installation);
known_payload!(MergeGroupPayload, MergeGroupAction, MergeGroup);
known_payload!(CheckRunPayload, CheckRunAction, CheckRunAction);

#[derive(Deserialize)]
struct InstallationId {
    id: u64,
}

#[derive(Deserialize)]
struct Owner {
    login: String,
}

/// A payload's `repository`: its `full_name` must be a name GitHub allows (the error names
/// `repository.full_name`) and agree with `owner.login` and `name`.
#[derive(Deserialize)]
#[serde(try_from = "RawRepository")]
struct Repository {
    full_name: RepoName,
    default_branch: Option<String>,
}

#[derive(Deserialize)]
struct RawRepository {
    name: String,
    full_name: RepoName,
    owner: Owner,
    #[serde(default)]
    default_branch: Option<String>,
}

impl TryFrom<RawRepository> for Repository {
    type Error = String;

    fn try_from(raw: RawRepository) -> Result<Self, String> {
        if raw.full_name.owner() != raw.owner.login || raw.full_name.name() != raw.name {
            return Err(format!(
                "`full_name` {:?} is not `owner.login` {:?} and `name` {:?} joined by `/`",
                raw.full_name.to_string(),
                raw.owner.login,
                raw.name
            ));
        }
        Ok(Self {
            full_name: raw.full_name,
            default_branch: raw.default_branch,
        })
    }
}

impl From<Repository> for RepoRef {
    fn from(repo: Repository) -> RepoRef {
        RepoRef {
            full_name: repo.full_name,
            default_branch: repo.default_branch,
        }
    }
}

#[derive(Deserialize)]
struct Label {
    name: String,
}

fn label_names(labels: Option<Vec<Label>>) -> Vec<String> {
    labels
        .unwrap_or_default()
        .into_iter()
        .map(|label| label.name)
        .collect()
}

#[derive(Deserialize)]
struct RawIssue {
    number: IssueNumber,
    title: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    labels: Option<Vec<Label>>,
    /// Present (and not null) when the issue is a pull request; its content is not needed.
    #[serde(default)]
    pull_request: Option<IgnoredAny>,
    #[serde(default)]
    state: Option<IssueState>,
    #[serde(default)]
    user: Option<Actor>,
    #[serde(default)]
    html_url: Option<String>,
}

impl From<RawIssue> for Issue {
    fn from(issue: RawIssue) -> Issue {
        Issue {
            number: issue.number,
            title: issue.title,
            body: issue.body.unwrap_or_default(),
            labels: label_names(issue.labels),
            is_pull_request: issue.pull_request.is_some(),
            state: issue.state,
            author: issue.user,
            html_url: issue.html_url,
        }
    }
}

#[derive(Deserialize)]
struct RawComment {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    user: Actor,
    #[serde(default)]
    author_association: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
}

impl From<RawComment> for Comment {
    fn from(comment: RawComment) -> Comment {
        Comment {
            id: comment.id,
            body: comment.body.unwrap_or_default(),
            author: comment.user,
            author_association: comment.author_association,
            html_url: comment.html_url,
        }
    }
}

#[derive(Deserialize)]
struct NamedRepository {
    full_name: RepoName,
}

#[derive(Deserialize)]
struct RawBranch {
    #[serde(rename = "ref")]
    ref_name: String,
    sha: CommitSha,
    /// `null` when the fork the branch came from was deleted.
    #[serde(default)]
    repo: Option<NamedRepository>,
}

impl From<RawBranch> for BranchRef {
    fn from(branch: RawBranch) -> BranchRef {
        BranchRef {
            ref_name: branch.ref_name,
            sha: branch.sha,
            repo_full_name: branch.repo.map(|repo| repo.full_name),
        }
    }
}

#[derive(Deserialize)]
struct RawPullRequest {
    number: PrNumber,
    title: String,
    #[serde(default)]
    body: Option<String>,
    head: RawBranch,
    base: RawBranch,
    #[serde(default)]
    merged: Option<bool>,
    #[serde(default)]
    merged_at: Option<String>,
    #[serde(default)]
    merge_commit_sha: Option<CommitSha>,
    user: Actor,
    #[serde(default)]
    draft: Option<bool>,
    #[serde(default)]
    state: Option<PrState>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    labels: Option<Vec<Label>>,
}

impl From<RawPullRequest> for PullRequest {
    fn from(pr: RawPullRequest) -> PullRequest {
        PullRequest {
            number: pr.number,
            title: pr.title,
            body: pr.body.unwrap_or_default(),
            head: pr.head.into(),
            base: pr.base.into(),
            // Some payload versions leave out `merged`; `merged_at` says the same thing.
            merged: pr.merged.unwrap_or(pr.merged_at.is_some()),
            merge_commit_sha: pr.merge_commit_sha,
            author: pr.user,
            draft: pr.draft.unwrap_or(false),
            state: pr.state,
            html_url: pr.html_url,
            labels: label_names(pr.labels),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct IssueCommentPayload {
    #[serde(default)]
    action: Option<serde_json::Value>,
    repository: Repository,
    #[serde(default)]
    installation: Option<InstallationId>,
    issue: RawIssue,
    comment: RawComment,
    sender: Actor,
}

impl IssueCommentPayload {
    fn into_typed(self, action: IssueCommentAction) -> IssueCommentEvent {
        IssueCommentEvent {
            action,
            repo: self.repository.into(),
            installation_id: self.installation.map(|i| i.id),
            issue: self.issue.into(),
            comment: self.comment.into(),
            sender: self.sender,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct IssuesPayload {
    #[serde(default)]
    action: Option<serde_json::Value>,
    repository: Repository,
    #[serde(default)]
    installation: Option<InstallationId>,
    issue: RawIssue,
    #[serde(default)]
    label: Option<Label>,
    sender: Actor,
}

impl IssuesPayload {
    fn into_typed(self, action: IssueAction) -> IssueEvent {
        IssueEvent {
            action,
            repo: self.repository.into(),
            installation_id: self.installation.map(|i| i.id),
            issue: self.issue.into(),
            label: self.label.map(|label| label.name),
            sender: self.sender,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct PullRequestPayload {
    #[serde(default)]
    action: Option<serde_json::Value>,
    repository: Repository,
    #[serde(default)]
    installation: Option<InstallationId>,
    pull_request: RawPullRequest,
    #[serde(default)]
    label: Option<Label>,
    sender: Actor,
}

impl PullRequestPayload {
    fn into_typed(self, action: PullRequestAction) -> PullRequestEvent {
        PullRequestEvent {
            action,
            repo: self.repository.into(),
            installation_id: self.installation.map(|i| i.id),
            pull_request: self.pull_request.into(),
            label: self.label.map(|label| label.name),
            sender: self.sender,
        }
    }
}

#[derive(Deserialize)]
struct RawInstallation {
    id: u64,
    #[serde(default)]
    account: Option<Actor>,
}

#[derive(Deserialize)]
pub(super) struct InstallationPayload {
    #[serde(default)]
    action: Option<serde_json::Value>,
    installation: RawInstallation,
    #[serde(default)]
    repositories: Option<Vec<NamedRepository>>,
    sender: Actor,
}

impl InstallationPayload {
    fn into_typed(self, action: InstallationAction) -> InstallationEvent {
        InstallationEvent {
            action,
            installation_id: self.installation.id,
            account: self.installation.account,
            repositories: self
                .repositories
                .unwrap_or_default()
                .into_iter()
                .map(|repo| repo.full_name)
                .collect(),
            sender: self.sender,
        }
    }
}

#[derive(Deserialize)]
struct RawMergeGroup {
    head_sha: CommitSha,
    head_ref: String,
    base_sha: CommitSha,
    base_ref: String,
}

#[derive(Deserialize)]
pub(super) struct MergeGroupPayload {
    #[serde(default)]
    action: Option<serde_json::Value>,
    repository: Repository,
    #[serde(default)]
    installation: Option<InstallationId>,
    merge_group: RawMergeGroup,
    sender: Actor,
}

impl MergeGroupPayload {
    fn into_typed(self, action: MergeGroupAction) -> MergeGroupEvent {
        MergeGroupEvent {
            action,
            repo: self.repository.into(),
            installation_id: self.installation.map(|i| i.id),
            head_sha: self.merge_group.head_sha,
            head_ref: self.merge_group.head_ref,
            base_sha: self.merge_group.base_sha,
            base_ref: self.merge_group.base_ref,
            sender: self.sender,
        }
    }
}

#[derive(Deserialize)]
struct PullNumber {
    number: PrNumber,
}

#[derive(Deserialize)]
struct RawCheckRun {
    id: u64,
    name: String,
    head_sha: CommitSha,
    #[serde(default)]
    pull_requests: Vec<PullNumber>,
}

#[derive(Deserialize)]
struct RequestedAction {
    identifier: String,
}

#[derive(Deserialize)]
pub(super) struct CheckRunPayload {
    #[serde(default)]
    action: Option<serde_json::Value>,
    repository: Repository,
    #[serde(default)]
    installation: Option<InstallationId>,
    check_run: RawCheckRun,
    /// Only `requested_action` deliveries carry it; other actions are ignored before it
    /// is needed.
    requested_action: RequestedAction,
    sender: Actor,
}

impl CheckRunPayload {
    fn into_typed(self, action: CheckRunAction) -> CheckRunActionEvent {
        CheckRunActionEvent {
            action,
            repo: self.repository.into(),
            installation_id: self.installation.map(|i| i.id),
            check_run: CheckRunRef {
                id: self.check_run.id,
                name: self.check_run.name,
                head_sha: self.check_run.head_sha,
                pull_requests: self
                    .check_run
                    .pull_requests
                    .into_iter()
                    .map(|pr| pr.number)
                    .collect(),
            },
            identifier: self.requested_action.identifier,
            sender: self.sender,
        }
    }
}
