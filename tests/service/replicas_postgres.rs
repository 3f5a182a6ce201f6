//! Two `serve` replicas on one PostgreSQL database (issue 6): fed the same burst of
//! deliveries — every delivery sent to both, at once — they record each delivery once, run
//! each job once, and two store handles (as two processes hold them) never both hold one
//! deployment's lock.
//!
//! Needs a PostgreSQL server: `eval "$(bash scripts/start-postgres.sh)"` exports
//! `PROMPTOPS_TEST_POSTGRES_URL`; each test creates a database of its own on it (with
//! `psql`, which ships with the server package). The lock race through the service also
//! needs the real `terraform` binary (`TERRAFORM_BIN`, default /usr/local/bin/terraform).

use crate::support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::support::repo_name;
use promptops::pipeline::jobs::JobOutcome;
use promptops::pipeline::worker::JobEvent;
use promptops_core::PrNumber;
use promptops_store::{JobStatus, LockOutcome, Store};
use promptops_terraform::RunnerConfig;
use promptops_testkit::postgres::fresh_database;
use support::{IssueRef, Options, REPO, TestService, comment_payload, pr_payload};
use tokio::sync::Barrier;

const ISSUES: u64 = 8;

fn replica_options(database_url: &str) -> Options {
    Options {
        database_url: Some(database_url.to_owned()),
        ..Options::default()
    }
}

/// Drains every job outcome a service has published so far.
fn drain_events(service: &mut TestService) -> Vec<JobEvent> {
    let mut events = Vec::new();
    while let Ok(event) = service.events.try_recv() {
        events.push(event);
    }
    events
}

/// Polls the shared queue until nothing is queued or running, or fails after 60 s.
async fn wait_until_queue_is_idle(store: &Store) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let stats = store.queue_stats(chrono::Utc::now()).await.unwrap();
        if stats.queued == 0 && stats.running == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "jobs still pending after 60 s: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_process_a_burst_sent_to_both_exactly_once() {
    let database_url = fresh_database("promptops_replicas");
    // One after the other, so the migrations run once on the empty database.
    let mut first = TestService::start(replica_options(&database_url)).await;
    let github = first.github.clone();
    let mut second = TestService::start_with(github.clone(), replica_options(&database_url)).await;

    let issues: Vec<IssueRef> = (0..ISSUES)
        .map(|i| {
            // No digits in the title: the planner would read them as a second GPU count.
            let title = format!("GPU request {}", char::from(b'a' + i as u8));
            let body = format!("I need {} T4 GPUs in us-west1", i % 4 + 1);
            let number = github.add_issue(REPO, "alice", &title, &body);
            IssueRef {
                number,
                title,
                body,
                is_pull_request: false,
            }
        })
        .collect();
    let deliveries: Vec<(String, serde_json::Value)> = issues
        .iter()
        .map(|issue| {
            (
                format!("{:032x}", fastrand::u128(..)),
                comment_payload(issue, "alice", "/promptops plan"),
            )
        })
        .collect();

    // The burst: every delivery to both replicas at once.
    let answers = futures::future::join_all(deliveries.iter().map(|(id, payload)| {
        let (first, second) = (&first, &second);
        async move {
            let (a, b) = tokio::join!(
                first.deliver_as("issue_comment", id, payload),
                second.deliver_as("issue_comment", id, payload),
            );
            let a = (a.status(), a.text().await.unwrap());
            let b = (b.status(), b.text().await.unwrap());
            (id.clone(), a, b)
        }
    }))
    .await;
    for (id, a, b) in &answers {
        assert_eq!(
            (a.0.as_u16(), b.0.as_u16()),
            (202, 202),
            "{id}: {a:?} {b:?}"
        );
        let accepted = [&a.1, &b.1]
            .iter()
            .filter(|body| body.starts_with("accepted"))
            .count();
        let duplicate = [&a.1, &b.1]
            .iter()
            .filter(|body| body.starts_with("duplicate"))
            .count();
        assert_eq!(
            (accepted, duplicate),
            (1, 1),
            "delivery {id}: one replica records it, the other answers duplicate: {a:?} {b:?}"
        );
    }

    wait_until_queue_is_idle(&first.store).await;

    // GitHub redelivering the whole burst to both replicas changes nothing.
    for (id, payload) in &deliveries {
        for service in [&first, &second] {
            let response = service.deliver_as("issue_comment", id, payload).await;
            assert_eq!(response.status(), 202);
            let body = response.text().await.unwrap();
            assert!(body.starts_with("duplicate"), "redelivery of {id}: {body}");
        }
    }
    wait_until_queue_is_idle(&second.store).await;

    assert_eq!(first.store.delivery_count().await.unwrap(), ISSUES);
    for (id, _) in &deliveries {
        assert!(
            second.store.delivery(id).await.unwrap().is_some(),
            "delivery {id} is stored"
        );
    }
    let jobs = second.store.list_jobs(None, 100).await.unwrap();
    assert_eq!(jobs.len() as u64, ISSUES, "one job per delivery: {jobs:#?}");
    for job in &jobs {
        assert_eq!(job.status, JobStatus::Done, "{job:#?}");
        assert_eq!(job.attempts, 1, "claimed once: {job:#?}");
    }

    // Each job finished once, on one replica or the other.
    let mut events = drain_events(&mut first);
    let from_first = events.len();
    events.extend(drain_events(&mut second));
    assert_eq!(
        events.len() as u64,
        ISSUES,
        "one outcome per job across both replicas: {events:?}"
    );
    assert!(
        events.iter().all(|event| event.outcome == JobOutcome::Done),
        "{events:?}"
    );
    let finished: BTreeSet<i64> = events.iter().map(|event| event.job_id).collect();
    let stored: BTreeSet<i64> = jobs.iter().map(|job| job.id).collect();
    assert_eq!(finished, stored, "every job finished, none twice");
    tracing::info!(
        from_first,
        from_second = events.len() - from_first,
        "jobs per replica"
    );

    let prs = github.prs();
    assert_eq!(
        prs.len() as u64,
        ISSUES,
        "one PR per issue: {prs:#?}; first issue's comments: {:#?}",
        github.comments(REPO, issues[0].number)
    );
    let branches: BTreeSet<String> = prs.iter().map(|pr| pr.head_ref.clone()).collect();
    let expected: BTreeSet<String> = issues
        .iter()
        .map(|issue| format!("promptops/issue-{}", issue.number))
        .collect();
    assert_eq!(branches, expected);
    for issue in &issues {
        let comments = github.comments(REPO, issue.number);
        assert_eq!(
            comments.len(),
            1,
            "one comment on issue #{}: {comments:#?}",
            issue.number
        );
    }

    first.stop().await;
    second.stop().await;
}

/// Two store handles on one database — two replicas' connection pools — race for one
/// deployment's lock, each taking and releasing it many times. A shared marker records who
/// holds it: a PR sets it only after the database granted the lock and clears it before
/// releasing, so finding it set by the other PR means both held the lock at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_store_handles_never_hold_one_deployment_lock_twice() {
    const ROUNDS: u32 = 200;
    let database_url = fresh_database("promptops_replicas");
    let first = Store::connect(&database_url).await.unwrap();
    let second = Store::connect(&database_url).await.unwrap();
    let holder = Arc::new(AtomicU64::new(0));
    let start = Arc::new(Barrier::new(2));

    let contender = |store: Store, pr: u64| {
        let holder = Arc::clone(&holder);
        let start = Arc::clone(&start);
        tokio::spawn(async move {
            start.wait().await;
            let (mut won, mut refused) = (0_u32, 0_u32);
            for _ in 0..ROUNDS {
                match store
                    .acquire_lock(&repo_name(), "shared", PrNumber::new(pr))
                    .await
                    .unwrap()
                {
                    LockOutcome::Acquired => {
                        won += 1;
                        if let Err(other) =
                            holder.compare_exchange(0, pr, Ordering::SeqCst, Ordering::SeqCst)
                        {
                            panic!("PR {pr} was granted the lock while PR {other} held it");
                        }
                        let stored = store.lock(&repo_name(), "shared").await.unwrap();
                        assert_eq!(stored.map(|lock| lock.pr), Some(PrNumber::new(pr)));
                        holder.store(0, Ordering::SeqCst);
                        assert!(
                            store
                                .release_lock(&repo_name(), "shared", PrNumber::new(pr))
                                .await
                                .unwrap(),
                            "PR {pr} releases the lock it holds"
                        );
                    }
                    LockOutcome::HeldBy { pr: other, .. } => {
                        assert_ne!(
                            other,
                            PrNumber::new(pr),
                            "a lock held by PR {pr} is refused to it"
                        );
                        refused += 1;
                        tokio::task::yield_now().await;
                    }
                }
            }
            (won, refused)
        })
    };
    let a = contender(first.clone(), 101);
    let b = contender(second.clone(), 202);
    let (a, b) = (a.await.unwrap(), b.await.unwrap());

    assert_eq!(a.0 + a.1, ROUNDS);
    assert_eq!(b.0 + b.1, ROUNDS);
    assert!(
        a.0 > 0 && b.0 > 0,
        "both PRs got the lock at times: {a:?} {b:?}"
    );
    assert!(
        a.1 + b.1 > 0,
        "the handles contended (some acquire was refused): {a:?} {b:?}"
    );
    assert!(
        first.lock(&repo_name(), "shared").await.unwrap().is_none(),
        "every holder released it"
    );
}

const DEPLOYMENT: &str = "gamma";

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

/// A replica running Terraform in a work directory of its own, on the shared database.
fn terraform_replica(database_url: &str, scratch: &Path, name: &str) -> Options {
    let mut config = RunnerConfig::new(scratch.join(name).join("work"));
    config.terraform_bin = real_terraform();
    // The shared local backend's state dir (see the tests), which the sandbox must expose.
    config.sandbox.writable.push(scratch.join("state"));
    config.plugin_cache_dir = scratch.join(name).join("plugin-cache");
    config.timeout = Duration::from_secs(300);
    Options {
        terraform: Some(config),
        ..replica_options(database_url)
    }
}

/// Opens a PR by `alice` from `branch` that sets the variables of `DEPLOYMENT`.
fn open_deployment_pr(github: &promptops_testkit::FakeGithub, branch: &str, vm_count: i64) -> u64 {
    let tfvars = format!(
        "deployment_name   = \"{DEPLOYMENT}\"\nvm_count          = {vm_count}\ngpu_type          = \"nvidia-tesla-t4\"\ngpu_count         = 1\nmachine_type      = \"n1-standard-4\"\nzone              = \"us-central1-a\"\nboot_disk_size_gb = 100\n"
    );
    github.set_file(
        REPO,
        branch,
        &format!("terraform/deployments/{DEPLOYMENT}/terraform.tfvars"),
        &tfvars,
    );
    github.open_pr(
        REPO,
        branch,
        "main",
        &format!("Deployment {DEPLOYMENT}"),
        "",
        "alice",
    )
}

fn comments_with(github: &promptops_testkit::FakeGithub, pr: u64, needle: &str) -> usize {
    github
        .comments(REPO, pr)
        .into_iter()
        .filter(|comment| comment.body.contains(needle))
        .count()
}

/// Two PRs on one deployment, each `opened` delivered to both replicas at once: their plan
/// jobs run on the two replicas, and exactly one PR gets the lock and a plan while the other
/// is told who holds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_planning_two_prs_on_one_deployment_grant_one_lock() {
    let database_url = fresh_database("promptops_replicas");
    let scratch = tempfile::tempdir().unwrap();
    let state_dir = scratch.path().join("state");
    std::fs::create_dir_all(&state_dir).unwrap();
    let first = TestService::start(terraform_replica(&database_url, scratch.path(), "first")).await;
    let github = first.github.clone();
    let second = TestService::start_with(
        github.clone(),
        terraform_replica(&database_url, scratch.path(), "second"),
    )
    .await;
    let module = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/terraform/main.tf"),
    )
    .unwrap();
    let settings = format!(
        "terraform:\n  backend_config:\n    path: \"{}/{{deployment}}.tfstate\"\n",
        state_dir.display()
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
    let prs = [
        open_deployment_pr(&github, "promptops/one", 1),
        open_deployment_pr(&github, "promptops/two", 2),
    ];

    let deliveries: Vec<(String, serde_json::Value)> = prs
        .iter()
        .map(|pr| {
            (
                format!("{:032x}", fastrand::u128(..)),
                pr_payload(&github, "opened", *pr),
            )
        })
        .collect();
    futures::future::join_all(deliveries.iter().map(|(id, payload)| {
        let (first, second) = (&first, &second);
        async move {
            let (a, b) = tokio::join!(
                first.deliver_as("pull_request", id, payload),
                second.deliver_as("pull_request", id, payload),
            );
            assert_eq!((a.status().as_u16(), b.status().as_u16()), (202, 202));
        }
    }))
    .await;
    wait_until_queue_is_idle(&first.store).await;

    let jobs = first.store.list_jobs(None, 100).await.unwrap();
    assert!(
        jobs.iter()
            .all(|job| job.status == JobStatus::Done && job.attempts == 1),
        "{jobs:#?}"
    );
    let holder = first
        .store
        .lock(&repo_name(), DEPLOYMENT)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("one PR holds `{DEPLOYMENT}`"))
        .pr
        .get();
    assert!(prs.contains(&holder), "holder #{holder} is one of {prs:?}");
    let other = prs.into_iter().find(|pr| *pr != holder).unwrap();
    let plan_heading = format!("Terraform plan for `{DEPLOYMENT}`");
    let locked_notice = format!("is locked by #{holder}");
    assert_eq!(
        (
            comments_with(&github, holder, &plan_heading),
            comments_with(&github, holder, "is locked by"),
        ),
        (1, 0),
        "the holder is planned once: {:#?}",
        github.comments(REPO, holder)
    );
    assert_eq!(
        (
            comments_with(&github, other, &plan_heading),
            comments_with(&github, other, &locked_notice),
        ),
        (0, 1),
        "the other PR is told who holds the lock, once, and not planned: {:#?}",
        github.comments(REPO, other)
    );
    assert_eq!(first.store.list_locks(None).await.unwrap().len(), 1);

    first.stop().await;
    second.stop().await;
}
