//! A terraform that records every invocation before running the real binary, so that
//! "nothing ran" is observed, not assumed; and comments from people of each role.

use std::path::{Path, PathBuf};

use super::{Lifecycle, real_terraform};
use crate::support::{IssueRef, comment_payload};

/// A terraform that appends its arguments to `calls` and then runs the real one.
fn recording_terraform(dir: &Path) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt as _;
    let calls = dir.join("terraform-calls.log");
    let script = dir.join("terraform");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            calls.display(),
            real_terraform().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, calls)
}

/// The terraform invocations logged so far, one line of arguments each.
pub fn calls(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .map(|text| text.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The service with the recording terraform: the service, the call log, and the
/// directory holding both (keep it alive).
pub async fn start_recorded() -> (Lifecycle, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (bin, log) = recording_terraform(dir.path());
    let (mut config, scratch) = Lifecycle::runner_config(bin);
    // The wrapper writes its log there, from inside the sandbox.
    config.sandbox.writable.push(dir.path().to_path_buf());
    let module = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/terraform/main.tf");
    let t = Lifecycle::start_configured(config, scratch, &module).await;
    (t, log, dir)
}

/// Pull request `number` as a conversation to comment on.
pub fn on_pr(number: u64) -> IssueRef {
    IssueRef {
        number,
        title: "A pull request".to_owned(),
        body: String::new(),
        is_pull_request: true,
    }
}

/// Delivers `author`'s comment on `issue` and waits for its job to succeed.
pub async fn comment_as(t: &mut Lifecycle, issue: &IssueRef, author: &str, body: &str) {
    let response = t
        .service
        .deliver("issue_comment", &comment_payload(issue, author, body))
        .await;
    assert_eq!(response.status(), 202);
    t.service.job_done().await;
}
