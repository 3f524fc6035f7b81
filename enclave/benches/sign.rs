//! The enclave's sign path, per curve, through `EnclaveCore::handle` exactly as the socket
//! shell calls it: a one-shot `Call` by an Ed25519 Key credential (record tags, window, request
//! id, the user's signature), then unseal + sign + receipt + attestation (mock NSM). Also the
//! parts, to see where the time goes.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use signer_common::protocol::{AttestationMode, Curve, Outcome, Request, Response, SignKind};
use signer_enclave::nsm::Nsm;
use signer_enclave::nsm::mock::MockNsm;
use signer_enclave::wallet::WalletKey;

fn sign_path(c: &mut Criterion) {
    let e = support::Enclave::new(7);
    let user = support::admin(&mut |r| e.send(r), "or-bench", 7);
    let next_id = AtomicU64::new(0);

    let mut group = c.benchmark_group("enclave");
    group.throughput(Throughput::Elements(1));
    for curve in [Curve::Secp256k1, Curve::Ed25519] {
        let body = format!(r#"{{"curve":"{}"}}"#, curve.as_str());
        let Response::Called(created) = e.send(user.one_shot(
            "POST",
            "/wallets",
            body.as_bytes(),
            e.time(),
            &format!("bench-create-{}", curve.as_str()),
        )) else {
            panic!("wallet creation failed");
        };
        let Outcome::WalletCreated(created) = created.outcome else { panic!("no wallet") };
        let path = format!("/wallets/{}/signatures", created.wallet.wallet_id);
        let body = format!(r#"{{"kind":"Hash","hash":"0x{}"}}"#, "42".repeat(32));
        for mode in [AttestationMode::Fresh, AttestationMode::Session] {
            let name = match mode {
                AttestationMode::Fresh => "sign_path",
                AttestationMode::Session => "sign_path_session",
            };
            group.bench_function(format!("{name}/{}", curve.as_str()), |b| {
                b.iter(|| {
                    // A new request id each time (ids are single use); the client's signature
                    // is made here too, about 20 us of the measured time.
                    let id = format!("bench-{:016}", next_id.fetch_add(1, Ordering::Relaxed));
                    let auth = user.one_shot_auth("POST", &path, body.as_bytes(), e.time(), &id);
                    let mut call = user.call("POST", &path, body.as_bytes(), auth);
                    call.wallet = Some(support::wallet_context(&created));
                    call.attestation = mode;
                    let response = e.send(black_box(Request::Call(Box::new(call))));
                    assert!(matches!(response, Response::Called(_)));
                    response
                });
            });
        }
        let key = WalletKey::from_secret(curve, &[3; 32]).unwrap();
        group.bench_function(format!("sign_only/{}", curve.as_str()), |b| {
            b.iter(|| key.sign(SignKind::Hash, black_box(&[0x42; 32])).unwrap());
        });
    }
    // The client's part of a one-shot request alone (included in the sign paths above).
    group.bench_function("client_one_shot_signature", |b| {
        b.iter(|| {
            user.one_shot_auth("POST", "/wallets/wa-1/signatures", black_box(b"{}"), 1, "bench-0000000001")
        });
    });
    let dir = tempfile::tempdir().unwrap();
    let nsm: Arc<dyn Nsm> = Arc::new(MockNsm::open(dir.path(), b"bench image").unwrap());
    group.bench_function("mock_nsm_attest", |b| {
        b.iter(|| nsm.attest(Some(black_box(&[1; 32])), Some(&[2; 32]), None).unwrap());
    });
    group.finish();
}

criterion_group!(benches, sign_path);
criterion_main!(benches);
