//! P-384 by measurement: ES384 (ECDSA P-384 with SHA-384, fixed-width `r || s`) signing and
//! verification of a 1 KiB message with aws-lc-rs (what the mock NSM and the verifier use)
//! against the pure-Rust RustCrypto `p384` 0.14, and `attestation::verify` of a whole test-PKI
//! document (chain of three P-384 certificates and the COSE signature).
//!
//! `cargo bench -p signer-common --bench p384 -- --warm-up-time 1 --measurement-time 3`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P384_SHA384_FIXED, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, UnparsedPublicKey,
};
use criterion::{Criterion, criterion_group, criterion_main};
use p384::ecdsa::signature::{Signer as _, Verifier as _};
use signer_common::attestation::test_pki::{TestPki, TestPkiParams};
use signer_common::attestation::{AttestationDoc, DIGEST_SHA384, Expectations, verify};

/// 2025-01-01T00:00:00Z, inside the test PKI's validity.
const NOW: u64 = 1_735_689_600;

fn es384(c: &mut Criterion) {
    let message: Vec<u8> = (0..1024u32).map(|i| (i * 31 % 251) as u8).collect();

    // aws-lc-rs, as the mock NSM signs and the verifier verifies.
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng).unwrap();
    let aws_key = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let aws_public = aws_key.public_key().as_ref().to_vec();
    let aws_sig = aws_key.sign(&rng, &message).unwrap().as_ref().to_vec();

    // RustCrypto p384 (RFC 6979 deterministic nonces, SHA-384 of the message).
    let rc_key = p384::ecdsa::SigningKey::from_slice(&[0x5a; 48]).unwrap();
    let rc_public = rc_key.verifying_key().to_sec1_bytes();
    let rc_sig: p384::ecdsa::Signature = rc_key.sign(&message);

    // Same algorithm on both sides: each verifies the other's signature.
    UnparsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, &rc_public)
        .verify(&message, &rc_sig.to_bytes())
        .unwrap();
    let aws_vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(&aws_public).unwrap();
    let aws_sig_rc = p384::ecdsa::Signature::from_slice(&aws_sig).unwrap();
    aws_vk.verify(&message, &aws_sig_rc.normalize_s()).unwrap();

    let mut group = c.benchmark_group("es384_sign_1KiB");
    group.bench_function("aws-lc-rs", |b| b.iter(|| aws_key.sign(&rng, black_box(&message)).unwrap()));
    group.bench_function("p384", |b| {
        b.iter(|| -> p384::ecdsa::Signature { rc_key.sign(black_box(&message)) })
    });
    group.finish();

    let mut group = c.benchmark_group("es384_verify_1KiB");
    // The verifier's way: the public key parsed from its SEC1 bytes on every call.
    group.bench_function("aws-lc-rs", |b| {
        b.iter(|| {
            UnparsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, black_box(&aws_public))
                .verify(black_box(&message), black_box(&aws_sig))
                .unwrap()
        })
    });
    group.bench_function("p384", |b| {
        b.iter(|| {
            let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(black_box(&rc_public)).unwrap();
            vk.verify(black_box(&message), black_box(&rc_sig)).unwrap()
        })
    });
    let rc_vk = *rc_key.verifying_key();
    group.bench_function("p384 (key parsed once)", |b| {
        b.iter(|| rc_vk.verify(black_box(&message), black_box(&rc_sig)).unwrap())
    });
    group.finish();
}

fn attestation_verify(c: &mut Criterion) {
    let pki = TestPki::new(&TestPkiParams::new("bench", (2024, 1, 1), (2026, 1, 1)));
    let doc = AttestationDoc {
        module_id: "i-bench-enc0".into(),
        digest: DIGEST_SHA384.into(),
        timestamp: NOW * 1000,
        pcrs: (0u8..16).map(|i| (i, vec![i; 48])).collect(),
        certificate: pki.leaf_der.clone(),
        cabundle: pki.cabundle(),
        public_key: None,
        user_data: Some(vec![0xab; 32]),
        nonce: Some(vec![0xcd; 32]),
    };
    let bytes = pki.sign(&doc);
    let root = pki.root();
    let expect = Expectations {
        pcrs: [(0u8, doc.pcrs[&0].clone())].into(),
        user_data: doc.user_data.clone(),
        nonce: doc.nonce.clone(),
        public_key: None,
        max_age: None,
    };
    assert_eq!(verify(&bytes, &root, NOW, &expect).unwrap(), doc);
    c.bench_function("attestation_verify_test_pki", |b| {
        b.iter(|| verify(black_box(&bytes), &root, NOW, &expect).unwrap())
    });
}

criterion_group!(benches, es384, attestation_verify);
criterion_main!(benches);
