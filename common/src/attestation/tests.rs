//! Unit tests with a throwaway P-384 PKI of the same shape as AWS's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P384_SHA384, date_time_ymd,
};

use super::*;

/// 2025-01-01T00:00:00Z, inside every test certificate's validity.
const NOW: u64 = 1_735_689_600;
const DAY: u64 = 86_400;

struct Pki {
    root_der: Vec<u8>,
    intermediate_der: Vec<u8>,
    leaf_der: Vec<u8>,
    leaf_key: EcdsaKeyPair,
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages =
        vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = date_time_ymd(2024, 1, 1);
    p.not_after = date_time_ymd(2026, 1, 1);
    p
}

fn make_pki(leaf_is_ca: bool) -> Pki {
    let root_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
    let root_params = ca_params("test.nitro-enclaves root");
    let root_cert = root_params.self_signed(&root_key).unwrap();
    let root = Issuer::new(root_params, root_key);

    let int_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
    let int_params = ca_params("test.nitro-enclaves intermediate");
    let int_cert = int_params.signed_by(&int_key, &root).unwrap();
    let intermediate = Issuer::new(int_params, int_key);

    let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
    let mut leaf_params = ca_params("i-test-enc0.test.nitro-enclaves");
    if !leaf_is_ca {
        leaf_params.is_ca = IsCa::ExplicitNoCa;
        leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    }
    leaf_params.not_before = date_time_ymd(2024, 12, 31);
    leaf_params.not_after = date_time_ymd(2025, 1, 2);
    let leaf_cert = leaf_params.signed_by(&leaf_key, &intermediate).unwrap();
    let leaf_key =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &leaf_key.serialize_der()).unwrap();
    Pki {
        root_der: root_cert.der().to_vec(),
        intermediate_der: int_cert.der().to_vec(),
        leaf_der: leaf_cert.der().to_vec(),
        leaf_key,
    }
}

fn pki() -> &'static Pki {
    static PKI: std::sync::OnceLock<Pki> = std::sync::OnceLock::new();
    PKI.get_or_init(|| make_pki(false))
}

fn root() -> TrustedRoot {
    TrustedRoot::from_der(pki().root_der.clone()).unwrap()
}

fn sample_doc(pki: &Pki) -> AttestationDoc {
    AttestationDoc {
        module_id: "i-test-enc0".into(),
        digest: DIGEST_SHA384.into(),
        timestamp: NOW * 1000,
        pcrs: (0u8..16).map(|i| (i, vec![i; 48])).collect(),
        certificate: pki.leaf_der.clone(),
        cabundle: vec![pki.root_der.clone(), pki.intermediate_der.clone()],
        public_key: Some(b"receipt key".to_vec()),
        user_data: Some(vec![0xab; 32]),
        nonce: Some(b"client nonce".to_vec()),
    }
}

fn sign_raw(pki: &Pki, protected: &[u8], payload: &[u8]) -> Vec<u8> {
    let tbs = cose::sig_structure(protected, payload);
    let sig = pki.leaf_key.sign(&SystemRandom::new(), &tbs).unwrap();
    cose::encode_sign1(protected, payload, sig.as_ref())
}

fn sign(pki: &Pki, doc: &AttestationDoc) -> Vec<u8> {
    sign_raw(pki, &cose::ES384_PROTECTED_HEADER, &doc.to_cbor())
}

fn expectations() -> Expectations {
    let doc = sample_doc(pki());
    Expectations {
        pcrs: [(0u8, doc.pcrs[&0].clone()), (15, doc.pcrs[&15].clone())].into(),
        user_data: doc.user_data.clone(),
        nonce: doc.nonce.clone(),
        public_key: doc.public_key.clone(),
    }
}

#[test]
fn valid_document_verifies() {
    let doc = sample_doc(pki());
    let bytes = sign(pki(), &doc);
    assert_eq!(verify(&bytes, &root(), NOW, &expectations()).unwrap(), doc);
    assert_eq!(verify(&bytes, &root(), NOW, &Expectations::default()).unwrap(), doc);
    assert_eq!(decode_unverified(&bytes).unwrap(), doc);
}

#[test]
fn tagged_document_verifies() {
    let mut bytes = vec![0xd2];
    bytes.extend_from_slice(&sign(pki(), &sample_doc(pki())));
    verify(&bytes, &root(), NOW, &expectations()).unwrap();
}

#[test]
fn absent_optional_fields_verify() {
    let mut doc = sample_doc(pki());
    doc.public_key = None;
    doc.user_data = None;
    doc.nonce = None;
    let bytes = sign(pki(), &doc);
    assert_eq!(verify(&bytes, &root(), NOW, &Expectations::default()).unwrap(), doc);
    // ... but an expected field that is absent is a mismatch.
    let e = verify(&bytes, &root(), NOW, &expectations()).unwrap_err();
    assert!(matches!(e, VerifyError::FieldMismatch { .. }), "{e}");
}

#[test]
fn indefinite_length_payload_verifies() {
    let cbor = sample_doc(pki()).to_cbor();
    let mut indefinite = vec![0xbf];
    indefinite.extend_from_slice(&cbor[1..]);
    indefinite.push(0xff);
    let bytes = sign_raw(pki(), &cose::ES384_PROTECTED_HEADER, &indefinite);
    verify(&bytes, &root(), NOW, &expectations()).unwrap();
}

/// P-384 group order.
const P384_N: [u8; 48] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf, 0x58, 0x1a,
    0x0d, 0xb2, 0x48, 0xb0, 0xa7, 0x7a, 0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73,
];

#[test]
fn high_s_signature_verifies() {
    let doc = sample_doc(pki());
    let payload = doc.to_cbor();
    let tbs = cose::sig_structure(&cose::ES384_PROTECTED_HEADER, &payload);
    let sig = pki().leaf_key.sign(&SystemRandom::new(), &tbs).unwrap();
    let (r, s) = sig.as_ref().split_at(48);
    // s' = n - s: the other valid signature; one of s, s' is high.
    let mut s2 = [0u8; 48];
    let mut borrow = 0i16;
    for i in (0..48).rev() {
        let d = i16::from(P384_N[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(d < 0);
        s2[i] = (d + 256 * borrow) as u8;
    }
    let mut sig2 = r.to_vec();
    sig2.extend_from_slice(&s2);
    let bytes = cose::encode_sign1(&cose::ES384_PROTECTED_HEADER, &payload, &sig2);
    verify(&bytes, &root(), NOW, &expectations()).unwrap();
}

#[test]
fn flipped_signature_byte_is_rejected() {
    let mut bytes = sign(pki(), &sample_doc(pki()));
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let e = verify(&bytes, &root(), NOW, &expectations()).unwrap_err();
    assert!(matches!(e, VerifyError::Signature(_)), "{e}");
    assert!(e.to_string().starts_with("step 4 (signature):"), "{e}");
}

#[test]
fn flipped_pcr_byte_is_rejected() {
    let doc = sample_doc(pki());
    let mut bytes = sign(pki(), &doc);
    // PCR5 is 48 bytes of 0x05 in the signed payload; flip one of them.
    let pos = bytes.windows(48).position(|w| w == [5u8; 48]).unwrap();
    bytes[pos + 10] ^= 0x80;
    let e = verify(&bytes, &root(), NOW, &Expectations::default()).unwrap_err();
    assert!(matches!(e, VerifyError::Signature(_)), "{e}");
}

#[test]
fn wrong_expectations_are_rejected() {
    let bytes = sign(pki(), &sample_doc(pki()));
    let mut ex = expectations();
    ex.nonce = Some(b"other nonce".to_vec());
    assert_eq!(verify(&bytes, &root(), NOW, &ex).unwrap_err(), VerifyError::FieldMismatch { field: "nonce" });
    let mut ex = expectations();
    ex.user_data = Some(vec![0xab; 31]);
    assert_eq!(
        verify(&bytes, &root(), NOW, &ex).unwrap_err(),
        VerifyError::FieldMismatch { field: "user_data" }
    );
    let mut ex = expectations();
    ex.public_key = Some(vec![]);
    assert_eq!(
        verify(&bytes, &root(), NOW, &ex).unwrap_err(),
        VerifyError::FieldMismatch { field: "public_key" }
    );
    let mut ex = expectations();
    ex.pcrs.insert(0, vec![1; 48]);
    let e = verify(&bytes, &root(), NOW, &ex).unwrap_err();
    assert_eq!(e, VerifyError::PcrMismatch { index: 0 });
    assert_eq!(e.to_string(), "step 5 (expectations): PCR0 differs from the expected value");
    let mut ex = expectations();
    ex.pcrs.insert(16, vec![0; 48]);
    assert_eq!(verify(&bytes, &root(), NOW, &ex).unwrap_err(), VerifyError::PcrMissing { index: 16 });
}

#[test]
fn trailing_bytes_are_rejected() {
    let mut bytes = sign(pki(), &sample_doc(pki()));
    bytes.push(0);
    let e = verify(&bytes, &root(), NOW, &expectations()).unwrap_err();
    assert!(matches!(e, VerifyError::Cose(_)), "{e}");
}

#[test]
fn truncated_documents_are_rejected() {
    let bytes = sign(pki(), &sample_doc(pki()));
    for len in 0..bytes.len() {
        let e = decode_unverified(&bytes[..len]).unwrap_err();
        assert!(matches!(e, VerifyError::Cose(_)), "len {len}: {e}");
    }
    let e = verify(&bytes[..bytes.len() / 2], &root(), NOW, &expectations()).unwrap_err();
    assert!(matches!(e, VerifyError::Cose(_)), "{e}");
}

#[test]
fn flipped_bytes_never_panic_and_never_verify() {
    let bytes = sign(pki(), &sample_doc(pki()));
    let mut mutated = bytes.clone();
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x80] {
            mutated[i] ^= mask;
            // Decoding alone must never panic (and is fast); verify a sample of positions.
            let _ = decode_unverified(&mutated);
            if i % 97 == 0 {
                assert!(verify(&mutated, &root(), NOW, &Expectations::default()).is_err(), "{i}");
            }
            mutated[i] ^= mask;
        }
    }
}

#[test]
fn wrong_alg_header_is_rejected() {
    let payload = sample_doc(pki()).to_cbor();
    // ES256 {1: -7}, signed correctly over that header.
    let bytes = sign_raw(pki(), &[0xa1, 0x01, 0x26], &payload);
    let e = verify(&bytes, &root(), NOW, &expectations()).unwrap_err();
    assert!(matches!(e, VerifyError::Cose(_)), "{e}");
    assert!(e.to_string().starts_with("step 1 (COSE_Sign1):"), "{e}");
    // Empty protected header.
    let bytes = sign_raw(pki(), &[0xa0], &payload);
    assert!(matches!(verify(&bytes, &root(), NOW, &expectations()).unwrap_err(), VerifyError::Cose(_)));
}

#[test]
fn other_root_is_rejected() {
    let bytes = sign(pki(), &sample_doc(pki()));
    let e = verify(&bytes, &TrustedRoot::aws_nitro_root_g1(), NOW, &expectations()).unwrap_err();
    assert!(matches!(e, VerifyError::Chain(_)), "{e}");
    assert!(e.to_string().starts_with("step 3 (certificate chain):"), "{e}");
}

#[test]
fn root_in_document_is_ignored() {
    // A document carrying another root in cabundle[0] still verifies against the pinned root...
    let mut doc = sample_doc(pki());
    doc.cabundle[0] = TrustedRoot::aws_nitro_root_g1().der().to_vec();
    let bytes = sign(pki(), &doc);
    verify(&bytes, &root(), NOW, &expectations()).unwrap();
    // ... and a document whose cabundle[0] is our root does not verify against the AWS root.
    let bytes = sign(pki(), &sample_doc(pki()));
    assert!(verify(&bytes, &TrustedRoot::aws_nitro_root_g1(), NOW, &expectations()).is_err());
}

#[test]
fn certificates_must_be_valid_at_the_verification_time() {
    let bytes = sign(pki(), &sample_doc(pki()));
    for at in [NOW + 2 * DAY, NOW - 2 * DAY, 0, u64::MAX] {
        let e = verify(&bytes, &root(), at, &expectations()).unwrap_err();
        assert!(matches!(e, VerifyError::Chain(_)), "{at}: {e}");
    }
}

#[test]
fn cabundle_must_be_the_chain_in_order() {
    // Missing intermediate.
    let mut doc = sample_doc(pki());
    doc.cabundle.truncate(1);
    let e = verify(&sign(pki(), &doc), &root(), NOW, &expectations()).unwrap_err();
    assert!(matches!(e, VerifyError::Chain(_)), "{e}");
    // An unused extra certificate.
    let mut doc = sample_doc(pki());
    doc.cabundle.push(TrustedRoot::aws_nitro_root_g1().der().to_vec());
    let e = verify(&sign(pki(), &doc), &root(), NOW, &expectations()).unwrap_err();
    assert!(matches!(e, VerifyError::Chain(_)), "{e}");
}

#[test]
fn ca_leaf_is_rejected() {
    let ca_pki = make_pki(true);
    let doc = sample_doc(&ca_pki);
    let root = TrustedRoot::from_der(ca_pki.root_der.clone()).unwrap();
    let e = verify(&sign(&ca_pki, &doc), &root, NOW, &expectations()).unwrap_err();
    assert!(matches!(e, VerifyError::Chain(_)), "{e}");
}

#[test]
fn signature_by_another_key_is_rejected() {
    let other = make_pki(false);
    // Our chain, but signed by another leaf key.
    let doc = sample_doc(pki());
    let e = verify(&sign(&other, &doc), &root(), NOW, &expectations()).unwrap_err();
    assert!(matches!(e, VerifyError::Signature(_)), "{e}");
}

#[test]
fn oversized_document_is_rejected() {
    let e = verify(&vec![0u8; MAX_DOCUMENT_LEN + 1], &root(), NOW, &expectations()).unwrap_err();
    assert!(matches!(e, VerifyError::Cose(_)), "{e}");
}

#[test]
fn file_bytes_accept_raw_and_base64_forms() {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let bytes = sign(pki(), &sample_doc(pki()));
    assert_eq!(document_from_file_bytes(&bytes).unwrap(), bytes);
    let mut tagged = vec![0xd2];
    tagged.extend_from_slice(&bytes);
    assert_eq!(document_from_file_bytes(&tagged).unwrap(), tagged);
    for text in [
        STANDARD.encode(&bytes),
        STANDARD_NO_PAD.encode(&bytes),
        URL_SAFE_NO_PAD.encode(&bytes),
        format!("  {}\n", STANDARD.encode(&bytes)),
        STANDARD
            .encode(&bytes)
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\r\n"),
    ] {
        assert_eq!(document_from_file_bytes(text.as_bytes()).unwrap(), bytes);
    }
    assert!(document_from_file_bytes(b"").is_err());
    assert!(document_from_file_bytes(b"  \n").is_err());
    assert!(document_from_file_bytes(b"not base64!").is_err());
    assert!(document_from_file_bytes(&[0xff, 0x00]).is_err());
}

#[test]
fn error_messages_are_one_line() {
    let bytes = sign(pki(), &sample_doc(pki()));
    let errors = [
        verify(&bytes[..10], &root(), NOW, &expectations()).unwrap_err(),
        verify(&bytes, &root(), NOW + 9 * DAY, &expectations()).unwrap_err(),
        verify(&bytes, &TrustedRoot::aws_nitro_root_g1(), NOW, &expectations()).unwrap_err(),
    ];
    for e in errors {
        let s = e.to_string();
        assert!(!s.contains('\n') && s.starts_with("step "), "{s}");
    }
}

#[test]
fn expectations_default_is_empty() {
    let ex = Expectations::default();
    assert_eq!(ex.pcrs, BTreeMap::new());
    assert!(ex.user_data.is_none() && ex.nonce.is_none() && ex.public_key.is_none());
}
