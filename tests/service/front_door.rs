//! The real `promptops serve` binary against clients that try to hold its memory or its
//! connections: unsigned and falsely signed large bodies, a client that sends one header
//! byte at a time, idle sockets, more connections than the limit; and the settings that
//! guard it (webhook secret length, the `/metrics` token), and a log that user-controlled
//! text cannot forge lines in.

use crate::support;

use std::process::Stdio;
use std::time::Duration;

use promptops_testkit::{FakeGithub, sign_webhook};
use support::SECRET;
use support::serve_process::{ServeProcess, serve_command};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MIB: usize = 1024 * 1024;

fn authority(server: &ServeProcess) -> &str {
    server.base.trim_start_matches("http://")
}

/// The peak resident set size of a process so far (`VmHWM`), in bytes.
fn peak_rss(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: usize = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in /proc/{pid}/status: {status}"));
    kib * 1024
}

/// Everything the server sends until it closes the connection; `None` when it is still
/// open after `limit` (a guard against a hang, not a performance bound).
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&received).into_owned())
}

/// The status line of the answer to a request already written to `stream`.
async fn status_line(stream: &mut TcpStream, limit: Duration) -> String {
    let mut received = Vec::new();
    tokio::time::timeout(limit, async {
        let mut byte = [0u8; 1];
        while !received.ends_with(b"\r\n") {
            match stream.read(&mut byte).await {
                Ok(1) => received.push(byte[0]),
                _ => break,
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no answer within {limit:?}"));
    String::from_utf8_lossy(&received).trim_end().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unsigned_webhook_is_answered_401_before_its_body_is_sent() {
    let github = FakeGithub::start().await;
    let server = ServeProcess::start(&github, &[], &[]).await;
    let mut stream = TcpStream::connect(authority(&server)).await.unwrap();
    // The head announces 24 MiB; not a byte of the body follows.
    let head = format!(
        "POST /webhook HTTP/1.1\r\nHost: {}\r\nX-GitHub-Event: ping\r\nX-GitHub-Delivery: d-1\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        authority(&server),
        24 * MIB
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let status = status_line(&mut stream, Duration::from_secs(10)).await;
    assert!(
        status.starts_with("HTTP/1.1 401"),
        "refused without waiting for the body: {status:?}"
    );
    let (exit, _log) = server.stop().await;
    assert!(exit.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_large_bodies_keep_the_server_under_100_mb() {
    let github = FakeGithub::start().await;
    let server = ServeProcess::start(&github, &[], &[]).await;
    let pid = server.pid();
    let at_start = peak_rss(pid);
    let body = bytes::Bytes::from(vec![b' '; 24 * MIB]);
    let http = reqwest::Client::new();
    let mut requests = tokio::task::JoinSet::new();
    for n in 0..16 {
        let mut request = http
            .post(format!("{}/webhook", server.base))
            .header("x-github-event", "ping")
            .header("x-github-delivery", format!("big-{n}"))
            .header("content-type", "application/json")
            .body(body.clone());
        // Eight unsigned, eight with a signature that cannot match.
        if n % 2 == 1 {
            request = request.header("x-hub-signature-256", format!("sha256={}", "0".repeat(64)));
        }
        requests.spawn(async move {
            let signed = n % 2 == 1;
            match request.send().await {
                Ok(response) => (signed, Some(response.status().as_u16())),
                // Refused and closed while the body was still being sent.
                Err(_) => (signed, None),
            }
        });
    }
    let outcomes = requests.join_all().await;
    let peak = peak_rss(pid);
    // The figure itself, for `--no-capture` runs.
    eprintln!(
        "serve peak RSS: {} MiB at start, {} MiB after the bodies",
        at_start / MIB,
        peak / MIB
    );
    assert!(
        peak < 100 * MIB,
        "peak RSS {} MiB with 16 concurrent 24 MiB bodies: {outcomes:?}",
        peak / MIB
    );
    for (signed, status) in &outcomes {
        match (signed, status) {
            (false, Some(status)) => assert_eq!(*status, 401, "{outcomes:?}"),
            (true, Some(status)) => assert!([401, 503].contains(status), "{outcomes:?}"),
            (_, None) => {}
        }
    }
    assert!(
        outcomes.contains(&(true, Some(401))),
        "at least one falsely signed body was read and its signature checked: {outcomes:?}"
    );

    // The budget is free again: a real delivery goes through.
    let ping = br#"{"zen":"Keep it logically awesome.","hook_id":1}"#.to_vec();
    let accepted = http
        .post(format!("{}/webhook", server.base))
        .header("x-github-event", "ping")
        .header("x-github-delivery", "after-the-flood")
        .header("x-hub-signature-256", sign_webhook(SECRET, &ping))
        .body(ping)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202, "{:?}", accepted.text().await);
    let (exit, _log) = server.stop().await;
    assert!(exit.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_sending_one_header_byte_every_5_s_is_closed_within_30_s() {
    let github = FakeGithub::start().await;
    // The default settings.
    let server = ServeProcess::start(&github, &[], &[]).await;
    let stream = TcpStream::connect(authority(&server)).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let drip = tokio::spawn(async move {
        for byte in b"POST /webhook HTTP/1.1\r\nHost: localhost\r\nX-Padding: aaaaaaaaaaaaaaaa" {
            if writer.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    });
    let closed = tokio::time::timeout(Duration::from_secs(30), async {
        let mut buffer = [0u8; 1024];
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    })
    .await;
    drip.abort();
    assert!(
        closed.is_ok(),
        "a client sending one header byte every 5 s was still connected after 30 s"
    );
    let (exit, _log) = server.stop().await;
    assert!(exit.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_connections_are_closed_and_connections_beyond_the_limit_wait() {
    let github = FakeGithub::start().await;
    let server = ServeProcess::start(
        &github,
        &[],
        &[
            ("PROMPTOPS_HTTP_HEADER_TIMEOUT_SECS", "2".to_owned()),
            ("PROMPTOPS_HTTP_MAX_CONNECTIONS", "2".to_owned()),
        ],
    )
    .await;
    let address = authority(&server).to_owned();
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\n\r\n");

    // Kept alive after an answer, then idle: closed.
    let mut kept_alive = TcpStream::connect(&address).await.unwrap();
    kept_alive.write_all(request.as_bytes()).await.unwrap();
    let answered = read_until_closed(&mut kept_alive, Duration::from_secs(15)).await;
    let answered = answered.expect("an idle kept-alive connection is closed");
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");

    // Two silent connections take both slots; a third is served only once they are gone.
    let mut silent = [
        TcpStream::connect(&address).await.unwrap(),
        TcpStream::connect(&address).await.unwrap(),
    ];
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut third = TcpStream::connect(&address).await.unwrap();
    third.write_all(request.as_bytes()).await.unwrap();
    let status = status_line(&mut third, Duration::from_secs(15)).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    for stream in &mut silent {
        let still_open = read_until_closed(stream, Duration::from_millis(200))
            .await
            .is_none();
        assert!(
            !still_open,
            "the third connection was served while two silent ones held both slots"
        );
    }
    let (exit, _log) = server.stop().await;
    assert!(
        exit.success(),
        "graceful shutdown after the limits were hit"
    );
}

/// `promptops serve` with the fake's App and `env`; waits for it to exit (a guard of 20 s:
/// a service that starts instead keeps running and fails the test).
fn serve_must_refuse(github: &FakeGithub, env: &[(&str, String)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut command = serve_command(github, dir.path(), "127.0.0.1:0", env);
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(!status.success(), "serve must refuse to start");
            return std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("serve started instead of refusing");
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_refuses_short_or_empty_webhook_secrets_and_names_the_part() {
    let github = FakeGithub::start().await;
    let short = "only-12chars";
    let log = serve_must_refuse(
        &github,
        &[("GITHUB_WEBHOOK_SECRET", format!("{SECRET},{short}"))],
    );
    assert!(
        log.contains("part 2 of 2") && log.contains("at least 16"),
        "{log}"
    );
    assert!(!log.contains(short), "the secret is never printed: {log}");
    let log = serve_must_refuse(
        &github,
        &[("GITHUB_WEBHOOK_SECRET", format!("{SECRET},,{SECRET}"))],
    );
    assert!(log.contains("part 2 of 3 is empty"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_can_require_the_dashboard_token() {
    let github = FakeGithub::start().await;
    let log = serve_must_refuse(
        &github,
        &[("PROMPTOPS_METRICS_REQUIRE_TOKEN", "true".to_owned())],
    );
    assert!(log.contains("PROMPTOPS_DASHBOARD_TOKEN"), "{log}");

    let token = "metrics-and-dashboard-token";
    let server = ServeProcess::start(
        &github,
        &[],
        &[
            ("PROMPTOPS_DASHBOARD_TOKEN", token.to_owned()),
            ("PROMPTOPS_METRICS_REQUIRE_TOKEN", "true".to_owned()),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let metrics = format!("{}/metrics", server.base);
    let anonymous = http.get(&metrics).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.text().await.unwrap().contains("dashboard token"));
    let wrong = http.get(&metrics).bearer_auth("nope").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let scraped = http.get(&metrics).bearer_auth(token).send().await.unwrap();
    assert_eq!(scraped.status(), 200);
    let exposition = scraped.text().await.unwrap();
    assert!(
        exposition.contains("promptops_webhooks_rejected_total") && exposition.ends_with("# EOF\n"),
        "{exposition}"
    );
    let (exit, _log) = server.stop().await;
    assert!(exit.success());
}

/// A line the attacker would like to see in the log.
const FORGED: &str =
    "2026-12-01T00:00:00.000000Z  INFO promptops: FORGED-LINE admin unlocked everything";

#[tokio::test(flavor = "multi_thread")]
async fn newlines_in_logged_request_fields_cannot_forge_log_lines() {
    let github = FakeGithub::start().await;
    let http = reqwest::Client::new();

    // An unauthenticated OAuth callback with an error description of the attacker's.
    let sign_in = ServeProcess::start(
        &github,
        &[],
        &[
            ("GITHUB_CLIENT_ID", "Iv23liforgedlog".to_owned()),
            (
                "GITHUB_CLIENT_SECRET",
                "client-secret-for-the-log-test".to_owned(),
            ),
            ("PROMPTOPS_PUBLIC_URL", "http://127.0.0.1:9".to_owned()),
        ],
    )
    .await;
    let refused = http
        .get(format!("{}/dashboard/oauth/callback", sign_in.base))
        .query(&[
            ("error", "access_denied"),
            ("error_description", &format!("denied\n{FORGED}\r\n")),
        ])
        .send()
        .await
        .unwrap();
    assert!(refused.status().is_client_error(), "{}", refused.status());
    let (_, oauth_log) = sign_in.stop().await;
    assert_forgery_escaped(
        "OAuth error_description",
        &oauth_log,
        "dashboard sign-in refused",
    );

    // The unlock form's repository, on the loopback-open dashboard.
    let open = ServeProcess::start(&github, &[], &[]).await;
    let local = open.local_cookie().await;
    let token = support::dashboard_form_token(
        &http,
        &format!("{}/dashboard/try", open.base),
        &[("cookie", local.clone())],
    )
    .await;
    let unlocked = http
        .post(format!("{}/dashboard/locks/unlock", open.base))
        .header("origin", &open.base)
        .header(
            "cookie",
            support::local_link::cookies(&[Some(&local), token.cookie.as_deref()]),
        )
        .form(&[
            ("repo", format!("octo/repo\n{FORGED}")),
            ("deployment", "d".to_owned()),
            ("csrf", token.csrf.clone()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(unlocked.status(), 200, "{:?}", unlocked.text().await);
    let (_, unlock_log) = open.stop().await;

    assert_forgery_escaped(
        "unlock form repo",
        &unlock_log,
        "lock removed from the dashboard",
    );
}

/// `log` holds the forged text on exactly one line, the `event`'s own, newline escaped.
fn assert_forgery_escaped(what: &str, log: &str, event: &str) {
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("FORGED-LINE")).collect();
    assert_eq!(lines.len(), 1, "{what}: one line holds the text: {log}");
    assert!(
        lines[0].contains(event) && lines[0].contains("\\n2026-12-01T00"),
        "{what}: the newline is escaped within the event's own line: {}",
        lines[0]
    );
    assert!(
        !log.lines()
            .any(|line| line.starts_with("2026-12-01T00:00:00.000000Z")),
        "{what}: a forged line starts the log line: {log}"
    );
}
