//! Which jobs a webhook event implies. Pure: no I/O, so the server can call it inside the
//! delivery's transaction budget and the tests can call it directly.
//!
//! Decisions that need GitHub or the repository's settings (permissions, the configured
//! trigger label, fork checks) are made by the job when it runs; ingress only filters out
//! what can never matter (bot comments, comments without a command, unrelated actions).
//!
//! Comments are bounded here, before anything is queued: one job per comment, at most
//! [`MAX_COMMANDS_PER_COMMENT`] commands in it (the rest are named as ignored in its
//! reply), and at most [`CommentJobLimit`] jobs from comments per repository — so a comment
//! of hundreds of `/promptops` lines, or a flood of comments, costs a bounded amount of work
//! and of GitHub API calls.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use promptops_commands::{Command, CommandError, parse_commands};
use promptops_github::webhook::{
    Event, IssueAction, IssueCommentAction, IssueCommentEvent, IssueEvent, PullRequestAction,
    PullRequestEvent, RepoRef,
};
use promptops_store::NewJob;

use crate::pipeline::check_ingress;
use crate::pipeline::jobs::{CommentLine, IssueSnapshot, JobPayload, PrSnapshot, RepoTarget};

/// The most commands one comment runs; further `/promptops` lines are named as ignored.
pub const MAX_COMMANDS_PER_COMMENT: usize = 3;

/// Longest `/promptops` line quoted back as ignored.
const MAX_IGNORED_LINE_CHARS: usize = 80;

#[derive(Debug, Clone, Default)]
pub struct IngressSettings {
    /// The App's own login (e.g. `promptops[bot]`): its comments never run commands.
    pub bot_login: Option<String>,
    /// Jobs from comments (and check-run buttons) per repository and person.
    pub comment_jobs: CommentJobLimit,
}

/// A rate limit on jobs from comments per repository and person, kept in memory by each
/// replica (so N replicas allow up to N times the rate; GitHub spreads deliveries over
/// them). Per person, not per repository: it is charged before anyone's permission is
/// known, so a shared budget would let one outsider's stream of comments crowd out the
/// maintainers' commands.
#[derive(Clone)]
pub struct CommentJobLimit {
    limiter: Arc<DefaultKeyedRateLimiter<String>>,
    per_minute: NonZeroU32,
}

impl CommentJobLimit {
    /// The default: 20 jobs from comments per minute, repository and person (in bursts of up
    /// to 20).
    pub const DEFAULT_PER_MINUTE: NonZeroU32 = NonZeroU32::new(20).expect("20 is not zero");

    pub fn per_minute(per_minute: NonZeroU32) -> Self {
        Self {
            limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))),
            per_minute,
        }
    }

    /// Whether one more job from `person`'s comment on `repo` is allowed now (and counts it).
    pub(super) fn allow(&self, repo: &str, person: &str) -> bool {
        // A newline is in neither a repository's name nor a login: the key is unambiguous.
        let key = format!("{repo}\n{person}").to_ascii_lowercase();
        let allowed = self.limiter.check_key(&key).is_ok();
        // Keys of people whose budget is full again are dropped, so the map stays small.
        if self.limiter.len() > MAX_TRACKED_PEOPLE {
            self.limiter.retain_recent();
        }
        allowed
    }
}

/// Past this many (repository, person) pairs, idle ones are forgotten.
const MAX_TRACKED_PEOPLE: usize = 10_000;

impl Default for CommentJobLimit {
    fn default() -> Self {
        Self::per_minute(Self::DEFAULT_PER_MINUTE)
    }
}

impl fmt::Debug for CommentJobLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CommentJobLimit({}/min per repository)", self.per_minute)
    }
}

pub fn jobs_for_event(event: &Event, settings: &IngressSettings) -> Vec<NewJob> {
    let payloads = match event {
        Event::IssueComment(comment) => comment_jobs(comment, settings),
        Event::Issue(issue) => issue_jobs(issue),
        Event::PullRequest(pr) => pull_request_jobs(pr),
        Event::MergeGroup(group) => check_ingress::merge_group_jobs(group),
        Event::CheckRunAction(click) => check_ingress::check_button_jobs(click, settings),
        _ => Vec::new(),
    };
    payloads.into_iter().map(to_new_job).collect()
}

fn to_new_job(payload: JobPayload) -> NewJob {
    let dedupe_key = match &payload {
        // Opening an issue with the label and labelling it fire two events; one plan is enough
        // while the first is still waiting.
        JobPayload::PlanIssue { repo, issue, .. } => {
            Some(format!("plan-issue:{}#{}", repo.repo, issue.number))
        }
        // Duplicate deliveries (or opened + synchronize racing) for one head SHA plan once.
        JobPayload::PlanPr { repo, pr } => Some(format!(
            "plan-pr:{}#{}@{}",
            repo.repo, pr.number, pr.head_sha
        )),
        JobPayload::PrClosed { repo, pr } => Some(format!("pr-closed:{}#{}", repo.repo, pr.number)),
        // A redelivered `checks_requested` for the same group head checks once.
        JobPayload::MergeGroupCheck { repo, group } => {
            Some(format!("merge-group:{}@{}", repo.repo, group.head_sha))
        }
        _ => None,
    };
    let repo = payload.repo().repo.clone();
    let kind = payload.kind();
    let value = serde_json::to_value(&payload).expect("job payloads are plain data");
    let job = NewJob::new(kind, repo, value);
    match dedupe_key {
        Some(key) => job.with_dedupe_key(key),
        None => job,
    }
}

/// The repository of an event sent for an App installation (`None` without one).
pub(super) fn repo_target(repo: &RepoRef, installation: Option<u64>) -> Option<RepoTarget> {
    Some(RepoTarget {
        repo: repo.full_name.clone(),
        installation_id: installation?,
    })
}

fn comment_jobs(event: &IssueCommentEvent, settings: &IngressSettings) -> Vec<JobPayload> {
    if event.action != IssueCommentAction::Created {
        return Vec::new();
    }
    let author = &event.comment.author;
    // Bots (the App itself included) never run commands: a bot quoting help text, or
    // answering another bot, must not start a plan.
    if author.is_bot()
        || settings
            .bot_login
            .as_deref()
            .is_some_and(|login| login.eq_ignore_ascii_case(&author.login))
    {
        return Vec::new();
    }
    let Some(repo) = repo_target(&event.repo, event.installation_id) else {
        return Vec::new();
    };
    let parsed = parse_commands(&event.comment.body);
    if parsed.is_empty() {
        return Vec::new();
    }
    if !settings
        .comment_jobs
        .allow(&repo.repo.to_string(), &author.login)
    {
        // Debug formatting: user-chosen names are logged with control characters escaped.
        tracing::warn!(
            repo = ?repo.repo.to_string(),
            author = ?author.login,
            issue = %event.issue.number,
            "comment ignored: the author's rate limit on jobs from comments is reached"
        );
        return Vec::new();
    }
    let issue = IssueSnapshot {
        number: event.issue.number,
        title: event.issue.title.clone(),
        body: event.issue.body.clone(),
        is_pull_request: event.issue.is_pull_request,
    };
    let mut lines = parsed.into_iter();
    let commands: Vec<CommentLine> = lines
        .by_ref()
        .take(MAX_COMMANDS_PER_COMMENT)
        .map(|line| match line {
            Ok(command) => CommentLine::Command { command },
            Err(error) => CommentLine::Invalid {
                reply: error.to_string(),
            },
        })
        .collect();
    let ignored = lines.map(|line| line_as_typed(&line)).collect();
    vec![JobPayload::CommentCommands {
        repo,
        issue,
        comment_id: event.comment.id,
        author: author.login.clone(),
        commands,
        ignored,
    }]
}

/// A `/promptops` line as the user typed it, shortened, to name it as ignored.
fn line_as_typed(line: &Result<Command, CommandError>) -> String {
    let typed = match line {
        Ok(command) => command.to_string(),
        Err(CommandError::Unknown { given, .. }) => format!("/promptops {given}"),
        Err(CommandError::MissingSubcommand) => "/promptops".to_owned(),
        Err(CommandError::UnexpectedWords { command, given }) => {
            format!("/promptops {command} {given}")
        }
    };
    let first_line = typed.lines().next().unwrap_or_default();
    let mut shortened: String = first_line.chars().take(MAX_IGNORED_LINE_CHARS).collect();
    if shortened.len() < typed.len() {
        shortened.push('…');
    }
    shortened
}

fn issue_jobs(event: &IssueEvent) -> Vec<JobPayload> {
    // The trigger label is a per-repository setting, so every label is a candidate here;
    // the job compares it with `.github/promptops.yml`.
    let labels: Vec<String> = match event.action {
        IssueAction::Labeled => event.label.iter().cloned().collect(),
        IssueAction::Opened => event.issue.labels.clone(),
        _ => Vec::new(),
    };
    let Some(repo) = repo_target(&event.repo, event.installation_id) else {
        return Vec::new();
    };
    if labels.is_empty() || event.issue.is_pull_request {
        return Vec::new();
    }
    vec![JobPayload::PlanIssue {
        repo,
        issue: IssueSnapshot {
            number: event.issue.number,
            title: event.issue.title.clone(),
            body: event.issue.body.clone(),
            is_pull_request: false,
        },
        author: event.sender.login.clone(),
        labels,
    }]
}

fn pull_request_jobs(event: &PullRequestEvent) -> Vec<JobPayload> {
    let Some(repo) = repo_target(&event.repo, event.installation_id) else {
        return Vec::new();
    };
    let raw = &event.pull_request;
    let pr = PrSnapshot {
        number: raw.number,
        head_sha: raw.head.sha.clone(),
        head_ref: raw.head.ref_name.clone(),
        from_fork: raw.is_from_fork(),
        author: raw.author.login.clone(),
        merged: raw.merged,
        merge_commit_sha: raw.merge_commit_sha.clone(),
        sender: Some(event.sender.login.clone()),
    };
    match event.action {
        PullRequestAction::Opened
        | PullRequestAction::Reopened
        | PullRequestAction::Synchronize => vec![JobPayload::PlanPr { repo, pr }],
        PullRequestAction::Closed => vec![JobPayload::PrClosed { repo, pr }],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use promptops_github::webhook::parse_event;
    use serde_json::{Value, json};

    use super::*;

    fn event(name: &str, edit: impl FnOnce(&mut Value)) -> Event {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("crates/github/tests/fixtures/github-webhooks")
            .join(format!("{name}.json"));
        let mut payload: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        payload["installation"] = json!({ "id": 7 });
        edit(&mut payload);
        parse_event("pull_request", &serde_json::to_vec(&payload).unwrap()).unwrap()
    }

    fn comment(body: &str) -> Event {
        comment_by(body, "someone")
    }

    fn comment_by(body: &str, login: &str) -> Event {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("crates/github/tests/fixtures/github-webhooks/issue_comment.created.json");
        let mut payload: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        payload["installation"] = json!({ "id": 7 });
        payload["comment"]["body"] = json!(body);
        payload["comment"]["user"]["login"] = json!(login);
        payload["comment"]["user"]["type"] = json!("User");
        parse_event("issue_comment", &serde_json::to_vec(&payload).unwrap()).unwrap()
    }

    fn comment_job(job: &NewJob) -> (Vec<CommentLine>, Vec<String>) {
        match serde_json::from_value(job.payload.clone()).unwrap() {
            JobPayload::CommentCommands {
                commands, ignored, ..
            } => (commands, ignored),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_comment_is_one_job_of_at_most_three_commands_the_rest_named_as_ignored() {
        let settings = IngressSettings::default();
        let body = "/promptops help\n/promptops x\n/promptops plan two T4\n/promptops apply\n/promptops destroy\n";
        let jobs = jobs_for_event(&comment(body), &settings);
        assert_eq!(jobs.len(), 1);
        let (lines, ignored) = comment_job(&jobs[0]);
        assert_eq!(lines.len(), MAX_COMMANDS_PER_COMMENT);
        assert!(matches!(lines[1], CommentLine::Invalid { .. }), "{lines:?}");
        assert_eq!(ignored, vec!["/promptops apply", "/promptops destroy"]);

        let flood = "/promptops x\n".repeat(300);
        let jobs = jobs_for_event(&comment(&flood), &settings);
        assert_eq!(jobs.len(), 1);
        assert_eq!(comment_job(&jobs[0]).1.len(), 297);
        assert!(jobs_for_event(&comment("no command here"), &settings).is_empty());
    }

    #[test]
    fn jobs_from_comments_are_rate_limited_per_repository_and_person() {
        let settings = IngressSettings {
            comment_jobs: CommentJobLimit::per_minute(NonZeroU32::new(2).unwrap()),
            ..IngressSettings::default()
        };
        let event = comment("/promptops help");
        assert_eq!(jobs_for_event(&event, &settings).len(), 1);
        assert_eq!(jobs_for_event(&event, &settings).len(), 1);
        assert!(
            jobs_for_event(&event, &settings).is_empty(),
            "the third comment within a minute is over the limit"
        );
        // Someone else's commands on the same repository are not crowded out.
        let other = comment_by("/promptops help", "a-maintainer");
        assert_eq!(jobs_for_event(&other, &settings).len(), 1);
        // Pull request events are not comments: never limited.
        let opened = jobs_for_event(&self::event("pull_request.opened", |_| {}), &settings);
        assert_eq!(opened.len(), 1);
    }

    #[test]
    fn pushes_plan_once_per_head_sha_and_closing_is_one_job_per_pr() {
        let settings = IngressSettings::default();
        let opened = jobs_for_event(&event("pull_request.opened", |_| {}), &settings);
        let sync = jobs_for_event(&event("pull_request.synchronize", |_| {}), &settings);
        assert_eq!(opened.len(), 1);
        assert_eq!(opened[0].kind, "plan_pr");
        let key = opened[0].dedupe_key.clone().unwrap();
        assert!(
            key.ends_with("@ec26c3e57ca3a959ca5aad62de7213c562f8c821"),
            "{key}"
        );
        let moved = event("pull_request.opened", |p| {
            p["pull_request"]["head"]["sha"] = json!("0000000000000000000000000000000000000001");
        });
        let moved = jobs_for_event(&moved, &settings);
        assert_ne!(
            moved[0].dedupe_key, opened[0].dedupe_key,
            "a new head plans again"
        );
        assert_eq!(sync[0].kind, "plan_pr");

        let closed = jobs_for_event(&event("pull_request.closed", |_| {}), &settings);
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].kind, "pr_closed");
        let payload: JobPayload = serde_json::from_value(closed[0].payload.clone()).unwrap();
        let JobPayload::PrClosed { pr, .. } = payload else {
            panic!("{payload:?}")
        };
        assert!(!pr.merged);

        let labeled = jobs_for_event(&event("pull_request.labeled", |_| {}), &settings);
        assert!(labeled.is_empty());
        let no_installation = event("pull_request.opened", |p| {
            p.as_object_mut().unwrap().remove("installation");
        });
        assert!(jobs_for_event(&no_installation, &settings).is_empty());
    }
}
