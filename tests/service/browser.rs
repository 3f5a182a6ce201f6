//! The dashboard in a real browser: Debian's `chromium`, headless, loads the pages and
//! hands back the DOM it built (`--dump-dom`). Needs `PROMPTOPS_TEST_CHROMIUM`
//! (`eval "$(bash scripts/setup-chromium.sh)"` installs the package and sets it); without
//! it these tests fail and say so.

use crate::support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use promptops_store::{NewRun, RunFilter, RunStatus};
use promptops_terraform::RunnerConfig;
use secrecy::SecretString;
use support::{Options, REPO, TestService, pr_payload};

const TOKEN: &str = "browser-token-for-tests";

fn chromium() -> PathBuf {
    let path = std::env::var_os("PROMPTOPS_TEST_CHROMIUM").unwrap_or_else(|| {
        panic!(
            "PROMPTOPS_TEST_CHROMIUM is not set: the browser tests need headless chromium. \
             Run `eval \"$(bash scripts/setup-chromium.sh)\"` first."
        )
    });
    let path = PathBuf::from(path);
    assert!(
        path.is_file(),
        "PROMPTOPS_TEST_CHROMIUM={} does not exist: run `eval \"$(bash scripts/setup-chromium.sh)\"`",
        path.display()
    );
    path
}

/// The DOM chromium built for `url`, after its scripts ran (and any form they submitted
/// was answered).
async fn dump_dom(url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(chromium());
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(url)
        .kill_on_drop(true);
    // A guard against a hung browser, not a performance assertion.
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .unwrap_or_else(|_| panic!("chromium did not finish loading {url} within 120 s"))
        .unwrap_or_else(|err| panic!("starting chromium failed: {err}"));
    assert!(
        output.status.success(),
        "chromium failed on {url}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The text of the element with `id="<id>"` in a serialized DOM, entities decoded.
fn element_text(dom: &str, id: &str) -> Option<String> {
    let start = dom.find(&format!("id=\"{id}\""))?;
    let open_end = start + dom[start..].find('>')? + 1;
    let close = open_end + dom[open_end..].find("</")?;
    Some(
        dom[open_end..close]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&amp;", "&"),
    )
}

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
            repo: REPO.to_owned(),
            pr: Some(3),
            deployment: "inference-l4".to_owned(),
            kind: "plan".to_owned(),
            sha: Some("0123abc".to_owned()),
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

/// Chromium driven over the DevTools protocol, on the pipe `--remote-debugging-pipe` opens
/// (commands in on fd 3, answers out on fd 4, each message ended by a NUL byte): for what
/// a person does on a page — fill in its form and press its button — which `--dump-dom`
/// cannot.
struct DevTools {
    child: std::process::Child,
    commands: std::io::PipeWriter,
    answers: std::io::BufReader<std::io::PipeReader>,
    session: String,
    next_id: u64,
    _profile: tempfile::TempDir,
}

impl DevTools {
    /// A headless browser with one tab, open at `url`.
    fn open(url: &str) -> DevTools {
        use std::os::fd::AsRawFd as _;
        use std::os::unix::process::CommandExt as _;
        let profile = tempfile::tempdir().unwrap();
        let (command_reader, commands) = std::io::pipe().unwrap();
        let (answers, answer_writer) = std::io::pipe().unwrap();
        let (command_fd, answer_fd) = (command_reader.as_raw_fd(), answer_writer.as_raw_fd());
        let mut command = std::process::Command::new(chromium());
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        // SAFETY: only dup2, which is async-signal-safe, runs between fork and exec; it
        // puts the pipe ends where chromium expects them (and clears close-on-exec).
        unsafe {
            command.pre_exec(move || {
                if libc::dup2(command_fd, 3) < 0 || libc::dup2(answer_fd, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().unwrap();
        drop((command_reader, answer_writer));
        let mut browser = DevTools {
            child,
            commands,
            answers: std::io::BufReader::new(answers),
            session: String::new(),
            next_id: 0,
            _profile: profile,
        };
        let target = browser.call(
            None,
            "Target.createTarget",
            serde_json::json!({ "url": url }),
        );
        let target_id = target["targetId"].as_str().unwrap().to_owned();
        let attached = browser.call(
            None,
            "Target.attachToTarget",
            serde_json::json!({ "targetId": target_id, "flatten": true }),
        );
        browser.session = attached["sessionId"].as_str().unwrap().to_owned();
        browser.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'");
        browser
    }

    /// Sends one command and returns its result (events in between are skipped).
    fn call(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: serde_json::Value,
    ) -> serde_json::Value {
        use std::io::{BufRead as _, Write as _};
        self.next_id += 1;
        let id = self.next_id;
        let mut message = serde_json::json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = serde_json::json!(session);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.commands.write_all(&bytes).unwrap();
        loop {
            let mut answer = Vec::new();
            let read = self.answers.read_until(0, &mut answer).unwrap();
            assert!(
                read > 0,
                "chromium closed the DevTools pipe during {method}"
            );
            answer.pop();
            let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
            if answer["id"] == id {
                assert!(answer.get("error").is_none(), "{method}: {answer}");
                return answer["result"].clone();
            }
        }
    }

    /// The value of a JavaScript expression in the tab.
    fn evaluate(&mut self, expression: &str) -> serde_json::Value {
        let session = self.session.clone();
        let result = self.call(
            Some(&session),
            "Runtime.evaluate",
            serde_json::json!({ "expression": expression, "returnByValue": true }),
        );
        result["result"]["value"].clone()
    }

    /// Waits until `condition` holds in the tab (a guard of 60 s against a hang).
    fn wait_for(&mut self, condition: &str) {
        for _ in 0..600 {
            if self.evaluate(condition) == serde_json::json!(true) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let page = self.evaluate("location.href + '\\n' + document.documentElement.outerHTML");
        panic!("the page never satisfied {condition}: {page}");
    }
}

impl Drop for DevTools {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
            pr: Some(pr),
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
    service.github.set_oauth_user("octocat");
    let id = service
        .store
        .insert_run(&NewRun {
            repo: REPO.to_owned(),
            pr: Some(5),
            deployment: "signed-in-t4".to_owned(),
            kind: "plan".to_owned(),
            sha: Some("feed123".to_owned()),
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
/// addresses are `github_url`.
async fn start_unconfigured(
    github_url: &str,
    dir: &Path,
) -> (String, tokio_util::sync::CancellationToken) {
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
    let stop = tokio_util::sync::CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move { prepared.serve(listener, token).await.unwrap() });
    (base, stop)
}

/// The value of attribute `attr` of the element with `id="<id>"` in a serialized DOM.
fn element_attribute(dom: &str, id: &str, attr: &str) -> Option<String> {
    let at = dom.find(&format!("id=\"{id}\""))?;
    let start = dom[..at].rfind('<')?;
    let tag = &dom[start..at + dom[at..].find('>')?];
    let key = format!(" {attr}=\"");
    let from = tag.find(&key)? + key.len();
    let value = &tag[from..from + tag[from..].find('"')?];
    Some(
        value
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_browser_gets_the_setup_form_with_the_apps_manifest() {
    chromium();
    let github = promptops_testkit::FakeGithub::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (base, stop) = start_unconfigured(&github.url(), dir.path()).await;

    let dom = dump_dom(&format!("{base}/setup?organization=acme")).await;
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
