//! Webhook payloads as GitHub delivers them to an App: GitHub's own example payloads
//! (`crates/github/tests/fixtures/github-webhooks`, split from the octokit collection) with
//! the fields a test's world decides filled in from the fake's state.

use std::path::PathBuf;

use base64::Engine;
use serde_json::{Value, json};

use crate::FakeGithub;

/// GitHub's example payload `name` (`<event>.<action>`, e.g. `issue_comment.created`).
pub fn example_payload(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../github/tests/fixtures/github-webhooks")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("the example payload {} is missing: {err}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("the example payload {} is not JSON: {err}", path.display()))
}

/// The `installation` GitHub adds to a delivery for App installation `id`, with the node id
/// GitHub derives from it.
pub fn installation_field(id: u64) -> Value {
    const KIND: &str = "IntegrationInstallation";
    let node_id =
        base64::engine::general_purpose::STANDARD.encode(format!("0{}:{KIND}{id}", KIND.len()));
    json!({ "id": id, "node_id": node_id })
}

/// `pull_request.<action>` for pull request `number` of `repo` as the fake holds it now
/// (title, author, head, base, merge state), delivered to App installation `installation`
/// and sent by the pull request's author (a test that needs another sender sets
/// `sender.login`). `action` is the wire value; one GitHub has no example for here starts
/// from the `opened` example. `None` when the fake has no such pull request.
pub fn pull_request_payload(
    github: &FakeGithub,
    repo: &str,
    installation: u64,
    action: &str,
    number: u64,
) -> Option<Value> {
    let pr = github.pr(repo, number)?;
    let mut payload = example_payload(match action {
        "closed" => "pull_request.closed",
        "synchronize" => "pull_request.synchronize",
        "reopened" => "pull_request.reopened",
        _ => "pull_request.opened",
    });
    payload["action"] = json!(action);
    payload["installation"] = installation_field(installation);
    payload["number"] = json!(number);
    let (owner, name) = repo
        .split_once('/')
        .unwrap_or_else(|| panic!("the repository {repo:?} is not `owner/name`"));
    payload["repository"]["full_name"] = json!(repo);
    payload["repository"]["name"] = json!(name);
    payload["repository"]["owner"]["login"] = json!(owner);
    let p = &mut payload["pull_request"];
    p["number"] = json!(number);
    p["title"] = json!(pr.title);
    p["body"] = json!(pr.body);
    p["user"]["login"] = json!(pr.author);
    p["head"]["sha"] = json!(pr.head_sha);
    p["head"]["ref"] = json!(pr.head_ref);
    p["head"]["repo"]["full_name"] = json!(pr.head_repo);
    p["base"]["ref"] = json!(pr.base_ref);
    p["base"]["repo"]["full_name"] = json!(repo);
    p["merged"] = json!(pr.merged);
    p["merge_commit_sha"] = json!(pr.merge_commit_sha);
    p["merged_by"] = match &pr.merged_by {
        Some(login) => {
            json!({ "login": login, "type": if login.ends_with("[bot]") { "Bot" } else { "User" } })
        }
        None => Value::Null,
    };
    p["state"] = json!(if pr.open { "open" } else { "closed" });
    p["draft"] = json!(pr.draft);
    payload["sender"]["login"] = json!(pr.author);
    Some(payload)
}

/// The issue (or pull request) a comment is written on, as an `issue_comment` delivery
/// carries it.
pub struct CommentedIssue<'a> {
    pub repo: &'a str,
    pub number: u64,
    pub title: &'a str,
    pub body: &'a str,
    pub is_pull_request: bool,
}

/// `issue_comment.created`: `body` written by `author` on `issue`, delivered to App
/// installation `installation`. Each call gets a comment id of its own.
pub fn issue_comment_payload(
    installation: u64,
    issue: &CommentedIssue<'_>,
    author: &str,
    body: &str,
) -> Value {
    let mut payload = example_payload("issue_comment.created");
    payload["installation"] = installation_field(installation);
    payload["issue"]["number"] = json!(issue.number);
    payload["issue"]["title"] = json!(issue.title);
    payload["issue"]["body"] = json!(issue.body);
    if issue.is_pull_request {
        payload["issue"]["pull_request"] = json!({
            "url": format!("https://api.github.com/repos/{}/pulls/{}", issue.repo, issue.number)
        });
    }
    payload["comment"]["id"] = json!(fastrand::u32(1..u32::MAX));
    payload["comment"]["body"] = json!(body);
    payload["comment"]["user"]["login"] = json!(author);
    payload["sender"]["login"] = json!(author);
    payload
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_installation_node_id_is_githubs() {
        // As in GitHub's App-delivery docs for installation 4242.
        assert_eq!(
            installation_field(4242)["node_id"],
            "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg=="
        );
    }
}
