//! The parent's client for the enclave socket.
//!
//! A small pool of connections, each multiplexing many requests: a writer task takes encoded
//! frames from a channel and writes them; a reader task routes each [`ResponseFrame`] by its `id`
//! to the caller waiting for it, so answers may arrive in any order. Calls are spread
//! round-robin over the connections.
//!
//! A connection whose socket fails (or that receives an undecodable frame) is marked dead: every
//! request pending on it fails at once with [`EnclaveUnavailable`], and the next call that lands
//! on its slot connects again. So after the enclave restarts, requests work again without
//! restarting the parent. Each call has a deadline; when it passes, the call fails with
//! [`EnclaveUnavailable`] and its pending entry is removed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use signer_common::protocol::{Request, RequestFrame, Response, ResponseFrame};
use signer_transport::{EnclaveAddr, buffered, read_frame, write_queued_frames};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;

/// Default number of connections in the pool.
pub const DEFAULT_POOL_SIZE: usize = 4;

/// Default deadline of one call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How many frames may wait for the writer of one connection.
const WRITE_QUEUE: usize = 1024;

/// Each connection sends a `Ping` this often, so the enclave never closes it as idle (its idle
/// deadline is 120 s by default, `signer-enclave --idle-timeout-secs`): a pooled connection
/// closed between two requests would fail the request written into the closing socket.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);

/// The request id of keepalive pings; calls are numbered from 1, so their answers are told apart.
const KEEPALIVE_ID: u64 = 0;

/// The enclave could not be reached, the connection broke, or the answer did not come in time.
/// Nothing is known about whether the enclave acted on the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("enclave unavailable: {reason}")]
pub struct EnclaveUnavailable {
    /// What went wrong (for logs; never contains request data).
    pub reason: String,
}

impl EnclaveUnavailable {
    fn new(reason: impl Into<String>) -> Self {
        EnclaveUnavailable { reason: reason.into() }
    }
}

/// A pooled, multiplexing client for one enclave. Cheap to clone.
#[derive(Clone)]
pub struct EnclaveClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EnclaveClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnclaveClient")
            .field("addr", &self.inner.addr)
            .field("pool_size", &self.inner.slots.len())
            .field("timeout", &self.inner.timeout)
            .finish()
    }
}

struct Inner {
    addr: EnclaveAddr,
    timeout: Duration,
    slots: Vec<Slot>,
    next_slot: AtomicUsize,
    next_id: AtomicU64,
}

/// One place in the pool.
struct Slot {
    /// The current connection, if any (a std mutex: held only to clone or replace the `Arc`).
    conn: Mutex<Option<Arc<Conn>>>,
    /// Serialises reconnection of this slot only, so one slow connect never blocks other slots,
    /// and concurrent callers on a dead slot make one connection rather than many.
    connecting: tokio::sync::Mutex<()>,
}

/// State shared by a connection's handle and its reader and writer tasks.
struct Shared {
    pending: Mutex<HashMap<u64, oneshot::Sender<Response>>>,
    dead: AtomicBool,
}

impl Shared {
    fn pending(&self) -> MutexGuard<'_, HashMap<u64, oneshot::Sender<Response>>> {
        // A poisoned map is still a valid map: entries are inserted and removed atomically.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    /// Marks the connection dead and fails every pending request (their receivers see the
    /// senders dropped). `dead` is set before the map is drained, and callers check `dead` after
    /// inserting, so no request can be left waiting on a dead connection.
    fn fail(&self, why: &str) {
        if !self.dead.swap(true, Ordering::SeqCst) {
            tracing::warn!(reason = why, "enclave connection lost");
        }
        let drained: Vec<_> = self.pending().drain().collect();
        drop(drained);
    }
}

/// One live connection.
struct Conn {
    shared: Arc<Shared>,
    frames: mpsc::Sender<Vec<u8>>,
    tasks: [AbortHandle; 3],
}

impl Drop for Conn {
    fn drop(&mut self) {
        // No caller holds this connection any more, so nothing is pending on it.
        self.shared.dead.store(true, Ordering::SeqCst);
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Removes a pending entry when the call ends, whichever way (answer, timeout, cancellation).
struct PendingGuard<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.shared.pending().remove(&self.id);
    }
}

impl EnclaveClient {
    /// A client for the enclave at `addr`, with `pool_size` connections (at least one) opened
    /// lazily, and `timeout` as the deadline of each call (connecting included).
    pub fn new(addr: EnclaveAddr, pool_size: usize, timeout: Duration) -> Self {
        let slots = (0..pool_size.max(1))
            .map(|_| Slot { conn: Mutex::new(None), connecting: tokio::sync::Mutex::new(()) })
            .collect();
        EnclaveClient {
            inner: Arc::new(Inner {
                addr,
                timeout,
                slots,
                next_slot: AtomicUsize::new(0),
                next_id: AtomicU64::new(1),
            }),
        }
    }

    /// The address this client connects to.
    pub fn addr(&self) -> &EnclaveAddr {
        &self.inner.addr
    }

    /// Sends `body` and waits for the enclave's answer (which may be [`Response::Error`]).
    pub async fn call(&self, body: Request) -> Result<Response, EnclaveUnavailable> {
        let inner = &*self.inner;
        let slot = &inner.slots[inner.next_slot.fetch_add(1, Ordering::Relaxed) % inner.slots.len()];
        let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
        let frame = RequestFrame::new(id, body).encode();
        match tokio::time::timeout(inner.timeout, self.call_on(slot, id, frame)).await {
            Ok(result) => result,
            Err(_) => {
                Err(EnclaveUnavailable::new(format!("no answer within {} ms", inner.timeout.as_millis())))
            }
        }
    }

    async fn call_on(&self, slot: &Slot, id: u64, frame: Vec<u8>) -> Result<Response, EnclaveUnavailable> {
        let conn = self.connection(slot).await?;
        let (tx, rx) = oneshot::channel();
        conn.shared.pending().insert(id, tx);
        let _guard = PendingGuard { shared: &conn.shared, id };
        if conn.shared.is_dead() {
            return Err(EnclaveUnavailable::new("connection lost"));
        }
        conn.frames.send(frame).await.map_err(|_| EnclaveUnavailable::new("connection lost"))?;
        rx.await.map_err(|_| EnclaveUnavailable::new("connection lost before the answer"))
    }

    /// The slot's live connection, connecting if there is none or it died.
    async fn connection(&self, slot: &Slot) -> Result<Arc<Conn>, EnclaveUnavailable> {
        if let Some(conn) = live(slot) {
            return Ok(conn);
        }
        let _connecting = slot.connecting.lock().await;
        if let Some(conn) = live(slot) {
            return Ok(conn);
        }
        let stream = signer_transport::connect(&self.inner.addr)
            .await
            .map_err(|e| EnclaveUnavailable::new(format!("connect to {}: {e}", self.inner.addr)))?;
        tracing::debug!(addr = %self.inner.addr, "connected to the enclave");
        let conn = Arc::new(spawn_conn(stream));
        let old = slot.conn.lock().unwrap_or_else(|e| e.into_inner()).replace(conn.clone());
        drop(old);
        Ok(conn)
    }
}

fn live(slot: &Slot) -> Option<Arc<Conn>> {
    let guard = slot.conn.lock().unwrap_or_else(|e| e.into_inner());
    guard.as_ref().filter(|c| !c.shared.is_dead()).cloned()
}

fn spawn_conn(stream: signer_transport::Stream) -> Conn {
    let shared = Arc::new(Shared { pending: Mutex::new(HashMap::new()), dead: AtomicBool::new(false) });
    let (read_half, mut write_half) = tokio::io::split(stream);
    let mut read_half = buffered(read_half);
    let (frames, mut queue) = mpsc::channel::<Vec<u8>>(WRITE_QUEUE);

    let keepalive = tokio::spawn({
        let frames = frames.clone();
        async move {
            let ping = RequestFrame::new(KEEPALIVE_ID, Request::Ping).encode();
            loop {
                tokio::time::sleep(KEEPALIVE_INTERVAL).await;
                // A full queue means the connection is busy, which keeps it alive by itself.
                if let Err(mpsc::error::TrySendError::Closed(_)) = frames.try_send(ping.clone()) {
                    return;
                }
            }
        }
    });

    let writer = tokio::spawn({
        let shared = shared.clone();
        async move {
            if let Err(e) = write_queued_frames(&mut write_half, &mut queue).await {
                shared.fail(&format!("write: {e}"));
            }
        }
    });

    let reader = tokio::spawn({
        let shared = shared.clone();
        async move {
            loop {
                match read_frame(&mut read_half).await {
                    Ok(Some(bytes)) => match ResponseFrame::decode(&bytes) {
                        Ok(frame) => {
                            let waiter = shared.pending().remove(&frame.id);
                            match waiter {
                                // The caller may have given up meanwhile; that is fine.
                                Some(tx) => drop(tx.send(frame.body)),
                                None if frame.id == KEEPALIVE_ID => {}
                                None => tracing::debug!(id = frame.id, "answer for no pending request"),
                            }
                        }
                        Err(e) => {
                            shared.fail(&format!("undecodable answer: {e}"));
                            return;
                        }
                    },
                    Ok(None) => {
                        shared.fail("closed by the enclave");
                        return;
                    }
                    Err(e) => {
                        shared.fail(&format!("read: {e}"));
                        return;
                    }
                }
            }
        }
    });

    Conn { shared, frames, tasks: [writer.abort_handle(), reader.abort_handle(), keepalive.abort_handle()] }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signer_common::protocol::{ErrorCode, Pong};
    use signer_transport::{Listener, write_frame};

    fn pong(nsm: &str) -> Response {
        Response::Pong(Pong { ready: true, nsm: nsm.into() })
    }

    /// Accepts one connection, reads `n` requests, answers them in reverse order (each answer
    /// names the request id in `nsm`), then closes.
    async fn answer_reversed_then_close(listener: &mut Listener, n: usize) {
        let mut stream = listener.accept().await.unwrap();
        let mut ids = Vec::new();
        while ids.len() < n {
            let bytes = read_frame(&mut stream).await.unwrap().unwrap();
            ids.push(RequestFrame::decode(&bytes).unwrap().id);
        }
        for id in ids.into_iter().rev() {
            let frame = ResponseFrame::new(id, pong(&id.to_string()));
            write_frame(&mut stream, &frame.encode()).await.unwrap();
        }
    }

    #[tokio::test]
    async fn out_of_order_answers_reach_their_callers_then_dead_connection_fails_then_reconnects() {
        let dir = tempfile::tempdir().unwrap();
        let addr = EnclaveAddr::Unix(dir.path().join("e.sock"));
        let mut listener = Listener::bind(&addr).unwrap();
        let client = EnclaveClient::new(addr.clone(), 1, Duration::from_secs(5));

        // Eight requests in flight on one connection, answered in reverse order.
        let server = tokio::spawn(async move {
            answer_reversed_then_close(&mut listener, 8).await;
            listener
        });
        let calls: Vec<_> = (0..8)
            .map(|_| {
                let client = client.clone();
                tokio::spawn(async move { client.call(Request::Ping).await })
            })
            .collect();
        let mut answered = Vec::new();
        for call in calls {
            match call.await.unwrap().unwrap() {
                Response::Pong(p) => answered.push(p.nsm.parse::<u64>().unwrap()),
                other => panic!("{other:?}"),
            }
        }
        answered.sort_unstable();
        answered.dedup();
        assert_eq!(answered.len(), 8, "each caller got its own answer");
        let mut listener = server.await.unwrap();

        // The server closed the connection: a request pending on it fails at once.
        let pending = tokio::spawn({
            let client = client.clone();
            async move { client.call(Request::Ping).await }
        });
        // Accept the reconnection, read the request, then close without answering.
        let mut stream = listener.accept().await.unwrap();
        let started = std::time::Instant::now();
        let _ = read_frame(&mut stream).await.unwrap().unwrap();
        drop(stream);
        assert!(pending.await.unwrap().is_err());
        assert!(started.elapsed() < Duration::from_secs(2), "failed at once, not by timeout");

        // The enclave goes away entirely: calls fail cleanly.
        drop(listener);
        std::fs::remove_file(dir.path().join("e.sock")).unwrap();
        assert!(client.call(Request::Ping).await.is_err());

        // ...and comes back: the next call reconnects.
        let mut listener = Listener::bind(&addr).unwrap();
        let server = tokio::spawn(async move { answer_reversed_then_close(&mut listener, 1).await });
        assert!(matches!(client.call(Request::Ping).await.unwrap(), Response::Pong(_)));
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_silent_enclave_times_out_and_the_pending_entry_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let addr = EnclaveAddr::Unix(dir.path().join("e.sock"));
        let mut listener = Listener::bind(&addr).unwrap();
        let client = EnclaveClient::new(addr, 1, Duration::from_millis(200));
        let server = tokio::spawn(async move {
            let mut stream = listener.accept().await.unwrap();
            // Read the request and the next one; answer only the second, with an error.
            let first = RequestFrame::decode(&read_frame(&mut stream).await.unwrap().unwrap()).unwrap();
            let second = RequestFrame::decode(&read_frame(&mut stream).await.unwrap().unwrap()).unwrap();
            // A late answer to the timed-out request is ignored.
            let late = ResponseFrame::new(first.id, pong("late"));
            write_frame(&mut stream, &late.encode()).await.unwrap();
            let answer = ResponseFrame::new(second.id, Response::error(ErrorCode::NotReady, "no key"));
            write_frame(&mut stream, &answer.encode()).await.unwrap();
            stream
        });
        let err = client.call(Request::Ping).await.unwrap_err();
        assert!(err.reason.contains("no answer"), "{err}");
        {
            let slot = live(&client.inner.slots[0]).unwrap();
            assert!(slot.shared.pending().is_empty());
        }
        match client.call(Request::Ping).await.unwrap() {
            Response::Error(e) => assert_eq!(e.code, ErrorCode::NotReady),
            other => panic!("{other:?}"),
        }
        drop(server.await.unwrap());
    }

    #[tokio::test]
    async fn garbage_from_the_enclave_kills_the_connection() {
        let dir = tempfile::tempdir().unwrap();
        let addr = EnclaveAddr::Unix(dir.path().join("e.sock"));
        let mut listener = Listener::bind(&addr).unwrap();
        let client = EnclaveClient::new(addr, 2, Duration::from_secs(5));
        let server = tokio::spawn(async move {
            let mut stream = listener.accept().await.unwrap();
            let _ = read_frame(&mut stream).await.unwrap().unwrap();
            write_frame(&mut stream, b"\xff\xff").await.unwrap();
            stream
        });
        let started = std::time::Instant::now();
        assert!(client.call(Request::Ping).await.is_err());
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(server.await.unwrap());
    }

    #[tokio::test]
    async fn connecting_to_nothing_fails_fast() {
        let dir = tempfile::tempdir().unwrap();
        let client = EnclaveClient::new(EnclaveAddr::Unix(dir.path().join("none.sock")), 4, DEFAULT_TIMEOUT);
        let started = std::time::Instant::now();
        for _ in 0..8 {
            assert!(client.call(Request::Ping).await.is_err());
        }
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_pings_the_enclave_so_it_is_never_closed_as_idle() {
        let dir = tempfile::tempdir().unwrap();
        let addr = EnclaveAddr::Unix(dir.path().join("e.sock"));
        let mut listener = Listener::bind(&addr).unwrap();
        let client = EnclaveClient::new(addr.clone(), 1, Duration::from_secs(5));
        let server = tokio::spawn(async move {
            let mut stream = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            while seen.len() < 4 {
                let bytes = read_frame(&mut stream).await.unwrap().unwrap();
                let frame = RequestFrame::decode(&bytes).unwrap();
                assert!(matches!(frame.body, Request::Ping));
                seen.push((frame.id, tokio::time::Instant::now()));
                write_frame(&mut stream, &ResponseFrame::new(frame.id, pong("mock")).encode()).await.unwrap();
            }
            seen
        });
        assert!(matches!(client.call(Request::Ping).await.unwrap(), Response::Pong(_)));
        // Nothing else is sent: three keepalive pings follow, one per interval, well inside the
        // enclave's default idle deadline.
        let seen = tokio::time::timeout(Duration::from_secs(100), server)
            .await
            .expect("three pings within 100 s of silence")
            .unwrap();
        assert_eq!(seen[0].0, 1, "the call");
        assert!(seen[1..].iter().all(|(id, _)| *id == KEEPALIVE_ID));
        for pair in seen[1..].windows(2) {
            assert_eq!(pair[1].1 - pair[0].1, KEEPALIVE_INTERVAL);
        }
        assert!(KEEPALIVE_INTERVAL * 2 < Duration::from_secs(120));
    }
}
