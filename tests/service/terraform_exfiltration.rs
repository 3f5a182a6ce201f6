//! The exfiltration pull request, end to end through the real `promptops serve` binary and
//! the real `terraform`: a writer's PR adds `terraform/leak.tf` whose outputs read the
//! service's environment (`/proc/self/environ`, `/proc/1/environ`), the App key file, the
//! database and the credentials file, and print them raw, base64-encoded (at a shifted
//! alignment too), URL-encoded and JSON-encoded; a maintainer's `/promptops plan` runs it.
//! None of the bot's secrets may then be found — raw, base64 (standard or URL-safe, any
//! alignment), hex or URL-encoded — in any comment, check run, the database, the run logs
//! or any other file under the work directory a later run could read (run logs are 0600);
//! the allowlisted
//! cloud credential is passed to Terraform but appears only masked.

use crate::lifecycle;
use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use support::serve_process::ServeProcess;
use support::{INSTALLATION, IssueRef, OWNER, REPO, SECRET, comment_payload};

const OPENAI_KEY: &str = "sk-exfil-openai-key-7f3a9c21d4";
const DASHBOARD_TOKEN: &str = "dash-exfil-token-4b8e1d2c9f";
const CLIENT_SECRET: &str = "client-exfil-secret-9a7c3e5f1b";
const CLOUD_TOKEN: &str = "ya29.exfil-cloud-token-2d6b8f0a";

/// Every form in which `secret` could be found: raw, base64 (standard and URL-safe, each
/// of the three alignments, the characters that depend on the secret alone), hex in both
/// cases, percent-encoded.
fn forms(secret: &str) -> Vec<(String, String)> {
    let mut forms = vec![("raw".to_owned(), secret.to_owned())];
    for offset in 0..3 {
        let mut shifted = vec![b'#'; offset];
        shifted.extend_from_slice(secret.as_bytes());
        let first = (8 * offset).div_ceil(6);
        let end = 8 * (offset + secret.len()) / 6;
        for (name, engine) in [("base64", STANDARD), ("base64url", URL_SAFE)] {
            let encoded = engine.encode(&shifted);
            forms.push((format!("{name}@{offset}"), encoded[first..end].to_owned()));
        }
    }
    forms.push(("hex".into(), hex::encode(secret)));
    forms.push(("HEX".into(), hex::encode_upper(secret)));
    let url: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    forms.push(("urlencoded".into(), url.replace('+', "%20")));
    forms.push(("urlencoded+".into(), url));
    forms
}

/// Where a form of a secret occurs in `text`, if anywhere.
fn leaks(secrets: &[(&str, String)], text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (name, secret) in secrets {
        for (kind, form) in forms(secret) {
            if text.contains(&form) {
                found.push(format!("{name} ({kind})"));
            }
        }
    }
    found
}

fn leak_tf(key: &Path, db: &Path, credentials: &Path, work: &Path) -> String {
    let read = |path: &Path| format!("try(filebase64(\"{}\"), \"unreadable\")", path.display());
    format!(
        r#"locals {{
  environ      = try(file("/proc/self/environ"), "")
  init_environ = try(file("/proc/1/environ"), "")
}}
output "environ_base64" {{ value = filebase64("/proc/self/environ") }}
output "init_environ_base64" {{ value = try(filebase64("/proc/1/environ"), "unreadable") }}
output "environ_shifted" {{ value = base64encode("x${{local.environ}}") }}
output "environ_text" {{ value = textencodebase64("xy${{local.init_environ}}", "UTF-8") }}
output "environ_url" {{ value = urlencode(local.environ) }}
output "environ_json" {{ value = jsonencode(split("\u0000", local.init_environ)) }}
output "app_key" {{ value = {key} }}
output "app_key_raw" {{ value = try(file("{key_raw}"), "unreadable") }}
output "database" {{ value = {db} }}
output "credentials_file" {{ value = {credentials} }}
output "work_dir" {{ value = try(tolist(fileset("{work}", "**")), []) }}
"#,
        key = read(key),
        key_raw = key.display(),
        db = read(db),
        credentials = read(credentials),
        work = work.display(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exfiltration_pr_leaves_none_of_the_bots_secrets_anywhere() {
    let github = promptops_testkit::FakeGithub::start().await;
    github.add_repo(REPO);
    github.add_installation(INSTALLATION, OWNER);
    github.set_permission(REPO, "maria", "admin");
    github.set_permission(REPO, "mallory", "write");

    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let (state, work) = (root.join("state"), root.join("work"));
    std::fs::create_dir_all(&state).unwrap();
    let key_path = root.join("keys/app.pem");
    std::fs::create_dir_all(key_path.parent().unwrap()).unwrap();
    std::fs::write(&key_path, github.private_key_pem()).unwrap();
    let db = root.join("db/promptops.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    // What `/setup` would have written beside the database (the environment's App wins).
    let credentials = db.with_file_name("promptops-app.json");
    std::fs::write(
        &credentials,
        format!("{{\"client_secret\": \"{CLIENT_SECRET}\"}}"),
    )
    .unwrap();
    let database_url = format!("sqlite://{}", db.display());

    let module = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/terraform/main.tf"),
    )
    .unwrap();
    let settings = format!(
        "terraform:\n  backend_config:\n    path: \"{}/{{deployment}}.tfstate\"\n",
        state.display()
    );
    github.commit_files(
        REPO,
        "main",
        &[
            ("terraform/main.tf", Some(module.as_slice())),
            (".github/promptops.yml", Some(settings.as_bytes())),
        ],
        "Add the root module and PromptOps settings",
    );

    let server = ServeProcess::start(
        &github,
        &[],
        &[
            ("GITHUB_PRIVATE_KEY_PATH", key_path.display().to_string()),
            ("DATABASE_URL", database_url.clone()),
            ("PROMPTOPS_WORKDIR", work.display().to_string()),
            (
                "TERRAFORM_BIN",
                lifecycle::real_terraform().display().to_string(),
            ),
            ("PROMPTOPS_TERRAFORM_BIND", state.display().to_string()),
            ("OPENAI_API_KEY", OPENAI_KEY.into()),
            ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1".into()),
            ("PROMPTOPS_DASHBOARD_TOKEN", DASHBOARD_TOKEN.into()),
            ("GITHUB_CLIENT_ID", "Iv1.exfil-client-id".into()),
            (
                "PROMPTOPS_PUBLIC_URL",
                "https://promptops.example.com".into(),
            ),
            ("GITHUB_CLIENT_SECRET", CLIENT_SECRET.into()),
            ("GOOGLE_OAUTH_ACCESS_TOKEN", CLOUD_TOKEN.into()),
        ],
    )
    .await;

    let leak = leak_tf(&key_path, &db, &credentials, &work);
    github.commit_files(
        REPO,
        "feature/leak",
        &[
            ("terraform/leak.tf", Some(leak.as_bytes())),
            (
                &lifecycle::tfvars_path("alpha"),
                Some(lifecycle::tfvars("alpha", 1, "us-central1-a").as_bytes()),
            ),
        ],
        "Add outputs",
    );
    let pr = github.open_pr(REPO, "feature/leak", "main", "Outputs", "", "mallory");
    let issue = IssueRef {
        number: pr,
        title: "Outputs".into(),
        body: String::new(),
        is_pull_request: true,
    };
    let head = github.pr(REPO, pr).unwrap().head_sha;
    let go_ahead = format!("/promptops plan {head}");
    let payload = comment_payload(&issue, "maria", &go_ahead);
    let answer = server
        .deliver("issue_comment", "exfil-plan-1", &payload)
        .await;
    assert_eq!(answer, 202);

    let mut planned = None;
    for _ in 0..1200 {
        let done: Vec<_> = github
            .check_runs()
            .into_iter()
            .filter(|c| c.name == "promptops/plan" && c.status == "completed")
            .collect();
        let commented = github
            .comments(REPO, pr)
            .iter()
            .any(|c| c.body.contains("Terraform plan for `alpha`"));
        if !done.is_empty() && commented {
            planned = Some(done);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, log) = server.stop().await;
    let checks = planned.unwrap_or_else(|| panic!("the PR was not planned; the log:\n{log}"));
    assert!(status.success() || status.code().is_none(), "{status:?}");

    let pem = github.private_key_pem();
    let mut secrets: Vec<(&str, String)> = vec![
        ("webhook secret", SECRET.into()),
        ("OpenAI key", OPENAI_KEY.into()),
        ("dashboard token", DASHBOARD_TOKEN.into()),
        ("client secret", CLIENT_SECRET.into()),
        ("DATABASE_URL", database_url.clone()),
        ("App key", pem.trim().to_owned()),
    ];
    secrets.extend(
        pem.lines()
            .filter(|line| line.len() >= 40 && !line.starts_with("-----"))
            .map(|line| ("App key body line", line.to_owned())),
    );

    // The plan ran (it did not just fail on a missing file): its outputs are in the
    // comment, the files the sandbox hides read as unreadable, the cloud credential masked.
    let comments: Vec<String> = github.all_comments().into_iter().map(|c| c.body).collect();
    let plan_comment = comments
        .iter()
        .find(|body| body.contains("Terraform plan for `alpha`"))
        .unwrap();
    assert!(plan_comment.contains("environ_base64"), "{plan_comment}");
    assert!(plan_comment.contains("unreadable"), "{plan_comment}");
    // The outputs change, and the check run's title says so.
    let title = checks[0].title.clone().unwrap_or_default();
    assert!(title.ends_with("output changes."), "{title}");
    // The work directory as Terraform sees it: its own run, no logs, no other run.
    assert!(!plan_comment.contains(".log\""), "{plan_comment}");

    let mut texts: Vec<(String, String)> = comments
        .iter()
        .map(|body| ("a comment".to_owned(), body.clone()))
        .collect();
    for check in &checks {
        for field in [&check.title, &check.summary, &check.text]
            .into_iter()
            .flatten()
        {
            texts.push(("a check run".into(), field.clone()));
        }
    }
    for file in ["promptops.db", "promptops.db-wal"] {
        if let Ok(bytes) = std::fs::read(db.with_file_name(file)) {
            texts.push((file.into(), String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    let mut files = Vec::new();
    collect_files(&work, &mut files);
    assert!(
        files.iter().any(|f| f.to_string_lossy().ends_with(".log")),
        "no run log under {}: {files:?}",
        work.display()
    );
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        texts.push((
            file.display().to_string(),
            String::from_utf8_lossy(&bytes).into_owned(),
        ));
    }

    let mut found = Vec::new();
    for file in files
        .iter()
        .filter(|f| f.to_string_lossy().ends_with(".log"))
    {
        let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
        if mode != 0o600 {
            found.push(format!("{} is mode {mode:o}, not 600", file.display()));
        }
    }
    for (place, text) in &texts {
        for leak in leaks(&secrets, text) {
            found.push(format!("{leak} in {place}"));
        }
    }
    assert!(
        found.is_empty(),
        "the bot's secrets leaked (or a run log is readable by others):\n{}",
        found.join("\n")
    );

    // The cloud credential reached Terraform (masked where it was printed) and nowhere raw.
    let cloud = [("cloud token", CLOUD_TOKEN.to_owned())];
    let cloud_leaks: Vec<String> = texts
        .iter()
        .flat_map(|(place, text)| {
            leaks(&cloud, text)
                .into_iter()
                .map(move |l| format!("{l} in {place}"))
        })
        .collect();
    assert!(cloud_leaks.is_empty(), "{cloud_leaks:?}");
    assert!(
        plan_comment.contains("GOOGLE_OAUTH_ACCESS_TOKEN%3D%2A%2A%2A")
            || plan_comment.contains("GOOGLE_OAUTH_ACCESS_TOKEN=***"),
        "the credential should be passed to Terraform and masked: {plan_comment}"
    );
}

fn collect_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}
