//! Parsing edge cases: payloads derived from GitHub's examples with fields removed, nulled or
//! changed, malformed bodies, and actions the bot does not know.

use std::path::PathBuf;

use promptops_core::PrNumber;
use promptops_github::webhook::{AccountType, Event, EventParseError, parse_event};
use serde_json::{Value, json};

fn fixture_json(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/github-webhooks")
        .join(name);
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("fixture {} is missing: {e}", path.display()));
    serde_json::from_slice(&bytes).expect("fixture is JSON")
}

fn parse_value(event: &str, value: &Value) -> Result<Event, EventParseError> {
    parse_event(event, &serde_json::to_vec(value).expect("serializes"))
}

fn remove(value: &mut Value, path: &[&str]) {
    let (last, parents) = path.split_last().expect("non-empty path");
    let mut at = value;
    for key in parents {
        at = &mut at[*key];
    }
    at.as_object_mut().expect("object").remove(*last);
}

fn invalid_field(result: Result<Event, EventParseError>) -> String {
    match result {
        Err(EventParseError::InvalidField { field, .. }) => field,
        other => panic!("expected InvalidField, got {other:?}"),
    }
}

#[test]
fn a_comment_on_a_pull_request_is_recognised() {
    let mut payload = fixture_json("issue_comment.created.json");
    payload["issue"]["pull_request"] = json!({
        "url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/1",
        "merged_at": null
    });
    let Ok(Event::IssueComment(event)) = parse_value("issue_comment", &payload) else {
        panic!("expected an issue comment");
    };
    assert!(event.issue.is_pull_request);

    payload["issue"]["pull_request"] = Value::Null;
    let Ok(Event::IssueComment(event)) = parse_value("issue_comment", &payload) else {
        panic!("expected an issue comment");
    };
    assert!(!event.issue.is_pull_request);
}

#[test]
fn bot_comments_and_senders_are_flagged() {
    let mut payload = fixture_json("issue_comment.created.json");
    let bot = json!({ "login": "promptops[bot]", "id": 1, "type": "Bot" });
    payload["comment"]["user"] = bot.clone();
    payload["sender"] = bot;
    let Ok(Event::IssueComment(event)) = parse_value("issue_comment", &payload) else {
        panic!("expected an issue comment");
    };
    assert!(event.comment.author.is_bot());
    assert!(event.sender.is_bot());
    assert_eq!(event.comment.author.login, "promptops[bot]");
    assert_eq!(event.sender.account_type, AccountType::Bot);
}

#[test]
fn a_pull_request_from_a_deleted_fork_counts_as_a_fork() {
    let mut payload = fixture_json("pull_request.opened.json");
    payload["pull_request"]["head"]["repo"] = Value::Null;
    let Ok(Event::PullRequest(event)) = parse_value("pull_request", &payload) else {
        panic!("expected a pull request");
    };
    assert_eq!(event.pull_request.head.repo_full_name, None);
    assert!(event.pull_request.is_from_fork());
}

#[test]
fn a_pull_request_from_another_repository_is_a_fork() {
    let mut payload = fixture_json("pull_request.opened.json");
    payload["pull_request"]["head"]["repo"]["full_name"] = json!("someone/Hello-World");
    let Ok(Event::PullRequest(event)) = parse_value("pull_request", &payload) else {
        panic!("expected a pull request");
    };
    assert!(event.pull_request.is_from_fork());
}

#[test]
fn merged_is_read_from_merged_or_merged_at() {
    let mut payload = fixture_json("pull_request.closed.json");
    payload["pull_request"]["merged"] = json!(true);
    let Ok(Event::PullRequest(event)) = parse_value("pull_request", &payload) else {
        panic!("expected a pull request");
    };
    assert!(event.pull_request.merged);

    remove(&mut payload, &["pull_request", "merged"]);
    payload["pull_request"]["merged_at"] = json!("2019-05-15T15:21:18Z");
    let Ok(Event::PullRequest(event)) = parse_value("pull_request", &payload) else {
        panic!("expected a pull request");
    };
    assert!(event.pull_request.merged);

    payload["pull_request"]["merged_at"] = Value::Null;
    let Ok(Event::PullRequest(event)) = parse_value("pull_request", &payload) else {
        panic!("expected a pull request");
    };
    assert!(!event.pull_request.merged);
}

#[test]
fn missing_optional_fields_are_fine() {
    let minimal = json!({
        "action": "created",
        "issue": { "number": 7, "title": "Need GPUs", "body": null },
        "comment": { "id": 11, "body": "/promptops plan", "user": { "login": "alice" } },
        "repository": { "name": "infra", "full_name": "acme/infra", "owner": { "login": "acme" } },
        "sender": { "login": "alice" }
    });
    let Ok(Event::IssueComment(event)) = parse_value("issue_comment", &minimal) else {
        panic!("expected an issue comment");
    };
    assert_eq!(event.issue.number.get(), 7);
    assert_eq!(event.issue.body, "");
    assert!(event.issue.labels.is_empty());
    assert_eq!(event.issue.author, None);
    assert_eq!(event.repo.default_branch, None);
    assert_eq!(event.installation_id, None);
    assert_eq!(event.comment.author.account_type, AccountType::Unspecified);
    assert_eq!(event.comment.author_association, None);
}

#[test]
fn a_missing_required_field_is_named_by_its_path() {
    let cases: [(&str, &str, &[&str], &str); 6] = [
        (
            "issue_comment.created.json",
            "issue_comment",
            &["issue", "number"],
            "issue.number",
        ),
        (
            "issue_comment.created.json",
            "issue_comment",
            &["comment"],
            "comment",
        ),
        (
            "issue_comment.created.json",
            "issue_comment",
            &["comment", "user", "login"],
            "comment.user.login",
        ),
        (
            "issues.opened.json",
            "issues",
            &["repository", "owner", "login"],
            "repository.owner.login",
        ),
        (
            "pull_request.closed.json",
            "pull_request",
            &["pull_request", "head", "sha"],
            "pull_request.head.sha",
        ),
        (
            "installation.created.json",
            "installation",
            &["installation", "id"],
            "installation.id",
        ),
    ];
    for (file, event, path, expected) in cases {
        let mut payload = fixture_json(file);
        remove(&mut payload, path);
        let result = parse_value(event, &payload);
        let message = result.as_ref().map_err(ToString::to_string).err();
        assert_eq!(invalid_field(result), expected, "{file}");
        let message = message.unwrap_or_default();
        assert!(
            message.contains(event) && message.contains(expected),
            "{message}"
        );
    }
}

#[test]
fn a_field_of_the_wrong_type_is_named() {
    let mut payload = fixture_json("issue_comment.created.json");
    payload["issue"]["number"] = json!("one");
    assert_eq!(
        invalid_field(parse_value("issue_comment", &payload)),
        "issue.number"
    );

    let mut payload = fixture_json("issues.opened.json");
    payload["issue"]["labels"] = json!([{ "name": 5 }]);
    assert_eq!(
        invalid_field(parse_value("issues", &payload)),
        "issue.labels[0].name"
    );
}

#[test]
fn malformed_json_is_an_error_for_every_event_name() {
    let truncated = &serde_json::to_vec(&fixture_json("issue_comment.created.json"))
        .expect("serializes")[..200];
    let bodies: [&[u8]; 5] = [b"", b"{not json", truncated, b"{} trailing", b"\xff\xfe"];
    for event in [
        "issue_comment",
        "pull_request",
        "ping",
        "push",
        "something_new",
    ] {
        for body in bodies {
            match parse_event(event, body) {
                Err(EventParseError::MalformedJson { event: named, .. }) => {
                    assert_eq!(named, event)
                }
                other => panic!("{event} {body:?}: expected MalformedJson, got {other:?}"),
            }
        }
    }
}

#[test]
fn a_handled_event_whose_body_is_not_utf8_is_malformed_and_says_where() {
    let mut body =
        serde_json::to_vec(&fixture_json("issue_comment.created.json")).expect("serializes");
    // A stray Latin-1 byte inside a string the bot does not read (the issue's URL).
    let at = body
        .windows(8)
        .position(|window| window == b"https://")
        .expect("the fixture has URLs");
    body[at] = 0xe9;
    match parse_event("issue_comment", &body) {
        Err(EventParseError::MalformedJson { event, message }) => {
            assert_eq!(event, "issue_comment");
            assert!(message.contains("not UTF-8"), "{message}");
            assert!(message.contains(&format!("offset {at}")), "{message}");
        }
        other => panic!("expected MalformedJson, got {other:?}"),
    }
}

#[test]
fn unknown_events_and_actions_are_ignored_even_with_other_shapes() {
    let unknown_action = json!({ "action": "archived_to_space", "comment": 3 });
    assert_eq!(
        parse_value("issue_comment", &unknown_action).expect("ignored"),
        Event::Ignored {
            event: "issue_comment".into(),
            action: Some("archived_to_space".into())
        }
    );
    let odd_action = json!({ "action": 5 });
    assert_eq!(
        parse_value("issues", &odd_action).expect("ignored"),
        Event::Ignored {
            event: "issues".into(),
            action: None
        }
    );
    assert_eq!(
        parse_value("workflow_job", &json!({ "action": "queued" })).expect("ignored"),
        Event::Ignored {
            event: "workflow_job".into(),
            action: Some("queued".into())
        }
    );
}

#[test]
fn parsed_events_round_trip_through_their_own_json() {
    for name in [
        "issue_comment.created.json",
        "issues.labeled.json",
        "pull_request.closed.json",
        "installation.created.json",
        "push.event.json",
    ] {
        let event_name = name.split('.').next().unwrap_or_default();
        let event = parse_value(event_name, &fixture_json(name)).expect("parses");
        let json = serde_json::to_string(&event).expect("serializes");
        let back: Event = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, event, "{name}");
    }
}

/// A `merge_group` delivery as GitHub documents it (full refs, the group's head commit).
fn merge_group_payload(action: &str) -> Value {
    let mut payload = fixture_json("pull_request.opened.json");
    let repository = payload["repository"].take();
    let sender = payload["sender"].take();
    json!({
        "action": action,
        "merge_group": {
            "head_sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
            "head_ref": "refs/heads/gh-readonly-queue/main/pr-2-34c5c7793cb3b279e22454cb6750c80560547b3a",
            "base_sha": "34c5c7793cb3b279e22454cb6750c80560547b3a",
            "base_ref": "refs/heads/main",
            "head_commit": { "id": "ec26c3e57ca3a959ca5aad62de7213c562f8c821", "message": "Merge group" }
        },
        "repository": repository,
        "sender": sender,
        "installation": { "id": 7 }
    })
}

#[test]
fn merge_groups_are_read_and_a_missing_head_sha_is_named() {
    let Event::MergeGroup(group) =
        parse_value("merge_group", &merge_group_payload("checks_requested")).expect("parses")
    else {
        panic!("expected a merge group");
    };
    assert_eq!(group.head_sha, "ec26c3e57ca3a959ca5aad62de7213c562f8c821");
    assert_eq!(group.base_ref, "refs/heads/main");
    assert_eq!(group.installation_id, Some(7));
    assert!(
        group
            .head_ref
            .starts_with("refs/heads/gh-readonly-queue/main/")
    );
    let destroyed = parse_value("merge_group", &merge_group_payload("destroyed")).unwrap();
    assert_eq!(destroyed.action(), Some("destroyed"));

    let mut broken = merge_group_payload("checks_requested");
    remove(&mut broken, &["merge_group", "head_sha"]);
    assert_eq!(
        invalid_field(parse_value("merge_group", &broken)),
        "merge_group.head_sha"
    );
}

#[test]
fn a_check_run_button_click_names_the_button_the_run_and_its_pull_request() {
    let Event::CheckRunAction(click) = parse_value(
        "check_run",
        &fixture_json("check_run.requested_action.json"),
    )
    .unwrap() else {
        panic!("expected a button click");
    };
    assert_eq!(click.identifier, "lgtm|26764");
    assert_eq!(click.check_run.pull_requests, vec![PrNumber::new(26764)]);
    assert_eq!(click.installation_id, Some(690857));
    let mut broken = fixture_json("check_run.requested_action.json");
    remove(&mut broken, &["requested_action"]);
    assert_eq!(
        invalid_field(parse_value("check_run", &broken)),
        "requested_action"
    );
    // Other check_run actions carry no button and are not the bot's business.
    let created = parse_value("check_run", &fixture_json("check_run.created.json")).unwrap();
    assert!(matches!(created, Event::Ignored { .. }), "{created:?}");
}

/// A value GitHub never sends (a SHA that is not 40 hex digits, a repository name without
/// an owner, a state other than open/closed) is refused, naming the field, not ignored.
#[test]
fn a_value_github_never_sends_is_refused_naming_the_field() {
    let cases: [(&str, &str, &[&str], Value, &str); 8] = [
        (
            "pull_request.opened.json",
            "pull_request",
            &["pull_request", "head", "sha"],
            json!("ec26c3e"),
            "is not a commit SHA",
        ),
        (
            "pull_request.closed.json",
            "pull_request",
            &["pull_request", "merge_commit_sha"],
            json!("C4295BD74FB0F4FDA03689C3DF3F2803B658FD85"),
            "is not a commit SHA",
        ),
        (
            "pull_request.opened.json",
            "pull_request",
            &["pull_request", "number"],
            json!(-2),
            "pull_request.number",
        ),
        (
            "pull_request.opened.json",
            "pull_request",
            &["pull_request", "state"],
            json!("merged"),
            "unknown variant",
        ),
        (
            "issues.opened.json",
            "issues",
            &["repository", "full_name"],
            json!("Hello-World"),
            "expected `owner/name`",
        ),
        (
            "issues.opened.json",
            "issues",
            &["repository", "full_name"],
            json!("/Hello-World"),
            "is not a GitHub account name",
        ),
        (
            "issue_comment.created.json",
            "issue_comment",
            &["repository", "full_name"],
            json!("someone-else/Hello-World"),
            "is not `owner.login`",
        ),
        (
            "check_run.requested_action.json",
            "check_run",
            &["check_run", "head_sha"],
            json!(""),
            "is not a commit SHA",
        ),
    ];
    for (file, event, path, value, says) in cases {
        let mut payload = fixture_json(file);
        let (last, parents) = path.split_last().unwrap();
        let mut at = &mut payload;
        for key in parents {
            at = &mut at[*key];
        }
        at[*last] = value;
        let expected = match path.join(".").as_str() {
            // The names must agree with each other: the repository as a whole is named.
            "repository.full_name" if says.contains("owner.login") => "repository".to_owned(),
            joined => joined.to_owned(),
        };
        let result = parse_value(event, &payload);
        let message = result.as_ref().map_err(ToString::to_string).err();
        assert_eq!(invalid_field(result), expected, "{file} {path:?}");
        let message = message.unwrap_or_default();
        assert!(
            message.contains(event) && message.contains(&expected) && message.contains(says),
            "{message}"
        );
    }

    let Event::MergeGroup(_) =
        parse_value("merge_group", &merge_group_payload("checks_requested")).unwrap()
    else {
        panic!("expected a merge group");
    };
    let mut group = merge_group_payload("checks_requested");
    group["merge_group"]["base_sha"] = json!("34c5c77");
    assert_eq!(
        invalid_field(parse_value("merge_group", &group)),
        "merge_group.base_sha"
    );
}
