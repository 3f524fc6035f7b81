//! The HTTP limits of the real `signer-parent dev` binary, tested as attacks: clients that never
//! finish their headers, many of them at once, a flood of attestation requests, and `/metrics`
//! on its own address. The enclave is the test's fake on the dev socket, as in `dev_binary.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use signer_transport::{EnclaveAddr, Listener};
use support::{Fake, http, run_fake, start_dev};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// A running `signer-parent dev` with its addresses; killed on drop.
struct Dev {
    child: Child,
    addr: SocketAddr,
    metrics: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Dev {
    fn access_token(&self) -> String {
        let file = std::fs::read_to_string(self._dir.path().join("data/dev-credentials.json")).unwrap();
        let json: serde_json::Value = serde_json::from_str(&file).unwrap();
        json["accessToken"].as_str().unwrap().to_owned()
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fake_enclave_script(dir: &Path) -> PathBuf {
    let bin = dir.join("fake-enclave");
    std::fs::write(&bin, "#!/bin/sh\nexec cat > /dev/null\n").unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// Starts the dev binary with `extra` flags, a fake enclave, and reads both addresses it prints.
async fn start(extra: &[&str]) -> Dev {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let fake = Arc::new(Fake::default());
    fake.ready.store(true, Ordering::SeqCst);
    let socket = EnclaveAddr::Unix(data.join("enclave.sock"));
    tokio::spawn(run_fake(Listener::bind(&socket).unwrap(), fake));
    let bin = fake_enclave_script(dir.path());
    let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    let (child, addr, metrics) = tokio::task::spawn_blocking(move || {
        let (child, addr, metrics) = start_dev(&data, &bin, &extra);
        (child, addr, metrics.expect("no metrics address printed"))
    })
    .await
    .unwrap();
    Dev { child, addr, metrics, _dir: dir }
}

/// Reads until the server closes the connection; how long that took, or `None` within `bound`.
async fn closed_within(stream: &mut TcpStream, bound: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 512];
    let read_to_end = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(bound, read_to_end).await.ok().map(|()| started.elapsed())
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_dropped_within_30_s() {
    let dev = start(&[]).await;
    // One sends half a request head, one sends nothing at all.
    let mut partial = TcpStream::connect(dev.addr).await.unwrap();
    partial.write_all(b"GET /healthz HTTP/1.1\r\nhost: test\r\n").await.unwrap();
    let mut silent = TcpStream::connect(dev.addr).await.unwrap();
    let bound = Duration::from_secs(30);
    let (a, b) = tokio::join!(closed_within(&mut partial, bound), closed_within(&mut silent, bound));
    let a = a.expect("a client with unfinished headers was kept for 30 s");
    let b = b.expect("a silent client was kept for 30 s");
    eprintln!("dropped after {a:?} (partial head) and {b:?} (nothing sent)");
    // The server still serves.
    assert_eq!(http(dev.addr, "GET", "/healthz", &[], None).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_slow_clients_are_capped_and_a_new_client_is_served_once_they_are_dropped() {
    const CAP: usize = 50;
    let dev = start(&["--header-timeout-ms", "2000", "--max-connections", &CAP.to_string()]).await;
    assert_eq!(http(dev.addr, "GET", "/healthz", &[], None).await.status, 200);
    let baseline = open_fds(dev.child.id());
    let mut slow = Vec::new();
    for _ in 0..300 {
        let mut stream = TcpStream::connect(dev.addr).await.unwrap();
        stream.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
        slow.push(stream);
    }
    // While they hang, the parent holds at most CAP of them open (the rest wait in the backlog).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held = open_fds(dev.child.id()).saturating_sub(baseline);
    assert!(held <= CAP + 2, "the parent holds {held} connections open, more than the cap of {CAP}");
    assert!(held >= CAP / 2, "only {held} connections accepted");
    // A new client, queued behind them, is served once the slow ones are dropped.
    let reply = tokio::time::timeout(Duration::from_secs(30), http(dev.addr, "GET", "/healthz", &[], None))
        .await
        .expect("a new client was not served within 30 s");
    assert_eq!(reply.status, 200);
    for mut stream in slow.drain(..50) {
        assert!(
            closed_within(&mut stream, Duration::from_secs(30)).await.is_some(),
            "a slow client was kept"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_arrives_is_answered_408_at_the_request_timeout() {
    let dev = start(&["--request-timeout-ms", "1000"]).await;
    let credentials = std::fs::read(dev._dir.path().join("data/dev-credentials.json")).unwrap();
    let credentials: serde_json::Value = serde_json::from_slice(&credentials).unwrap();
    let token = credentials["accessToken"].as_str().unwrap();
    let mut stream = TcpStream::connect(dev.addr).await.unwrap();
    // Complete headers, then 10 of the 100 body bytes announced, then nothing.
    let head = format!(
        "POST /wallets HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {token}\r\ncontent-length: 100\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(b"{\"curve\":").await.unwrap();
    let mut response = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut response)).await;
    assert!(read.is_ok(), "no answer within 30 s");
    let reply = support::parse_response(&response);
    assert_eq!((reply.status, reply.error_code().as_str()), (408, "request_timeout"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attestation_answers_429_with_retry_after_past_the_rate() {
    let dev = start(&["--attestation-rate", "0.1", "--attestation-burst", "3"]).await;
    for _ in 0..3 {
        let reply = http(dev.addr, "GET", "/enclave/attestation?nonce=0x01", &[], None).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    for path in ["/enclave/attestation?nonce=0x01", "/enclave/attestation/session"] {
        let reply = http(dev.addr, "GET", path, &[], None).await;
        assert_eq!((reply.status, reply.error_code().as_str()), (429, "too_many_requests"), "{path}");
        let retry: u64 = reply.headers["retry-after"].parse().unwrap();
        assert!((1..=10).contains(&retry), "Retry-After {retry}");
    }
    // Routes that cost no enclave work are not limited.
    for _ in 0..10 {
        assert_eq!(http(dev.addr, "GET", "/healthz", &[], None).await.status, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_on_their_own_address_and_behind_the_token_only() {
    let dev = start(&[]).await;
    assert_eq!(http(dev.addr, "GET", "/healthz", &[], None).await.status, 200);
    let reply = http(dev.addr, "GET", "/metrics", &[], None).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (401, "unauthorized"));
    let bearer = format!("Bearer {}", dev.access_token());
    let reply = http(dev.addr, "GET", "/metrics", &[("authorization", bearer.as_str())], None).await;
    assert_eq!(reply.status, 200);
    assert!(reply.text().contains("signer_http_requests_total"));
    assert!(dev.metrics.ip().is_loopback());
    assert_ne!(dev.metrics.port(), dev.addr.port());
    let reply = http(dev.metrics, "GET", "/metrics", &[], None).await;
    assert_eq!(reply.status, 200);
    let text = reply.text();
    assert!(
        text.contains("signer_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("route=\"/metrics\",method=\"GET\",status=\"401\"} 1"),
        "the 401 of /metrics on the API listener is counted: {text}"
    );
}
