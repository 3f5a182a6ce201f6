//! Every payload in `fixtures/github-webhooks/` (GitHub's own examples, see the README there)
//! is accepted, and the fields the bot reads come out right.

use std::path::PathBuf;

use promptops_core::{CommitSha, IssueNumber, PrNumber, RepoName};
use promptops_github::client::PrState;
use promptops_github::webhook::{
    AccountType, Event, InstallationAction, IssueAction, IssueCommentAction, PullRequestAction,
    parse_event,
};

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/github-webhooks")
}

fn fixture(name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {} is missing: {e}", path.display()))
}

/// The event name is the file name's first word: `issue_comment.created.2.json`.
fn event_name(file_name: &str) -> &str {
    file_name.split('.').next().unwrap_or_default()
}

fn parse(name: &str) -> Event {
    parse_event(event_name(name), &fixture(name))
        .unwrap_or_else(|e| panic!("{name} did not parse: {e}"))
}

/// What each (event, action) pair must become — written out independently of the parser.
fn expected_kind(event: &str, action: Option<&str>) -> &'static str {
    match (event, action) {
        ("issue_comment", Some("created" | "edited" | "deleted")) => "issue_comment",
        ("issues", Some("opened" | "edited" | "labeled" | "unlabeled" | "closed" | "reopened")) => {
            "issues"
        }
        (
            "pull_request",
            Some(
                "opened" | "reopened" | "synchronize" | "edited" | "closed" | "ready_for_review"
                | "converted_to_draft" | "labeled" | "unlabeled",
            ),
        ) => "pull_request",
        (
            "installation",
            Some("created" | "deleted" | "suspend" | "unsuspend" | "new_permissions_accepted"),
        ) => "installation",
        ("ping", _) => "ping",
        ("merge_group", Some("checks_requested" | "destroyed")) => "merge_group",
        ("check_run", Some("requested_action")) => "check_run_action",
        _ => "ignored",
    }
}

fn kind(event: &Event) -> &'static str {
    match event {
        Event::IssueComment(_) => "issue_comment",
        Event::Issue(_) => "issues",
        Event::PullRequest(_) => "pull_request",
        Event::Ping => "ping",
        Event::Installation(_) => "installation",
        Event::MergeGroup(_) => "merge_group",
        Event::CheckRunAction(_) => "check_run_action",
        Event::Ignored { .. } => "ignored",
    }
}

#[test]
fn every_fixture_is_handled_or_ignored_never_an_error() {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap_or_else(|e| panic!("fixtures directory missing: {e}"))
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".json"))
        .collect();
    names.sort();
    assert_eq!(
        names.len(),
        110,
        "the copied fixture set is incomplete: {names:?}"
    );

    let mut handled = 0;
    for name in &names {
        let body = fixture(name);
        let event = parse_event(event_name(name), &body)
            .unwrap_or_else(|e| panic!("{name} was rejected: {e}"));
        let raw: serde_json::Value = serde_json::from_slice(&body).expect("fixture is JSON");
        let action = raw.get("action").and_then(|a| a.as_str());
        assert_eq!(
            kind(&event),
            expected_kind(event_name(name), action),
            "{name}"
        );
        assert_eq!(event.action(), action, "{name}");
        assert_eq!(event.name(), event_name(name), "{name}");
        if event.repo().is_some() {
            let full_name = raw["repository"]["full_name"].as_str();
            assert_eq!(
                event.repo().map(ToString::to_string).as_deref(),
                full_name,
                "{name}"
            );
        }
        let installation = raw.get("installation").and_then(|i| i["id"].as_u64());
        if kind(&event) != "ignored" && kind(&event) != "ping" {
            assert_eq!(event.installation_id(), installation, "{name}");
            handled += 1;
        }
    }
    // 9 issue_comment + 12 issues + 19 pull_request + 7 installation + 1 check_run
    // (`requested_action`) deliveries are handled.
    assert_eq!(handled, 48);
}

#[test]
fn issue_comment_created_fields() {
    let Event::IssueComment(event) = parse("issue_comment.created.json") else {
        panic!("expected an issue comment");
    };
    assert_eq!(event.action, IssueCommentAction::Created);
    assert_eq!(event.repo.full_name.owner(), "Codertocat");
    assert_eq!(event.repo.full_name.name(), "Hello-World");
    assert_eq!(event.repo.full_name.to_string(), "Codertocat/Hello-World");
    assert_eq!(event.repo.default_branch.as_deref(), Some("master"));
    assert_eq!(event.installation_id, None);
    assert_eq!(event.issue.number, IssueNumber::new(1));
    assert_eq!(event.issue.title, "Spelling error in the README file");
    assert!(
        event
            .issue
            .body
            .starts_with("It looks like you accidently spelled 'commit'")
    );
    assert_eq!(event.issue.labels, vec!["bug".to_owned()]);
    assert!(!event.issue.is_pull_request);
    assert_eq!(event.comment.id, 492700400);
    assert_eq!(
        event.comment.body,
        "You are totally right! I'll get this fixed right away."
    );
    assert_eq!(event.comment.author.login, "Codertocat");
    assert_eq!(event.comment.author.account_type, AccountType::User);
    assert!(!event.comment.author.is_bot());
    assert_eq!(event.comment.author_association.as_deref(), Some("OWNER"));
    assert_eq!(event.sender.login, "Codertocat");
}

#[test]
fn installation_id_is_read_when_present() {
    assert_eq!(
        parse("issue_comment.created.4.json").installation_id(),
        Some(1)
    );
    assert_eq!(parse("pull_request.closed.json").installation_id(), Some(1));
    assert_eq!(parse("pull_request.opened.json").installation_id(), None);
}

#[test]
fn issues_labeled_carries_the_label() {
    let Event::Issue(event) = parse("issues.labeled.json") else {
        panic!("expected an issue event");
    };
    assert_eq!(event.action, IssueAction::Labeled);
    assert_eq!(event.label.as_deref(), Some("bug"));
    assert_eq!(event.issue.number, IssueNumber::new(1));

    let Event::Issue(opened) = parse("issues.opened.json") else {
        panic!("expected an issue event");
    };
    assert_eq!(opened.action, IssueAction::Opened);
    assert_eq!(opened.label, None);
}

#[test]
fn pull_request_closed_fields() {
    let Event::PullRequest(event) = parse("pull_request.closed.json") else {
        panic!("expected a pull request event");
    };
    let pr = &event.pull_request;
    assert_eq!(event.action, PullRequestAction::Closed);
    assert_eq!(pr.number, PrNumber::new(2));
    assert_eq!(pr.title, "Update the README with new information.");
    assert!(!pr.merged, "this example was closed without merging");
    assert_eq!(
        pr.merge_commit_sha.as_ref().map(CommitSha::as_str),
        Some("c4295bd74fb0f4fda03689c3df3f2803b658fd85")
    );
    assert_eq!(pr.state, Some(PrState::Closed));
    assert_eq!(pr.head.ref_name, "changes");
    assert_eq!(pr.head.sha, "ec26c3e57ca3a959ca5aad62de7213c562f8c821");
    assert_eq!(
        pr.head.repo_full_name.as_ref().map(ToString::to_string),
        Some("Codertocat/Hello-World".to_owned())
    );
    assert_eq!(pr.base.ref_name, "master");
    assert_eq!(pr.author.login, "Codertocat");
    assert!(!pr.is_from_fork());
    assert!(!pr.draft);
}

#[test]
fn pull_request_opened_and_draft_fields() {
    let Event::PullRequest(opened) = parse("pull_request.opened.json") else {
        panic!("expected a pull request event");
    };
    assert_eq!(opened.action, PullRequestAction::Opened);
    assert!(
        opened
            .pull_request
            .body
            .starts_with("This is a pretty simple change")
    );
    assert!(!opened.pull_request.merged);

    let Event::PullRequest(draft) = parse("pull_request.converted_to_draft.json") else {
        panic!("expected a pull request event");
    };
    assert_eq!(draft.action, PullRequestAction::ConvertedToDraft);
    assert!(draft.pull_request.draft);

    let Event::PullRequest(push) = parse("pull_request.synchronize.json") else {
        panic!("expected a pull request event");
    };
    assert_eq!(push.action, PullRequestAction::Synchronize);
}

#[test]
fn installation_deleted_fields() {
    let Event::Installation(event) = parse("installation.deleted.json") else {
        panic!("expected an installation event");
    };
    assert_eq!(event.action, InstallationAction::Deleted);
    assert_eq!(event.installation_id, 2);
    assert_eq!(
        event.account.as_ref().map(|a| a.login.as_str()),
        Some("octocat")
    );
    assert_eq!(
        event.repositories,
        vec!["octocat/Hello-World".parse::<RepoName>().unwrap()]
    );
}

#[test]
fn ping_push_and_unhandled_actions_are_recognised() {
    assert_eq!(parse("ping.event.json"), Event::Ping);
    assert_eq!(
        parse("push.event.json"),
        Event::Ignored {
            event: "push".into(),
            action: None
        }
    );
    assert_eq!(
        parse("issues.pinned.json"),
        Event::Ignored {
            event: "issues".into(),
            action: Some("pinned".into())
        }
    );
    assert_eq!(
        parse("pull_request_review.submitted.json"),
        Event::Ignored {
            event: "pull_request_review".into(),
            action: Some("submitted".into())
        }
    );
}
