//! Jobs wait in the queue across releases: a payload queued by an earlier release must
//! decode, and one queued now must read as before. These payloads are as the release
//! before the typed names (`RepoName`, `PrNumber`, `IssueNumber`, `CommitSha`) queued them,
//! byte for byte.

use super::*;

const HEAD: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
const MERGE: &str = "0123456789abcdef0123456789abcdef01234567";

/// Every kind of job, as the earlier release wrote it.
fn queued_before() -> Vec<String> {
    let repo = r#""repo":{"owner":"octo-org","name":"gpu.infra","installation_id":77}"#;
    let pr = format!(
        r#""pr":{{"number":12,"head_sha":"{HEAD}","head_ref":"promptops/issue-3","from_fork":false,"author":"alice","merged":true,"merge_commit_sha":"{MERGE}","sender":"bob"}}"#
    );
    let issue = r#""issue":{"number":3,"title":"GPUs","body":"two T4","is_pull_request":false}"#;
    vec![
        format!(
            r#"{{"type":"comment_commands",{repo},{issue},"comment_id":9001,"author":"alice","commands":[{{"line":"command","command":{{"command":"plan","instructions":"two T4"}}}},{{"line":"invalid","reply":"unknown"}}],"ignored":["/promptops help"]}}"#
        ),
        format!(
            r#"{{"type":"plan_issue",{repo},{issue},"author":"alice","labels":["promptops"]}}"#
        ),
        format!(r#"{{"type":"plan_pr",{repo},{pr}}}"#),
        format!(r#"{{"type":"pr_closed",{repo},{pr}}}"#),
        format!(
            r#"{{"type":"expiry","repo":{{"owner":"octo","name":"infra","installation_id":1}},"deployment":"web","expires_at":"2026-01-02T03:04:05.123456Z","stage":"due"}}"#
        ),
        format!(r#"{{"type":"drift_check",{repo},"due":"2026-01-02T03:04:05Z"}}"#),
    ]
}

#[test]
fn payloads_queued_before_the_typed_names_decode_and_encode_byte_for_byte() {
    for queued in queued_before() {
        let job: JobPayload =
            serde_json::from_str(&queued).unwrap_or_else(|err| panic!("{err}: {queued}"));
        assert_eq!(serde_json::to_string(&job).unwrap(), queued);
    }
}

#[test]
fn a_pull_request_job_decodes_into_the_typed_names() {
    let queued = &queued_before()[2];
    let JobPayload::PlanPr { repo, pr } = serde_json::from_str(queued).unwrap() else {
        panic!("{queued}");
    };
    assert_eq!(repo.repo.to_string(), "octo-org/gpu.infra");
    assert_eq!(
        (repo.repo.owner(), repo.repo.name()),
        ("octo-org", "gpu.infra")
    );
    assert_eq!(pr.number, PrNumber::new(12));
    assert_eq!(pr.head_sha.as_str(), HEAD);
    assert_eq!(pr.merge_commit_sha.unwrap().as_str(), MERGE);
}

#[test]
fn a_payload_with_a_name_github_would_not_send_is_refused_with_the_reason() {
    let bad_repo = r#"{"type":"drift_check","repo":{"owner":"octo","name":"in fra","installation_id":1},"due":"2026-01-02T03:04:05Z"}"#;
    let err = serde_json::from_str::<JobPayload>(bad_repo).unwrap_err();
    assert!(
        err.to_string().contains("is not a GitHub repository name"),
        "{err}"
    );
    let bad_sha = queued_before()[2].replace(HEAD, "abc");
    let err = serde_json::from_str::<JobPayload>(&bad_sha).unwrap_err();
    assert!(err.to_string().contains("is not a commit SHA"), "{err}");
}
