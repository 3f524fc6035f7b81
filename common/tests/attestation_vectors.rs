//! Real AWS Nitro attestation documents (tests/data/nitro, see its README.md) must verify against
//! the embedded AWS Root-G1 at their own time, and fail a day later and a day earlier.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use signer_common::attestation::test_pki::P384_ORDER;
use signer_common::attestation::{
    Expectations, TrustedRoot, VerifyError, decode_unverified, document_from_file_bytes, verify,
};

const DAY: u64 = 86_400;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/nitro")
}

fn vectors() -> Vec<(String, serde_json::Value)> {
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data_dir().join("expected.json")).unwrap()).unwrap();
    let map = expected.as_object().unwrap();
    assert_eq!(map.len(), 5);
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn load(name: &str) -> Vec<u8> {
    document_from_file_bytes(&std::fs::read(data_dir().join(name)).unwrap()).unwrap()
}

fn hex_field(v: &serde_json::Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn len_of(field: &Option<Vec<u8>>) -> serde_json::Value {
    field.as_ref().map_or(serde_json::Value::Null, |f| f.len().into())
}

#[test]
fn real_documents_verify_at_their_time_only() {
    let root = TrustedRoot::aws_nitro_root_g1();
    for (name, want) in vectors() {
        let doc = load(&name);
        assert_eq!(doc.len() as u64, want["cose_bytes"].as_u64().unwrap(), "{name}");
        assert_eq!(hex::encode(Sha256::digest(&doc)), want["cose_sha256"].as_str().unwrap(), "{name}");
        let at = want["verify_at_unix_s"].as_u64().unwrap();
        let pcrs: BTreeMap<u8, Vec<u8>> = want["pcrs"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(i, v)| (i.parse().unwrap(), hex_field(v)))
            .collect();
        let pcr0 = Expectations { pcrs: [(0u8, pcrs[&0].clone())].into(), ..Default::default() };

        let got = verify(&doc, &root, at, &pcr0).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got.module_id, want["module_id"].as_str().unwrap(), "{name}");
        assert_eq!(got.timestamp, want["timestamp_ms"].as_u64().unwrap(), "{name}");
        assert_eq!(got.digest, "SHA384");
        assert_eq!(got.pcrs.len() as u64, want["pcr_count"].as_u64().unwrap(), "{name}");
        assert_eq!(len_of(&got.public_key), want["public_key_len"], "{name}");
        assert_eq!(len_of(&got.nonce), want["nonce_len"], "{name}");
        match want["user_data_hex"].as_str() {
            None => assert_eq!(got.user_data, None, "{name}"),
            Some(h) => assert_eq!(got.user_data, Some(hex::decode(h).unwrap()), "{name}"),
        }
        assert_eq!(got.cabundle.first().unwrap(), root.der(), "{name}");
        assert_eq!(decode_unverified(&doc).unwrap(), got, "{name}");

        // Every listed PCR, and the document's own optional fields, as expectations.
        let all = Expectations {
            pcrs: pcrs.clone(),
            user_data: got.user_data.clone(),
            nonce: got.nonce.clone(),
            public_key: got.public_key.clone(),
            max_age: None,
        };
        verify(&doc, &root, at, &all).unwrap_or_else(|e| panic!("{name}: {e}"));

        // A maximum age: the distance from the document's timestamp to `at`, rounded up to a
        // second, passes; one second less is refused as too old (or too new).
        let distance_s = (u128::from(at) * 1000).abs_diff(u128::from(got.timestamp)).div_ceil(1000) as u64;
        let aged = |secs| Expectations { max_age: Some(Duration::from_secs(secs)), ..pcr0.clone() };
        verify(&doc, &root, at, &aged(distance_s)).unwrap_or_else(|e| panic!("{name}: {e}"));
        if distance_s > 0 {
            assert!(
                matches!(verify(&doc, &root, at, &aged(distance_s - 1)), Err(VerifyError::Age { .. })),
                "{name}"
            );
        }

        // A wrong PCR0 is caught.
        let mut wrong = pcr0.clone();
        wrong.pcrs.insert(0, vec![0; 48]);
        assert_eq!(
            verify(&doc, &root, at, &wrong).unwrap_err(),
            VerifyError::PcrMismatch { index: 0 },
            "{name}"
        );

        // Outside the certificates' lifetime.
        for when in [at + DAY, at - DAY] {
            let e = verify(&doc, &root, when, &pcr0).unwrap_err();
            assert!(matches!(e, VerifyError::Chain(_)), "{name} at {when}: {e}");
        }
    }
}

#[test]
fn real_documents_exercise_the_quirks() {
    // The vectors carry what the verifier must accept: an indefinite-length payload map and a
    // high-S signature (tempo), untagged COSE_Sign1 with protected header {1: -35}.
    let mut seen_indefinite = false;
    let mut seen_high_s = false;
    for (name, want) in vectors() {
        let doc = load(&name);
        let value: ciborium::Value = ciborium::de::from_reader(doc.as_slice()).unwrap();
        let items = value.into_array().unwrap();
        let protected = items[0].as_bytes().unwrap();
        assert_eq!(protected.as_slice(), [0xa1, 0x01, 0x38, 0x22], "{name}");
        let payload = items[2].as_bytes().unwrap();
        let header = format!("0x{:02x}", payload[0]);
        assert_eq!(header, want["payload_map_header"].as_str().unwrap(), "{name}");
        seen_indefinite |= payload[0] == 0xbf;
        // s > n / 2  <=>  2s > n, compared big-endian.
        let s = &items[3].as_bytes().unwrap()[48..];
        let mut doubled = [0u8; 49];
        let mut carry = 0u16;
        for i in (0..48).rev() {
            let d = u16::from(s[i]) * 2 + carry;
            doubled[i + 1] = d as u8;
            carry = d >> 8;
        }
        doubled[0] = carry as u8;
        let mut n = [0u8; 49];
        n[1..].copy_from_slice(&P384_ORDER);
        let high = doubled > n;
        assert_eq!(high, want["signature_s"] == "high", "{name}");
        seen_high_s |= high;
    }
    assert!(seen_indefinite && seen_high_s);
}

#[test]
fn real_documents_fail_when_an_intermediate_is_pinned() {
    let (name, want) = vectors().into_iter().next().unwrap();
    let doc = load(&name);
    let at = want["verify_at_unix_s"].as_u64().unwrap();
    let inner_intermediate = decode_unverified(&doc).unwrap().cabundle[1].clone();
    // An intermediate as the trusted root: the pinned root must be the only anchor, so the path
    // leaf -> ... -> cabundle[1] is too short to match the cabundle and is refused.
    let root = TrustedRoot::from_der(inner_intermediate).unwrap();
    let e = verify(&doc, &root, at, &Expectations::default()).unwrap_err();
    assert!(matches!(e, VerifyError::Chain(_)), "{e}");
}

#[test]
fn real_documents_reject_tampering() {
    let root = TrustedRoot::aws_nitro_root_g1();
    for (name, want) in vectors() {
        let mut doc = load(&name);
        let at = want["verify_at_unix_s"].as_u64().unwrap();
        let last = doc.len() - 1;
        doc[last] ^= 1;
        let e = verify(&doc, &root, at, &Expectations::default()).unwrap_err();
        assert!(matches!(e, VerifyError::Signature(_)), "{name}: {e}");
    }
}

/// A real document's COSE parts: `(protected header, signature)`.
fn protected_and_signature(doc: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let value: ciborium::Value = ciborium::de::from_reader(doc).unwrap();
    let items = value.into_array().unwrap();
    (items[0].as_bytes().unwrap().clone(), items[3].as_bytes().unwrap().clone())
}

/// `doc` with its payload replaced by `payload` (the AWS signature kept, so it no longer
/// matches: only a step before 4 may be what fails).
fn with_payload(doc: &[u8], payload: &signer_common::attestation::AttestationDoc) -> Vec<u8> {
    let (protected, signature) = protected_and_signature(doc);
    signer_common::attestation::cose::encode_sign1(&protected, &payload.to_cbor(), &signature)
}

#[test]
fn real_documents_with_a_flipped_leaf_certificate_byte_are_rejected() {
    let root = TrustedRoot::aws_nitro_root_g1();
    for (name, want) in vectors() {
        let doc = load(&name);
        let at = want["verify_at_unix_s"].as_u64().unwrap();
        let leaf = decode_unverified(&doc).unwrap().certificate;
        let start = doc.windows(leaf.len()).position(|w| w == leaf.as_slice()).unwrap();
        // Every byte of the leaf, one at a time: the chain (step 3) fails before the signature
        // over the now different payload is looked at.
        for i in start..start + leaf.len() {
            let mut mutated = doc.clone();
            mutated[i] ^= 0x01;
            let e = verify(&mutated, &root, at, &Expectations::default()).unwrap_err();
            assert!(matches!(e, VerifyError::Chain(_)), "{name}, leaf byte {}: {e}", i - start);
        }
    }
}

#[test]
fn real_documents_with_an_intermediate_removed_are_rejected() {
    let root = TrustedRoot::aws_nitro_root_g1();
    for (name, want) in vectors() {
        let doc = load(&name);
        let at = want["verify_at_unix_s"].as_u64().unwrap();
        let decoded = decode_unverified(&doc).unwrap();
        assert_eq!(decoded.cabundle.len(), 4, "{name}: root, regional, zonal, instance");
        // Control: the unchanged cabundle, re-encoded, passes step 3 (and verifies outright when
        // re-encoding reproduces the NSM's bytes; tempo's indefinite-length map does not).
        match verify(&with_payload(&doc, &decoded), &root, at, &Expectations::default()) {
            Ok(got) => assert_eq!(got, decoded, "{name}"),
            Err(e) => assert!(matches!(e, VerifyError::Signature(_)), "{name}: {e}"),
        }
        for removed in 1..decoded.cabundle.len() {
            let mut tampered = decoded.clone();
            tampered.cabundle.remove(removed);
            let e = verify(&with_payload(&doc, &tampered), &root, at, &Expectations::default()).unwrap_err();
            assert!(matches!(e, VerifyError::Chain(_)), "{name}, cabundle[{removed}] removed: {e}");
        }
    }
}

#[test]
fn real_documents_with_intermediates_swapped_are_rejected() {
    let root = TrustedRoot::aws_nitro_root_g1();
    for (name, want) in vectors() {
        let doc = load(&name);
        let at = want["verify_at_unix_s"].as_u64().unwrap();
        let decoded = decode_unverified(&doc).unwrap();
        for (a, b) in [(1, 2), (2, 3), (1, 3)] {
            let mut tampered = decoded.clone();
            tampered.cabundle.swap(a, b);
            let e = verify(&with_payload(&doc, &tampered), &root, at, &Expectations::default()).unwrap_err();
            // The path is still found (the builder searches every intermediate); the check that
            // it is the cabundle in order is what refuses it.
            assert!(
                matches!(&e, VerifyError::Chain(m) if m.contains("not all of them in order")),
                "{name}, cabundle[{a}] <-> cabundle[{b}]: {e}"
            );
        }
    }
}
