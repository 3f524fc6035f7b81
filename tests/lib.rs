//! Harness for the end-to-end tests: starts the real `signer-parent dev` stack (which starts the
//! real `signer-enclave` with the mock NSM on a Unix socket) in its own temporary directory on its
//! own loopback port, and stops it when dropped.
//!
//! The binaries are the ones `cargo test --workspace` builds next to the test executable.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use signer_common::frame;
use signer_common::protocol::{Request, RequestFrame, ResponseFrame};

pub mod auth_support;
pub mod db;
pub mod enclave_call;
pub mod fido2;
pub mod proxy;
pub mod receipts;

/// The directory holding the workspace's binaries (`target/debug`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/debug/deps/e2e-<hash> -> target/debug
    exe.parent().and_then(Path::parent).expect("target dir").to_path_buf()
}

/// Path of a workspace binary; panics with a hint when it was not built.
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(path.exists(), "{} is missing: run the tests with `cargo test --workspace`", path.display());
    path
}

/// A free loopback port (bound and released; the stack binds it right after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running dev stack.
pub struct Stack {
    pub dir: PathBuf,
    pub port: u16,
    pub url: String,
    /// Where `GET /metrics` is served (its own listener, not the API's).
    pub metrics_url: String,
    /// More arguments for `signer-parent dev` (e.g. `--enclave-bin PATH`).
    extra_args: Vec<String>,
    child: Option<Child>,
    _tmp: Option<tempfile::TempDir>,
}

impl Stack {
    /// Starts a stack in a new temporary directory.
    pub fn start() -> Stack {
        let tmp = tempfile::Builder::new().prefix("signer-e2e").tempdir().unwrap();
        let mut stack = Stack::start_in(tmp.path());
        stack._tmp = Some(tmp);
        stack
    }

    /// Starts a stack on an existing data directory, on a new port.
    pub fn start_in(dir: &Path) -> Stack {
        Stack::start_in_with(dir, &[])
    }

    /// Starts a stack on an existing data directory, on a new port, with more arguments for
    /// `signer-parent dev`.
    pub fn start_in_with(dir: &Path, extra_args: &[&str]) -> Stack {
        let mut stack = Stack {
            dir: dir.to_path_buf(),
            port: 0,
            url: String::new(),
            metrics_url: String::new(),
            extra_args: extra_args.iter().map(|a| (*a).to_owned()).collect(),
            child: None,
            _tmp: None,
        };
        stack.launch();
        stack
    }

    /// Stops the stack and starts it again on the same data directory (and a new port).
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    fn launch(&mut self) {
        // `signer-parent dev` starts this one: fail here, clearly, when it was not built.
        bin("signer-enclave");
        // The credentials file stays: on a restart `signer-parent dev` reads the admin's key
        // from it (its only copy) and rewrites it with a fresh token before it listens, so a
        // 200 from this start's port means this start's copy is there.
        let port = free_port();
        let metrics_port = free_port();
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("stack.log")).unwrap();
        let child = Command::new(bin("signer-parent"))
            .args(["dev", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--metrics-listen", &format!("127.0.0.1:{metrics_port}"), "--data-dir"])
            .arg(&self.dir)
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start signer-parent");
        self.port = port;
        self.url = format!("http://127.0.0.1:{port}");
        self.metrics_url = format!("http://127.0.0.1:{metrics_port}/metrics");
        self.child = Some(child);
        self.wait_ready(Duration::from_secs(60));
    }

    /// Waits until `GET /readyz` answers 200.
    pub fn wait_ready(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok((200, _)) = self.get("/readyz", None)
                && self.dir.join("dev-credentials.json").exists()
            {
                return;
            }
            assert!(Instant::now() < deadline, "stack not ready; log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The stack's combined log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("stack.log")).unwrap_or_default()
    }

    /// The dev credentials file.
    pub fn credentials_path(&self) -> PathBuf {
        self.dir.join("dev-credentials.json")
    }

    /// The dev credentials.
    pub fn credentials(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.credentials_path()).unwrap()).unwrap()
    }

    /// The dev access token.
    pub fn token(&self) -> String {
        self.credentials()["accessToken"].as_str().unwrap().to_owned()
    }

    /// `GET path` with an optional bearer token: (status, body).
    pub fn get(&self, path: &str, token: Option<&str>) -> Result<(u16, String), ureq::Error> {
        let mut req = agent().get(format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        let mut resp = req.call()?;
        let status = resp.status().as_u16();
        Ok((status, resp.body_mut().read_to_string().unwrap_or_default()))
    }

    /// `POST path` with a raw body and extra headers: (status, JSON body or Null).
    pub fn post_raw(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> (u16, Value) {
        let mut req = agent()
            .post(format!("{}{path}", self.url))
            .header("Authorization", format!("Bearer {}", self.token()))
            .header("Content-Type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut resp = req.send(body.as_bytes()).expect("HTTP round trip");
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `POST path` with a JSON body: (status, JSON).
    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_raw(path, &body.to_string(), &[])
    }

    /// `POST path` with a raw body, extra headers and the dev admin's one-shot signature
    /// (every state-changing call needs a user signature): (status, JSON body or Null).
    pub fn signed_post(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> (u16, Value) {
        let user = auth_support::dev_user(self);
        let mut all = auth_support::one_shot_now(&user.credential, "POST", path, body.as_bytes());
        all.extend(headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        self.send("POST", path, body.as_bytes(), Some(&user.token), &all)
    }

    /// `signed_post` with a JSON body.
    pub fn signed_post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        self.signed_post(path, &body.to_string(), &[])
    }

    /// Any call: `method path` with `body` (sent for POST and PUT), an optional bearer token
    /// and extra headers: (status, JSON body or Null).
    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        bearer: Option<&str>,
        headers: &[(String, String)],
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.url);
        let agent = agent();
        let mut builder = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(t) = bearer {
            builder = builder.header("Authorization", format!("Bearer {t}"));
        }
        if !body.is_empty() || method == "POST" || method == "PUT" {
            builder = builder.header("Content-Type", "application/json");
        }
        for (k, v) in headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let request = builder.body(body.to_vec()).expect("a request");
        let mut resp = agent.run(request).expect("HTTP round trip");
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The enclave's Unix socket.
    pub fn enclave_socket(&self) -> PathBuf {
        self.dir.join("enclave.sock")
    }

    /// The enclave child's pid.
    pub fn enclave_pid(&self) -> u32 {
        std::fs::read_to_string(self.dir.join("enclave.pid")).unwrap().trim().parse().unwrap()
    }

    /// Stops the stack (SIGKILL to the parent; the enclave exits when its stdin closes).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Wait for the enclave child to notice and exit, so a restart on this dir is clean.
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("enclave.pid")) {
            let deadline = Instant::now() + Duration::from_secs(10);
            while Path::new(&format!("/proc/{}", pid.trim())).exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An HTTP agent that returns non-2xx statuses as responses.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// A raw connection to the enclave socket, speaking frames directly (as the parent does).
pub struct EnclaveConn(UnixStream);

impl EnclaveConn {
    pub fn connect(path: &Path) -> EnclaveConn {
        let s = UnixStream::connect(path).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        EnclaveConn(s)
    }

    pub fn send_bytes(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.0.write_all(bytes)
    }

    pub fn call(&mut self, id: u64, body: Request) -> ResponseFrame {
        let bytes = frame::encode(&RequestFrame::new(id, body).encode()).unwrap();
        self.send_bytes(&bytes).unwrap();
        self.read_response().expect("a response frame")
    }

    /// Reads one response frame; `None` when the enclave closed the connection.
    pub fn read_response(&mut self) -> Option<ResponseFrame> {
        let mut header = [0u8; 4];
        self.0.read_exact(&mut header).ok()?;
        let len = frame::body_len(header).unwrap();
        let mut body = vec![0u8; len];
        self.0.read_exact(&mut body).unwrap();
        Some(ResponseFrame::decode(&body).unwrap())
    }
}
