//! The socket shell around [`EnclaveCore`]: accepts connections, reads request frames, and
//! writes each answer when it is ready, so one connection carries many requests in flight.
//!
//! A connection that sends an oversized frame or a body that does not decode is dropped (there
//! is no request id to answer); other connections are unaffected.
//!
//! No peer can hold the enclave's memory or time without bound (docs/enclave-limits.md has the
//! arithmetic):
//! - at most [`MAX_CONNECTIONS`]; one more is accepted and closed at once;
//! - once a frame's first byte has arrived the whole frame must arrive within
//!   [`Limits::frame_timeout`], and a write of answers must complete within it too;
//! - a connection with nothing in flight that sends nothing for [`Limits::idle_timeout`] is
//!   closed;
//! - requests are at most [`MAX_REQUEST_LEN`] bytes, at most [`MAX_IN_FLIGHT_PER_CONNECTION`]
//!   at once, and a connection stops being read while it holds more than
//!   [`QUEUE_BUDGET_BYTES`] of requests and unwritten answers (a peer that does not read its
//!   answers stops being read).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use signer_common::protocol::{MAX_MESSAGE_LEN, RequestFrame, ResponseFrame};
use signer_transport::{ByteBudget, Listener, Stream, buffered, read_frame_within, write_queued_frames_with};
use tokio::io::AsyncBufReadExt;
use tokio::sync::{Semaphore, mpsc};
use tracing::{debug, info, warn};

use crate::core::EnclaveCore;

/// Most connections served at once; one more is accepted and closed at once. The parent uses a
/// handful (its pool, 4 by default).
pub const MAX_CONNECTIONS: usize = 64;
/// Most requests in flight on one connection; the reader waits when a connection has this many.
pub const MAX_IN_FLIGHT_PER_CONNECTION: usize = 64;
/// The largest request frame body (160 KiB); anything longer is refused before it is read. A
/// signing `Call` carries its message in hex inside the JSON body (twice [`MAX_MESSAGE_LEN`])
/// beside its records and sealed wallet, which the other 32 KiB hold with room to spare.
pub const MAX_REQUEST_LEN: usize = 2 * MAX_MESSAGE_LEN + 32 * 1024;
/// Bytes of requests being handled and answers not yet written above which a connection is no
/// longer read (backpressure).
pub const QUEUE_BUDGET_BYTES: usize = 1 << 20;
/// Reserved per request on top of its own size, for its answer: an answer is its request's
/// payload plus at most a receipt and an attestation document (about 5 KiB).
pub const ANSWER_RESERVE_BYTES: usize = 16 * 1024;
// The reserve covers the largest answer beyond its request's payload (receipt and document).
const _: () = assert!(ANSWER_RESERVE_BYTES >= 8 * 1024);

/// The default of [`Limits::frame_timeout`].
pub const DEFAULT_FRAME_TIMEOUT: Duration = Duration::from_secs(10);
/// The default of [`Limits::idle_timeout`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// The deadlines of [`serve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Once the first byte of a frame has arrived, the whole frame must arrive within this; a
    /// write of answers must complete within it too.
    pub frame_timeout: Duration,
    /// A connection with no request in flight and nothing received for this long is closed.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { frame_timeout: DEFAULT_FRAME_TIMEOUT, idle_timeout: DEFAULT_IDLE_TIMEOUT }
    }
}

/// Serves `listener` until `shutdown` completes, then stops accepting and returns.
pub async fn serve(
    mut listener: Listener,
    core: Arc<EnclaveCore>,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let connections = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut last_refusal_logged: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
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
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            // Closed at once rather than left in the listen backlog, where it would hold the
            // peer without any deadline running. Logged at most once a second.
            if last_refusal_logged.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                warn!(max = MAX_CONNECTIONS, "refusing a connection: every slot is taken");
                last_refusal_logged = Some(Instant::now());
            }
            drop(stream);
            continue;
        };
        let core = core.clone();
        tokio::spawn(async move {
            serve_connection(stream, core, limits).await;
            drop(permit);
        });
    }
}

/// Why the reader stopped.
enum Stop {
    /// The peer closed between frames: answers already computed still go out.
    Closed,
    /// The connection misbehaved or failed: dropped at once.
    Dropped,
}

async fn serve_connection(stream: Stream, core: Arc<EnclaveCore>, limits: Limits) {
    let (reader, mut writer) = tokio::io::split(stream);
    let mut reader = buffered(reader);
    let budget = Arc::new(ByteBudget::new(QUEUE_BUDGET_BYTES));
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(MAX_IN_FLIGHT_PER_CONNECTION);
    let writer_task = tokio::spawn({
        let budget = budget.clone();
        async move {
            let written = |n| budget.give_back(n);
            let result =
                write_queued_frames_with(&mut writer, &mut rx, Some(limits.frame_timeout), written).await;
            if let Err(e) = result {
                debug!(error = %e, "connection closed while writing");
                budget.close();
            }
        }
    });
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT_PER_CONNECTION));
    let stop = loop {
        // Backpressure: a connection holding too many unwritten answers is not read.
        if !budget.room().await {
            break Stop::Dropped;
        }
        if reader.buffer().is_empty() {
            match wait_for_input(&mut reader, &budget, limits.idle_timeout).await {
                Ok(()) => {}
                Err(stop) => break stop,
            }
        }
        // The whole frame, from its first byte, within the frame deadline.
        let read =
            tokio::time::timeout(limits.frame_timeout, read_frame_within(&mut reader, MAX_REQUEST_LEN));
        let body = match read.await {
            Ok(Ok(Some(body))) => body,
            Ok(Ok(None)) => break Stop::Closed,
            Ok(Err(e)) => {
                warn!(error = %e, "dropping connection: bad frame");
                break Stop::Dropped;
            }
            Err(_) => {
                warn!(
                    timeout_s = limits.frame_timeout.as_secs_f64(),
                    "dropping connection: frame deadline passed"
                );
                break Stop::Dropped;
            }
        };
        let frame = match RequestFrame::decode(&body) {
            Ok(frame) => frame,
            Err(e) => {
                warn!(error = %e, "dropping connection: undecodable request");
                break Stop::Dropped;
            }
        };
        let reserved = reservation(body.len());
        drop(body);
        let Ok(permit) = in_flight.clone().acquire_owned().await else { break Stop::Dropped };
        budget.take(reserved);
        let core = core.clone();
        let tx = tx.clone();
        let budget = budget.clone();
        // Each request is its own task on the runtime's worker threads (one per core), so a
        // connection's requests run in parallel and are answered as each finishes. Signing is
        // a few hundred microseconds of CPU: short enough for a worker thread, and measured
        // faster than a hop to the blocking pool (see docs/performance.md).
        tokio::spawn(async move {
            let response = ResponseFrame::new(frame.id, core.handle(frame.body)).encode();
            let len = response.len();
            budget.settle(reserved, len);
            // The receiver is gone only when the connection is closing.
            if tx.send(response).await.is_err() {
                budget.give_back(len);
            }
            drop(permit);
        });
    };
    drop(tx);
    match stop {
        // Let answers already computed go out before the connection closes (each write still
        // under the frame deadline).
        Stop::Closed => drop(writer_task.await),
        Stop::Dropped => writer_task.abort(),
    }
}

/// The bytes a request holds from its connection's budget until its answer is written: itself,
/// and room for its answer.
fn reservation(request_len: usize) -> usize {
    request_len + ANSWER_RESERVE_BYTES
}

/// Waits for the next byte from the peer. A connection with nothing in flight that stays
/// silent for `idle` is closed; one with requests in flight or answers queued waits on.
async fn wait_for_input<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
    budget: &ByteBudget,
    idle: Duration,
) -> Result<(), Stop> {
    loop {
        let waited = tokio::select! {
            waited = tokio::time::timeout(idle, reader.fill_buf()) => waited,
            () = budget.closed() => return Err(Stop::Dropped),
        };
        match waited {
            // Bytes, or the end of the stream (which the frame read then reports).
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(e)) => {
                debug!(error = %e, "connection failed while idle");
                return Err(Stop::Dropped);
            }
            Err(_) if budget.held() == 0 => {
                debug!(idle_s = idle.as_secs_f64(), "closing an idle connection");
                return Err(Stop::Dropped);
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_reserves_room_for_its_answer_and_the_budget_still_pipelines_large_ones() {
        assert_eq!(reservation(1000), 1000 + ANSWER_RESERVE_BYTES);
        // A parent keeps several of the largest requests in flight on one connection before
        // backpressure stops reading it.
        assert!(QUEUE_BUDGET_BYTES / reservation(MAX_REQUEST_LEN) >= 5);
        // Small requests are bounded by the in-flight cap before the budget.
        assert!(QUEUE_BUDGET_BYTES / reservation(0) >= MAX_IN_FLIGHT_PER_CONNECTION);
    }
}
