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
use sha2::Sha256;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
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
    /// The webhook path (a Probot app listens on /api/github/webhooks).
    #[arg(long, default_value = "/webhook")]
    path: String,
    /// The status that counts as acknowledged. 202 (promptops) also requires the body to say
    /// "accepted"; any other value (e.g. 200 for a Probot baseline, which stores nothing)
    /// counts every answer with that status.
    #[arg(long, default_value_t = 202)]
    ok_status: u16,
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
    path: String,
    ok_status: u16,
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

/// One keep-alive connection speaking just enough HTTP/1.1 for this endpoint. A full client
/// (hyper) costs the generator about as much CPU per request as the server's own HTTP layer,
/// and the generator shares the server's cores: every microsecond it spends is taken from
/// the server being measured. The request head is written from a template and the answer's
/// head parsed with httparse; every status and body is still checked.
struct Connection {
    stream: TcpStream,
    /// Bytes read from the socket and not yet consumed (an answer may arrive in pieces).
    buffer: Vec<u8>,
}

/// The largest answer head accepted; the server's answers are a few hundred bytes.
const MAX_ANSWER: usize = 64 * 1024;

impl Connection {
    async fn open(addr: SocketAddr) -> anyhow::Result<Connection> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            buffer: Vec::with_capacity(4096),
        })
    }

    /// Sends one request (head, then the shared body, in one vectored write when the kernel
    /// takes it) and reads its answer.
    async fn post(&mut self, head: &[u8], body: &[u8], ok_status: u16) -> anyhow::Result<Answer> {
        // One vectored write of head and body when the kernel takes both at once.
        let mut request = bytes::Buf::chain(head, body);
        self.stream.write_all_buf(&mut request).await?;
        self.read_answer(ok_status).await
    }

    async fn read_answer(&mut self, ok_status: u16) -> anyhow::Result<Answer> {
        loop {
            if let Some((consumed, answer)) = parse_answer(&self.buffer, ok_status)? {
                self.buffer.drain(..consumed);
                return Ok(answer);
            }
            if self.buffer.len() >= MAX_ANSWER {
                bail!("the answer is larger than {MAX_ANSWER} bytes");
            }
            if self.stream.read_buf(&mut self.buffer).await? == 0 {
                bail!("the server closed the connection");
            }
        }
    }
}

/// A complete answer at the start of `bytes`: how many bytes it took and what it said.
/// `None` while it is incomplete.
fn parse_answer(bytes: &[u8], ok_status: u16) -> anyhow::Result<Option<(usize, Answer)>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(bytes)? {
        httparse::Status::Complete(len) => len,
        httparse::Status::Partial => return Ok(None),
    };
    let status = response.code.context("answer without a status code")?;
    let length_header = response
        .headers
        .iter()
        .find(|header| header.name.eq_ignore_ascii_case("content-length"))
        .context("answer without Content-Length (the server sends it for every answer)")?;
    let length: usize = std::str::from_utf8(length_header.value)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .with_context(|| format!("bad Content-Length {:?}", length_header.value))?;
    if bytes.len() < head_len + length {
        return Ok(None);
    }
    let body = &bytes[head_len..head_len + length];
    let answer = match (status, body.starts_with(b"accepted")) {
        (status, _) if status == ok_status && ok_status != 202 => Answer::Accepted,
        (202, true) => Answer::Accepted,
        (202, false) if body.starts_with(b"duplicate") => Answer::Duplicate,
        _ => Answer::Status(status, String::from_utf8_lossy(body).trim().to_owned()),
    };
    Ok(Some((head_len + length, answer)))
}

#[derive(Debug, PartialEq)]
enum Answer {
    Accepted,
    Duplicate,
    Status(u16, String),
}

/// The request head with a placeholder delivery id of fixed width, patched per request.
struct HeadTemplate {
    bytes: Vec<u8>,
    id_at: usize,
}

impl HeadTemplate {
    fn new(shared: &Shared) -> HeadTemplate {
        let before = format!(
            "POST {} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n\
             user-agent: GitHub-Hookshot/loadgen\r\nx-github-event: {}\r\n\
             x-hub-signature-256: {}\r\ncontent-length: {}\r\nx-github-delivery: ",
            shared.path,
            shared.addr,
            shared.event,
            shared.signature,
            shared.body.len()
        );
        let id_at = before.len();
        let mut bytes = before.into_bytes();
        bytes.extend_from_slice(shared.delivery_id(0).as_bytes());
        bytes.extend_from_slice(b"\r\n\r\n");
        HeadTemplate { bytes, id_at }
    }

    fn with_id(&mut self, id: &str) -> &[u8] {
        self.bytes[self.id_at..self.id_at + id.len()].copy_from_slice(id.as_bytes());
        &self.bytes
    }
}

async fn drive(shared: Arc<Shared>, limit: Limit, measured: bool) -> Tally {
    let mut tally = Tally::default();
    let mut connection: Option<Connection> = None;
    let mut head = HeadTemplate::new(&shared);
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
            if connection.is_none() {
                connection = Some(Connection::open(shared.addr).await?);
            }
            let live = connection.as_mut().expect("connected above");
            tokio::time::timeout(
                shared.timeout,
                live.post(head.with_id(&id), &shared.body, shared.ok_status),
            )
            .await
            .map_err(|_| anyhow::anyhow!("no answer within {:?}", shared.timeout))?
        }
        .await;
        let elapsed = started.elapsed();
        if !measured {
            if result.is_err() {
                connection = None;
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
                connection = None;
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
        path: args.path.clone(),
        ok_status: args.ok_status,
        run_id: args.run_id,
        next: AtomicU64::new(0),
        timeout: Duration::from_secs_f64(args.timeout_secs),
    });
    // One thread: a current-thread runtime, so no wake-up crosses threads.
    let runtime = if args.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()?
    };
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
    fn answers_are_read_whole_even_when_they_arrive_in_pieces() {
        let two = b"HTTP/1.1 202 Accepted\r\ncontent-type: text/plain\r\ncontent-length: 20\r\n\r\naccepted: 0 job(s)\n\nHTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nno\n\n";
        let (used, first) = parse_answer(two, 202).expect("valid").expect("complete");
        assert_eq!(first, Answer::Accepted);
        let (_, second) = parse_answer(&two[used..], 202)
            .expect("valid")
            .expect("complete");
        assert_eq!(second, Answer::Status(401, "no".to_owned()));
        for cut in 0..used {
            assert!(
                parse_answer(&two[..cut], 202)
                    .expect("valid so far")
                    .is_none(),
                "cut at {cut}"
            );
        }
        let duplicate = b"HTTP/1.1 202 Accepted\r\ncontent-length: 9\r\n\r\nduplicate";
        assert_eq!(
            parse_answer(duplicate, 202).unwrap().unwrap().1,
            Answer::Duplicate
        );
        assert!(
            parse_answer(b"HTTP/1.1 202 Accepted\r\n\r\n", 202).is_err(),
            "no length"
        );
        assert!(parse_answer(b"NOT HTTP\r\n\r\n", 202).is_err());
        // A baseline server's plain 200 counts only when asked for.
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n";
        assert_eq!(parse_answer(ok, 200).unwrap().unwrap().1, Answer::Accepted);
        assert_eq!(
            parse_answer(ok, 202).unwrap().unwrap().1,
            Answer::Status(200, "ok".to_owned())
        );
    }

    #[test]
    fn the_head_template_carries_each_id_and_the_body_length() {
        let shared = Shared {
            addr: "127.0.0.1:3000".parse().expect("valid address"),
            body: Bytes::from_static(b"{}"),
            signature: "sha256=00".to_owned(),
            event: "issue_comment".to_owned(),
            path: "/api/github/webhooks".to_owned(),
            ok_status: 202,
            run_id: 7,
            next: AtomicU64::new(0),
            timeout: Duration::from_secs(1),
        };
        let mut head = HeadTemplate::new(&shared);
        let id = shared.delivery_id(0xabc);
        let text = String::from_utf8(head.with_id(&id).to_vec()).expect("ASCII");
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut request = httparse::Request::new(&mut headers);
        assert!(
            request
                .parse(text.as_bytes())
                .expect("parses")
                .is_complete()
        );
        assert_eq!(request.method, Some("POST"));
        assert_eq!(request.path, Some("/api/github/webhooks"));
        let value = |name: &str| {
            request
                .headers
                .iter()
                .find(|h| h.name == name)
                .map(|h| std::str::from_utf8(h.value).expect("ASCII").to_owned())
        };
        assert_eq!(value("x-github-delivery").as_deref(), Some(id.as_str()));
        assert_eq!(value("content-length").as_deref(), Some("2"));
        assert_eq!(value("x-hub-signature-256").as_deref(), Some("sha256=00"));
        assert_eq!(value("x-github-event").as_deref(), Some("issue_comment"));
    }

    #[test]
    fn delivery_ids_are_uuid_shaped_and_distinct_per_run_and_index() {
        let shared = |run_id| Shared {
            addr: "127.0.0.1:1".parse().expect("valid address"),
            body: Bytes::new(),
            signature: String::new(),
            event: String::new(),
            path: String::new(),
            ok_status: 202,
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
