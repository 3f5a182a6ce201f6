//! The dashboard in a real browser: Debian's `chromium`, headless, loads the pages and
//! hands back the DOM it built (`--dump-dom`). Needs `PROMPTOPS_TEST_CHROMIUM`
//! (`eval "$(bash scripts/setup-chromium.sh)"` installs the package and sets it); without
//! it these tests fail and say so.

use crate::support;
use promptops_store::RunKind;

use std::path::{Path, PathBuf};
use std::time::Duration;

use promptops_core::PrNumber;
use promptops_store::{NewRun, RunFilter, RunStatus};
use promptops_terraform::RunnerConfig;
use secrecy::SecretString;
use support::chromium::{DevTools, chromium, dump_dom, element_attribute, element_text};
use support::{Options, REPO, TestService, commit_sha, pr_payload, repo_name};

const TOKEN: &str = "browser-token-for-tests";

#[tokio::test(flavor = "multi_thread")]
async fn the_browser_shows_a_run_its_status_and_masked_output_and_refuses_without_the_token() {
    chromium();
    let service = TestService::start(Options {
        dashboard_token: Some(TOKEN.to_owned()),
        ..Options::default()
    })
    .await;
    let id = service
        .store
        .insert_run(&NewRun {
            repo: repo_name(),
            pr: Some(PrNumber::new(3)),
            deployment: "inference-l4".to_owned(),
            kind: RunKind::Plan,
            sha: Some(commit_sha("0123abc")),
        })
        .await
        .unwrap();
    let output = "Terraform will perform the following actions:\n  api_key = \"***\"\nPlan: 1 to add, 0 to change, 0 to destroy.\n";
    service
        .store
        .finish_run(id, RunStatus::Failed, "Plan failed: quota", output)
        .await
        .unwrap();

    let refused = dump_dom(&service.url("/dashboard/runs")).await;
    assert!(
        refused.contains("the dashboard needs its token"),
        "without the token the browser must be refused: {refused}"
    );
    assert!(!refused.contains("inference-l4"), "{refused}");

    let list = dump_dom(&service.url(&format!("/dashboard/runs?token={TOKEN}"))).await;
    let row_start = list
        .find(&format!("id=\"run-{id}\""))
        .unwrap_or_else(|| panic!("run {id} is not in the runs page: {list}"));
    let row = &list[row_start..row_start + list[row_start..].find("</tr>").unwrap()];
    assert!(row.contains("inference-l4"), "{row}");
    assert!(row.contains(">failed<"), "the status is shown: {row}");

    let detail = dump_dom(&service.url(&format!("/dashboard/runs/{id}?token={TOKEN}"))).await;
    assert_eq!(element_text(&detail, "status").as_deref(), Some("failed"));
    assert_eq!(element_text(&detail, "output").as_deref(), Some(output));
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn submitting_a_prompt_in_the_browser_shows_the_tfvars() {
    chromium();
    let service = TestService::start(Options {
        dashboard_token: Some(TOKEN.to_owned()),
        ..Options::default()
    })
    .await;
    let form_page = dump_dom(&service.url(&format!("/dashboard/try?token={TOKEN}"))).await;
    assert!(
        form_page.contains("<form method=\"post\" action=\"/dashboard/try\">")
            && form_page.contains("name=\"prompt\"")
            && form_page.contains("name=\"csrf\""),
        "the try page has the form, with its token: {form_page}"
    );

    // A person opens the page, types the prompt and presses the button.
    let url = service.url(&format!("/dashboard/try?token={TOKEN}"));
    let result = tokio::task::spawn_blocking(move || {
        let mut browser = DevTools::open(&url);
        browser.evaluate(
            "document.querySelector('textarea[name=prompt]').value = 'I need 5 T4 GPUs in us-west1';\
             document.querySelector('form[action=\"/dashboard/try\"] button').click(); true",
        );
        browser.wait_for("document.readyState === 'complete' && !!document.getElementById('tfvars')");
        browser
            .evaluate("document.documentElement.outerHTML")
            .as_str()
            .unwrap()
            .to_owned()
    })
    .await
    .unwrap();
    let tfvars = element_text(&result, "tfvars")
        .unwrap_or_else(|| panic!("no tfvars after submitting the prompt: {result}"));
    assert!(tfvars.contains("vm_count"), "{tfvars}");
    let body: hcl::Body = hcl::from_str(&tfvars).unwrap();
    let vm_count = body
        .attributes()
        .find(|attr| attr.key.as_str() == "vm_count")
        .map(|attr| attr.expr.clone());
    assert_eq!(vm_count, Some(hcl::Expression::from(5u64)), "{tfvars}");
    assert!(tfvars.contains("nvidia-tesla-t4"), "{tfvars}");
    let cost = element_text(&result, "cost").unwrap_or_default();
    assert!(
        cost.contains("/hour"),
        "the cost estimate is shown: {result}"
    );

    // The same form posted by a page of another site (here a local file) is refused.
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("submit.html");
    std::fs::write(
        &page,
        format!(
            "<!DOCTYPE html><html><body><form method=\"post\" action=\"{}\">\
             <textarea name=\"prompt\">I need 5 T4 GPUs in us-west1</textarea></form>\
             <script>document.forms[0].submit();</script></body></html>",
            service.url(&format!("/dashboard/try?token={TOKEN}"))
        ),
    )
    .unwrap();
    let refused = dump_dom(&format!("file://{}", page.display())).await;
    assert!(
        refused.contains("refused") && element_text(&refused, "tfvars").is_none(),
        "a cross-site form plans nothing: {refused}"
    );
    service.stop().await;
}

/// Planted as `TF_VAR_api_token`: the fixture module prints it in every plan, so the run's
/// output shows it masked.
const PLANTED_SECRET: &str = "tok-5d1b-browser-planted-secret";

fn real_terraform() -> PathBuf {
    let bin = std::env::var_os("TERRAFORM_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/local/bin/terraform"));
    assert!(
        bin.is_file(),
        "this test needs the real terraform binary at {} (set TERRAFORM_BIN to use another path)",
        bin.display()
    );
    bin
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_webhook_driven_plan_the_browser_finds_the_run_and_its_masked_output() {
    chromium();
    let scratch = tempfile::tempdir().unwrap();
    let state_dir = scratch.path().join("state");
    std::fs::create_dir_all(&state_dir).unwrap();
    let mut config = RunnerConfig::new(scratch.path().join("work"));
    config.terraform_bin = real_terraform();
    config.plugin_cache_dir = scratch.path().join("plugin-cache");
    config.sandbox.writable.push(state_dir.clone());
    config.timeout = Duration::from_secs(300);
    config.secret_env = vec![(
        "TF_VAR_api_token".to_owned(),
        SecretString::from(PLANTED_SECRET.to_owned()),
    )];
    let mut service = TestService::start(Options {
        terraform: Some(config),
        dashboard_token: Some(TOKEN.to_owned()),
        ..Options::default()
    })
    .await;
    // The module of tests/fixtures/terraform (built-in resources only, local backend).
    let module = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/terraform/main.tf"),
    )
    .unwrap();
    let settings = format!(
        "terraform:\n  backend_config:\n    path: \"{}/{{deployment}}.tfstate\"\n",
        state_dir.display()
    );
    service.github.commit_files(
        REPO,
        "main",
        &[
            ("terraform/main.tf", Some(module.as_slice())),
            (".github/promptops.yml", Some(settings.as_bytes())),
        ],
        "Add the root module and PromptOps settings",
    );
    let tfvars = "deployment_name   = \"browse\"\nvm_count          = 2\ngpu_type          = \"nvidia-tesla-t4\"\ngpu_count         = 1\nmachine_type      = \"n1-standard-4\"\nzone              = \"us-central1-a\"\nboot_disk_size_gb = 100\n";
    service.github.set_file(
        REPO,
        "browse-branch",
        "terraform/deployments/browse/terraform.tfvars",
        tfvars,
    );
    let pr = service.github.open_pr(
        REPO,
        "browse-branch",
        "main",
        "Deployment browse",
        "",
        "alice",
    );
    let response = service
        .deliver("pull_request", &pr_payload(&service.github, "opened", pr))
        .await;
    assert_eq!(response.status(), 202);
    service.job_done().await;
    let runs = service
        .store
        .list_runs(&RunFilter {
            pr: Some(PrNumber::new(pr)),
            ..RunFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(runs.len(), 1, "the opened PR was planned once: {runs:?}");
    let run = &runs[0];

    let list = dump_dom(&service.url(&format!("/dashboard/runs?token={TOKEN}"))).await;
    let row_start = list
        .find(&format!("id=\"run-{}\"", run.id))
        .unwrap_or_else(|| panic!("run {} is not in the runs page: {list}", run.id));
    let row = &list[row_start..row_start + list[row_start..].find("</tr>").unwrap()];
    assert!(row.contains(">browse<"), "{row}");
    assert!(
        row.contains(&format!(">{}<", run.status)),
        "the run's status ({}) is shown: {row}",
        run.status
    );
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");

    let detail = dump_dom(&service.url(&format!("/dashboard/runs/{}?token={TOKEN}", run.id))).await;
    assert_eq!(
        element_text(&detail, "status").as_deref(),
        Some("succeeded")
    );
    let output = element_text(&detail, "output").unwrap_or_else(|| panic!("no output: {detail}"));
    assert!(
        output.contains("api_token") && output.contains("***"),
        "the planted value shows masked: {output}"
    );
    assert!(
        !detail.contains(PLANTED_SECRET),
        "the secret never reaches the page"
    );
    assert_eq!(Some(output.as_str()), run.output.as_deref());
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_browser_signs_in_through_github_and_lands_on_the_dashboard_signed_in() {
    chromium();
    let service = TestService::start(Options {
        github_sign_in: true,
        // As if reachable from the network: only sign-in makes the dashboard available.
        dashboard_bind: Some("0.0.0.0:3000".parse().unwrap()),
        ..Options::default()
    })
    .await;
    service
        .github
        .add_installation_member(support::INSTALLATION, "octocat");
    // The dashboard shows someone signed in only the repositories GitHub lets them read.
    service.github.set_permission(REPO, "octocat", "read");
    service.github.set_oauth_user("octocat");
    let id = service
        .store
        .insert_run(&NewRun {
            repo: repo_name(),
            pr: Some(PrNumber::new(5)),
            deployment: "signed-in-t4".to_owned(),
            kind: RunKind::Plan,
            sha: Some(commit_sha("feed123")),
        })
        .await
        .unwrap();

    // Chromium follows the real redirects: dashboard → sign-in → the fake GitHub's
    // authorization page → the callback → the page it asked for, keeping the cookies.
    let dom = dump_dom(&service.url("/dashboard/runs")).await;
    assert_eq!(
        element_text(&dom, "login").as_deref(),
        Some("octocat"),
        "the page names who signed in: {dom}"
    );
    assert!(
        dom.contains("<h1>Runs</h1>"),
        "landed on the runs page: {dom}"
    );
    assert!(
        dom.contains(&format!("id=\"run-{id}\"")) && dom.contains("signed-in-t4"),
        "{dom}"
    );
    assert_eq!(
        service
            .github
            .requests_to("GET", "/login/oauth/authorize")
            .len(),
        1,
        "the browser went through GitHub's authorization page"
    );
    assert_eq!(service.github.oauth_tokens_issued(), 1);

    // Someone GitHub does not list as a member gets the refusal, by name.
    service.github.set_oauth_user("mallory");
    let refused = dump_dom(&service.url("/dashboard/runs")).await;
    let message = element_text(&refused, "sign-in-error")
        .unwrap_or_else(|| panic!("a refusal page: {refused}"));
    assert!(
        message.contains("mallory") && message.contains("not a member"),
        "{message}"
    );
    assert!(!refused.contains("signed-in-t4"), "{refused}");
    service.stop().await;
}

/// `promptops serve` as it assembles itself without App credentials (through
/// `promptops::app::App::build`), listening on a loopback port; GitHub's web and API
/// addresses are `github_url`. Returns its address, the secret of its loopback-open link
/// (as `access=<secret>`) and what stops it.
async fn start_unconfigured(
    github_url: &str,
    dir: &Path,
) -> (String, String, tokio_util::sync::CancellationToken) {
    use clap::Parser as _;
    let db = format!("sqlite://{}/promptops.db", dir.display());
    let work = dir.join("work").display().to_string();
    let cli = promptops::cli::Cli::try_parse_from([
        "promptops",
        "serve",
        "--github-api-url",
        github_url,
        "--github-web-url",
        github_url,
        "--database-url",
        &db,
        "--workdir",
        &work,
        "--bind",
        "127.0.0.1:3000",
    ])
    .unwrap();
    let promptops::cli::Command::Serve(settings) = cli.command else {
        unreachable!("parsed `serve`")
    };
    let prepared = promptops::app::App::build(&settings, Default::default())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let link = prepared
        .dashboard
        .access
        .local_link()
        .expect("loopback-open")
        .link_to(&base);
    let access = link.split_once('?').unwrap().1.to_owned();
    let stop = tokio_util::sync::CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move { prepared.serve(listener, token).await.unwrap() });
    (base, access, stop)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_browser_gets_the_setup_form_with_the_apps_manifest() {
    chromium();
    let github = promptops_testkit::FakeGithub::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (base, access, stop) = start_unconfigured(&github.url(), dir.path()).await;

    // The link logged at start, with the page's own query: the browser is sent on to the
    // page without the secret, with the cookie.
    let dom = dump_dom(&format!("{base}/setup?organization=acme&{access}")).await;
    let action = element_attribute(&dom, "create-app", "action")
        .unwrap_or_else(|| panic!("no setup form in the DOM: {dom}"));
    assert!(
        action.starts_with(&format!(
            "{}/organizations/acme/settings/apps/new?state=",
            github.url()
        )),
        "{action}"
    );
    assert_eq!(
        element_attribute(&dom, "organization", "value").as_deref(),
        Some("acme")
    );
    let manifest = element_attribute(&dom, "manifest", "value")
        .unwrap_or_else(|| panic!("no manifest input in the DOM: {dom}"));
    let manifest: serde_json::Value = serde_json::from_str(&manifest)
        .unwrap_or_else(|err| panic!("the posted manifest is not JSON ({err}): {manifest}"));
    let deploy: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/github-app-manifest.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        manifest["default_permissions"],
        deploy["default_permissions"]
    );
    assert_eq!(manifest["default_events"], deploy["default_events"]);
    assert_eq!(
        manifest["hook_attributes"]["url"],
        format!("{base}/webhook")
    );
    assert_eq!(manifest["redirect_url"], format!("{base}/setup/callback"));
    assert_eq!(manifest["public"], false);
    assert!(
        dom.contains("Create the GitHub App"),
        "the one button is there: {dom}"
    );

    // The browser posts that form (from a local page, as the button would) to GitHub —
    // the fake, which redirects at once — and lands on the callback, connected.
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let page = dir.path().join("create-app.html");
    std::fs::write(
        &page,
        format!(
            "<!DOCTYPE html><html><body><form method=\"post\" action=\"{}\">\
             <input type=\"hidden\" name=\"manifest\" value=\"{}\"></form>\
             <script>document.forms[0].submit();</script></body></html>",
            escape(&action),
            escape(&manifest.to_string())
        ),
    )
    .unwrap();
    let connected = dump_dom(&format!("file://{}", page.display())).await;
    let created = github.created_apps();
    assert_eq!(created.len(), 1, "GitHub created one App: {connected}");
    assert_eq!(created[0].owner, "acme", "for the organization");
    let text = element_text(&connected, "connected")
        .unwrap_or_else(|| panic!("not connected: {connected}"));
    assert!(
        text.contains(&format!("App `{}` (id {})", created[0].slug, created[0].id)),
        "{text}"
    );
    assert_eq!(
        element_attribute(&connected, "install", "href"),
        Some(format!("{}/installations/new", created[0].html_url))
    );
    assert!(dir.path().join("promptops-app.json").is_file());
    stop.cancel();
}
