//! What an operator gets for a bad or risky setting, through the real binary: `check`
//! changes nothing and says what `serve` or `migrate` would meet; each error names the
//! setting, file or database at fault, and its cause once.

use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;

use crate::support::sign_in_flow::{check, line};

/// Every entry of `dir` with its length and permissions.
fn listing(dir: &std::path::Path) -> Vec<(String, u64, u32)> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            (
                entry.file_name().to_string_lossy().into_owned(),
                meta.len(),
                meta.permissions().mode(),
            )
        })
        .collect();
    entries.sort();
    entries
}

fn migrate(url: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_promptops"))
        .args(["migrate", "--database-url", url])
        .env_clear()
        .output()
        .unwrap()
}

#[test]
fn check_reports_pending_migrations_and_leaves_the_database_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.db");
    // An empty file is an empty SQLite database, someone else's as far as `check` knows.
    std::fs::write(&file, b"").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let before = listing(dir.path());
    let db = format!("sqlite://{}", file.display());

    let (_, report) = check(&[("DATABASE_URL", &db)]);
    let database = line(&report, "database");
    assert!(database.starts_with("warning  database: "), "{report}");
    assert!(
        database.contains("migrations pending: run `promptops migrate`"),
        "{report}"
    );
    assert_eq!(
        listing(dir.path()),
        before,
        "no schema, no mode 0600, no log files"
    );

    assert!(migrate(&db).status.success());
    let (_, report) = check(&[("DATABASE_URL", &db)]);
    assert!(
        line(&report, "database").contains("(sqlite): schema up to date"),
        "{report}"
    );
}

#[test]
fn a_database_that_cannot_be_created_is_named_with_its_cause_once() {
    // No one, root included, may create files under /sys.
    let output = migrate("sqlite:///sys/promptops-test/p.db");
    assert!(!output.status.success());
    let error = String::from_utf8(output.stderr).unwrap();
    assert!(
        error.starts_with("promptops: cannot create the directory of the sqlite database /sys/promptops-test/p.db: "),
        "{error}"
    );
    assert_eq!(error.matches("(os error").count(), 1, "{error}");
}

/// `command`'s output once it exits; `None` when it is still running after `secs` (it is
/// killed then), e.g. a `serve` that started when it should have refused.
fn exited_within(mut command: Command, secs: u64) -> Option<std::process::Output> {
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..secs * 20 {
        if child.try_wait().unwrap().is_some() {
            return Some(child.wait_with_output().unwrap());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// `promptops serve` with an App in the environment whose key is `key`, its database and
/// work directory in `dir`.
fn serve_with_key(dir: &std::path::Path, key: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_promptops"));
    command
        .arg("serve")
        .env_clear()
        .env("GITHUB_APP_ID", "1")
        .env("GITHUB_PRIVATE_KEY_PATH", key)
        .env("GITHUB_WEBHOOK_SECRET", "0123456789abcdef0123")
        .env("GITHUB_API_URL", "http://127.0.0.1:9")
        .env("DATABASE_URL", format!("sqlite://{}/p.db", dir.display()))
        .env("PROMPTOPS_BIND", "127.0.0.1:0")
        .env("PROMPTOPS_WORKDIR", dir.join("work"))
        .env("PROMPTOPS_TERRAFORM_SANDBOX", "off");
    command
}

#[test]
fn serve_refuses_an_app_key_that_cannot_sign_naming_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let private = promptops_testkit::APP_PRIVATE_KEY_PEM;
    for (name, text, problem) in [
        (
            "public.pem",
            promptops_testkit::APP_PUBLIC_KEY_PEM.to_owned(),
            "it is a public key (PUBLIC KEY), not the App's private key",
        ),
        (
            "escaped.pem",
            private.trim().replace('\n', "\\n"),
            "it holds literal \\n escapes where its line breaks should be",
        ),
        (
            "garbage.pem",
            "not a key".to_owned(),
            "it is not a PEM private key",
        ),
    ] {
        let key = dir.path().join(name);
        std::fs::write(&key, text).unwrap();
        let output = exited_within(serve_with_key(dir.path(), &key), 30)
            .unwrap_or_else(|| panic!("serve started with {name} as the App's key"));
        assert_eq!(output.status.code(), Some(1), "{name}");
        let error = String::from_utf8(output.stderr).unwrap();
        let expected = format!("GITHUB_PRIVATE_KEY_PATH {}: {problem}", key.display());
        assert!(error.contains(&expected), "{name}: {error}");
        assert_eq!(error.matches(problem).count(), 1, "{error}");
    }
}

#[test]
fn an_in_memory_database_is_refused_by_serve_and_check() {
    for url in [
        "sqlite://:memory:",
        "sqlite::memory:",
        "sqlite://p.db?mode=memory",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut serve = crate::support::serve_process::unconfigured_serve_command(dir.path(), 0);
        serve.env("DATABASE_URL", url).current_dir(dir.path());
        let output = exited_within(serve, 30)
            .unwrap_or_else(|| panic!("serve started on the in-memory database {url}"));
        assert_eq!(output.status.code(), Some(1), "{url}");
        let error = String::from_utf8(output.stderr).unwrap();
        assert!(
            error.contains(&format!(
                "DATABASE_URL {url} is an in-memory database: every acknowledged delivery"
            )),
            "{error}"
        );

        let (passed, report) = check(&[("DATABASE_URL", url)]);
        assert!(!passed, "{report}");
        assert!(
            line(&report, "database").starts_with("MISSING  database: DATABASE_URL"),
            "{report}"
        );

        // `migrate` may fill one (it is gone at exit), but leaves no file behind.
        let output = Command::new(env!("CARGO_BIN_EXE_promptops"))
            .args(["migrate", "--database-url", url])
            .env_clear()
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let left: Vec<_> = listing(dir.path())
            .into_iter()
            .map(|(name, ..)| name)
            .collect();
        assert!(left.is_empty(), "{url}: {left:?}");
    }
}

#[test]
fn a_sqlite_url_without_a_file_is_refused_by_serve_and_check() {
    for url in ["sqlite://", "sqlite:", "sqlite://?mode=rwc"] {
        let dir = tempfile::tempdir().unwrap();
        let mut serve = crate::support::serve_process::unconfigured_serve_command(dir.path(), 0);
        serve.env("DATABASE_URL", url).current_dir(dir.path());
        let output = exited_within(serve, 30)
            .unwrap_or_else(|| panic!("serve started on the file-less database {url}"));
        assert_eq!(output.status.code(), Some(1), "{url}");
        let error = String::from_utf8(output.stderr).unwrap();
        assert!(
            error.contains(&format!("DATABASE_URL {url} names no database file")),
            "{error}"
        );
        let (passed, report) = check(&[("DATABASE_URL", url)]);
        assert!(!passed, "{report}");
        assert!(
            line(&report, "database").starts_with("MISSING  database: DATABASE_URL"),
            "{report}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_warns_at_start_of_a_rust_log_typo_and_a_short_resume_pause() {
    let github = promptops_testkit::FakeGithub::start().await;
    let server = crate::support::serve_process::ServeProcess::start(
        &github,
        &[],
        &[
            ("RUST_LOG", "debg".to_owned()),
            ("PROMPTOPS_RESUME_PAUSE_SECS", "5".to_owned()),
        ],
    )
    .await;
    let (_, log) = server.stop().await;
    assert!(
        log.starts_with("promptops: warning: RUST_LOG: `debg` is neither a level"),
        "{log}"
    );
    // The log runs (at info): before, a filter naming only the target `debg` kept it empty.
    assert!(log.contains("promptops is listening"), "{log}");
    assert!(
        log.contains("PROMPTOPS_RESUME_PAUSE_SECS is not above GitHub's 10 s request limit"),
        "{log}"
    );
}

#[test]
fn check_fails_what_serve_and_migrate_would_fail() {
    // No one, root included, may create files under /sys.
    let (passed, report) = check(&[
        ("DATABASE_URL", "sqlite:///sys/promptops-test/p.db"),
        ("GITHUB_API_URL", "api.github.com"),
    ]);
    assert!(!passed, "{report}");
    let database = line(&report, "database");
    assert!(
        database.starts_with(
            "MISSING  database: sqlite:///sys/promptops-test/p.db: /sys/promptops-test/p.db cannot be created: the nearest existing directory /sys is not writable"
        ),
        "{report}"
    );
    let api = line(&report, "GITHUB_API_URL");
    assert!(
        api.starts_with("MISSING  GITHUB_API_URL: GITHUB_API_URL \"api.github.com\" is not a URL"),
        "{report}"
    );
    assert!(api.contains("e.g. https://api.github.com"), "{report}");
}

#[test]
fn a_zero_count_or_duration_is_refused_naming_its_variable() {
    for variable in [
        "PROMPTOPS_WORKERS",
        "PROMPTOPS_MODEL_TIMEOUT_SECS",
        "PROMPTOPS_TERRAFORM_TIMEOUT_SECS",
        "PROMPTOPS_RESUME_PAUSE_SECS",
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_promptops"))
            .arg("check")
            .env_clear()
            .env(variable, "0")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{variable}");
        let error = String::from_utf8(output.stderr).unwrap();
        assert!(
            error.contains(&format!("{variable} must be a whole number from ")),
            "{error}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_webhook_is_logged_with_its_delivery_id_and_event() {
    let github = promptops_testkit::FakeGithub::start().await;
    let server = crate::support::serve_process::ServeProcess::start(&github, &[], &[]).await;
    let post = |delivery: String, event: &'static str| {
        reqwest::Client::new()
            .post(format!("{}/webhook", server.base))
            .header("x-github-event", event)
            .header("x-github-delivery", delivery)
            .header("x-hub-signature-256", format!("sha256={}", "0".repeat(64)))
            .body("{}")
            .send()
    };
    let answer = post("d-bad-signature-1".into(), "issue_comment")
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    // Whoever sends the request chooses its headers: a long one is cut in the log.
    let long = format!("L{}", "x".repeat(300));
    let answer = post(long.clone(), "ping").await.unwrap();
    assert_eq!(answer.status(), 400);
    let (_, log) = server.stop().await;

    let rejected: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("webhook rejected"))
        .collect();
    assert_eq!(rejected.len(), 2, "{log}");
    assert!(rejected[0].contains("d-bad-signature-1"), "{log}");
    assert!(rejected[0].contains("issue_comment"), "{log}");
    assert!(rejected[1].contains(&long[..64]), "{log}");
    assert!(!rejected[1].contains(&long[..65]), "{log}");
    assert!(rejected[1].contains("ping"), "{log}");
}
