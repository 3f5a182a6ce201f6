//! The fault suite: the real `promptops serve` binary, real signed deliveries, the stateful
//! fake GitHub, SQLite on a real (small) disk and a PostgreSQL server of its own — and the
//! faults of a bad day: kill -9 mid-burst and mid-job, GitHub failing, the disk full, the
//! database server restarted, SIGTERM while a GitHub request hangs, a log nobody reads.
//!
//! Every scenario prints one `fault figures:` line (sent, acknowledged, stored, lost,
//! doubled, time to recover); `cargo nextest run --test service -E 'test(/^faults::/)' --success-output immediate`
//! shows them. The disk-full scenarios mount a tmpfs, so they need root (or CAP_SYS_ADMIN).

use crate::support;

#[path = "faults/disk_full.rs"]
mod disk_full;
#[path = "faults/github.rs"]
mod github;
#[path = "faults/kills.rs"]
mod kills;
#[path = "faults/log_pipe.rs"]
mod log_pipe;
#[path = "faults/postgres.rs"]
mod postgres;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use promptops_store::Store;
use promptops_testkit::FakeGithub;
use support::{INSTALLATION, IssueRef, OWNER, REPO, SECRET, comment_payload, eventually};

// ----- figures ---------------------------------------------------------------------------

/// What a scenario measured.
#[derive(Debug, Default)]
struct Figures {
    scenario: &'static str,
    sent: usize,
    acknowledged: usize,
    /// Answered 503 (or not at all: the process died mid-request).
    refused: usize,
    /// Acknowledged deliveries found in the database afterwards.
    stored: usize,
    /// Acknowledged, not stored.
    lost: usize,
    /// Deliveries acted on twice (two jobs), or GitHub objects created twice.
    doubled: usize,
    recovery: Option<Duration>,
}

impl fmt::Display for Figures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fault figures: {:<34} sent {:>4}  acknowledged {:>4}  refused {:>4}  stored {:>4}  lost {}  doubled {}  recovered in {}",
            self.scenario,
            self.sent,
            self.acknowledged,
            self.refused,
            self.stored,
            self.lost,
            self.doubled,
            self.recovery
                .map_or_else(|| "-".to_owned(), |d| format!("{:.1} s", d.as_secs_f64()))
        )
    }
}

impl Figures {
    fn report(&self) {
        eprintln!("{self}");
    }
}

// ----- deliveries ------------------------------------------------------------------------

/// Answer to one delivery: 202 (with its body), another status, or no answer at all.
#[derive(Debug, Clone, PartialEq)]
enum Answer {
    Accepted {
        duplicate: bool,
    },
    /// `retry_after`: the answer says when to deliver again (`Retry-After`).
    Refused {
        status: u16,
        retry_after: bool,
    },
    Unanswered,
}

impl Answer {
    /// What a delivery the store cannot take now must get: 503, with `Retry-After`.
    const REDELIVER_LATER: Answer = Answer::Refused {
        status: 503,
        retry_after: true,
    };

    fn is_accepted(&self) -> bool {
        matches!(self, Answer::Accepted { .. })
    }
}

struct Sender {
    http: reqwest::Client,
    issue: IssueRef,
}

impl Sender {
    fn new(issue: IssueRef) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            issue,
        }
    }

    /// One signed `issue_comment` delivery with id `id` saying `body`.
    async fn send(&self, base: &str, id: &str, body: &str) -> Answer {
        let payload = serde_json::to_vec(&comment_payload(&self.issue, "alice", body)).unwrap();
        let sent = self
            .http
            .post(format!("{base}/webhook"))
            .header("content-type", "application/json")
            .header("x-github-event", "issue_comment")
            .header("x-github-delivery", id)
            .header(
                "x-hub-signature-256",
                promptops_testkit::sign_webhook(SECRET, &payload),
            )
            .body(payload)
            .send()
            .await;
        match sent {
            Ok(response) if response.status() == 202 => {
                let text = response.text().await.unwrap_or_default();
                Answer::Accepted {
                    duplicate: text.starts_with("duplicate"),
                }
            }
            Ok(response) => Answer::Refused {
                status: response.status().as_u16(),
                retry_after: response
                    .headers()
                    .contains_key(reqwest::header::RETRY_AFTER),
            },
            Err(_) => Answer::Unanswered,
        }
    }
}

/// A fake GitHub with the repository, the installation and one issue whose body is
/// `body`; alice may write.
async fn github_with_issue(body: &str) -> (FakeGithub, IssueRef) {
    let github = FakeGithub::start().await;
    github.add_repo(REPO);
    github.add_installation(INSTALLATION, OWNER);
    github.set_permission(REPO, "alice", "write");
    let issue = add_issue(&github, body);
    (github, issue)
}

fn add_issue(github: &FakeGithub, body: &str) -> IssueRef {
    let number = github.add_issue(REPO, "alice", "GPUs", body);
    IssueRef {
        number,
        title: "GPUs".into(),
        body: body.into(),
        is_pull_request: false,
    }
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// How many of `acknowledged` are rows, and how many deliveries have more than one job.
async fn count_stored(url: &str, acknowledged: &BTreeSet<String>) -> (usize, usize) {
    let store = Store::connect(url)
        .await
        .unwrap_or_else(|err| panic!("opening {url}: {err}"));
    let mut stored = 0;
    for id in acknowledged {
        if store.delivery(id).await.unwrap().is_some() {
            stored += 1;
        }
    }
    let mut jobs_per_delivery: BTreeMap<String, usize> = BTreeMap::new();
    for job in store.list_jobs(None, 100_000).await.unwrap() {
        if let Some(id) = job.delivery_id {
            *jobs_per_delivery.entry(id).or_default() += 1;
        }
    }
    store.close().await;
    let doubled = jobs_per_delivery.values().filter(|n| **n > 1).count();
    (stored, doubled)
}

/// The plan of an issue: branch, PR, comment. Waits until the PR and one comment exist.
async fn plan_done(github: &FakeGithub, issue: u64, limit: Duration) -> Duration {
    eventually("the plan's PR and comment", limit, || {
        github.prs().len() == 1 && github.comments(REPO, issue).len() == 1
    })
    .await
}

fn issue_ref(issue: &IssueRef) -> IssueRef {
    IssueRef {
        number: issue.number,
        title: issue.title.clone(),
        body: issue.body.clone(),
        is_pull_request: issue.is_pull_request,
    }
}

// ----- a small disk ----------------------------------------------------------------------

/// A tmpfs of `size` on a fresh directory, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status();
        match status {
            Ok(status) if status.success() => SmallDisk { dir },
            other => panic!(
                "cannot mount a {size} tmpfs on {} ({other:?}): the disk-full scenario needs root (or CAP_SYS_ADMIN)",
                dir.path().display()
            ),
        }
    }

    /// Writes a ballast file until the disk is full; returns its path.
    fn fill(&self) -> PathBuf {
        use std::io::Write as _;
        let ballast = self.dir.path().join("ballast");
        let mut file = std::fs::File::create(&ballast).unwrap();
        let chunk = vec![0u8; 16 * 1024];
        while file.write_all(&chunk).is_ok() {}
        ballast
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}
