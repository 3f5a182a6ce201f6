//! The dashboard over HTTP, on the real router: who may see it, the try-a-prompt page,
//! runs recorded through the store with their masked output, and unlocking.

use crate::support;
use promptops_store::RunKind;

use std::sync::Arc;

use promptops::web::Dashboard;
use promptops_core::{IssueNumber, PrNumber};
use promptops_store::{LockOutcome, NewRun, RunStatus};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, COOKIE, HOST, ORIGIN};
use support::{Options, REPO, TestService, commit_sha, repo_name};

const TOKEN: &str = "dashboard-token-for-tests";

async fn with_token() -> TestService {
    TestService::start(Options {
        dashboard_token: Some(TOKEN.to_owned()),
        ..Options::default()
    })
    .await
}

async fn train_t4_locked(store: &promptops_store::Store) -> bool {
    let lock = store.lock(&repo_name(), "train-t4").await.unwrap();
    lock.is_some()
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

/// The text of the element with `id="<id>"`, entities decoded.
fn element_text(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let open_end = start + html[start..].find('>')? + 1;
    let close = open_end + html[open_end..].find("</")?;
    Some(unescape(&html[open_end..close]))
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_without_the_token_are_refused_and_with_it_served() {
    let service = with_token().await;
    let http = &service.http;
    for path in [
        "/dashboard",
        "/dashboard/runs",
        "/dashboard/locks",
        "/dashboard/try",
    ] {
        let response = http.get(service.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert!(response.text().await.unwrap().contains("token"));
    }
    let wrong = http
        .get(service.url("/dashboard"))
        .header(AUTHORIZATION, "Bearer not-the-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong_query = http
        .get(service.url("/dashboard?token=not-the-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_query.status(), StatusCode::UNAUTHORIZED);

    let right = http
        .get(service.url("/dashboard"))
        .header(AUTHORIZATION, bearer())
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    assert!(right.text().await.unwrap().contains("<h1>Deployments</h1>"));

    // `?token=` once leaves an HttpOnly cookie that serves the following pages, and sends
    // the browser to the same page without the token.
    let cookie = crate::support::local_link::open_token_link(
        &service.url(&format!("/dashboard/runs?token={TOKEN}")),
    )
    .await;
    assert!(
        !cookie.contains(TOKEN),
        "the cookie must not carry the token itself"
    );
    let by_cookie = http
        .get(service.url("/dashboard/locks"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), StatusCode::OK);
    let forged = http
        .get(service.url("/dashboard/locks"))
        .header(COOKIE, "promptops_dashboard=00ff")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);

    // The rest of the service is not behind the dashboard token.
    let health = http.get(service.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_token_only_a_loopback_server_shows_the_dashboard() {
    let open = TestService::start(Options::default()).await;
    let response = open.http.get(open.url("/dashboard")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // The same dashboard, configured as if bound to every interface.
    let dashboard = Dashboard::new(
        open.store.clone(),
        Arc::new(promptops_planner::Planner::from_settings(
            promptops_planner::PlannerSettings::default(),
        )),
        Arc::new(promptops_core::Catalog::embedded().clone()),
        None,
        "0.0.0.0:3000".parse().unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, dashboard.router()).await.unwrap();
    });
    let refused = open
        .http
        .get(format!("http://{addr}/dashboard"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let reason = refused.text().await.unwrap();
    assert!(reason.contains("0.0.0.0:3000"), "{reason}");
    assert!(reason.contains("PROMPTOPS_DASHBOARD_TOKEN"), "{reason}");
    server.abort();
    open.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn try_a_prompt_shows_the_tfvars_and_the_cost() {
    let service = with_token().await;
    let response = service
        .http
        .post(service.url("/dashboard/try"))
        .header(AUTHORIZATION, bearer())
        .form(&[("prompt", "I need 5 T4 GPUs in us-west1")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    let tfvars = element_text(&html, "tfvars").unwrap_or_else(|| panic!("no tfvars in {html}"));
    let body: hcl::Body = hcl::from_str(&tfvars).unwrap();
    let attr = |name: &str| {
        body.attributes()
            .find(|attr| attr.key.as_str() == name)
            .map(|attr| attr.expr.clone())
            .unwrap_or_else(|| panic!("{name} missing from {tfvars}"))
    };
    assert_eq!(attr("vm_count"), hcl::Expression::from(5u64));
    assert_eq!(attr("gpu_type"), hcl::Expression::from("nvidia-tesla-t4"));
    let hcl::Expression::String(zone) = attr("zone") else {
        panic!("zone is not a string");
    };
    assert!(zone.starts_with("us-west1-"), "{zone}");
    let cost = element_text(&html, "cost").unwrap();
    assert!(cost.contains("/hour") && cost.contains("5 x"), "{cost}");
    // The prompt stays in the form, escaped.
    assert!(html.contains(">I need 5 T4 GPUs in us-west1</textarea>"));

    // A link with the prompt fills the form in but plans nothing: only the form's POST
    // spends (a model bills per request, and any site can make a browser follow a link).
    let via_get = service
        .http
        .get(service.url("/dashboard/try"))
        .query(&[("prompt", "I need 5 T4 GPUs in us-west1")])
        .header(AUTHORIZATION, bearer())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(via_get.contains(">I need 5 T4 GPUs in us-west1</textarea>"));
    assert_eq!(element_text(&via_get, "tfvars"), None, "{via_get}");

    // No side effects: nothing was recorded.
    assert!(service.store.list_requests(None).await.unwrap().is_empty());
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn try_a_prompt_lists_every_problem_of_a_bad_request() {
    let service = with_token().await;
    let response = service
        .http
        .post(service.url("/dashboard/try"))
        .header(AUTHORIZATION, bearer())
        .form(&[(
            "prompt",
            "40 VMs with V100 GPUs in asia-south1-a <b>now</b>",
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(element_text(&html, "tfvars").is_none());
    let errors = element_text(&html, "errors").unwrap_or_else(|| panic!("no errors in {html}"));
    assert!(errors.contains("asia-south1-a"), "{errors}");
    assert!(
        errors.contains("40"),
        "the VM count over the limit: {errors}"
    );
    assert!(!html.contains("<b>now</b>"), "user text must be escaped");
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recorded_run_shows_with_its_status_and_masked_output() {
    let service = with_token().await;
    let store = &service.store;
    store
        .upsert_request(
            &repo_name(),
            IssueNumber::new(7),
            "train-t4",
            "promptops/train-t4",
            Some(PrNumber::new(8)),
        )
        .await
        .unwrap();
    let id = store
        .insert_run(&NewRun {
            repo: repo_name(),
            pr: Some(PrNumber::new(8)),
            deployment: "train-t4".to_owned(),
            kind: RunKind::Apply,
            sha: Some(commit_sha("abc123")),
        })
        .await
        .unwrap();
    let output = "token=*** <masked>\nApply complete! Resources: 2 added.\n\nOutputs:\n\napp_url = \"https://train-t4.example.com/\"\n";
    store
        .finish_run(id, RunStatus::Succeeded, "Applied 2 resources", output)
        .await
        .unwrap();

    let get = |path: String| {
        let request = service
            .http
            .get(service.url(&path))
            .header(AUTHORIZATION, bearer());
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    let runs = get("/dashboard/runs".to_owned()).await;
    let row = element_text(&runs, &format!("run-{id}"));
    assert!(row.is_some(), "run {id} missing from {runs}");
    let row_start = runs.find(&format!("id=\"run-{id}\"")).unwrap();
    let row_html = &runs[row_start..row_start + runs[row_start..].find("</tr>").unwrap()];
    assert!(row_html.contains("succeeded"), "{row_html}");
    assert!(row_html.contains("train-t4"), "{row_html}");

    let detail = get(format!("/dashboard/runs/{id}")).await;
    assert_eq!(
        element_text(&detail, "status").as_deref(),
        Some("succeeded")
    );
    assert_eq!(element_text(&detail, "output").as_deref(), Some(output));
    assert!(detail.contains("&lt;masked&gt;"), "output is escaped");

    let deployments = get("/dashboard".to_owned()).await;
    assert!(deployments.contains("train-t4"));
    assert!(deployments.contains("#7") && deployments.contains("#8"));
    assert!(
        deployments.contains("<a href=\"https://train-t4.example.com/\">"),
        "{deployments}"
    );

    let missing = service
        .http
        .get(service.url(&format!("/dashboard/runs/{}", id + 1000)))
        .header(AUTHORIZATION, bearer())
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unlock_needs_the_token_and_the_same_origin() {
    let service = with_token().await;
    let store = &service.store;
    assert_eq!(
        store
            .acquire_lock(&repo_name(), "train-t4", PrNumber::new(8))
            .await
            .unwrap(),
        LockOutcome::Acquired
    );
    let locks = service
        .http
        .get(service.url("/dashboard/locks"))
        .header(AUTHORIZATION, bearer())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(locks.contains("#8"));
    // The list offers a confirmation step, not the unlock itself.
    assert!(!locks.contains("<form method=\"post\""), "{locks}");
    let confirm_path =
        "/dashboard/locks/unlock?repo=Codertocat%2FHello-World&amp;deployment=train-t4";
    assert!(locks.contains(confirm_path), "{locks}");
    let confirm = service
        .http
        .get(service.url(&confirm_path.replace("&amp;", "&")))
        .header(AUTHORIZATION, bearer())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        confirm.contains("action=\"/dashboard/locks/unlock\"") && confirm.contains("name=\"csrf\""),
        "the confirmation page holds the unlock form and its token: {confirm}"
    );
    assert!(
        confirm
            .contains(">#8</a> holds the lock of <strong>Codertocat/Hello-World/train-t4</strong>"),
        "{confirm}"
    );
    assert!(
        train_t4_locked(store).await,
        "confirming asks, it does not unlock"
    );

    let form = [("repo", REPO), ("deployment", "train-t4")];
    let anonymous = service
        .http
        .post(service.url("/dashboard/locks/unlock"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let cross_site = service
        .http
        .post(service.url("/dashboard/locks/unlock"))
        .header(AUTHORIZATION, bearer())
        .header(ORIGIN, "https://evil.example")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    assert!(train_t4_locked(store).await);

    let unlocked = service
        .http
        .post(service.url("/dashboard/locks/unlock"))
        .header(AUTHORIZATION, bearer())
        .header(ORIGIN, format!("http://{}", service.addr))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(unlocked.status(), StatusCode::OK);
    let html = unlocked.text().await.unwrap();
    let notice = element_text(&html, "notice").unwrap();
    assert!(
        notice.contains("train-t4") && notice.contains("#8"),
        "{notice}"
    );
    assert!(!train_t4_locked(store).await);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn try_a_prompt_states_assumptions_unused_parts_and_refusals_like_the_cli() {
    let service = with_token().await;
    let try_prompt = |prompt: &'static str| {
        service
            .http
            .post(service.url("/dashboard/try"))
            .header(AUTHORIZATION, bearer())
            .form(&[("prompt", prompt)])
            .send()
    };
    let response = try_prompt("2 spot T4 VMs in us-west1 running ubuntu 22.04")
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    let start = html
        .find("id=\"assumptions\"")
        .unwrap_or_else(|| panic!("{html}"));
    let end = start
        + html[start..]
            .find("</ul>")
            .unwrap_or_else(|| panic!("{html}"));
    let listed = unescape(&html[start..end]);
    assert!(listed.contains("spot"), "{listed}");
    assert!(listed.contains("ubuntu 22.04"), "{listed}");

    let response = try_prompt("make me a sandwich").await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(!html.contains("Valid request"), "{html}");
    let errors = element_text(&html, "errors").unwrap_or_else(|| panic!("{html}"));
    assert!(errors.contains("No request for VMs or GPUs"), "{errors}");

    let response = try_prompt("9 H100 VMs with 8 GPUs each").await.unwrap();
    let html = response.text().await.unwrap();
    let errors = element_text(&html, "errors").unwrap_or_else(|| panic!("{html}"));
    assert!(errors.contains("default policy"), "{errors}");
    assert!(!errors.contains("repository policy"), "{errors}");
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn loopback_open_answers_only_loopback_host_names() {
    // No token, loopback bind: the dashboard is open to this machine.
    let service = TestService::start(Options::default()).await;
    let store = &service.store;
    assert_eq!(
        store
            .acquire_lock(&repo_name(), "train-t4", PrNumber::new(8))
            .await
            .unwrap(),
        LockOutcome::Acquired
    );
    let port = service.addr.port();
    // DNS rebinding: a page of evil.example, its name now resolving to 127.0.0.1, sends
    // its own host name (and origin) with every request.
    let evil = format!("evil.example:{port}");
    let page = service
        .http
        .get(service.url("/dashboard/locks"))
        .header(HOST, &evil)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::MISDIRECTED_REQUEST);
    let message = page.text().await.unwrap();
    assert!(
        message.contains("evil.example") && message.contains("PROMPTOPS_DASHBOARD_TOKEN"),
        "{message}"
    );
    let unlock = service
        .http
        .post(service.url("/dashboard/locks/unlock"))
        .header(HOST, &evil)
        .header(ORIGIN, format!("http://{evil}"))
        .form(&[("repo", REPO), ("deployment", "train-t4")])
        .send()
        .await
        .unwrap();
    assert_eq!(unlock.status(), StatusCode::MISDIRECTED_REQUEST);
    assert!(train_t4_locked(store).await);

    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        "localhost".to_owned(),
    ] {
        let page = service
            .http
            .get(service.url("/dashboard/locks"))
            .header(HOST, &host)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{host}");
    }
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cross_site_posts_to_try_are_refused_and_the_pages_own_form_is_served() {
    let service = TestService::start(Options::default()).await;
    let token =
        support::dashboard_form_token(&service.http, &service.url("/dashboard/try"), &[]).await;
    let form_cookie = token.cookie.clone().expect("the page sets the form cookie");
    let cookie = support::local_link::cookies(&[
        service.local_cookie.as_deref(),
        Some(form_cookie.as_str()),
    ]);
    let same_origin = service.url("");
    let prompt = "I need 5 T4 GPUs in us-west1";
    let post =
        |origin: Option<&str>, fetch_site: Option<&str>, cookie: Option<&str>, csrf: &str| {
            let mut request = service.http.post(service.url("/dashboard/try"));
            if let Some(origin) = origin {
                request = request.header(ORIGIN, origin);
            }
            if let Some(site) = fetch_site {
                request = request.header("sec-fetch-site", site);
            }
            if let Some(cookie) = cookie {
                request = request.header(COOKIE, cookie);
            }
            request.form(&[("prompt", prompt), ("csrf", csrf)]).send()
        };
    let refused = [
        // Another site's page, even with the browser's cookie and a stolen field value.
        post(
            Some("https://evil.example"),
            None,
            Some(&cookie),
            &token.csrf,
        ),
        post(None, Some("cross-site"), Some(&cookie), &token.csrf),
        post(Some("null"), None, Some(&cookie), &token.csrf),
        // From this site but without the page's token, or without the cookie it pairs with.
        post(Some(&same_origin), None, Some(&cookie), ""),
        post(Some(&same_origin), None, None, &token.csrf),
    ];
    for (n, request) in refused.into_iter().enumerate() {
        let response = request.await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "case {n}");
        let text = response.text().await.unwrap();
        assert!(text.starts_with("refused:"), "case {n}: {text}");
    }
    let planned = post(
        Some(&same_origin),
        Some("same-origin"),
        Some(&cookie),
        &token.csrf,
    )
    .await
    .unwrap();
    assert_eq!(planned.status(), StatusCode::OK);
    let html = planned.text().await.unwrap();
    assert!(element_text(&html, "tfvars").is_some(), "{html}");
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_dashboard_page_sends_the_security_headers() {
    let service = with_token().await;
    for path in [
        "/dashboard",
        "/dashboard/runs",
        "/dashboard/runs/999",
        "/dashboard/locks",
        "/dashboard/try",
    ] {
        for authorized in [true, false] {
            let mut request = service.http.get(service.url(path));
            if authorized {
                request = request.header(AUTHORIZATION, bearer());
            }
            let response = request.send().await.unwrap();
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_else(|| panic!("{path} ({authorized}): no {name}"))
                    .to_owned()
            };
            let policy = header("content-security-policy");
            assert!(
                policy.contains("frame-ancestors 'none'"),
                "{path}: {policy}"
            );
            assert!(policy.contains("default-src 'none'"), "{path}: {policy}");
            assert!(!policy.contains("unsafe-inline"), "{path}: {policy}");
            assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
            assert_eq!(header("referrer-policy"), "same-origin", "{path}");
        }
    }
    service.stop().await;
}
