//! Which jobs a webhook event implies. Pure: no I/O, so the server can call it inside the
//! delivery's transaction budget and the tests can call it directly.
//!
//! Decisions that need GitHub or the repository's settings (permissions, the configured
//! trigger label, fork checks) are made by the job when it runs; ingress only filters out
//! what can never matter (bot comments, comments without a command, unrelated actions).

use promptops_commands::parse_commands;
use promptops_github::webhook::{
    Event, IssueAction, IssueCommentAction, IssueCommentEvent, IssueEvent, PullRequestAction,
    PullRequestEvent, RepoRef,
};
use promptops_store::NewJob;

use crate::jobs::{CommandRequest, IssueSnapshot, JobPayload, PrSnapshot, RepoTarget};

#[derive(Debug, Clone, Default)]
pub struct IngressSettings {
    /// The App's own login (e.g. `promptops[bot]`): its comments never run commands.
    pub bot_login: Option<String>,
}

pub fn jobs_for_event(event: &Event, settings: &IngressSettings) -> Vec<NewJob> {
    let payloads = match event {
        Event::IssueComment(comment) => comment_jobs(comment, settings),
        Event::Issue(issue) => issue_jobs(issue),
        Event::PullRequest(pr) => pull_request_jobs(pr),
        _ => Vec::new(),
    };
    payloads.into_iter().map(to_new_job).collect()
}

fn to_new_job(payload: JobPayload) -> NewJob {
    let dedupe_key = match &payload {
        // Opening an issue with the label and labelling it fire two events; one plan is enough
        // while the first is still waiting.
        JobPayload::PlanIssue { repo, issue, .. } => {
            Some(format!("plan-issue:{}#{}", repo.full_name(), issue.number))
        }
        // Duplicate deliveries (or opened + synchronize racing) for one head SHA plan once.
        JobPayload::PlanPr { repo, pr } => Some(format!(
            "plan-pr:{}#{}@{}",
            repo.full_name(),
            pr.number,
            pr.head_sha
        )),
        JobPayload::PrClosed { repo, pr } => {
            Some(format!("pr-closed:{}#{}", repo.full_name(), pr.number))
        }
        _ => None,
    };
    let repo = payload.repo().full_name();
    let kind = payload.kind();
    let value = serde_json::to_value(&payload).expect("job payloads are plain data");
    let job = NewJob::new(kind, repo, value);
    match dedupe_key {
        Some(key) => job.with_dedupe_key(key),
        None => job,
    }
}

fn repo_target(repo: &RepoRef, installation: Option<u64>) -> Option<RepoTarget> {
    Some(RepoTarget {
        owner: repo.owner.clone(),
        name: repo.name.clone(),
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
    let issue = IssueSnapshot {
        number: event.issue.number,
        title: event.issue.title.clone(),
        body: event.issue.body.clone(),
        is_pull_request: event.issue.is_pull_request,
    };
    parse_commands(&event.comment.body)
        .into_iter()
        .map(|parsed| match parsed {
            Ok(command) => JobPayload::RunCommand {
                repo: repo.clone(),
                issue: issue.clone(),
                comment_id: event.comment.id,
                author: author.login.clone(),
                command: CommandRequest::from_parsed(&command),
            },
            Err(error) => JobPayload::ReplyToComment {
                repo: repo.clone(),
                issue: issue.number,
                comment_id: event.comment.id,
                author: author.login.clone(),
                text: error.to_string(),
            },
        })
        .collect()
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
