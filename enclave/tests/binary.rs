//! The `signer-enclave` binary itself: starts on a Unix socket with the mock NSM, answers over
//! its socket, and exits when its standard input closes.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
#![cfg_attr(not(feature = "mock-nsm"), allow(dead_code, unused_imports))]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use signer_common::frame;
use signer_common::protocol::{Request, RequestFrame, Response, ResponseFrame};

fn start(dir: &Path, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_signer-enclave"))
        .arg("--listen")
        .arg(format!("unix:{}", dir.join("e.sock").display()))
        .args(["--nsm", "mock", "--state-dir"])
        .arg(dir.join("state"))
        .args(extra)
        .arg("--exit-with-stdin")
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn ping(dir: &Path) -> Response {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut stream = loop {
        match UnixStream::connect(dir.join("e.sock")) {
            Ok(s) => break s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("enclave socket never accepted: {e}"),
        }
    };
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(&frame::encode(&RequestFrame::new(9, Request::Ping).encode()).unwrap()).unwrap();
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).unwrap();
    let mut body = vec![0u8; frame::body_len(header).unwrap()];
    stream.read_exact(&mut body).unwrap();
    let answer = ResponseFrame::decode(&body).unwrap();
    assert_eq!(answer.id, 9);
    answer.body
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "the enclave did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(feature = "mock-nsm")]
#[test]
fn serves_ping_and_exits_when_stdin_closes() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = start(dir.path(), &["--dev-master-key"]);
    assert!(matches!(ping(dir.path()), Response::Pong(p) if p.ready && p.nsm == "mock"));
    // The dev master key and the mock root were created in the state dir.
    assert!(dir.path().join("state/dev-master.key").exists());
    // The mock root's key file loads in the usual tools (PEM, a form OpenSSL reads).
    let root_key = dir.path().join("state/mock-nsm/root-ca.pem");
    match Command::new("openssl").arg("pkey").arg("-in").arg(&root_key).arg("-noout").output() {
        Ok(out) => assert!(out.status.success(), "openssl: {}", String::from_utf8_lossy(&out.stderr)),
        Err(_) => eprintln!("openssl is not installed: the mock root key file was not loaded with it"),
    }
    drop(child.stdin.take());
    assert!(wait_exit(&mut child).success());
}

#[cfg(feature = "mock-nsm")]
#[test]
fn without_a_master_key_it_is_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = start(dir.path(), &[]);
    assert!(matches!(ping(dir.path()), Response::Pong(p) if !p.ready));
    assert!(!dir.path().join("state/dev-master.key").exists());
    drop(child.stdin.take());
    wait_exit(&mut child);
}

#[cfg(not(feature = "nitro"))]
#[test]
fn the_real_nsm_needs_the_nitro_feature() {
    let out = Command::new(env!("CARGO_BIN_EXE_signer-enclave"))
        .args(["--listen", "unix:/nonexistent/e.sock", "--nsm", "nitro"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--features nitro"));
}

/// The enclave image is built without the mock: `--nsm mock` then fails, saying why.
#[cfg(not(feature = "mock-nsm"))]
#[test]
fn a_build_without_the_mock_refuses_nsm_mock() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_signer-enclave"))
        .arg("--listen")
        .arg(format!("unix:{}", dir.path().join("e.sock").display()))
        .args(["--nsm", "mock", "--state-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no mock NSM"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.path().join("e.sock").exists(), "it must not listen");
}
