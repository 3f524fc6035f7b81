//! `signer-parent dev` with the real enclave binary: the bootstrap made through the enclave, the
//! full Key-credential flow (user action, one-shot, a member registered through a code, login),
//! and a restart that keeps the identity and the records valid.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use support::{Killed, enclave_binary};

use serde_json::json;
use signer_parent::dev::DevCredentials;
use support::flow::{Api, full_key_flow};

fn credentials(data: &std::path::Path) -> DevCredentials {
    serde_json::from_slice(&std::fs::read(data.join("dev-credentials.json")).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_flow_runs_on_the_real_enclave_and_survives_a_restart() {
    let bin = enclave_binary();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (child, addr, _) = support::start_dev(&data, &bin, &[]);
    let child = Killed(child);
    // `dev` listens only once the bootstrap through the enclave is done.
    let dev = credentials(&data);
    assert_eq!(dev.credential.algorithm, "EdDSA");
    assert_eq!(dev.origin, format!("http://localhost:{}", addr.port()));
    let wallet = full_key_flow(addr, &dev, "bob").await;
    drop(child);

    // A restart: same identity, and the stored records still pass the enclave's checks.
    let (child, addr, _) = support::start_dev(&data, &bin, &[]);
    let _child = Killed(child);
    let again = credentials(&data);
    assert_eq!(
        (&again.org_id, &again.user_id, &again.credential),
        (&dev.org_id, &dev.user_id, &dev.credential)
    );
    let admin = Api::from_dev(addr, &again);
    let hash = json!({ "kind": "Hash", "hash": format!("0x{}", "cd".repeat(32)) }).to_string();
    let reply = admin
        .one_shot("POST", &format!("/wallets/{wallet}/signatures"), hash.as_bytes(), "after-restart-000001")
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}
