//! The listener: accepts connections up to a limit and serves each over HTTP/1.1 with
//! hyper, under a timeout for request heads, so that neither a slow client (one header
//! byte every few seconds) nor an idle socket holds a connection for ever. Shuts down
//! gracefully: no new connections, in-flight requests finish, idle connections close.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::config::in_range;
use crate::http::body_budget::{self, WebhookBodyLimits};

/// Bounds on what one client may hold: the settings of `promptops serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct HttpArgs {
    /// Seconds a client has to send a request's head (request line and headers), counted
    /// from when the server starts waiting for it: on a new connection, and between
    /// requests on a kept-alive one — so an idle connection is closed after it too.
    #[arg(
        long,
        env = "PROMPTOPS_HTTP_HEADER_TIMEOUT_SECS",
        default_value_t = 10,
        value_parser = in_range::<u64>("PROMPTOPS_HTTP_HEADER_TIMEOUT_SECS", 1..=3600)
    )]
    pub http_header_timeout_secs: u64,
    /// Connections served at once; further ones wait in the listen queue until one closes.
    #[arg(
        long,
        env = "PROMPTOPS_HTTP_MAX_CONNECTIONS",
        default_value_t = 256,
        value_parser = in_range::<u32>("PROMPTOPS_HTTP_MAX_CONNECTIONS", 1..=100_000)
    )]
    pub http_max_connections: u32,
    /// Seconds a webhook's body may take to arrive in full (GitHub waits 10 s for an
    /// answer); a slower one is answered 408.
    #[arg(
        long,
        env = "PROMPTOPS_WEBHOOK_BODY_TIMEOUT_SECS",
        default_value_t = body_budget::DEFAULT_TIMEOUT_SECS,
        value_parser = in_range::<u64>("PROMPTOPS_WEBHOOK_BODY_TIMEOUT_SECS", 1..=3600)
    )]
    pub webhook_body_timeout_secs: u64,
    /// MiB of webhook bodies held in memory at once, across all connections, while they
    /// are read and their signature checked. A delivery that does not fit is answered 503
    /// with `Retry-After` (GitHub's payloads are at most 25 MiB, most a few KiB).
    #[arg(
        long,
        env = "PROMPTOPS_WEBHOOK_READ_BUDGET_MIB",
        default_value_t = body_budget::DEFAULT_BUDGET_MIB,
        value_parser = in_range::<u32>("PROMPTOPS_WEBHOOK_READ_BUDGET_MIB", 1..=4095)
    )]
    pub webhook_read_budget_mib: u32,
}

impl HttpArgs {
    pub fn limits(&self) -> HttpLimits {
        HttpLimits {
            header_timeout: Duration::from_secs(self.http_header_timeout_secs),
            max_connections: self.http_max_connections as usize,
        }
    }

    pub fn webhook_body(&self) -> WebhookBodyLimits {
        WebhookBodyLimits::new(
            self.webhook_read_budget_mib as usize * 1024 * 1024,
            Duration::from_secs(self.webhook_body_timeout_secs),
        )
    }
}

/// How the listener bounds its connections.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    pub header_timeout: Duration,
    pub max_connections: usize,
}

/// Hyper's read buffer per connection: room for a request head (and body frames as they
/// arrive), but not for a large body sitting in a buffer of each of many connections.
const READ_BUFFER_BYTES: usize = 64 * 1024;

/// Serves `router` on `listener` until `shutdown`, then waits for in-flight requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &HttpLimits,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(READ_BUFFER_BYTES);
    loop {
        // A slot first: past the limit, connections wait in the kernel's listen queue
        // instead of holding memory here.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot.expect("the semaphore is never closed"),
            _ = shutdown.cancelled() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => break,
        };
        let service = TowerToHyperService::new(router.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                debug!(%peer, error = %err, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
