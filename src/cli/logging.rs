//! The service's log: formatted on the thread that logs, written to stderr by a thread of
//! its own.
//!
//! A log line written straight to stderr blocks in `write(2)` once the reader stops
//! reading (a full pipe: a stalled log shipper, a terminal paused with Ctrl-S): the tokio
//! worker that logged stalls, and with it every request and job scheduled on it. Here a
//! line goes into a bounded queue instead and the writer thread alone waits for the pipe.
//! The queue is lossy: when it is full (`QUEUED_LINES` lines behind) a new line is dropped
//! rather than waited for, and counted; `report_dropped_lines` logs the count once the
//! reader is back, so that a gap in the log is never silent.

use std::time::Duration;

use tracing::warn;
use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};

/// Lines the log may be behind its reader before new ones are dropped: about 10 MB of
/// typical lines, minutes of a busy service's log.
const QUEUED_LINES: usize = 64 * 1024;

/// How often the count of dropped lines is looked at.
const DROP_REPORT_INTERVAL: Duration = Duration::from_secs(10);

/// Keeps the log's writer thread; dropping it writes out what is queued (for a second at
/// most, so that a stalled reader cannot hold up the exit).
pub struct LogWriter {
    _guard: WorkerGuard,
    dropped: ErrorCounter,
}

/// Installs the process's log subscriber (`RUST_LOG`, default `info`; JSON lines when
/// `json`), writing to stderr through the writer thread.
pub fn init(json: bool) -> LogWriter {
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(QUEUED_LINES)
        .thread_name("promptops-log")
        .finish(std::io::stderr());
    let dropped = writer.error_counter();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: logs written to a file, journald or a container runtime
    // would otherwise carry escape codes (and formatting them costs CPU on every span).
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer);
    // Control characters in field values are escaped (see `log_format`); the JSON log
    // escapes them by its syntax.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder
            .fmt_fields(crate::cli::log_format::escaped_fields())
            .try_init()
    };
    LogWriter {
        _guard: guard,
        dropped,
    }
}

impl LogWriter {
    /// Logs how many lines were dropped since the last report, whenever that grew; runs
    /// until the task is dropped. (The report is a log line too: should it be dropped as
    /// well, the next one still carries the total.)
    pub fn report_dropped_lines(&self) -> impl Future<Output = ()> + Send + 'static {
        let dropped = self.dropped.clone();
        async move {
            let mut reported = 0;
            let mut interval = tokio::time::interval(DROP_REPORT_INTERVAL);
            loop {
                interval.tick().await;
                let total = dropped.dropped_lines();
                if total > reported {
                    warn!(
                        dropped = total - reported,
                        total,
                        "log lines dropped: the log's reader did not keep up (stderr not read fast enough)"
                    );
                    reported = total;
                }
            }
        }
    }
}
