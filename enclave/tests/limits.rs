//! Attacks on the enclave socket, against the real `signer-enclave` binary (mock NSM, Unix
//! socket, own temporary directory): peers that hold half a frame, that fill every connection
//! slot, or that send large requests and never read the answers. See docs/enclave-limits.md.
#![cfg(feature = "mock-nsm")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use signer_common::frame;
use signer_common::protocol::{
    AttestationMode, MAX_MESSAGE_LEN, Outcome, Request, RequestFrame, Response, ResponseFrame, WalletContext,
};
use signer_enclave::server::MAX_REQUEST_LEN;

mod support;

/// A running enclave, stopped (standard input closed, then killed) when dropped.
struct Enclave {
    child: Child,
    dir: tempfile::TempDir,
}

impl Enclave {
    fn start(extra: &[&str]) -> Enclave {
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_signer-enclave"))
            .arg("--listen")
            .arg(format!("unix:{}", dir.path().join("e.sock").display()))
            .args(["--nsm", "mock", "--dev-master-key", "--state-dir"])
            .arg(dir.path().join("state"))
            .args(extra)
            .arg("--exit-with-stdin")
            .stdin(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let enclave = Enclave { child, dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(mut s) = UnixStream::connect(enclave.socket()) {
                s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                if matches!(call(&mut s, 1, Request::Ping), Some(Response::Pong(p)) if p.ready) {
                    return enclave;
                }
            }
            assert!(Instant::now() < deadline, "the enclave never answered");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("e.sock")
    }

    fn connect(&self) -> UnixStream {
        let s = UnixStream::connect(self.socket()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        s
    }

    /// `VmRSS` or `VmHWM` (peak) of the enclave process, in KiB.
    fn memory_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with(field)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}

impl Drop for Enclave {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn send(stream: &mut UnixStream, id: u64, request: Request) -> std::io::Result<()> {
    stream.write_all(&frame::encode(&RequestFrame::new(id, request).encode()).unwrap())
}

/// Reads one answer; `None` when the enclave closed the connection (or reset it).
fn read_answer(stream: &mut UnixStream) -> Option<ResponseFrame> {
    let mut header = [0u8; 4];
    match stream.read_exact(&mut header) {
        Ok(()) => {}
        Err(e) if matches!(e.kind(), ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset) => return None,
        Err(e) => panic!("no answer and no close: {e}"),
    }
    let mut body = vec![0u8; frame::body_len(header).unwrap()];
    stream.read_exact(&mut body).unwrap();
    Some(ResponseFrame::decode(&body).unwrap())
}

fn call(stream: &mut UnixStream, id: u64, request: Request) -> Option<Response> {
    send(stream, id, request).ok()?;
    let answer = read_answer(stream)?;
    assert_eq!(answer.id, id);
    Some(answer.body)
}

/// Waits until the enclave closes `stream` (EOF or reset) and answers how long it took. Fails
/// if it sends anything or stays open for `limit`.
fn time_until_closed(stream: &mut UnixStream, limit: Duration) -> Duration {
    let start = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Ok(_) => panic!("the enclave answered a peer that sent no complete request"),
        Err(e) => panic!("still open after {:?}: {e}", start.elapsed()),
    }
    start.elapsed()
}

/// A peer that sent the first two bytes of a length prefix, and one that sent a whole header
/// (a 100-byte frame) and ten bytes of body.
fn half_prefix_and_half_frame(enclave: &Enclave) -> [UnixStream; 2] {
    let mut half_prefix = enclave.connect();
    half_prefix.write_all(&[0, 0]).unwrap();
    let mut half_frame = enclave.connect();
    half_frame.write_all(&100u32.to_be_bytes()).unwrap();
    half_frame.write_all(&[0xa3; 10]).unwrap();
    [half_prefix, half_frame]
}

#[test]
fn peers_holding_half_a_frame_are_dropped_within_30_s_with_the_default_flags() {
    let enclave = Enclave::start(&[]);
    let peers = half_prefix_and_half_frame(&enclave);
    let handles: Vec<_> = peers
        .into_iter()
        .map(|mut peer| std::thread::spawn(move || time_until_closed(&mut peer, Duration::from_secs(40))))
        .collect();
    for handle in handles {
        let took = handle.join().unwrap();
        assert!(took < Duration::from_secs(30), "dropped only after {took:?}");
    }
    // The enclave itself is fine.
    assert!(matches!(call(&mut enclave.connect(), 2, Request::Ping), Some(Response::Pong(_))));
}

#[test]
fn short_deadlines_drop_half_frames_and_idle_peers_but_not_working_ones() {
    let enclave = Enclave::start(&["--frame-timeout-secs", "1", "--idle-timeout-secs", "3"]);
    let [mut half_prefix, mut half_frame] = half_prefix_and_half_frame(&enclave);
    let mut silent = enclave.connect();
    let mut worker = enclave.connect();
    assert!(time_until_closed(&mut half_prefix, Duration::from_secs(10)) < Duration::from_secs(3));
    assert!(time_until_closed(&mut half_frame, Duration::from_secs(10)) < Duration::from_secs(3));
    // A peer that keeps asking is served past the idle deadline...
    let start = Instant::now();
    let mut id = 10;
    while start.elapsed() < Duration::from_secs(5) {
        id += 1;
        assert!(matches!(call(&mut worker, id, Request::Ping), Some(Response::Pong(_))), "request {id}");
        std::thread::sleep(Duration::from_millis(500));
    }
    // ...while one that never sent anything was closed after the idle deadline,
    assert!(time_until_closed(&mut silent, Duration::from_secs(10)) < Duration::from_secs(1));
    // and so is the worker once it stops asking.
    let idle = time_until_closed(&mut worker, Duration::from_secs(10));
    assert!(
        idle > Duration::from_secs(2) && idle < Duration::from_secs(8),
        "idle worker closed after {idle:?}"
    );
}

#[test]
fn three_hundred_stalled_peers_are_refused_beyond_the_cap_then_dropped_and_the_enclave_serves_again() {
    let enclave = Enclave::start(&["--frame-timeout-secs", "3"]);
    let mut peers: Vec<UnixStream> = (0..300)
        .map(|_| {
            let mut s = enclave.connect();
            // Those beyond the cap may already be closed: a failed write is fine.
            let _ = s.write_all(&[0, 0]);
            s
        })
        .collect();
    // While they hold every slot, a new connection is closed at once without an answer (rather
    // than left waiting in the listen backlog).
    let mut late = enclave.connect();
    let refused = time_until_closed(&mut late, Duration::from_secs(2));
    assert!(refused < Duration::from_secs(1), "{refused:?}");
    // Every stalled peer is dropped: those beyond the cap at once, the others at their frame
    // deadline.
    let start = Instant::now();
    for peer in &mut peers {
        time_until_closed(peer, Duration::from_secs(15));
    }
    assert!(start.elapsed() < Duration::from_secs(10), "all dropped only after {:?}", start.elapsed());
    // Then the enclave serves new connections.
    for id in 0..10 {
        assert!(
            matches!(call(&mut enclave.connect(), id, Request::Ping), Some(Response::Pong(p)) if p.ready)
        );
    }
}

/// The admin of a new organisation and an Ed25519 wallet of theirs, made over `stream`.
fn user_and_wallet(stream: &mut UnixStream) -> (support::User, WalletContext) {
    let mut next = 1000;
    let mut send = |request| {
        next += 1;
        call(stream, next, request).expect("no answer")
    };
    let user = support::admin(&mut send, "or-limits", 7);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    match send(user.one_shot("POST", "/wallets", br#"{"curve":"ed25519"}"#, now, "create-wallet-00001")) {
        Response::Called(c) => match c.outcome {
            Outcome::WalletCreated(w) => {
                let context = support::wallet_context(&w);
                (user, context)
            }
            other => panic!("no wallet: {other:?}"),
        },
        other => panic!("no wallet: {other:?}"),
    }
}

/// The largest message the enclave signs; its signing call (the message in hex in the JSON body,
/// beside the records) fits in a request frame, which `large_sign`'s caller checks.
const LARGE_MESSAGE_LEN: usize = MAX_MESSAGE_LEN;

/// A one-shot call signing a large message (the largest valid requests).
fn large_sign(user: &support::User, wallet: &WalletContext, request_id: String, fill: u8) -> Request {
    let body =
        format!(r#"{{"kind":"Message","message":"0x{}"}}"#, hex::encode(vec![fill; LARGE_MESSAGE_LEN]));
    let path = format!("/wallets/{}/signatures", wallet.sealed.wallet_id);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let auth = user.one_shot_auth("POST", &path, body.as_bytes(), now, &request_id);
    let mut call = user.call("POST", &path, body.as_bytes(), auth);
    call.wallet = Some(wallet.clone());
    call.attestation = AttestationMode::Fresh;
    Request::Call(Box::new(call))
}

/// Sends signing calls of a large message without reading any answer, until the enclave stops
/// taking them (a write blocks for a second) or it closes the connection. Answers how many
/// bytes were sent.
fn greedy_peer(socket: &Path, user: support::User, wallet: WalletContext, peer: u64) -> usize {
    let mut stream = UnixStream::connect(socket).unwrap();
    stream.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
    let mut sent = 0;
    for i in 0..4096u64 {
        let request = large_sign(&user, &wallet, format!("sig-{peer}-{i:016}"), i as u8);
        let bytes = RequestFrame::new(i, request).encode();
        assert!(bytes.len() <= MAX_REQUEST_LEN, "a request of {} bytes", bytes.len());
        let bytes = frame::encode(&bytes).unwrap();
        if stream.write_all(&bytes).is_err() {
            break;
        }
        sent += bytes.len();
    }
    // Keep the connection open, still not reading, while the enclave's memory is measured.
    std::thread::sleep(Duration::from_secs(3));
    sent
}

#[test]
fn greedy_peers_that_never_read_cannot_grow_the_enclave_by_64_mib() {
    let enclave = Enclave::start(&[]);
    let mut conn = enclave.connect();
    let (user, wallet) = user_and_wallet(&mut conn);
    // One request of each kind the peers send, so that what is allocated once is counted before.
    for id in 0..4 {
        let answer =
            call(&mut conn, 100 + id, large_sign(&user, &wallet, format!("warm-request-{id:08}"), 0));
        let signed = matches!(&answer, Some(Response::Called(c)) if matches!(c.outcome, Outcome::Signed(_)));
        assert!(signed, "{answer:?}");
    }
    let before = enclave.memory_kib("VmRSS:");
    // Reset the peak (VmHWM) to the current RSS: start-up (reading its own image to measure it)
    // peaks higher than anything after.
    std::fs::write(format!("/proc/{}/clear_refs", enclave.child.id()), "5").unwrap();
    let socket = enclave.socket();
    let peers: Vec<_> = (0..8)
        .map(|peer| {
            let (socket, user, wallet) = (socket.clone(), user.clone(), wallet.clone());
            std::thread::spawn(move || greedy_peer(&socket, user, wallet, peer))
        })
        .collect();
    // Measured while the peers still hold their connections, unread answers and all.
    std::thread::sleep(Duration::from_secs(2));
    let sent: usize = peers.into_iter().map(|p| p.join().unwrap()).sum();
    let peak = enclave.memory_kib("VmHWM:");
    let grew_mib = peak.saturating_sub(before) / 1024;
    eprintln!(
        "greedy peers: sent {} MiB; enclave RSS {} MiB before, peak {} MiB (+{grew_mib} MiB), now {} MiB",
        sent >> 20,
        before / 1024,
        peak / 1024,
        enclave.memory_kib("VmRSS:") / 1024
    );
    assert!(sent > 8 * 1024 * 1024, "the peers could not even send 8 MiB");
    assert!(grew_mib < 64, "the enclave grew by {grew_mib} MiB");
    // It still serves.
    assert!(matches!(call(&mut enclave.connect(), 9, Request::Ping), Some(Response::Pong(_))));
}
