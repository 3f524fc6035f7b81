//! Shared test support: a fake enclave and a minimal HTTP client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

pub mod fake;
pub mod flow;
pub mod harness;

use std::collections::HashMap;
use std::net::SocketAddr;

use serde_json::Value;
use signer_common::encoding::to_b64url;
use signer_common::userauth::request_challenge;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub use fake::{Fake, run_fake};

/// A child process killed and reaped when dropped.
pub struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `signer-enclave` beside `signer-parent`, built first when this package's tests run alone.
pub fn enclave_binary() -> std::path::PathBuf {
    let bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_signer-parent")).with_file_name("signer-enclave");
    if !bin.is_file() {
        let status = std::process::Command::new(option_env!("CARGO").unwrap_or("cargo"))
            .args(["build", "-p", "signer-enclave", "--bin", "signer-enclave"])
            .status()
            .expect("cargo");
        assert!(status.success(), "building signer-enclave failed");
    }
    assert!(bin.is_file(), "no {}", bin.display());
    bin
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
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

/// The client side of a Key credential (API.md, "User action signing", step 2).
pub struct KeyClient {
    pub key: ed25519_dalek::SigningKey,
    pub cred_id: String,
    pub origin: String,
}

impl KeyClient {
    pub fn from_dev(credentials: &signer_parent::dev::DevCredentials) -> KeyClient {
        use ed25519_dalek::pkcs8::DecodePrivateKey as _;
        KeyClient {
            key: ed25519_dalek::SigningKey::from_pkcs8_pem(&credentials.credential.private_key_pem).unwrap(),
            cred_id: credentials.credential.cred_id.clone(),
            origin: credentials.origin.clone(),
        }
    }

    /// `{ kind: "Key", credentialAssertion }` over `challenge`.
    pub fn assertion(&self, challenge: &str) -> Value {
        use ed25519_dalek::Signer as _;
        let client_data = serde_json::to_vec(
            &serde_json::json!({ "type": "key.get", "challenge": challenge, "origin": self.origin }),
        )
        .unwrap();
        let signature = self.key.sign(&client_data);
        serde_json::json!({
            "kind": "Key",
            "credentialAssertion": {
                "credId": self.cred_id,
                "clientData": to_b64url(&client_data),
                "signature": to_b64url(&signature.to_bytes()),
            }
        })
    }

    /// The three one-shot headers of a call (API.md, "One-shot signed requests").
    pub fn one_shot(&self, method: &str, path: &str, body: &[u8], request_id: &str) -> [(String, String); 3] {
        let time = now_ms();
        let challenge = request_challenge(method, path, body, time, request_id);
        let signature = to_b64url(&serde_json::to_vec(&self.assertion(&challenge)).unwrap());
        [
            ("x-request-time".into(), time.to_string()),
            ("x-request-id".into(), request_id.into()),
            ("x-request-signature".into(), signature),
        ]
    }
}
