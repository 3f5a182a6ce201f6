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
    let (filter, warnings) = log_filter(std::env::var("RUST_LOG").ok().as_deref());
    // Said before the first log line, on stderr, whatever the filter lets through.
    for warning in warnings {
        eprintln!("{}", warning_line(&warning, json));
    }
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

/// The filter when `RUST_LOG` is unset or blank, and in place of a directive it cannot use.
const DEFAULT_FILTER: &str = "info";

/// The first `::` segment of the targets this service logs under: its own crates and the
/// libraries whose events reach its log.
const KNOWN_TARGETS: &[&str] = &[
    "axum",
    "h2",
    "hyper",
    "hyper_util",
    "octocrab",
    "reqwest",
    "rustls",
    "sqlx",
    "tokio",
    "tower",
    "tower_http",
    "tracing",
];

/// The filter `RUST_LOG` (`spec`) asks for, and a warning for each part not used as
/// written. A bare word that is no level is read by `EnvFilter` as a target, and a filter
/// naming only targets turns everything else off — errors included — so `RUST_LOG=debg`
/// or `verbose` silenced the whole log. Such a word is replaced by the default level unless
/// it names one of the known targets (`<target>=trace` keeps any other target as written).
fn log_filter(spec: Option<&str>) -> (tracing_subscriber::EnvFilter, Vec<String>) {
    use tracing_subscriber::EnvFilter;
    let Some(spec) = spec.map(str::trim).filter(|spec| !spec.is_empty()) else {
        return (EnvFilter::new(DEFAULT_FILTER), Vec::new());
    };
    let mut warnings = Vec::new();
    let directives: Vec<&str> = spec
        .split(',')
        .map(|directive| {
            let word = directive.trim();
            if is_unknown_bare_word(word) {
                warnings.push(format!(
                    "RUST_LOG: `{word}` is neither a level (error, warn, info, debug, trace, off) nor a known log target; using `{DEFAULT_FILTER}` in its place (write `{word}=trace` if it is a target)"
                ));
                DEFAULT_FILTER
            } else {
                directive
            }
        })
        .collect();
    match EnvFilter::try_new(directives.join(",")) {
        Ok(filter) => (filter, warnings),
        Err(err) => {
            warnings.push(format!(
                "RUST_LOG {spec:?} cannot be read ({err}); logging at `{DEFAULT_FILTER}`"
            ));
            (EnvFilter::new(DEFAULT_FILTER), warnings)
        }
    }
}

/// Whether `directive` is a bare word (no `=`, no span) naming no level and no known target.
fn is_unknown_bare_word(directive: &str) -> bool {
    if directive.is_empty() || directive.contains(['=', '[']) {
        return false;
    }
    if directive
        .parse::<tracing_subscriber::filter::LevelFilter>()
        .is_ok()
    {
        return false;
    }
    let root = directive.split("::").next().unwrap_or(directive);
    !(root == "promptops" || root.starts_with("promptops_") || KNOWN_TARGETS.contains(&root))
}

/// A warning about the log's settings as a line of the log's own format.
fn warning_line(message: &str, json: bool) -> String {
    if json {
        serde_json::json!({
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "level": "WARN",
            "fields": { "message": message },
            "target": module_path!(),
        })
        .to_string()
    } else {
        format!("promptops: warning: {message}")
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

#[cfg(test)]
mod tests {
    use super::log_filter;

    /// The filter's directives as `EnvFilter` prints them, and the warnings.
    fn read(spec: &str) -> (String, Vec<String>) {
        let (filter, warnings) = log_filter(Some(spec));
        (filter.to_string(), warnings)
    }

    #[test]
    fn a_word_that_is_no_level_and_no_target_falls_back_to_info_with_a_warning() {
        for typo in ["debg", "verbose"] {
            let (filter, warnings) = read(typo);
            assert_eq!(filter, "info", "{typo}");
            assert_eq!(warnings.len(), 1, "{warnings:?}");
            assert!(
                warnings[0].contains(&format!("`{typo}` is neither a level")),
                "{warnings:?}"
            );
        }
        let (filter, warnings) = read("sqlx=debug,verbose");
        assert!(filter.contains("sqlx=debug"), "{filter}");
        assert!(filter.contains("info"), "{filter}");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    #[test]
    fn levels_known_targets_and_explicit_directives_are_kept_without_a_word() {
        for spec in [
            "debug",
            "WARN",
            "promptops",
            "promptops_store::queue",
            "tower_http",
            "hickory=trace",
            "info,promptops[job]=debug",
        ] {
            let (_, warnings) = read(spec);
            assert!(warnings.is_empty(), "{spec}: {warnings:?}");
        }
        let (filter, warnings) = read("info,sqlx=bogus");
        assert_eq!(filter, "info");
        assert!(warnings[0].contains("cannot be read"), "{warnings:?}");
    }
}
