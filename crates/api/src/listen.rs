//! The accept loop: axum's router over hyper, with the limits a public server needs and
//! `axum::serve` does not set: at most [`ServeLimits::max_connections`] connections at
//! once (further clients wait in the listen backlog), a deadline for each request's
//! headers (an idle or trickling socket is closed instead of holding a connection
//! forever), and a shutdown that lets in-flight requests finish but waits no longer than
//! [`ServeLimits::shutdown_grace`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

/// Connection limits of the server.
#[derive(Debug, Clone)]
pub struct ServeLimits {
    /// Most connections served at once.
    pub max_connections: usize,
    /// Longest a client may take to send a request's headers, including the first one
    /// after it connects and each one on a kept-alive connection.
    pub header_read_timeout: Duration,
    /// Longest a shutdown waits for open connections to finish.
    pub shutdown_grace: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            // Far more than dashboards and liaisons keep open, far fewer than the process
            // may hold (file descriptors, memory per connection).
            max_connections: 1_024,
            header_read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, within `limits`.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: ServeLimits,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Connections hold a receiver of `stop` (to hear the shutdown) and of `open` (so the
    // shutdown can wait for them to close).
    let (stop, _) = watch::channel(false);
    let (open_tx, open_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let socket = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => socket,
                Err(e) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(
            router
                .clone()
                .map_request(|req: Request<Incoming>| req.map(Body::new)),
        );
        let mut stopping = stop.subscribe();
        let open = open_rx.clone();
        let header_read_timeout = limits.header_read_timeout;
        tokio::spawn(async move {
            let stop_signal = async move {
                let _ = stopping.wait_for(|s| *s).await;
            };
            let mut stop_signal = std::pin::pin!(stop_signal);
            // hyper times the headers from their first byte: a socket that sends none is
            // closed here, at the same deadline (or at once when the server stops).
            let mut first = [0u8; 1];
            tokio::select! {
                peeked = tokio::time::timeout(header_read_timeout, socket.peek(&mut first)) => {
                    if peeked.is_err() {
                        return;
                    }
                }
                () = stop_signal.as_mut() => return,
            }
            let mut builder = Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout);
            builder.http2().enable_connect_protocol();
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(socket), service);
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                served = conn.as_mut() => {
                    if let Err(e) = served {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                }
                () = stop_signal => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(permit);
            drop(open);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    drop(open_rx);
    if tokio::time::timeout(limits.shutdown_grace, open_tx.closed())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_s = limits.shutdown_grace.as_secs(),
            "connections still open after the shutdown grace period; closing them"
        );
    }
    Ok(())
}
