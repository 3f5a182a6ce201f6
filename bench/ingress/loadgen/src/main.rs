//! Closed-loop load generator for `POST /webhook`: a fixed number of HTTP/1.1 keep-alive
//! connections, each sending the same signed payload with its own `X-GitHub-Delivery` id
//! and waiting for the answer before sending the next. The body never changes, so the
//! `X-Hub-Signature-256` header is computed once. Every answer's status is checked (unlike
//! wrk), and the ids GitHub would consider acknowledged (202 "accepted") can be written to
//! a file so that the caller can prove each one was stored.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use clap::Parser;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt as _, Full};
use hyper::Request;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use sha2::Sha256;
use tokio::net::TcpStream;

#[derive(Parser, Debug)]
#[command(
    about = "Posts a signed webhook payload at a fixed concurrency and reports throughput and latency"
)]
struct Args {
    /// Address of the server (loopback only: this is a benchmark, not a traffic source).
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    /// The JSON payload to post (sent byte for byte, as signed).
    #[arg(long)]
    payload: PathBuf,
    /// The webhook secret the server verifies with.
    #[arg(long, env = "LOADGEN_WEBHOOK_SECRET", hide_env_values = true)]
    secret: String,
    /// The `X-GitHub-Event` header.
    #[arg(long, default_value = "issue_comment")]
    event: String,
    /// Connections, each with one request in flight.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Stop after this many measured requests...
    #[arg(long, conflicts_with = "duration_secs")]
    requests: Option<u64>,
    /// ...or after this many seconds (the default when neither is given: 10 s).
    #[arg(long)]
    duration_secs: Option<f64>,
    /// Requests sent first and left out of the figures (connection set-up, page cache, JIT of
    /// prepared statements).
    #[arg(long, default_value_t = 0)]
    warmup_requests: u64,
    /// Tokio worker threads of the generator (it shares the machine with the server).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Makes the delivery ids of this run unique against earlier runs on the same database.
    #[arg(long, default_value_t = std::process::id())]
    run_id: u32,
    /// Writes every delivery id answered 202 "accepted" to this file, one per line.
    #[arg(long)]
    acked_out: Option<PathBuf>,
    /// A request not answered within this time counts as an error (GitHub waits 10 s).
    #[arg(long, default_value_t = 10.0)]
    timeout_secs: f64,
}

/// What stops the measured phase.
#[derive(Clone, Copy)]
enum Limit {
    Requests(u64),
    Until(Instant),
}

struct Shared {
    addr: SocketAddr,
    body: Bytes,
    signature: String,
    event: String,
    run_id: u32,
    next: AtomicU64,
    timeout: Duration,
}

impl Shared {
    /// GitHub's delivery ids are UUIDs; these have the same shape and length, so the
    /// database's key index sees realistic keys.
    fn delivery_id(&self, index: u64) -> String {
        format!("{:08x}-0000-4000-8000-{index:012x}", self.run_id)
    }
}

#[derive(Default)]
struct Tally {
    /// Latency in microseconds of every measured request that got an answer.
    latencies_us: Vec<u32>,
    accepted: u64,
    duplicate: u64,
    other_status: u64,
    errors: u64,
    first_error: Option<String>,
    acked: Vec<u64>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.latencies_us.extend(other.latencies_us);
        self.accepted += other.accepted;
        self.duplicate += other.duplicate;
        self.other_status += other.other_status;
        self.errors += other.errors;
        self.acked.extend(other.acked);
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

type Sender = http1::SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> anyhow::Result<Sender> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

enum Answer {
    Accepted,
    Duplicate,
    Status(u16, String),
}

async fn post(shared: &Shared, sender: &mut Sender, id: &str) -> anyhow::Result<Answer> {
    sender.ready().await?;
    let request = Request::post("/webhook")
        .header("host", shared.addr.to_string())
        .header("content-type", "application/json")
        .header("user-agent", "GitHub-Hookshot/loadgen")
        .header("x-github-event", &shared.event)
        .header("x-github-delivery", id)
        .header("x-hub-signature-256", &shared.signature)
        .body(Full::new(shared.body.clone()))?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok(match (status, body.starts_with(b"accepted")) {
        (202, true) => Answer::Accepted,
        (202, false) if body.starts_with(b"duplicate") => Answer::Duplicate,
        _ => Answer::Status(status, String::from_utf8_lossy(&body).trim().to_owned()),
    })
}

/// One connection's closed loop: claims the next index, posts it, records the answer.
async fn drive(shared: Arc<Shared>, limit: Limit, measured: bool) -> Tally {
    let mut tally = Tally::default();
    let mut sender: Option<Sender> = None;
    loop {
        let index = shared.next.fetch_add(1, Ordering::Relaxed);
        match limit {
            Limit::Requests(end) if index >= end => break,
            Limit::Until(deadline) if Instant::now() >= deadline => break,
            _ => {}
        }
        let id = shared.delivery_id(index);
        let started = Instant::now();
        let result = async {
            if sender.is_none() {
                sender = Some(connect(shared.addr).await?);
            }
            let live = sender.as_mut().expect("connected above");
            tokio::time::timeout(shared.timeout, post(&shared, live, &id))
                .await
                .map_err(|_| anyhow::anyhow!("no answer within {:?}", shared.timeout))?
        }
        .await;
        let elapsed = started.elapsed();
        if !measured {
            if result.is_err() {
                sender = None;
            }
            continue;
        }
        match result {
            Ok(answer) => {
                tally
                    .latencies_us
                    .push(u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX));
                match answer {
                    Answer::Accepted => {
                        tally.accepted += 1;
                        tally.acked.push(index);
                    }
                    Answer::Duplicate => tally.duplicate += 1,
                    Answer::Status(status, body) => {
                        tally.other_status += 1;
                        tally
                            .first_error
                            .get_or_insert_with(|| format!("HTTP {status}: {body}"));
                    }
                }
            }
            Err(err) => {
                tally.errors += 1;
                tally.first_error.get_or_insert_with(|| format!("{err:#}"));
                // The connection may be broken; the next request opens a new one.
                sender = None;
            }
        }
    }
    tally
}

async fn phase(shared: &Arc<Shared>, concurrency: usize, limit: Limit, measured: bool) -> Tally {
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| tokio::spawn(drive(shared.clone(), limit, measured)))
        .collect();
    let mut total = Tally::default();
    for task in tasks {
        total.merge(task.await.expect("load task panicked"));
    }
    total
}

fn percentile(sorted: &[u32], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64) * fraction).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
}

/// The generator's own CPU time (user + system) from `/proc/self/stat`, so the report can
/// say how much of the shared machine the load itself took. `None` off Linux.
fn own_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel reports in USER_HZ, which is 100 on every Linux architecture Rust targets.
    Some(ticks as f64 / 100.0)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.addr.ip().is_loopback() {
        bail!(
            "--addr {} is not a loopback address: this generator only targets a local server",
            args.addr
        );
    }
    if args.concurrency == 0 || args.threads == 0 {
        bail!("--concurrency and --threads must be at least 1");
    }
    let body = std::fs::read(&args.payload)
        .with_context(|| format!("reading the payload {}", args.payload.display()))?;
    serde_json::from_slice::<serde_json::Value>(&body)
        .with_context(|| format!("{} is not valid JSON", args.payload.display()))?;
    let shared = Arc::new(Shared {
        addr: args.addr,
        signature: sign(&args.secret, &body),
        body: Bytes::from(body),
        event: args.event.clone(),
        run_id: args.run_id,
        next: AtomicU64::new(0),
        timeout: Duration::from_secs_f64(args.timeout_secs),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        if args.warmup_requests > 0 {
            phase(
                &shared,
                args.concurrency,
                Limit::Requests(args.warmup_requests),
                false,
            )
            .await;
            // Measured ids continue after the warm-up's, so none is sent twice.
            shared.next.store(args.warmup_requests, Ordering::Relaxed);
        }
        let first_measured = args.warmup_requests;
        let limit = match (args.requests, args.duration_secs) {
            (Some(count), _) => Limit::Requests(first_measured + count),
            (None, seconds) => {
                Limit::Until(Instant::now() + Duration::from_secs_f64(seconds.unwrap_or(10.0)))
            }
        };
        let started = Instant::now();
        let mut tally = phase(&shared, args.concurrency, limit, true).await;
        let elapsed = started.elapsed().as_secs_f64();
        report(&args, &shared, &mut tally, elapsed)
    })
}

fn report(args: &Args, shared: &Shared, tally: &mut Tally, elapsed: f64) -> anyhow::Result<()> {
    tally.latencies_us.sort_unstable();
    let answered = tally.latencies_us.len() as u64;
    let sorted = &tally.latencies_us;
    let mean_ms = if sorted.is_empty() {
        0.0
    } else {
        sorted.iter().map(|&us| f64::from(us)).sum::<f64>() / sorted.len() as f64 / 1000.0
    };
    if let Some(path) = &args.acked_out {
        let file =
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let mut out = std::io::BufWriter::new(file);
        for &index in &tally.acked {
            writeln!(out, "{}", shared.delivery_id(index))?;
        }
        out.flush()?;
    }
    let summary = serde_json::json!({
        "concurrency": args.concurrency,
        "generator_threads": args.threads,
        "seconds": elapsed,
        "requests": answered + tally.errors,
        "accepted": tally.accepted,
        "duplicate": tally.duplicate,
        "other_status": tally.other_status,
        "errors": tally.errors,
        "first_error": tally.first_error,
        "deliveries_per_second": tally.accepted as f64 / elapsed,
        "generator_cpu_seconds": own_cpu_seconds(),
        "latency_ms": {
            "mean": mean_ms,
            "p50": percentile(sorted, 0.50),
            "p90": percentile(sorted, 0.90),
            "p99": percentile(sorted, 0.99),
            "p999": percentile(sorted, 0.999),
            "max": percentile(sorted, 1.0),
        },
    });
    println!("{summary}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_githubs_documented_example() {
        // The example from GitHub's "Validating webhook deliveries" documentation.
        assert_eq!(
            sign("It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let sorted: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        assert_eq!(percentile(&sorted, 0.50), 50.0);
        assert_eq!(percentile(&sorted, 0.99), 99.0);
        assert_eq!(percentile(&sorted, 1.0), 100.0);
        assert_eq!(percentile(&[7000], 0.99), 7.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn delivery_ids_are_uuid_shaped_and_distinct_per_run_and_index() {
        let shared = |run_id| Shared {
            addr: "127.0.0.1:1".parse().expect("valid address"),
            body: Bytes::new(),
            signature: String::new(),
            event: String::new(),
            run_id,
            next: AtomicU64::new(0),
            timeout: Duration::from_secs(1),
        };
        let a = shared(0xdead_beef);
        assert_eq!(a.delivery_id(0x2a), "deadbeef-0000-4000-8000-00000000002a");
        assert_eq!(a.delivery_id(1).len(), 36);
        assert_ne!(a.delivery_id(1), a.delivery_id(2));
        assert_ne!(a.delivery_id(1), shared(1).delivery_id(1));
    }
}
