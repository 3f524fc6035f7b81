//! `signer-parent dev` with the real enclave binary: the `pcrs.json` it writes equals the PCRs the
//! running mock-NSM enclave reports in `GET /enclave/attestation`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use support::{Killed, enclave_binary};

use std::time::{Duration, Instant};

use serde_json::Value;
use support::http;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pcrs_json_matches_what_the_running_enclave_reports() {
    let bin = enclave_binary();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (child, addr, _) = support::start_dev(&data, &bin, &[]);
    let child = Killed(child);

    let deadline = Instant::now() + Duration::from_secs(60);
    while http(addr, "GET", "/readyz", &[], None).await.status != 200 {
        assert!(Instant::now() < deadline, "the dev enclave did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let written: Value = serde_json::from_slice(&std::fs::read(data.join("pcrs.json")).unwrap()).unwrap();
    let reply = http(addr, "GET", "/enclave/attestation", &[], None).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let reported = &reply.json()["pcrs"];
    for index in ["0", "1", "2"] {
        assert_eq!(written[index].as_str().unwrap().len(), 96, "{index}");
        assert_eq!(written[index], reported[index], "PCR{index}");
    }
    assert_eq!(written.as_object().unwrap().len(), 3);
    drop(child);
}
