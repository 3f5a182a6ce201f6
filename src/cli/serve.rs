//! `promptops serve`: the HTTP server and the workers in one process, with graceful
//! shutdown on SIGTERM/SIGINT (stop accepting, let in-flight jobs finish or release them).

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::app::{App, Overrides};
use crate::config::ServeSettings;

pub async fn run(settings: ServeSettings) -> anyhow::Result<()> {
    // Lives until `run` returns: what is still queued is written out then.
    let log = crate::cli::logging::init(settings.log_json);
    // Ends with the runtime, after `run` returned.
    tokio::spawn(log.report_dropped_lines());
    let app = App::build(&settings, Overrides::default()).await?;
    let listener = tokio::net::TcpListener::bind(settings.bind)
        .await
        .with_context(|| format!("listening on {}", settings.bind))?;
    crate::setup::startup::log_listening(
        listener.local_addr()?,
        &app.setup.slot,
        app.setup.public_url.as_ref(),
        &app.dashboard.access,
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
