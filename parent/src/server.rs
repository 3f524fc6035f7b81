//! The HTTP accept loop: HTTP/1.1 with a header-read timeout, a cap on open connections, and a
//! graceful drain at shutdown. See `docs/http-limits.md`.
//!
//! `axum::serve` configures no timer, so hyper's header-read timeout never fires there: a client
//! that opens connections and never finishes its headers would keep them forever. This loop
//! serves each connection with hyper's HTTP/1 builder and a Tokio timer instead.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower_service::Service as _;

/// How the loop treats connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A connection whose request headers are not complete this long after the parent starts
    /// reading them (also while idle between keep-alive requests) is closed.
    pub header_read_timeout: Duration,
    /// At most this many connections are open at once; further clients wait in the listen
    /// backlog until one closes.
    pub max_connections: usize,
}

/// Serves `app` on `listener` until `stop` turns true; then stops accepting, asks every open
/// connection to finish its current request and close, and returns once all are closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
) {
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
    let slots = Arc::new(Semaphore::new(max));
    loop {
        // A free slot first, then accept: a client beyond the cap waits in the backlog.
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            _ = stopped(&mut stop) => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, a connection reset before accept: wait and go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stopped(&mut stop) => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(remote));
                let mut app = app.clone();
                async move { Ok::<_, Infallible>(app.call(request).await.unwrap_or_else(|e| match e {})) }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, %remote, "connection ended");
                    }
                }
                _ = stopped(&mut stop) => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    // Every connection holds a slot until it closes: all slots back means all closed.
    let _ = slots.acquire_many(u32::try_from(max).unwrap_or(u32::MAX)).await;
}

/// Resolves once `stop` is true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// The address this loop puts into each request as [`ConnectInfo`], for the rate limiter.
pub type ClientAddr = ConnectInfo<SocketAddr>;
