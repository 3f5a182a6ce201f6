//! The SQLite database on a small disk that fills: every delivery is answered promptly (202
//! once stored, or 503 with `Retry-After`), every 202 is a row after SIGTERM and after
//! kill -9, deliveries are taken again by themselves once space returns, and SIGTERM while
//! the disk is still full ends the process within its grace period.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use promptops_testkit::FakeGithub;

use super::support::serve_process::ServeProcess;
use super::{Answer, Figures, Sender, SmallDisk, count_stored, github_with_issue, sqlite_url};

/// How long a refusal may take. A store error is answered as soon as the write fails; the
/// slowest path is a write that waits out SQLite's 10 s busy timeout behind another
/// connection's lock. A delivery that got no answer at all would take the client's 30 s.
const ANSWERED_WITHIN: Duration = Duration::from_secs(12);

#[derive(Debug, Clone, Copy)]
enum End {
    Sigterm,
    Kill,
}

/// The service on a 2 MiB disk and what it answered.
struct FullDisk {
    disk: SmallDisk,
    url: String,
    /// `None` once stopped or killed.
    server: Option<ServeProcess>,
    /// The service's address.
    base: String,
    /// The stand-in GitHub the deliveries' jobs call; lives as long as the service.
    _github: FakeGithub,
    sender: Sender,
    acknowledged: BTreeSet<String>,
    refused: Vec<String>,
    figures: Figures,
    /// The longest any answer took.
    slowest: Duration,
}

impl FullDisk {
    async fn start(scenario: &'static str, env: &[(&str, String)]) -> FullDisk {
        let disk = SmallDisk::mount("2m");
        let url = sqlite_url(&disk.dir.path().join("promptops.db"));
        // A long issue body: each job's payload carries it, so the log needs new pages quickly.
        let (github, issue) =
            github_with_issue(&"I need 2 T4 GPUs in us-west1. ".repeat(100)).await;
        let mut env = env.to_vec();
        env.push(("DATABASE_URL", url.clone()));
        let server = ServeProcess::start(&github, &[], &env).await;
        FullDisk {
            disk,
            url,
            base: server.base.clone(),
            server: Some(server),
            _github: github,
            sender: Sender::new(issue),
            acknowledged: BTreeSet::new(),
            refused: Vec::new(),
            figures: Figures {
                scenario,
                ..Figures::default()
            },
            slowest: Duration::ZERO,
        }
    }

    /// Sends delivery `id`; a 202 must be new, anything else a prompt 503 with `Retry-After`.
    async fn deliver(&mut self, id: String) -> Answer {
        self.figures.sent += 1;
        let started = Instant::now();
        let answer = self.sender.send(&self.base, &id, "/promptops help").await;
        self.slowest = self.slowest.max(started.elapsed());
        let took = started.elapsed();
        assert!(took < ANSWERED_WITHIN, "{id} answered after {took:?}");
        match &answer {
            Answer::Accepted { duplicate } => {
                assert!(
                    !duplicate,
                    "{id} was never acknowledged before, yet a duplicate"
                );
                self.acknowledged.insert(id);
            }
            refused => {
                assert_eq!(*refused, Answer::REDELIVER_LATER, "{id} after {took:?}");
                self.refused.push(id);
            }
        }
        answer
    }

    async fn ready(&self) -> u16 {
        reqwest::get(format!("{}/readyz", self.base))
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Fills the disk, sends 60 deliveries; some must be refused, and `/readyz` must say so.
    async fn fill_and_deliver(&mut self, prefix: &str) -> std::path::PathBuf {
        let ballast = self.disk.fill();
        let mut unready_while_full = false;
        for n in 0..60 {
            let answer = self.deliver(format!("{prefix}-{n}")).await;
            if !answer.is_accepted() && !unready_while_full {
                unready_while_full = self.ready().await == 503;
            }
        }
        assert!(
            !self.refused.is_empty(),
            "the full disk refused no delivery"
        );
        assert!(
            unready_while_full,
            "/readyz answered 200 while the disk was full"
        );
        ballast
    }

    /// Counts the acknowledged deliveries in the database (the process has ended) and
    /// checks that none is lost or doubled.
    /// SIGTERM; returns how long the exit took and the process's log.
    async fn stop(&mut self) -> (Duration, String) {
        let server = self.server.take().expect("running");
        let stopping = Instant::now();
        let (status, log) = server.stop().await;
        assert!(status.success(), "{status:?}\n{log}");
        (stopping.elapsed(), log)
    }

    async fn kill(&mut self) {
        self.server.take().expect("running").kill().await;
    }

    async fn check_stored(mut self) {
        let (stored, doubled) = count_stored(&self.url, &self.acknowledged).await;
        let figures = &mut self.figures;
        figures.acknowledged = self.acknowledged.len();
        figures.refused = figures.sent - self.acknowledged.len();
        figures.stored = stored;
        figures.lost = self.acknowledged.len() - stored;
        figures.doubled = doubled;
        figures.report();
        eprintln!(
            "fault figures: {}: slowest answer {} ms",
            figures.scenario,
            self.slowest.as_millis()
        );
        assert_eq!(figures.lost, 0, "{figures}");
        assert_eq!(figures.doubled, 0, "{figures}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn disk_full_every_acknowledged_delivery_is_stored_and_the_service_recovers() {
    for end in [End::Sigterm, End::Kill] {
        disk_full_round(end).await;
    }
}

async fn disk_full_round(end: End) {
    let scenario = match end {
        End::Sigterm => "disk full, then SIGTERM",
        End::Kill => "disk full, then kill -9",
    };
    let mut full = FullDisk::start(scenario, &[]).await;
    let ballast = full.fill_and_deliver("full").await;

    std::fs::remove_file(&ballast).unwrap();
    let freed = Instant::now();
    let mut n = 0;
    while !full.deliver(format!("recovering-{n}")).await.is_accepted() {
        assert!(
            freed.elapsed() < Duration::from_secs(20),
            "no delivery accepted within 20 s of the space returning"
        );
        n += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    full.figures.recovery = Some(freed.elapsed());
    for n in 0..100 {
        let answer = full.deliver(format!("after-{n}")).await;
        assert_eq!(answer, Answer::Accepted { duplicate: false }, "after-{n}");
    }
    assert_eq!(
        full.ready().await,
        200,
        "ready again once the space returned"
    );
    // GitHub's redelivery of a refused delivery is new, not "already recorded".
    for id in full.refused.clone().into_iter().take(5) {
        let answer = full.deliver(id.clone()).await;
        assert_eq!(
            answer,
            Answer::Accepted { duplicate: false },
            "redelivery of {id}"
        );
    }

    match end {
        End::Sigterm => {
            full.stop().await;
        }
        End::Kill => full.kill().await,
    }
    full.check_stored().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn disk_full_sigterm_while_the_disk_is_full_ends_within_the_grace_period() {
    const GRACE: Duration = Duration::from_secs(5);
    let env = [("PROMPTOPS_SHUTDOWN_GRACE_SECS", GRACE.as_secs().to_string())];
    let mut full = FullDisk::start("SIGTERM while the disk is full", &env).await;
    let _ballast = full.fill_and_deliver("full").await;
    let (stopped_in, log) = full.stop().await;
    // The grace period, and the closing of the store (its writes fail at once).
    assert!(
        stopped_in < GRACE + Duration::from_secs(10),
        "SIGTERM took {stopped_in:?} with the disk full\n{log}"
    );
    eprintln!(
        "fault figures: SIGTERM with the disk full: exit took {:.1} s",
        stopped_in.as_secs_f64()
    );
    // What the disk holds was committed before the space ran out: all of it is readable once
    // there is room to open the database again.
    std::fs::remove_file(full.disk.dir.path().join("ballast")).unwrap();
    full.check_stored().await;
}
