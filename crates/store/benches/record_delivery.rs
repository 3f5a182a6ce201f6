//! Throughput of durable delivery recording (group commit) at a fixed concurrency.
//!
//!     cargo bench -p promptops-store --bench record_delivery
//!
//! Runs on a fresh SQLite file (WAL, synchronous=FULL), then on PostgreSQL when
//! PROMPTOPS_TEST_POSTGRES_URL is set (a fresh database is created on that server).
//! PROMPTOPS_BENCH_SECONDS (default 5) and PROMPTOPS_BENCH_CONCURRENCY (default 64) tune it;
//! PROMPTOPS_BENCH_SQLITE_SYNCHRONOUS=normal runs SQLite without the fsync per commit.
//! Every call returns only after its COMMIT, so every counted delivery is durably stored.

use std::time::{Duration, Instant};

use std::sync::Arc;

use promptops_store::{
    Delivery, NewJob, RecordOutcome, SqliteDurability, Store, StoreOptions, SystemClock,
};
use sqlx::Connection;

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a whole number")),
        Err(_) => default,
    }
}

async fn run(label: &str, store: Store, concurrency: u64, seconds: u64) {
    let payload = serde_json::json!({
        "type": "command",
        "installation_id": 12345678,
        "repo": "octo-org/gpu-infra",
        "issue": 42,
        "comment_id": 1234567890,
        "author": "octocat",
        "body": "/promptops plan 2 VMs with one T4 each in europe-west4",
    });
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        let store = store.clone();
        let payload = payload.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(200_000);
            let mut n = 0_u64;
            while Instant::now() < deadline {
                let id = format!("{worker:04}-{n:012}");
                n += 1;
                let delivery = Delivery {
                    id,
                    event: "issue_comment".to_owned(),
                    action: Some("created".to_owned()),
                };
                let jobs = vec![NewJob::new(
                    "command",
                    "octo-org/gpu-infra".parse().expect("a repository name"),
                    payload.clone(),
                )];
                let begin = Instant::now();
                let outcome = store.record_delivery(delivery, jobs).await.expect("record");
                latencies.push(begin.elapsed());
                assert_eq!(outcome, RecordOutcome::New);
            }
            latencies
        });
    }
    let mut latencies = Vec::new();
    while let Some(result) = tasks.join_next().await {
        latencies.extend(result.expect("bench task"));
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize];
    let stored = store.delivery_count().await.expect("count");
    assert_eq!(
        stored,
        latencies.len() as u64,
        "every acknowledged delivery is stored"
    );
    println!(
        "{label}: {} deliveries in {:.2} s at concurrency {concurrency}: {:.0} deliveries/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

async fn fresh_postgres_database(admin_url: &str) -> String {
    let name = format!("promptops_bench_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect to PROMPTOPS_TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create the bench database");
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("PROMPTOPS_TEST_POSTGRES_URL ends in /<database>");
    format!("{base}/{name}")
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes "--bench"; nothing else is accepted.
    let concurrency = env_number("PROMPTOPS_BENCH_CONCURRENCY", 64);
    let seconds = env_number("PROMPTOPS_BENCH_SECONDS", 5);

    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    // synchronous=FULL is the default and what the figures are quoted with; "normal" shows
    // what the fsync per commit costs on this machine.
    let normal = std::env::var("PROMPTOPS_BENCH_SQLITE_SYNCHRONOUS").is_ok_and(|v| v == "normal");
    let mut options = StoreOptions::default();
    if normal {
        options.connect.sqlite_synchronous = SqliteDurability::Normal;
    }
    let store = Store::connect_with(&url, options, Arc::new(SystemClock))
        .await
        .expect("open SQLite");
    let label = if normal {
        "sqlite (WAL, synchronous=NORMAL)"
    } else {
        "sqlite (WAL, synchronous=FULL)"
    };
    run(label, store, concurrency, seconds).await;

    match std::env::var("PROMPTOPS_TEST_POSTGRES_URL") {
        Ok(admin_url) => {
            let url = fresh_postgres_database(&admin_url).await;
            let store = Store::connect(&url).await.expect("open PostgreSQL");
            run("postgres", store, concurrency, seconds).await;
        }
        Err(_) => println!("postgres: skipped, PROMPTOPS_TEST_POSTGRES_URL is not set"),
    }
}
