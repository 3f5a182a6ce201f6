//! The fake over plain HTTP: auth rules, fault injection, pagination, GitHub's limits, and the
//! setup helpers (merge, forks).

mod http_support;

use http_support::{jwt, now, setup, token};
use promptops_testkit::{FakeGithub, sign_webhook};
use serde_json::{Value, json};

#[tokio::test]
async fn app_jwts_are_checked() {
    let gh = FakeGithub::start().await;
    gh.add_installation(9, "acme");
    let c = reqwest::Client::new();
    let url = format!("{}/app/installations/9/access_tokens", gh.url());
    let expired = jwt(&gh, now() - 1200, now() - 600);
    let too_long = jwt(&gh, now(), now() + 3600);
    for (what, bearer) in [
        ("expired", expired),
        ("exp > 10 min", too_long),
        ("garbage", "x.y.z".into()),
    ] {
        let r = c.post(&url).bearer_auth(bearer).send().await.unwrap();
        assert_eq!(r.status(), 401, "{what}");
    }
    assert_eq!(c.post(&url).send().await.unwrap().status(), 401, "no auth");
    assert_eq!(gh.token_requests(), 0);
    // An installation token is not an App JWT.
    gh.add_repo("acme/infra");
    let t = token(&gh, 9).await;
    assert_eq!(
        c.get(format!("{}/app", gh.url()))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let unknown = c
        .post(format!("{}/app/installations/10/access_tokens", gh.url()))
        .bearer_auth(jwt(&gh, now() - 60, now() + 540))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn repository_routes_need_an_installation_token() {
    let (gh, c, t) = setup().await;
    let url = format!("{}/repos/acme/infra", gh.url());
    assert_eq!(c.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(
        c.get(&url)
            .bearer_auth("ghs_forged")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let jwt = jwt(&gh, now() - 60, now() + 540);
    assert_eq!(
        c.get(&url).bearer_auth(jwt).send().await.unwrap().status(),
        401
    );
    let ok = c
        .get(&url)
        .header("authorization", format!("token {t}"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.json::<Value>().await.unwrap()["default_branch"], "main");
}

#[tokio::test]
async fn faults_fire_the_given_number_of_times_then_stop() {
    let (gh, c, t) = setup().await;
    let url = format!("{}/repos/acme/infra", gh.url());
    gh.fail_next("GET", "/repos/acme/infra", 502, &[("x-test", "1")], 2);
    for _ in 0..2 {
        let r = c.get(&url).bearer_auth(&t).send().await.unwrap();
        assert_eq!(r.status(), 502);
        assert_eq!(r.headers()["x-test"], "1");
    }
    assert_eq!(
        c.get(&url).bearer_auth(&t).send().await.unwrap().status(),
        200
    );
    gh.secondary_rate_limit_next("GET", "/repos/acme/infra", 7);
    let r = c.get(&url).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["retry-after"], "7");
    let body: Value = r.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("secondary rate limit")
    );
    let statuses: Vec<u16> = gh
        .requests_to("GET", "/repos/acme/infra")
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![502, 502, 200, 403]);
    assert!(gh.requests().iter().filter(|r| r.injected).count() == 3);
}

#[tokio::test]
async fn apply_then_fail_performs_the_write() {
    let (gh, c, t) = setup().await;
    let n = gh.add_issue("acme/infra", "alice", "t", "b");
    gh.apply_then_fail("POST", "/repos/acme/infra/issues/", 502);
    let r = c
        .post(format!("{}/repos/acme/infra/issues/{n}/comments", gh.url()))
        .bearer_auth(&t)
        .json(&json!({ "body": "hello" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(gh.comments("acme/infra", n).len(), 1);
}

#[tokio::test]
async fn comments_are_paginated_and_limited_like_github() {
    let (gh, c, t) = setup().await;
    let n = gh.add_issue("acme/infra", "alice", "t", "b");
    for i in 0..35 {
        gh.add_comment("acme/infra", n, "alice", &format!("c{i}"));
    }
    let url = format!("{}/repos/acme/infra/issues/{n}/comments", gh.url());
    let first = c.get(&url).bearer_auth(&t).send().await.unwrap();
    let link = first.headers()["link"].to_str().unwrap().to_string();
    assert!(
        link.contains("page=2") && link.contains("rel=\"next\""),
        "{link}"
    );
    let items: Vec<Value> = first.json().await.unwrap();
    assert_eq!(items.len(), 30);
    assert_eq!(items[0]["body"], "c0");
    let second: Vec<Value> = c
        .get(format!("{url}?page=2"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second.len(), 5);

    let long = "x".repeat(65_537);
    let r = c
        .post(&url)
        .bearer_auth(&t)
        .json(&json!({ "body": long }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let fits = "é".repeat(65_536); // characters, not bytes
    let r = c
        .post(&url)
        .bearer_auth(&t)
        .json(&json!({ "body": fits }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // octocrab's update_comment sends POST to the comment URL; GitHub's route is PATCH.
    let id = gh.comments("acme/infra", n)[0].id;
    let post = c
        .post(format!(
            "{}/repos/acme/infra/issues/comments/{id}",
            gh.url()
        ))
        .bearer_auth(&t)
        .json(&json!({ "body": "edited" }))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
    assert_eq!(gh.comments("acme/infra", n)[0].body, "c0");
}

#[tokio::test]
async fn contents_api_requires_the_current_sha_to_update() {
    let (gh, c, t) = setup().await;
    gh.set_file("acme/infra", "main", "a.txt", "one");
    let url = format!("{}/repos/acme/infra/contents/a.txt", gh.url());
    let put = |body: Value| c.put(&url).bearer_auth(&t).json(&body).send();
    let r = put(json!({ "message": "m", "content": "dHdv" }))
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "sha missing");
    let r = put(json!({ "message": "m", "content": "dHdv", "sha": "0000" }))
        .await
        .unwrap();
    assert_eq!(r.status(), 409, "sha stale");
    let current: Value = c
        .get(&url)
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = put(json!({ "message": "m", "content": "dHdv", "sha": current["sha"] }))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        gh.file("acme/infra", "main", "a.txt").as_deref(),
        Some("two")
    );
}

#[tokio::test]
async fn merging_applies_the_branch_changes_onto_the_base() {
    let gh = FakeGithub::start().await;
    gh.add_repo("acme/infra");
    gh.set_file("acme/infra", "main", "keep.txt", "k");
    gh.set_file("acme/infra", "main", "gone.txt", "g");
    gh.ensure_branch("acme/infra", "feature");
    gh.set_file("acme/infra", "feature", "new.txt", "n");
    gh.remove_file("acme/infra", "feature", "gone.txt");
    gh.set_file("acme/infra", "main", "later-on-main.txt", "m");
    let n = gh.open_pr(
        "acme/infra",
        "feature",
        "main",
        "Feature",
        "Closes #1",
        "alice",
    );
    let sha = gh.merge_pr("acme/infra", n);
    assert_eq!(gh.branch_head("acme/infra", "main"), Some(sha.clone()));
    assert_eq!(
        gh.paths("acme/infra", "main"),
        vec!["keep.txt", "later-on-main.txt", "new.txt"]
    );
    let pr = gh.pr("acme/infra", n).unwrap();
    assert!(pr.merged && !pr.open);
    assert_eq!(pr.merge_commit_sha, Some(sha));
}

#[tokio::test]
async fn fork_pull_requests_name_the_fork_as_head_repo() {
    let (gh, c, t) = setup().await;
    gh.add_repo("mallory/infra");
    gh.set_file("mallory/infra", "evil", "x.tf", "x");
    let n = gh.open_pr(
        "acme/infra",
        "mallory:evil",
        "main",
        "Please",
        "",
        "mallory",
    );
    let v: Value = c
        .get(format!("{}/repos/acme/infra/pulls/{n}", gh.url()))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["head"]["repo"]["full_name"], "mallory/infra");
    assert_eq!(v["base"]["repo"]["full_name"], "acme/infra");
    assert_eq!(gh.prs()[0].head_repo, "mallory/infra");
}

#[test]
fn webhook_signature_has_the_header_format() {
    let sig = sign_webhook("s3cret", br#"{"action":"created"}"#);
    assert!(sig.starts_with("sha256="));
    assert_eq!(sig.len(), 7 + 64);
    assert_ne!(sig, sign_webhook("other", br#"{"action":"created"}"#));
}

#[test]
fn webhook_headers_carry_event_delivery_and_signature() {
    let body = br#"{"action":"opened"}"#;
    let h = promptops_testkit::webhook_headers("issues", "d-1", "s3cret", body);
    let get = |k: &str| {
        h.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(get("x-github-event"), "issues");
    assert_eq!(get("x-github-delivery"), "d-1");
    assert_eq!(get("x-hub-signature-256"), sign_webhook("s3cret", body));
}

#[tokio::test]
async fn wait_for_sees_changes_made_meanwhile() {
    let gh = std::sync::Arc::new(FakeGithub::start().await);
    gh.add_repo("acme/infra");
    let writer = gh.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        writer.set_file("acme/infra", "main", "late.txt", "here");
    });
    let text = gh
        .wait_for("late.txt", std::time::Duration::from_secs(10), |g| {
            g.file("acme/infra", "main", "late.txt")
        })
        .await;
    assert_eq!(text, "here");
}

#[tokio::test]
#[should_panic(expected = "waiting for a PR")]
async fn wait_for_names_what_never_happened() {
    let gh = FakeGithub::start().await;
    gh.wait_for("a PR", std::time::Duration::from_millis(100), |g| {
        g.prs().into_iter().next()
    })
    .await;
}

#[test]
fn env_vars_point_a_process_at_the_fake() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let gh = rt.block_on(FakeGithub::start());
    let vars = gh.env_vars();
    assert!(vars.contains(&("GITHUB_API_URL".to_string(), gh.url())));
    assert!(vars.contains(&("GITHUB_APP_ID".to_string(), gh.app_id().to_string())));
    assert!(
        vars.iter()
            .any(|(k, v)| k == "GITHUB_PRIVATE_KEY" && v.contains("BEGIN RSA PRIVATE KEY"))
    );
}

#[tokio::test]
async fn faults_and_the_log_see_decoded_paths() {
    let (gh, c, t) = setup().await;
    gh.fail_next(
        "GET",
        "/repos/acme/infra/contents/deploy ments/a.tf",
        502,
        &[],
        1,
    );
    let r = c
        .get(format!(
            "{}/repos/acme/in%66ra/contents/deploy%20ments/a.tf",
            gh.url()
        ))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(
        gh.requests_to("GET", "/repos/acme/infra/contents/deploy ments/")
            .len(),
        1
    );
}

/// `POST /repos/acme/infra/pulls` with `body`: the status and the answer.
async fn create_pull(gh: &FakeGithub, c: &reqwest::Client, t: &str, body: Value) -> (u16, Value) {
    let r = c
        .post(format!("{}/repos/acme/infra/pulls", gh.url()))
        .bearer_auth(t)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn opening_a_pull_request_is_refused_as_github_refuses_it() {
    let (gh, c, t) = setup().await;
    gh.set_file("acme/infra", "feature", "a.tf", "a");
    gh.ensure_branch("acme/infra", "same-as-main");
    gh.ensure_branch("acme/infra", "behind");
    gh.set_file("acme/infra", "main", "later.tf", "m");
    gh.add_repo("mallory/infra");
    let invalid =
        |field: &str| json!([{ "resource": "PullRequest", "field": field, "code": "invalid" }]);
    let custom = |message: &str| json!([{ "resource": "PullRequest", "code": "custom", "message": message }]);
    let cases = [
        (
            json!({ "head": "missing", "base": "main" }),
            invalid("head"),
        ),
        (
            json!({ "head": "nobody:feature", "base": "main" }),
            invalid("head"),
        ),
        (
            json!({ "head": "mallory:feature", "base": "main" }),
            invalid("head"),
        ),
        (
            json!({ "head": "feature", "base": "missing" }),
            invalid("base"),
        ),
        (
            json!({ "head": "main", "base": "main" }),
            custom("No commits between main and main"),
        ),
        (
            json!({ "head": "behind", "base": "main" }),
            custom("No commits between main and behind"),
        ),
        (
            json!({ "head": "same-as-main", "base": "behind" }),
            custom("No commits between behind and same-as-main"),
        ),
        // The head is checked before the base.
        (
            json!({ "head": "missing", "base": "missing" }),
            invalid("head"),
        ),
    ];
    for (request, errors) in cases {
        let (status, answer) = create_pull(&gh, &c, &t, request.clone()).await;
        assert_eq!(status, 422, "{request}: {answer}");
        assert_eq!(answer["message"], "Validation Failed", "{request}");
        assert_eq!(answer["errors"], errors, "{request}");
    }
    assert!(gh.prs().is_empty());
}

#[tokio::test]
async fn an_open_pull_request_for_the_same_head_is_a_duplicate_a_closed_one_is_not() {
    let (gh, c, t) = setup().await;
    gh.set_file("acme/infra", "feature", "a.tf", "a");
    let request = json!({ "head": "acme:feature", "base": "main", "title": "One" });
    let (status, first) = create_pull(&gh, &c, &t, request.clone()).await;
    assert_eq!(status, 201, "{first}");
    let (status, answer) = create_pull(&gh, &c, &t, request.clone()).await;
    assert_eq!(status, 422);
    assert_eq!(
        answer["errors"],
        json!([{
            "resource": "PullRequest", "code": "custom",
            "message": "A pull request already exists for acme:feature.",
        }])
    );
    gh.close_issue("acme/infra", first["number"].as_u64().unwrap());
    let (status, second) = create_pull(&gh, &c, &t, request).await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["number"], first["number"].as_u64().unwrap() + 1);
}

#[tokio::test]
async fn a_new_pull_request_holds_what_was_asked_for() {
    let (gh, c, t) = setup().await;
    let issue = gh.add_issue("acme/infra", "alice", "t", "b");
    let head = gh.set_file("acme/infra", "feature", "a.tf", "a");
    gh.add_repo("mallory/infra");
    let fork_head = gh.set_file("mallory/infra", "evil", "x.tf", "x");
    let (status, answer) = create_pull(
        &gh,
        &c,
        &t,
        json!({ "head": "feature", "base": "main", "title": "Feature", "body": "Closes #1", "draft": true }),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["number"], issue + 1);
    assert_eq!(answer["draft"], true);
    let (status, fork) = create_pull(
        &gh,
        &c,
        &t,
        json!({ "head": "mallory:evil", "base": "main" }),
    )
    .await;
    assert_eq!(status, 201, "{fork}");
    let prs = gh.prs();
    let [own, from_fork] = prs.as_slice() else {
        panic!("two pull requests expected: {prs:?}");
    };
    assert_eq!(
        (own.title.as_str(), own.body.as_deref(), own.draft, own.open),
        ("Feature", Some("Closes #1"), true, true)
    );
    assert_eq!(own.author, gh.bot_login());
    assert_eq!(
        (own.head_ref.as_str(), own.head_sha.as_str()),
        ("feature", head.as_str())
    );
    assert_eq!(
        (own.head_repo.as_str(), own.base_ref.as_str()),
        ("acme/infra", "main")
    );
    assert!(!own.merged && own.merge_commit_sha.is_none() && own.labels.is_empty());
    assert_eq!(
        (
            from_fork.title.as_str(),
            from_fork.body.as_deref(),
            from_fork.draft
        ),
        ("", None, false)
    );
    assert_eq!(
        (from_fork.head_repo.as_str(), from_fork.head_sha.as_str()),
        ("mallory/infra", fork_head.as_str())
    );
}
