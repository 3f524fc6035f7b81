//! The enclave's sign path, per curve: unseal + sign + receipt + attestation (mock NSM), through
//! `EnclaveCore::handle` exactly as the socket shell calls it. Also the parts, to see where the
//! time goes.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_bytes::ByteBuf;
use signer_common::protocol::{
    AttestationMode, CreateWallet, Curve, Request, Response, SignKind, SignRequest,
};
use signer_enclave::clock::system_clock;
use signer_enclave::core::EnclaveCore;
use signer_enclave::keys::MasterKey;
use signer_enclave::nsm::Nsm;
use signer_enclave::nsm::mock::MockNsm;
use signer_enclave::wallet::WalletKey;

fn sign_path(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let nsm: Arc<dyn Nsm> = Arc::new(MockNsm::open(dir.path(), b"bench image").unwrap());
    let core = EnclaveCore::new(nsm.clone(), Some(MasterKey::from_bytes([7; 32])), system_clock());

    let mut group = c.benchmark_group("enclave");
    group.throughput(Throughput::Elements(1));
    for curve in [Curve::Secp256k1, Curve::Ed25519] {
        let Response::WalletCreated(created) = core.handle(Request::CreateWallet(CreateWallet {
            request_id: "wc-bench".into(),
            curve,
            nonce: None,
            attestation: AttestationMode::Fresh,
        })) else {
            panic!("wallet creation failed");
        };
        for mode in [AttestationMode::Fresh, AttestationMode::Session] {
            let request = Request::Sign(SignRequest {
                request_id: "sig-bench".into(),
                wallet: created.wallet.clone(),
                kind: SignKind::Hash,
                payload: ByteBuf::from(vec![0x42; 32]),
                nonce: Some(ByteBuf::from(vec![1; 32])),
                attestation: mode,
            });
            let name = match mode {
                AttestationMode::Fresh => "sign_path",
                AttestationMode::Session => "sign_path_session",
            };
            group.bench_function(format!("{name}/{}", curve.as_str()), |b| {
                b.iter(|| {
                    let response = core.handle(black_box(request.clone()));
                    assert!(matches!(response, Response::Signed(_)));
                    response
                });
            });
        }
        let key = WalletKey::from_secret(curve, &[3; 32]).unwrap();
        group.bench_function(format!("sign_only/{}", curve.as_str()), |b| {
            b.iter(|| key.sign(SignKind::Hash, black_box(&[0x42; 32])).unwrap());
        });
    }
    group.bench_function("mock_nsm_attest", |b| {
        b.iter(|| nsm.attest(Some(black_box(&[1; 32])), Some(&[2; 32]), None).unwrap());
    });
    group.finish();
}

criterion_group!(benches, sign_path);
criterion_main!(benches);
