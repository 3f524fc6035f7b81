//! Client-side verification cost: one session-mode receipt with its session document already
//! cached, against one fresh-mode result (a full attestation document per receipt).
//!
//! `cargo bench -p signer-client --bench verify -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use ed25519_dalek::Signer as _;
use signer_client::{
    Curve, ImagePolicy, ReceiptKind, ResultExpectations, SessionCache, verify_session_result,
    verify_signing_result,
};
use signer_common::attestation::test_pki::{TestPki, TestPkiParams};
use signer_common::attestation::{AttestationDoc, DIGEST_SHA384};
use signer_common::receipt::Receipt;
use signer_common::session::{SESSION_DOCUMENT_USER_DATA, encode_receipt_key, signed_message};

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A document shaped like a real one: 16 PCRs of 48 bytes, a root and an intermediate.
fn document(pki: &TestPki, user_data: &[u8], nonce: Option<&[u8]>, public_key: Option<Vec<u8>>) -> Vec<u8> {
    pki.sign(&AttestationDoc {
        module_id: "i-bench-enc0".into(),
        digest: DIGEST_SHA384.into(),
        timestamp: now() * 1000,
        pcrs: (0u8..16).map(|i| (i, vec![i; 48])).collect(),
        certificate: pki.leaf_der.clone(),
        cabundle: pki.cabundle(),
        public_key,
        user_data: Some(user_data.to_vec()),
        nonce: nonce.map(<[u8]>::to_vec),
    })
}

/// A signed `Hash` receipt of a wallet on `curve`, carrying `nonce`.
fn receipt(curve: Curve, nonce: &[u8]) -> Vec<u8> {
    let hash = [0x42u8; 32];
    let (public_key, signature) = match curve {
        Curve::Secp256k1 => {
            let key = k256::ecdsa::SigningKey::from_slice(&[0x11; 32]).unwrap();
            let (sig, recid) = key.sign_prehash_recoverable(&hash);
            let mut encoded = sig.to_bytes().to_vec();
            encoded.push(recid.to_byte());
            (key.verifying_key().to_sec1_point(true).as_bytes().to_vec(), encoded)
        }
        Curve::Ed25519 => {
            let key = ed25519_dalek::SigningKey::from_bytes(&[0x22; 32]);
            (key.verifying_key().to_bytes().to_vec(), key.sign(&hash).to_bytes().to_vec())
        }
    };
    Receipt {
        kind: ReceiptKind::Hash,
        wallet_id: "wa-bench".into(),
        curve,
        public_key,
        payload_sha256: Some(Receipt::digest(&hash)),
        payload: Some(hash.to_vec()),
        signature: Some(signature),
        request_id: "sig-0123456789abcdef0123456789abcdef".into(),
        nonce: Some(nonce.to_vec()),
        time: now() * 1000,
    }
    .to_cbor()
}

fn bench(c: &mut Criterion) {
    let pki = TestPki::new(&TestPkiParams::new("bench", (2024, 1, 1), (2100, 1, 1)));
    let root = pki.root();
    let at = now();
    let nonce = b"bench-nonce-0001";
    let pcrs = (0u8..3).map(|i| (i, vec![i; 48])).collect();
    let expect = ResultExpectations {
        image: ImagePolicy::pinned(pcrs).unwrap(),
        nonce: Some(nonce.to_vec()),
        wallet_id: Some("wa-bench".into()),
        public_key: None,
        ..ResultExpectations::new(ImagePolicy::danger_any_image())
    };

    let receipt_key = ed25519_dalek::SigningKey::from_bytes(&[0x33; 32]);
    let cose_key = encode_receipt_key(&receipt_key.verifying_key().to_bytes());
    let session_document = document(&pki, SESSION_DOCUMENT_USER_DATA, None, Some(cose_key));
    let cache = SessionCache::new();

    for curve in [Curve::Ed25519, Curve::Secp256k1] {
        let receipt = receipt(curve, nonce);
        let receipt_signature = receipt_key.sign(&signed_message(&receipt)).to_bytes().to_vec();
        // Warm the cache: the one full verification of the session document.
        verify_session_result(&receipt, &receipt_signature, &session_document, &root, at, &expect, &cache)
            .unwrap();
        c.bench_function(&format!("session receipt, document cached ({} wallet)", curve.as_str()), |b| {
            b.iter(|| {
                verify_session_result(
                    black_box(&receipt),
                    black_box(&receipt_signature),
                    black_box(&session_document),
                    &root,
                    at,
                    &expect,
                    &cache,
                )
                .unwrap()
            })
        });

        let fresh_document = document(&pki, &Receipt::digest(&receipt), Some(nonce), None);
        c.bench_function(&format!("fresh result ({} wallet)", curve.as_str()), |b| {
            b.iter(|| {
                verify_signing_result(black_box(&receipt), black_box(&fresh_document), &root, at, &expect)
                    .unwrap()
            })
        });
    }
    // The session mode's own share: a receipt with no wallet signature to check (WalletCreated),
    // so step 1 (cache hit, receipt-key signature) plus decoding and expectations.
    let created = Receipt {
        kind: ReceiptKind::WalletCreated,
        wallet_id: "wa-bench".into(),
        curve: Curve::Ed25519,
        public_key: vec![0x5a; 32],
        payload_sha256: None,
        payload: None,
        signature: None,
        request_id: "wc-0123456789abcdef0123456789abcdef".into(),
        nonce: Some(nonce.to_vec()),
        time: now() * 1000,
    }
    .to_cbor();
    let created_signature = receipt_key.sign(&signed_message(&created)).to_bytes().to_vec();
    c.bench_function("session receipt, document cached (no wallet signature)", |b| {
        b.iter(|| {
            verify_session_result(
                black_box(&created),
                black_box(&created_signature),
                black_box(&session_document),
                &root,
                at,
                &expect,
                &cache,
            )
            .unwrap()
        })
    });
    assert_eq!(cache.verifications(), 1, "the session document was verified once");

    // For scale: the first sight of a session document (a full verification each time).
    let receipt = receipt(Curve::Ed25519, nonce);
    let receipt_signature = receipt_key.sign(&signed_message(&receipt)).to_bytes().to_vec();
    c.bench_function("session receipt, document not cached (ed25519 wallet)", |b| {
        b.iter(|| {
            let cache = SessionCache::new();
            verify_session_result(&receipt, &receipt_signature, &session_document, &root, at, &expect, &cache)
                .unwrap()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
