//! The socket shell around [`EnclaveCore`]: accepts connections, reads request frames, and
//! writes each answer when it is ready, so one connection carries many requests in flight.
//!
//! A connection that sends an oversized frame or a body that does not decode is dropped (there
//! is no request id to answer); other connections are unaffected.

use std::future::Future;
use std::sync::Arc;

use signer_common::protocol::{RequestFrame, ResponseFrame};
use signer_transport::{Listener, Stream, buffered, read_frame, write_queued_frames};
use tokio::sync::{Semaphore, mpsc};
use tracing::{debug, info, warn};

use crate::core::EnclaveCore;

/// Most connections served at once; more wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 256;
/// Most requests in flight on one connection; the reader waits when a connection has this many.
pub const MAX_IN_FLIGHT_PER_CONNECTION: usize = 256;

/// Serves `listener` until `shutdown` completes, then stops accepting and returns.
pub async fn serve(mut listener: Listener, core: Arc<EnclaveCore>, shutdown: impl Future<Output = ()>) {
    let connections = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let Ok(permit) = connections.clone().acquire_owned().await else { return };
        let stream = tokio::select! {
            () = &mut shutdown => {
                info!("shutting down");
                return;
            }
            accepted = listener.accept() => match accepted {
                Ok(stream) => stream,
                Err(e) => {
                    warn!(error = %e, "accept failed");
                    continue;
                }
            },
        };
        let core = core.clone();
        tokio::spawn(async move {
            serve_connection(stream, core).await;
            drop(permit);
        });
    }
}

async fn serve_connection(stream: Stream, core: Arc<EnclaveCore>) {
    let (reader, mut writer) = tokio::io::split(stream);
    let mut reader = buffered(reader);
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(MAX_IN_FLIGHT_PER_CONNECTION);
    let writer_task = tokio::spawn(async move {
        if let Err(e) = write_queued_frames(&mut writer, &mut rx).await {
            debug!(error = %e, "connection closed while writing");
        }
    });
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT_PER_CONNECTION));
    loop {
        let body = match read_frame(&mut reader).await {
            Ok(Some(body)) => body,
            Ok(None) => break,
            Err(e) => {
                warn!(error = %e, "dropping connection: bad frame");
                break;
            }
        };
        let frame = match RequestFrame::decode(&body) {
            Ok(frame) => frame,
            Err(e) => {
                warn!(error = %e, "dropping connection: undecodable request");
                break;
            }
        };
        let Ok(permit) = in_flight.clone().acquire_owned().await else { break };
        let core = core.clone();
        let tx = tx.clone();
        // Each request is its own task on the runtime's worker threads (one per core), so a
        // connection's requests run in parallel and are answered as each finishes. Signing is
        // a few hundred microseconds of CPU: short enough for a worker thread, and measured
        // faster than a hop to the blocking pool (see docs/performance.md).
        tokio::spawn(async move {
            let response = ResponseFrame::new(frame.id, core.handle(frame.body)).encode();
            // The receiver is gone only when the connection is closing.
            let _ = tx.send(response).await;
            drop(permit);
        });
    }
    drop(tx);
    // Let answers already computed go out before the connection closes.
    let _ = writer_task.await;
}
