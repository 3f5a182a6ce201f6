//! `promptops serve`: the HTTP server and the workers in one process, with graceful
//! shutdown on SIGTERM/SIGINT (stop accepting, let in-flight jobs finish or release them).

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::app::{App, Overrides};
use crate::config::ServeSettings;

pub fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: logs written to a file, journald or a container runtime
    // would otherwise carry escape codes (and formatting them costs CPU on every span).
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    // Control characters in field values are escaped (see `log_format`); the JSON log
    // escapes them by its syntax.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder
            .fmt_fields(crate::cli::log_format::escaped_fields())
            .try_init()
    };
}

pub async fn run(settings: ServeSettings) -> anyhow::Result<()> {
    init_tracing(settings.log_json);
    let app = App::build(&settings, Overrides::default()).await?;
    let listener = tokio::net::TcpListener::bind(settings.bind)
        .await
        .with_context(|| format!("listening on {}", settings.bind))?;
    crate::setup::startup::log_listening(
        listener.local_addr()?,
        &app.setup.slot,
        app.setup.public_url.as_ref(),
    );
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        info!("shutting down: no new deliveries; in-flight jobs may finish");
        stop.cancel();
    });
    app.serve(listener, shutdown).await?;
    info!("stopped");
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
