//! P-256 and Ed25519 by measurement, for end-user ES256 credentials: verifying a DER ECDSA signature over a
//! WebAuthn-sized message (authenticatorData || SHA-256(clientDataJSON)) with the pure-Rust
//! RustCrypto `p256` 0.14 against aws-lc-rs, and `CredentialPublicKey::verify` (strict DER by
//! `p256`, then aws-lc-rs on the fixed form), what the enclave runs.
//!
//! `cargo bench -p signer-common --bench p256_verify -- --warm-up-time 1 --measurement-time 3`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P256_SHA256_FIXED, EcdsaKeyPair,
    KeyPair as _, UnparsedPublicKey,
};
use criterion::{Criterion, criterion_group, criterion_main};
use p256::ecdsa::signature::Verifier as _;
use serde_bytes::ByteBuf;
use signer_common::userauth::CredentialPublicKey;

fn es256_verify(c: &mut Criterion) {
    // 37 bytes of authenticator data and a 32-byte client data hash.
    let message: Vec<u8> = (0..69u32).map(|i| (i * 31 % 251) as u8).collect();
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
    let public = key.public_key().as_ref().to_vec();
    let der = key.sign(&rng, &message).unwrap().as_ref().to_vec();
    let credential = CredentialPublicKey::P256(ByteBuf::from(public.clone()));
    credential.verify(&message, &der).unwrap();

    let mut group = c.benchmark_group("es256_verify_der");
    // The public key parsed from its SEC1 bytes on every call, as a stored credential is.
    group.bench_function("p256", |b| {
        b.iter(|| {
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(black_box(&public)).unwrap();
            let sig = p256::ecdsa::Signature::from_der(black_box(&der)).unwrap();
            vk.verify(black_box(&message), &sig).unwrap()
        })
    });
    group.bench_function("aws-lc-rs_asn1", |b| {
        b.iter(|| {
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, black_box(&public))
                .verify(black_box(&message), black_box(&der))
                .unwrap()
        })
    });
    group.bench_function("p256_der_then_aws-lc-rs_fixed", |b| {
        b.iter(|| {
            let sig = p256::ecdsa::Signature::from_der(black_box(&der)).unwrap();
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, black_box(&public))
                .verify(black_box(&message), &sig.to_bytes())
                .unwrap()
        })
    });
    group.bench_function("CredentialPublicKey::verify", |b| {
        b.iter(|| credential.verify(black_box(&message), black_box(&der)).unwrap())
    });
    group.finish();
}

/// Ed25519 for end-user Key credentials: ed25519-dalek's `verify_strict` (decompresses R to
/// find its order), `signer_common::ed25519::verify_strict` (the same decision, R's order by
/// encoding), and aws-lc-rs (RFC 8032's equation alone, without the small-order checks).
fn ed25519_verify(c: &mut Criterion) {
    use aws_lc_rs::signature::{ED25519, Ed25519KeyPair};
    let message = br#"{"type":"key.get","challenge":"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq","origin":"http://localhost:8080","crossOrigin":false}"#;
    let rng = SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let key = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let public: [u8; 32] = key.public_key().as_ref().try_into().unwrap();
    let sig = key.sign(message).as_ref().to_vec();
    let mut group = c.benchmark_group("ed25519_verify");
    group.bench_function("dalek_strict", |b| {
        b.iter(|| {
            let vk = ed25519_dalek::VerifyingKey::from_bytes(black_box(&public)).unwrap();
            let s = ed25519_dalek::Signature::from_slice(black_box(&sig)).unwrap();
            vk.verify_strict(black_box(message), &s).unwrap()
        })
    });
    group.bench_function("signer_common::ed25519::verify_strict", |b| {
        b.iter(|| {
            signer_common::ed25519::verify_strict(black_box(&public), black_box(message), black_box(&sig))
                .unwrap()
        })
    });
    group.bench_function("aws-lc-rs", |b| {
        b.iter(|| {
            UnparsedPublicKey::new(&ED25519, black_box(&public))
                .verify(black_box(message), black_box(&sig))
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, es256_verify, ed25519_verify);
criterion_main!(benches);
