//! A newcomer's first run, through the real binary: `serve` without an App names the full
//! setup address and `/` leads there, the dashboard carries a banner linking to it;
//! `check` reports one line per problem and creates nothing; `migrate` says what it did;
//! an unreachable database or model is named with its cause and the way out.

use crate::support;

use std::io::BufRead as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::local_link::open_local_link;
use support::serve_process::{ServeProcess, free_port, local_link_in, unconfigured_serve_command};

/// A client that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_an_app_the_log_root_and_dashboard_lead_to_the_setup_page() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = unconfigured_serve_command(dir.path(), port)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let _server = Killed(child);
    let setup_url = format!("http://127.0.0.1:{port}/setup");
    let wanted = setup_url.clone();
    // The log line that names the setup page, read as the service writes it.
    let line = tokio::task::spawn_blocking(move || {
        let mut seen = String::new();
        for line in std::io::BufReader::new(stderr).lines() {
            let line = line.unwrap();
            if line.contains(&wanted) {
                return line;
            }
            seen.push_str(&line);
            seen.push('\n');
        }
        panic!("the log never named {wanted}:\n{seen}");
    });
    let line = tokio::time::timeout(Duration::from_secs(60), line)
        .await
        .expect("serve logged within 60 s")
        .unwrap();
    assert!(line.contains("no GitHub App is connected yet"), "{line}");

    // The loopback-open pages open through the link in that line, and only through it.
    let link = local_link_in(&line).unwrap_or_else(|| panic!("no ?access= link in {line}"));
    assert!(link.starts_with(&format!("{setup_url}?access=")), "{line}");

    let http = no_redirects();
    let base = format!("http://127.0.0.1:{port}");
    let root = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(root.status(), 303);
    assert_eq!(root.headers()["location"], "/setup");
    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let refused = http.get(&setup_url).send().await.unwrap();
    assert_eq!(refused.status(), 401, "the setup page without the link");
    let cookie = open_local_link(&link).await;
    for path in ["/dashboard", "/dashboard/runs", "/dashboard/locks"] {
        let page = http
            .get(format!("{base}{path}"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let at = page
            .find("id=\"setup-banner\"")
            .unwrap_or_else(|| panic!("no banner on {path}: {page}"));
        assert!(
            page[at..].contains("<a href=\"/setup\">"),
            "{path}: the banner links to the setup page: {page}"
        );
    }
    let setup = http
        .get(setup_url)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(setup.status(), 200, "the address in the log opens");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_an_app_root_leads_to_the_dashboard_without_a_banner() {
    let github = promptops_testkit::FakeGithub::start().await;
    let server = ServeProcess::start(&github, &[], &[]).await;
    let http = no_redirects();
    let root = http.get(format!("{}/", server.base)).send().await.unwrap();
    assert_eq!(root.status(), 303);
    assert_eq!(root.headers()["location"], "/dashboard");
    let link = server.local_link().await;
    assert!(
        link.starts_with(&format!("{}/dashboard?access=", server.base)),
        "the start line links to the dashboard: {link}"
    );
    let cookie = server.local_cookie().await;
    let page = http
        .get(format!("{}/dashboard", server.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<h1>Deployments</h1>"), "{page}");
    assert!(!page.contains("setup-banner"), "{page}");
    let (_, log) = server.stop().await;
    assert!(
        log.contains("promptops is listening on http://127.0.0.1:"),
        "{log}"
    );
    assert!(!log.contains("no GitHub App is connected yet"), "{log}");
}

fn promptops(dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_promptops"));
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    command
}

#[test]
fn check_reports_a_missing_app_once_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let output = promptops(dir.path())
        .arg("check")
        .env("TERRAFORM_BIN", "/nonexistent/terraform")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report = String::from_utf8(output.stdout).unwrap();
    let app_lines: Vec<&str> = report
        .lines()
        .filter(|line| line.starts_with("MISSING") && line.contains("GitHub App"))
        .collect();
    assert_eq!(app_lines.len(), 1, "one missing App, one line:\n{report}");
    let line = app_lines[0];
    assert!(line.contains("no GitHub App is connected"), "{line}");
    assert!(
        line.contains("open http://127.0.0.1:3000/setup"),
        "the fix names the full setup address: {line}"
    );
    assert!(
        line.contains("GITHUB_APP_ID") && line.contains("GITHUB_WEBHOOK_SECRET"),
        "{line}"
    );
    assert!(
        report.contains("does not exist yet; `promptops migrate`"),
        "{report}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(
        left.is_empty(),
        "check wrote into the working directory: {left:?}"
    );
}

#[test]
fn check_names_what_a_partial_app_lacks_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let output = promptops(dir.path())
        .arg("check")
        .env("GITHUB_APP_ID", "12345")
        .env("TERRAFORM_BIN", "/nonexistent/terraform")
        .output()
        .unwrap();
    let report = String::from_utf8(output.stdout).unwrap();
    let app_lines: Vec<&str> = report
        .lines()
        .filter(|line| line.starts_with("MISSING") && line.contains("GitHub App"))
        .collect();
    assert_eq!(app_lines.len(), 1, "{report}");
    assert!(
        app_lines[0].contains(
            "the environment lacks GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH and GITHUB_WEBHOOK_SECRET"
        ),
        "{report}"
    );
}

#[test]
fn migrate_says_whether_it_created_upgraded_or_found_the_schema_current() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/p.db", dir.path().display());
    let migrate = || {
        let output = promptops(dir.path())
            .args(["migrate", "--database-url", &url])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stderr).unwrap()
    };
    let first = migrate();
    assert!(
        first.contains(&format!("created the schema of database {url}")),
        "{first}"
    );
    let second = migrate();
    assert!(
        second.contains(&format!("database {url} is already up to date")),
        "{second}"
    );
}

#[test]
fn an_unreachable_postgres_is_named_with_its_address_and_cause() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on: the connection is refused at once.
    let port = free_port();
    let url = format!("postgres://promptops@127.0.0.1:{port}/promptops");
    let output = promptops(dir.path())
        .args(["migrate", "--database-url", &url])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(&format!("127.0.0.1:{port}")),
        "the address is named: {stderr}"
    );
    assert!(
        stderr.to_lowercase().contains("connection refused"),
        "the cause is named: {stderr}"
    );
    assert!(!stderr.contains("pool timed out"), "{stderr}");
}

#[test]
fn an_unreachable_model_suggests_offline_and_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let output = promptops(dir.path())
        .args(["render", "I need 5 T4 GPUs in us-west1"])
        .env("OPENAI_API_KEY", "sk-test")
        .env("OPENAI_BASE_URL", format!("http://127.0.0.1:{port}/v1"))
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("could not be reached"), "{stderr}");
    assert!(
        stderr.contains("promptops render --offline"),
        "the way out is named: {stderr}"
    );
    assert!(!stderr.contains("was not accepted"), "{stderr}");
}

#[test]
fn a_bad_catalog_file_exits_2_not_the_planner_code() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.toml");
    std::fs::write(&catalog, "this is = not [a catalog").unwrap();
    let output = promptops(dir.path())
        .args(["render", "--offline", "I need 5 T4 GPUs in us-west1"])
        .env("PROMPTOPS_CATALOG", &catalog)
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("catalog.toml"), "{stderr}");
}
