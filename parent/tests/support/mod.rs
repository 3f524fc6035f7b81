//! Shared test support: a fake enclave and a minimal HTTP client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde_bytes::ByteBuf;
use serde_json::Value;
use signer_common::protocol::{
    Attestation, AttestationMode, Curve, ErrorCode, Evidence, Pong, Request, RequestFrame, Response,
    ResponseFrame, RootCertificate, SealedWallet, SignKind, Signed, WalletCreated,
};
use signer_transport::{Listener, read_frame, write_frame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What the fake enclave knows and how it behaves.
#[derive(Default)]
pub struct Fake {
    pub ready: AtomicBool,
    /// Answer CreateWallet with this error instead.
    pub refuse_create: Mutex<Option<ErrorCode>>,
    /// Answer CreateWallet with a public key one byte short (a lying or broken enclave).
    pub malformed_create: AtomicBool,
    pub next_wallet: AtomicU64,
    /// wallet id -> sealed blob it issued.
    pub sealed: Mutex<HashMap<String, Vec<u8>>>,
}

impl Fake {
    pub fn answer(&self, request: Request) -> Response {
        match request {
            Request::Ping => {
                Response::Pong(Pong { ready: self.ready.load(Ordering::SeqCst), nsm: "mock".into() })
            }
            Request::CreateWallet(c) => {
                if let Some(code) = *self.refuse_create.lock().unwrap() {
                    return Response::error(code, "refused");
                }
                let n = self.next_wallet.fetch_add(1, Ordering::SeqCst);
                let wallet_id = format!("wa-{n:04}");
                let sealed = format!("sealed:{wallet_id}").into_bytes();
                self.sealed.lock().unwrap().insert(wallet_id.clone(), sealed.clone());
                let short = usize::from(self.malformed_create.load(Ordering::SeqCst));
                let public_key = vec![2u8; c.curve.public_key_len() - short];
                Response::WalletCreated(WalletCreated {
                    wallet: SealedWallet {
                        wallet_id,
                        curve: c.curve,
                        public_key: ByteBuf::from(public_key),
                        sealed: ByteBuf::from(sealed),
                    },
                    receipt: ByteBuf::from(format!("receipt:{}", c.request_id).into_bytes()),
                    evidence: Evidence::Document(ByteBuf::from(attestation_bytes(
                        c.nonce.as_ref().map(|n| n.as_slice()),
                    ))),
                })
            }
            Request::Sign(s) => {
                let expected = self.sealed.lock().unwrap().get(&s.wallet.wallet_id).cloned();
                if expected.as_deref() != Some(&s.wallet.sealed[..]) {
                    return Response::error(ErrorCode::SealedWalletInvalid, "does not open");
                }
                if s.kind == SignKind::Message && s.wallet.curve != Curve::Ed25519 {
                    return Response::error(ErrorCode::Unsupported, "Message needs ed25519");
                }
                let mut signature = vec![0x11u8; 32];
                signature.extend([0x22u8; 32]);
                if s.wallet.curve == Curve::Secp256k1 {
                    signature.push(1);
                }
                Response::Signed(Signed {
                    signature: ByteBuf::from(signature),
                    receipt: ByteBuf::from(format!("receipt:{}", s.request_id).into_bytes()),
                    evidence: match s.attestation {
                        AttestationMode::Session => Evidence::Session {
                            session_id: ByteBuf::from(vec![0x5e; 32]),
                            signature: ByteBuf::from(vec![0x51; 64]),
                        },
                        _ => Evidence::Document(ByteBuf::from(attestation_bytes(
                            s.nonce.as_ref().map(|n| n.as_slice()),
                        ))),
                    },
                })
            }
            Request::Attest(a) => {
                let mut pcrs = BTreeMap::new();
                pcrs.insert(0u8, ByteBuf::from(vec![0xaa; 48]));
                pcrs.insert(1u8, ByteBuf::from(vec![0xbb; 48]));
                Response::Attestation(Attestation {
                    document: ByteBuf::from(attestation_bytes(a.nonce.as_ref().map(|n| n.as_slice()))),
                    pcrs,
                })
            }
            Request::RootCertificate => Response::RootCertificate(RootCertificate {
                pem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(),
            }),
            _ => Response::error(ErrorCode::BadRequest, "unknown"),
        }
    }
}

/// The fake's "attestation document": the nonce it was given, so tests can see it passed through.
pub fn attestation_bytes(nonce: Option<&[u8]>) -> Vec<u8> {
    let mut doc = b"doc:".to_vec();
    doc.extend_from_slice(nonce.unwrap_or(b"none"));
    doc
}

pub async fn run_fake(mut listener: Listener, fake: Arc<Fake>) {
    loop {
        let Ok(mut stream) = listener.accept().await else { return };
        let fake = fake.clone();
        tokio::spawn(async move {
            while let Ok(Some(bytes)) = read_frame(&mut stream).await {
                let frame = RequestFrame::decode(&bytes).unwrap();
                let answer = ResponseFrame::new(frame.id, fake.answer(frame.body));
                if write_frame(&mut stream, &answer.encode()).await.is_err() {
                    return;
                }
            }
        });
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the error shape and returns the code.
    pub fn error_code(&self) -> String {
        let v = self.json();
        assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
        assert!(v["error"]["message"].is_string(), "{v}");
        assert_eq!(self.headers.get("content-type").map(String::as_str), Some("application/json"));
        v["error"]["code"].as_str().unwrap().to_owned()
    }
}

/// A minimal HTTP/1.1 client: one request per connection.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Reply {
    let mut request = format!("{method} {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        request.push_str(&format!("content-length: {}\r\ncontent-type: application/json\r\n", body.len()));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body.unwrap_or_default());
    raw(addr, &bytes).await
}

pub async fn raw(addr: SocketAddr, bytes: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    parse_response(&response)
}

pub fn parse_response(response: &[u8]) -> Reply {
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("no header end");
    let head = std::str::from_utf8(&response[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = response[split + 4..].to_vec();
    if headers.get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        body = dechunk(&body);
    }
    Reply { status, headers, body }
}

pub fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[line_end + 2..line_end + 2 + size]);
        data = &data[line_end + 2 + size + 2..];
    }
}

/// Starts `signer-parent dev` on a free loopback port with the data directory `data`, the enclave
/// binary `enclave_bin` and `extra` flags; answers the child, the API address and the metrics
/// address it printed (if any). Blocks until the API listens; stderr keeps being drained so the
/// child never blocks on a full pipe.
pub fn start_dev(
    data: &std::path::Path,
    enclave_bin: &std::path::Path,
    extra: &[String],
) -> (std::process::Child, SocketAddr, Option<SocketAddr>) {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_signer-parent"))
        .args(["dev", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .arg("--enclave-bin")
        .arg(enclave_bin)
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut metrics = None;
    let addr = loop {
        let line = lines.next().expect("signer-parent exited before listening").unwrap();
        if let Some(rest) = line.strip_prefix("signer-parent metrics on http://") {
            metrics = Some(rest.trim_end_matches("/metrics").parse().unwrap());
        }
        if let Some(url) = line.strip_prefix("signer-parent listening on http://") {
            break url.parse().unwrap();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, addr, metrics)
}
