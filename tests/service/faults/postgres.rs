//! PostgreSQL: its server stopped and restarted mid-burst, and its data directory on a
//! small disk that fills.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::support::serve_process::ServeProcess;
use super::{Answer, Figures, Sender, SmallDisk, count_stored, github_with_issue};

// ----- PostgreSQL restarted mid-burst ----------------------------------------------------

/// A PostgreSQL server of this test's own (scripts/start-postgres.sh), so that stopping it
/// disturbs no other test.
struct OwnPostgres {
    url: String,
    dir: String,
    /// The directory it was started in, when it is this server's own.
    _parent: Option<tempfile::TempDir>,
}

impl OwnPostgres {
    /// A server in a fresh directory under /tmp.
    fn start() -> OwnPostgres {
        let parent = tempfile::Builder::new()
            .prefix("promptops-faults-pg")
            .tempdir_in("/tmp")
            .unwrap();
        let mut postgres = OwnPostgres::start_in(parent.path());
        postgres._parent = Some(parent);
        postgres
    }

    /// A server whose cluster lives in a fresh directory under `parent` (which the
    /// `postgres` user must be able to enter).
    fn start_in(parent: &Path) -> OwnPostgres {
        std::fs::set_permissions(parent, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/start-postgres.sh");
        let output = Command::new("bash")
            .arg(&script)
            .env("TMPDIR", parent)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "starting PostgreSQL failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let exported = String::from_utf8(output.stdout).unwrap();
        let value = |name: &str| {
            exported
                .lines()
                .find_map(|line| line.strip_prefix(&format!("export {name}=")))
                .unwrap_or_else(|| panic!("start-postgres.sh printed no {name}: {exported}"))
                .to_owned()
        };
        OwnPostgres {
            url: value("PROMPTOPS_TEST_POSTGRES_URL"),
            dir: value("PROMPTOPS_TEST_POSTGRES_DIR"),
            _parent: None,
        }
    }

    fn pg_ctl(&self, args: &[&str]) {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .unwrap()
            .filter_map(|entry| entry.ok().map(|e| e.path().join("bin/pg_ctl")))
            .find(|path| path.exists())
            .expect("pg_ctl under /usr/lib/postgresql/*/bin");
        let port = url::Url::parse(&self.url)
            .unwrap()
            .port()
            .unwrap()
            .to_string();
        let options = format!("-h 127.0.0.1 -p {port} -k {}", self.dir);
        let data = format!("{}/data", self.dir);
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&bin);
            c
        } else {
            Command::new(&bin)
        };
        command.args(["-D", &data, "-w"]);
        if args.contains(&"start") {
            command.args(["-l", &format!("{}/server.log", self.dir), "-o", &options]);
        }
        let status = command
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "pg_ctl {args:?} failed");
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/start-postgres.sh");
        let _ = Command::new("bash")
            .arg(script)
            .arg("--stop")
            .env("PROMPTOPS_TEST_POSTGRES_DIR", &self.dir)
            .output();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_restarted_mid_burst_every_acknowledged_delivery_is_stored() {
    let postgres = OwnPostgres::start();
    let (github, issue) = github_with_issue("I need 2 T4 GPUs in us-west1").await;
    let env = [("DATABASE_URL", postgres.url.clone())];
    let server = ServeProcess::start(&github, &[], &env).await;
    let sender = Sender::new(issue);
    let mut figures = Figures {
        scenario: "PostgreSQL stopped and restarted",
        ..Figures::default()
    };
    let mut acknowledged = BTreeSet::new();
    let mut deliver = async |id: String, figures: &mut Figures| {
        figures.sent += 1;
        let body = if figures.sent.is_multiple_of(10) {
            "/promptops help"
        } else {
            "thanks!"
        };
        let answer = sender.send(&server.base, &id, body).await;
        if let Answer::Accepted { duplicate } = answer {
            assert!(!duplicate, "{id}");
            acknowledged.insert(id);
        }
        answer
    };
    for n in 0..100 {
        deliver(format!("pg-before-{n}"), &mut figures).await;
    }
    postgres.pg_ctl(&["-m", "immediate", "stop"]);
    // Each waits for a connection up to the pool's 10 s before it is refused: a few at once.
    let down: Vec<String> = (0..4).map(|n| format!("pg-down-{n}")).collect();
    let (answers, ready) = tokio::join!(
        futures::future::join_all(
            down.iter()
                .map(|id| sender.send(&server.base, id, "thanks!"))
        ),
        reqwest::get(format!("{}/readyz", server.base)),
    );
    figures.sent += down.len();
    assert!(
        answers
            .iter()
            .all(|answer| !matches!(answer, Answer::Accepted { .. })),
        "nothing is acknowledged while the server is down: {answers:?}"
    );
    assert_eq!(
        ready.unwrap().status(),
        503,
        "not ready while the database is down"
    );
    postgres.pg_ctl(&["start"]);
    let back = Instant::now();
    let mut n = 0;
    while !matches!(
        deliver(format!("pg-recovering-{n}"), &mut figures).await,
        Answer::Accepted { .. }
    ) {
        assert!(
            back.elapsed() < Duration::from_secs(30),
            "no delivery accepted within 30 s"
        );
        n += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    figures.recovery = Some(back.elapsed());
    for n in 0..100 {
        let answer = deliver(format!("pg-after-{n}"), &mut figures).await;
        assert_eq!(
            answer,
            Answer::Accepted { duplicate: false },
            "pg-after-{n}"
        );
    }
    let (status, _) = server.stop().await;
    assert!(status.success());
    let (stored, doubled) = count_stored(&postgres.url, &acknowledged).await;
    figures.acknowledged = acknowledged.len();
    figures.refused = figures.sent - acknowledged.len();
    figures.stored = stored;
    figures.lost = acknowledged.len() - stored;
    figures.doubled = doubled;
    figures.report();
    assert_eq!(figures.lost, 0, "{figures}");
    assert_eq!(figures.doubled, 0, "{figures}");
}

// ----- PostgreSQL's disk full ------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn postgres_disk_full_every_acknowledged_delivery_is_stored_and_the_service_recovers() {
    // Room for the cluster (about 50 MiB with its first WAL segment) and a little more. The
    // tables fill first ("could not extend file"): each such write fails on its own, the
    // server stays up, and the transaction is rolled back.
    let disk = SmallDisk::mount("96m");
    let postgres = OwnPostgres::start_in(disk.dir.path());
    let (github, issue) = github_with_issue(&"I need 2 T4 GPUs in us-west1. ".repeat(100)).await;
    let env = [("DATABASE_URL", postgres.url.clone())];
    let server = ServeProcess::start(&github, &[], &env).await;
    let sender = Sender::new(issue);
    let mut figures = Figures {
        scenario: "PostgreSQL's disk full",
        ..Figures::default()
    };
    let mut acknowledged = BTreeSet::new();
    let mut refused = Vec::new();
    let mut slowest = Duration::ZERO;
    let mut deliver = async |id: String, figures: &mut Figures| {
        figures.sent += 1;
        let started = Instant::now();
        let answer = sender.send(&server.base, &id, "/promptops help").await;
        slowest = slowest.max(started.elapsed());
        assert!(
            started.elapsed() < Duration::from_secs(12),
            "{id} answered after {:?}",
            started.elapsed()
        );
        match &answer {
            Answer::Accepted { duplicate } => {
                assert!(!duplicate, "{id} was never acknowledged before");
                acknowledged.insert(id);
            }
            other => {
                assert_eq!(*other, Answer::REDELIVER_LATER, "{id}");
                refused.push(id);
            }
        }
        answer
    };
    for n in 0..20 {
        let answer = deliver(format!("pg-before-{n}"), &mut figures).await;
        assert!(answer.is_accepted(), "pg-before-{n}: {answer:?}");
    }
    let ballast = disk.fill();
    let mut refused_while_full = 0;
    let mut unready_while_full = false;
    for n in 0..200 {
        if !deliver(format!("pg-full-{n}"), &mut figures)
            .await
            .is_accepted()
        {
            refused_while_full += 1;
            if !unready_while_full {
                let ready = reqwest::get(format!("{}/readyz", server.base))
                    .await
                    .unwrap();
                unready_while_full = ready.status() == 503;
            }
        }
        if refused_while_full == 20 {
            break;
        }
    }
    assert!(refused_while_full > 0, "the full disk refused no delivery");

    std::fs::remove_file(&ballast).unwrap();
    let freed = Instant::now();
    let mut n = 0;
    while !deliver(format!("pg-recovering-{n}"), &mut figures)
        .await
        .is_accepted()
    {
        assert!(
            freed.elapsed() < Duration::from_secs(30),
            "no delivery accepted within 30 s of the space returning"
        );
        n += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    figures.recovery = Some(freed.elapsed());
    for n in 0..100 {
        let answer = deliver(format!("pg-after-{n}"), &mut figures).await;
        assert_eq!(
            answer,
            Answer::Accepted { duplicate: false },
            "pg-after-{n}"
        );
    }
    let (status, log) = server.stop().await;
    assert!(status.success(), "{status:?}\n{log}");
    let (stored, doubled) = count_stored(&postgres.url, &acknowledged).await;
    figures.acknowledged = acknowledged.len();
    figures.refused = figures.sent - acknowledged.len();
    figures.stored = stored;
    figures.lost = acknowledged.len() - stored;
    figures.doubled = doubled;
    figures.report();
    // The write probe commits into pages and WAL that exist already; `/readyz` must report
    // the refused deliveries (which extend their tables) all the same.
    eprintln!(
        "fault figures: {}: slowest answer {} ms, /readyz 503 while full: {unready_while_full}",
        figures.scenario,
        slowest.as_millis()
    );
    assert!(
        unready_while_full,
        "/readyz answered 200 while the full disk refused deliveries"
    );
    assert_eq!(figures.lost, 0, "{figures}");
    assert_eq!(figures.doubled, 0, "{figures}");
}
