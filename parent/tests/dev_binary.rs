//! The `signer-parent dev` binary end to end, with a stand-in enclave: a script that only waits
//! for its stdin to close (as the real enclave does with `--exit-with-stdin`), while the test
//! serves the enclave socket itself.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::Value;
use signer_transport::{EnclaveAddr, Listener};
use support::{Fake, http, run_fake};

fn fake_enclave_script(dir: &Path) -> std::path::PathBuf {
    let bin = dir.join("fake-enclave");
    let args = dir.join("enclave-args");
    // Written whole, then renamed: the test never reads a half-written file.
    let script = format!(
        "#!/bin/sh\necho \"$@\" > {args}.tmp && mv {args}.tmp {args}\nexec cat > /dev/null\n",
        args = args.display()
    );
    std::fs::write(&bin, script).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

fn pid_alive(pid: u32) -> bool {
    // A zombie still has a /proc entry; look at its state.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')))
        .unwrap_or(false)
}

/// Starts `signer-parent dev` on a free port and returns it with the address it printed.
fn terminate(mut child: std::process::Child) -> std::process::ExitStatus {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "signer-parent did not exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_bootstraps_serves_and_shuts_down() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let bin = fake_enclave_script(dir.path());
    // The test plays the enclave on the socket the dev enclave would listen on.
    std::fs::create_dir_all(&data).unwrap();
    let fake = Arc::new(Fake::default());
    fake.ready.store(true, Ordering::SeqCst);
    let socket = EnclaveAddr::Unix(data.join("enclave.sock"));
    tokio::spawn(run_fake(Listener::bind(&socket).unwrap(), fake.clone()));

    let (child, addr) = tokio::task::spawn_blocking({
        let (data, bin) = (data.clone(), bin.clone());
        move || {
            let (child, addr, _) = support::start_dev(&data, &bin, &[]);
            (child, addr)
        }
    })
    .await
    .unwrap();

    let creds: Value =
        serde_json::from_slice(&std::fs::read(data.join("dev-credentials.json")).unwrap()).unwrap();
    assert_eq!(
        std::fs::metadata(data.join("dev-credentials.json")).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(creds["url"], format!("http://{addr}"));
    assert_eq!(creds["origin"], format!("http://localhost:{}", addr.port()));
    assert_eq!(creds["credential"]["kind"], "Key");

    // The enclave child got exactly the contracted arguments and its pid was written.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dir.path().join("enclave-args").exists() || !data.join("enclave.pid").exists() {
        assert!(Instant::now() < deadline, "the enclave was not started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let args = std::fs::read_to_string(dir.path().join("enclave-args")).unwrap();
    let expected = format!(
        "--listen unix:{} --nsm mock --state-dir {} --dev-master-key --exit-with-stdin",
        data.join("enclave.sock").display(),
        data.join("enclave").display()
    );
    assert_eq!(args.trim(), expected);
    let pid: u32 = std::fs::read_to_string(data.join("enclave.pid")).unwrap().trim().parse().unwrap();
    assert!(pid_alive(pid));

    let reply = http(addr, "GET", "/readyz", &[], None).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let auth = format!("Bearer {}", creds["accessToken"].as_str().unwrap());
    // The admin was registered through the enclave, and the bearer token alone cannot create.
    let calls = |name: &str| fake.requests.lock().unwrap().iter().filter(|n| **n == name).count();
    assert_eq!((calls("CreateOrg"), calls("RegistrationInit"), calls("Register")), (1, 1, 1));
    let body = br#"{"curve":"secp256k1"}"#;
    let reply = http(addr, "POST", "/wallets", &[("authorization", &auth)], Some(body)).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (403, "user_action_required"));
    assert_eq!(calls("Call"), 0);
    // With a one-shot signature by the dev credential: created.
    let dev: signer_parent::dev::DevCredentials = serde_json::from_value(creds.clone()).unwrap();
    let client = support::KeyClient::from_dev(&dev);
    let signed = client.one_shot("POST", "/wallets", body, "dev-binary-request-0001");
    let mut headers = vec![("authorization", auth.as_str())];
    headers.extend(signed.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let reply = http(addr, "POST", "/wallets", &headers, Some(body)).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    // The whole client flow, on the fake enclave (`dev_enclave` runs it on the real one).
    support::flow::full_key_flow(addr, &dev, "bob").await;

    let status = tokio::task::spawn_blocking(move || terminate(child)).await.unwrap();
    assert!(status.success(), "{status}");
    assert!(!pid_alive(pid), "the enclave child outlived the parent");
    assert!(!data.join("enclave.pid").exists());

    // A restart keeps the identity and rewrites the file with a fresh token and the new URL.
    let (child, addr2) = tokio::task::spawn_blocking({
        let (data, bin) = (data.clone(), bin.clone());
        move || {
            let (child, addr, _) = support::start_dev(&data, &bin, &[]);
            (child, addr)
        }
    })
    .await
    .unwrap();
    let again: Value =
        serde_json::from_slice(&std::fs::read(data.join("dev-credentials.json")).unwrap()).unwrap();
    for field in ["orgId", "userId", "username", "appId", "origin"] {
        assert_eq!(again[field], creds[field], "{field}");
    }
    assert_eq!(again["credential"], creds["credential"]);
    assert_eq!(again["url"], format!("http://{addr2}"));
    let auth = format!("Bearer {}", again["accessToken"].as_str().unwrap());
    let reply = http(addr2, "GET", "/wallets", &[("authorization", &auth)], None).await;
    // Reads are scoped to the organisation: the admin sees bob's wallet too.
    assert_eq!(reply.json()["items"].as_array().unwrap().len(), 3);
    let status = tokio::task::spawn_blocking(move || terminate(child)).await.unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn dev_without_an_enclave_binary_fails_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_signer-parent"))
        .args(["dev", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("d"))
        .arg("--enclave-bin")
        .arg(dir.path().join("missing"))
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("enclave binary not found"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_create_prints_the_first_admins_code_and_stores_the_org() {
    use signer_parent::store::{IdentityStore as _, SqliteStore};
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(Fake::default());
    fake.ready.store(true, Ordering::SeqCst);
    let socket = dir.path().join("enclave.sock");
    tokio::spawn(run_fake(Listener::bind(&EnclaveAddr::Unix(socket.clone())).unwrap(), fake.clone()));
    let data = dir.path().join("data");
    let run = |extra: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_signer-parent"));
        command
            .args(["org", "create", "--data-dir"])
            .arg(&data)
            .arg("--enclave")
            .arg(format!("unix:{}", socket.display()))
            .args(extra)
            .env("RUST_LOG", "off");
        command
    };
    let args = [
        "--name",
        "Acme",
        "--admin-username",
        "ann",
        "--origin",
        "https://acme.example",
        "--rp-id",
        "acme.example",
        "--json",
    ];
    let mut command = run(&args);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!((answer["username"].as_str(), answer["role"].as_str()), (Some("ann"), Some("Admin")));
    assert!(answer["registrationCode"].is_string() && answer["expiresAt"].is_string(), "{answer}");
    let org_id = answer["orgId"].as_str().unwrap();
    assert_eq!(fake.requests.lock().unwrap().as_slice(), ["CreateOrg"]);
    // The enclave got what the operator asked for, and the org and its app are stored.
    let store = SqliteStore::open_in(&data).unwrap();
    let app = store.get_app(org_id, None).await.unwrap().unwrap();
    let signer_common::identity::Record::App(app) = app.decode_unverified().unwrap() else { panic!() };
    assert_eq!(
        (app.origin.as_str(), app.rp_id.as_str(), app.rp_name.as_str()),
        ("https://acme.example", "acme.example", "Acme")
    );

    // A missing option or an unreachable enclave: non-zero, one line on stderr.
    let mut command = run(&args[..4]);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    assert!(!output.status.success());
    let mut command = Command::new(env!("CARGO_BIN_EXE_signer-parent"));
    command
        .args(["org", "create", "--data-dir"])
        .arg(&data)
        .args(["--enclave", "unix:/nonexistent/enclave.sock"])
        .args(args)
        .env("RUST_LOG", "off");
    let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
