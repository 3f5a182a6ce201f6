//! The front door: signatures, delivery de-duplication, size and format limits, and every
//! GitHub example payload accepted.

use crate::support;

use std::path::PathBuf;

use promptops_testkit::sign_webhook;
use support::{INSTALLATION, IssueRef, Options, REPO, SECRET, TestService, comment_payload};

fn an_issue(service: &TestService) -> IssueRef {
    let number = service
        .github
        .add_issue(REPO, "alice", "GPUs", "I need 5 T4 GPUs in us-west1");
    IssueRef {
        number,
        title: "GPUs".into(),
        body: "I need 5 T4 GPUs in us-west1".into(),
        is_pull_request: false,
    }
}

async fn post_raw(
    service: &TestService,
    signature: Option<String>,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut request = service
        .http
        .post(service.url("/webhook"))
        .header("x-github-event", "issue_comment")
        .header("x-github-delivery", format!("{:x}", fastrand::u64(..)));
    if let Some(signature) = signature {
        request = request.header("x-hub-signature-256", signature);
    }
    request.body(body).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_or_missing_signature_stores_nothing() {
    let service = TestService::start(Options::default()).await;
    let issue = an_issue(&service);
    let body = serde_json::to_vec(&comment_payload(&issue, "alice", "/promptops plan")).unwrap();
    let wrong = sign_webhook("not-the-secret", &body);
    assert_eq!(
        post_raw(&service, Some(wrong), body.clone()).await.status(),
        401
    );
    assert_eq!(post_raw(&service, None, body.clone()).await.status(), 401);
    assert_eq!(
        post_raw(&service, Some("sha256=zz".into()), body.clone())
            .await
            .status(),
        401
    );
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    assert_eq!(
        post_raw(&service, Some(sign_webhook(SECRET, &body)), tampered)
            .await
            .status(),
        401
    );
    assert_eq!(service.store.delivery_count().await.unwrap(), 0);
    assert!(service.store.list_jobs(None, 10).await.unwrap().is_empty());
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_json_is_400_and_an_oversized_body_is_413() {
    let service = TestService::start(Options::default()).await;
    let garbage = b"{\"action\": \"created\", ".to_vec();
    let signed = sign_webhook(SECRET, &garbage);
    assert_eq!(
        post_raw(&service, Some(signed), garbage).await.status(),
        400
    );

    // A body declared larger than GitHub ever sends is refused from its head alone, before
    // a byte of it is read (sending it would only race the server closing the connection).
    let mut stream = tokio::net::TcpStream::connect(service.addr).await.unwrap();
    let head = format!(
        "POST /webhook HTTP/1.1\r\nHost: {}\r\nX-GitHub-Event: issue_comment\r\n\
         X-GitHub-Delivery: huge-1\r\nX-Hub-Signature-256: {}\r\nContent-Length: {}\r\n\r\n",
        service.addr,
        sign_webhook(SECRET, b"whatever"),
        25 * 1024 * 1024 + 1
    );
    tokio::io::AsyncWriteExt::write_all(&mut stream, head.as_bytes())
        .await
        .unwrap();
    let mut answer = vec![0u8; 12];
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tokio::io::AsyncReadExt::read_exact(&mut stream, &mut answer),
    )
    .await
    .expect("answered without the body")
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&answer), "HTTP/1.1 413");
    assert_eq!(service.store.delivery_count().await.unwrap(), 0);
    service.stop().await;
}

/// A value GitHub never sends (a SHA that is not one, a repository without an owner) is
/// refused as any malformed payload is: 400, the field named, nothing stored or queued.
#[tokio::test(flavor = "multi_thread")]
async fn a_bad_sha_or_a_repository_without_an_owner_is_400_naming_the_field() {
    let service = TestService::start(Options::default()).await;
    let mut bad_sha = support::fixture("pull_request.opened");
    bad_sha["installation"] = serde_json::json!({ "id": INSTALLATION });
    bad_sha["pull_request"]["head"]["sha"] = serde_json::json!("ec26c3e");
    let issue = an_issue(&service);
    let mut no_owner = comment_payload(&issue, "alice", "/promptops plan");
    no_owner["repository"]["full_name"] = serde_json::json!("Hello-World");
    for (event, payload, field, problem) in [
        (
            "pull_request",
            bad_sha,
            "pull_request.head.sha",
            "\"ec26c3e\" is not a commit SHA",
        ),
        (
            "issue_comment",
            no_owner,
            "repository.full_name",
            "\"Hello-World\" is not a repository name",
        ),
    ] {
        let response = service.deliver(event, &payload).await;
        assert_eq!(response.status(), 400, "{event}");
        let text = response.text().await.unwrap();
        assert!(
            text.contains(&format!("invalid field `{field}`")) && text.contains(problem),
            "{text}"
        );
    }
    assert_eq!(service.store.delivery_count().await.unwrap(), 0);
    assert!(service.store.list_jobs(None, 10).await.unwrap().is_empty());
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redelivery_is_acknowledged_and_processed_once() {
    let mut service = TestService::start(Options::default()).await;
    let issue = an_issue(&service);
    let payload = comment_payload(&issue, "alice", "/promptops plan");
    let id = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
    let first = service.deliver_as("issue_comment", id, &payload).await;
    assert_eq!(first.status(), 202);
    let second = service.deliver_as("issue_comment", id, &payload).await;
    assert_eq!(second.status(), 202);
    assert!(second.text().await.unwrap().contains("duplicate"));
    service.job_done().await;
    assert_eq!(service.store.delivery_count().await.unwrap(), 1);
    assert_eq!(service.store.list_jobs(None, 10).await.unwrap().len(), 1);
    assert_eq!(service.github.prs().len(), 1);
    assert_eq!(service.github.comments(REPO, issue.number).len(), 1);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_github_example_payload_is_accepted() {
    let service = TestService::start(Options::default()).await;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("crates/github/tests/fixtures/github-webhooks");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let event = file.split('.').next().unwrap().to_owned();
        let mut payload: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if payload.get("installation").is_none() && event != "installation" {
            payload["installation"] = serde_json::json!({ "id": INSTALLATION });
        }
        let response = service.deliver(&event, &payload).await;
        let status = response.status();
        assert_eq!(status, 202, "{file}: {}", response.text().await.unwrap());
        count += 1;
    }
    assert!(
        count >= 100,
        "only {count} fixtures found in {}",
        dir.display()
    );
    assert_eq!(service.store.delivery_count().await.unwrap(), count);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn health_and_readiness() {
    let service = TestService::start(Options::default()).await;
    let health = service
        .http
        .get(service.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready = service
        .http
        .get(service.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    service.stop().await;
}
