//! A log nobody reads: the service's stdout and stderr are pipes that are never read, so
//! they fill after 64 KiB. Deliveries must still be answered (the log is written by a
//! thread of its own that alone waits for the pipe), and SIGTERM must still end the process.

use std::time::Duration;

use super::support::serve_process::{Log, ServeProcess};
use super::{Answer, Sender, github_with_issue};

#[tokio::test(flavor = "multi_thread")]
async fn a_log_pipe_nobody_reads_does_not_stop_deliveries() {
    let (github, issue) = github_with_issue("I need 2 T4 GPUs in us-west1").await;
    // Trace logging: every request logs dozens of lines, so the pipe fills within the first
    // deliveries (at `debug` 300 of them leave it just short of full).
    let env = [("RUST_LOG", "trace".to_owned())];
    let server = ServeProcess::start_with(&github, &[], &env, Log::Unread).await;
    let sender = Sender::new(issue);
    for n in 0..300 {
        let body = if n % 10 == 0 {
            "/promptops help"
        } else {
            "thanks!"
        };
        let answer = sender
            .send(&server.base, &format!("unread-log-{n}"), body)
            .await;
        assert_eq!(
            answer,
            Answer::Accepted { duplicate: false },
            "delivery {n}, with {} bytes of log unread",
            server.unread_log_bytes()
        );
    }
    // The scenario happened: the log's writer waits for the pipe, and nothing else does.
    let waiting = server.threads_waiting_on_a_pipe();
    let unread = server.unread_log_bytes();
    assert_eq!(
        waiting,
        ["promptops-log"],
        "threads waiting for the full log pipe ({unread} bytes unread)"
    );
    eprintln!(
        "fault figures: log pipe never read: 300 deliveries answered, {unread} bytes waiting in the pipe, only the log thread waiting"
    );

    let (status, _) = tokio::time::timeout(Duration::from_secs(30), server.stop())
        .await
        .expect("SIGTERM ends the process within 30 s although its log pipe is full");
    assert!(status.success(), "{status:?}");
}
