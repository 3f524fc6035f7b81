//! Unit tests with a throwaway P-384 PKI of the same shape as AWS's ([`super::test_pki`]).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use super::test_pki::{P384_ORDER, TestPki, TestPkiParams};
use super::*;

/// 2025-01-01T00:00:00Z, inside every test certificate's validity.
const NOW: u64 = 1_735_689_600;
const DAY: u64 = 86_400;

/// CAs valid in 2024 and 2025, the leaf only from 2024-12-31 to 2025-01-02 (NOW +- 1 day).
fn make_pki(leaf_is_ca: bool) -> TestPki {
    TestPki::new(&TestPkiParams {
        leaf_validity: Some(((2024, 12, 31), (2025, 1, 2))),
        leaf_is_ca,
        ..TestPkiParams::new("test", (2024, 1, 1), (2026, 1, 1))
    })
}

fn pki() -> &'static TestPki {
    static PKI: std::sync::OnceLock<TestPki> = std::sync::OnceLock::new();
    PKI.get_or_init(|| make_pki(false))
}

fn root() -> TrustedRoot {
    pki().root()
}

fn sample_doc(pki: &TestPki) -> AttestationDoc {
    AttestationDoc {
        module_id: "i-test-enc0".into(),
        digest: DIGEST_SHA384.into(),
        timestamp: NOW * 1000,
        pcrs: (0u8..16).map(|i| (i, vec![i; 48])).collect(),
        certificate: pki.leaf_der.clone(),
        cabundle: pki.cabundle(),
        public_key: Some(b"receipt key".to_vec()),
        user_data: Some(vec![0xab; 32]),
        nonce: Some(b"client nonce".to_vec()),
    }
}

fn expectations() -> Expectations {
    let doc = sample_doc(pki());
    Expectations {
        pcrs: [(0u8, doc.pcrs[&0].clone()), (15, doc.pcrs[&15].clone())].into(),
        user_data: doc.user_data.clone(),
        nonce: doc.nonce.clone(),
        public_key: doc.public_key.clone(),
        max_age: None,
    }
}

#[test]
fn valid_document_verifies() {
    let doc = sample_doc(pki());
    let bytes = pki().sign(&doc);
    assert_eq!(verify(&bytes, &root(), NOW, &expectations()).unwrap(), doc);
    assert_eq!(verify(&bytes, &root(), NOW, &Expectations::default()).unwrap(), doc);
    assert_eq!(decode_unverified(&bytes).unwrap(), doc);
}

/// Step 5, maximum age: the timestamp must be within `max_age` of the verification time,
/// either way (a stale document, or one from a clock far ahead).
#[test]
fn max_age_bounds_the_timestamp_both_ways() {
    let bytes = pki().sign(&sample_doc(pki()));
    let aged = |secs| Expectations { max_age: Some(std::time::Duration::from_secs(secs)), ..expectations() };
    // The sample's timestamp is NOW exactly.
    verify(&bytes, &root(), NOW, &aged(0)).unwrap();
    verify(&bytes, &root(), NOW + 300, &aged(300)).unwrap();
    verify(&bytes, &root(), NOW - 300, &aged(300)).unwrap();
    for at in [NOW + 301, NOW - 301] {
        assert_eq!(
            verify(&bytes, &root(), at, &aged(300)).unwrap_err(),
            VerifyError::Age { timestamp_ms: NOW * 1000, at_unix_seconds: at, max_age_seconds: 300 }
        );
    }
    // Without a maximum age the timestamp is not compared.
    verify(&bytes, &root(), NOW + 86_400, &expectations()).unwrap();
}

#[test]
fn tagged_document_verifies() {
    let mut bytes = vec![0xd2];
    bytes.extend_from_slice(&pki().sign(&sample_doc(pki())));
    verify(&bytes, &root(), NOW, &expectations()).unwrap();
}

#[test]
fn absent_optional_fields_verify() {
    let mut doc = sample_doc(pki());
    doc.public_key = None;
    doc.user_data = None;
    doc.nonce = None;
    let bytes = pki().sign(&doc);
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
    let bytes = pki().sign_cose(&cose::ES384_PROTECTED_HEADER, &indefinite);
    verify(&bytes, &root(), NOW, &expectations()).unwrap();
}

#[test]
fn high_s_signature_verifies() {
    let doc = sample_doc(pki());
    let payload = doc.to_cbor();
    let tbs = cose::sig_structure(&cose::ES384_PROTECTED_HEADER, &payload);
    let sig = pki().sign_message(&tbs);
    let (r, s) = sig.split_at(48);
    // s' = n - s: the other valid signature; one of s, s' is high.
    let mut s2 = [0u8; 48];
    let mut borrow = 0i16;
    for i in (0..48).rev() {
        let d = i16::from(P384_ORDER[i]) - i16::from(s[i]) - borrow;
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
    let mut bytes = pki().sign(&sample_doc(pki()));
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let e = verify(&bytes, &root(), NOW, &expectations()).unwrap_err();
    assert!(matches!(e, VerifyError::Signature(_)), "{e}");
    assert!(e.to_string().starts_with("step 4 (signature):"), "{e}");
}

#[test]
fn flipped_pcr_byte_is_rejected() {
    let doc = sample_doc(pki());
    let mut bytes = pki().sign(&doc);
    // PCR5 is 48 bytes of 0x05 in the signed payload; flip one of them.
    let pos = bytes.windows(48).position(|w| w == [5u8; 48]).unwrap();
    bytes[pos + 10] ^= 0x80;
    let e = verify(&bytes, &root(), NOW, &Expectations::default()).unwrap_err();
    assert!(matches!(e, VerifyError::Signature(_)), "{e}");
}

#[test]
fn wrong_expectations_are_rejected() {
    let bytes = pki().sign(&sample_doc(pki()));
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
    let mut bytes = pki().sign(&sample_doc(pki()));
    bytes.push(0);
    let e = verify(&bytes, &root(), NOW, &expectations()).unwrap_err();
    assert!(matches!(e, VerifyError::Cose(_)), "{e}");
}

#[test]
fn truncated_documents_are_rejected() {
    let bytes = pki().sign(&sample_doc(pki()));
    for len in 0..bytes.len() {
        let e = decode_unverified(&bytes[..len]).unwrap_err();
        assert!(matches!(e, VerifyError::Cose(_)), "len {len}: {e}");
    }
    let e = verify(&bytes[..bytes.len() / 2], &root(), NOW, &expectations()).unwrap_err();
    assert!(matches!(e, VerifyError::Cose(_)), "{e}");
}

#[test]
fn flipped_bytes_never_panic_and_never_verify() {
    let bytes = pki().sign(&sample_doc(pki()));
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
    let bytes = pki().sign_cose(&[0xa1, 0x01, 0x26], &payload);
    let e = verify(&bytes, &root(), NOW, &expectations()).unwrap_err();
    assert!(matches!(e, VerifyError::Cose(_)), "{e}");
    assert!(e.to_string().starts_with("step 1 (COSE_Sign1):"), "{e}");
    // Empty protected header.
    let bytes = pki().sign_cose(&[0xa0], &payload);
    assert!(matches!(verify(&bytes, &root(), NOW, &expectations()).unwrap_err(), VerifyError::Cose(_)));
}

#[test]
fn other_root_is_rejected() {
    let bytes = pki().sign(&sample_doc(pki()));
    let e = verify(&bytes, &TrustedRoot::aws_nitro_root_g1(), NOW, &expectations()).unwrap_err();
    assert!(matches!(e, VerifyError::Chain(_)), "{e}");
    assert!(e.to_string().starts_with("step 3 (certificate chain):"), "{e}");
}

#[test]
fn root_in_document_is_ignored() {
    // A document carrying another root in cabundle[0] still verifies against the pinned root...
    let mut doc = sample_doc(pki());
    doc.cabundle[0] = TrustedRoot::aws_nitro_root_g1().der().to_vec();
    let bytes = pki().sign(&doc);
    verify(&bytes, &root(), NOW, &expectations()).unwrap();
    // ... and a document whose cabundle[0] is our root does not verify against the AWS root.
    let bytes = pki().sign(&sample_doc(pki()));
    assert!(verify(&bytes, &TrustedRoot::aws_nitro_root_g1(), NOW, &expectations()).is_err());
}

#[test]
fn certificates_must_be_valid_at_the_verification_time() {
    let bytes = pki().sign(&sample_doc(pki()));
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
    let e = verify(&pki().sign(&doc), &root(), NOW, &expectations()).unwrap_err();
    assert!(matches!(e, VerifyError::Chain(_)), "{e}");
    // An unused extra certificate.
    let mut doc = sample_doc(pki());
    doc.cabundle.push(TrustedRoot::aws_nitro_root_g1().der().to_vec());
    let e = verify(&pki().sign(&doc), &root(), NOW, &expectations()).unwrap_err();
    assert!(matches!(e, VerifyError::Chain(_)), "{e}");
}

#[test]
fn ca_leaf_is_rejected() {
    let ca_pki = make_pki(true);
    let doc = sample_doc(&ca_pki);
    let root = ca_pki.root();
    let e = verify(&ca_pki.sign(&doc), &root, NOW, &expectations()).unwrap_err();
    assert!(matches!(e, VerifyError::Chain(_)), "{e}");
}

#[test]
fn signature_by_another_key_is_rejected() {
    let other = make_pki(false);
    // Our chain, but signed by another leaf key.
    let doc = sample_doc(pki());
    let e = verify(&other.sign(&doc), &root(), NOW, &expectations()).unwrap_err();
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
    let bytes = pki().sign(&sample_doc(pki()));
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
    let bytes = pki().sign(&sample_doc(pki()));
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

// --- Tampered certificates, look-alike roots, field limits ---------------------------------

/// Splits one DER TLV off the front of `input`: `(tag, whole TLV, rest)`. Enough DER for
/// certificates (lengths up to 65535).
fn der_split(input: &[u8]) -> (u8, &[u8], &[u8]) {
    let (len, header) = match input[1] {
        n if n < 0x80 => (usize::from(n), 2),
        0x81 => (usize::from(input[2]), 3),
        0x82 => ((usize::from(input[2]) << 8) | usize::from(input[3]), 4),
        other => panic!("unsupported DER length byte {other:#04x}"),
    };
    let (tlv, rest) = input.split_at(header + len);
    (input[0], tlv, rest)
}

/// The DER contents of a TLV (its header dropped).
fn der_contents(tlv: &[u8]) -> &[u8] {
    let header = match tlv[1] {
        n if n < 0x80 => 2,
        0x81 => 3,
        _ => 4,
    };
    &tlv[header..]
}

/// The encoded `(issuer, subject)` Names of a certificate, byte for byte.
fn issuer_and_subject(cert: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (_, cert, _) = der_split(cert);
    let (_, tbs, _) = der_split(der_contents(cert));
    let (tag, _version, rest) = der_split(der_contents(tbs));
    assert_eq!(tag, 0xa0, "v3 certificate");
    let (_, _serial, rest) = der_split(rest);
    let (_, _signature_alg, rest) = der_split(rest);
    let (_, issuer, rest) = der_split(rest);
    let (_, _validity, rest) = der_split(rest);
    let (_, subject, _) = der_split(rest);
    (issuer.to_vec(), subject.to_vec())
}

#[test]
fn flipped_leaf_certificate_byte_is_rejected_even_when_the_document_is_resigned() {
    // The leaf's key signs a document whose `certificate` has one byte changed: the COSE
    // signature is good, the certificate is not. Every position must fail at step 3.
    let leaf = &pki().leaf_der;
    for i in 0..leaf.len() {
        let mut doc = sample_doc(pki());
        doc.certificate[i] ^= 0x01;
        let e = verify(&pki().sign(&doc), &root(), NOW, &expectations()).unwrap_err();
        assert!(matches!(e, VerifyError::Chain(_)), "byte {i} of {}: {e}", leaf.len());
    }
}

#[test]
fn flipped_leaf_certificate_byte_in_a_signed_document_is_rejected() {
    // The same, flipped in place in the signed bytes (no re-signing): still step 3, before the
    // signature is looked at.
    let bytes = pki().sign(&sample_doc(pki()));
    let leaf = &pki().leaf_der;
    let start = bytes.windows(leaf.len()).position(|w| w == leaf.as_slice()).unwrap();
    for i in (start..start + leaf.len()).step_by(7) {
        let mut mutated = bytes.clone();
        mutated[i] ^= 0x80;
        let e = verify(&mutated, &root(), NOW, &expectations()).unwrap_err();
        assert!(matches!(e, VerifyError::Chain(_)), "byte {}: {e}", i - start);
    }
}

#[test]
fn lookalike_aws_root_with_another_key_is_rejected() {
    use aws_lc_rs::signature::{ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair};
    use rcgen::string::PrintableString;
    use rcgen::{
        BasicConstraints, CertificateParams, DistinguishedName, DnType, DnValue, IsCa, Issuer, KeyPair,
        KeyUsagePurpose, PKCS_ECDSA_P384_SHA384, SerialNumber, date_time_ymd,
    };

    let aws = TrustedRoot::aws_nitro_root_g1();
    let (aws_issuer, aws_subject) = issuer_and_subject(aws.der());
    assert_eq!(aws_issuer, aws_subject, "AWS Root-G1 is self-issued");

    let ca = |dn: DistinguishedName| {
        let mut p = CertificateParams::default();
        p.distinguished_name = dn;
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        p.not_before = date_time_ymd(2019, 10, 28);
        p.not_after = date_time_ymd(2049, 10, 28);
        p
    };
    let key = || KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();

    // C=US (PrintableString), O=Amazon, OU=AWS, CN=aws.nitro-enclaves (UTF8String), as AWS has
    // it, with AWS's serial number too: everything but the key.
    let mut aws_dn = DistinguishedName::new();
    aws_dn.push(DnType::CountryName, DnValue::PrintableString(PrintableString::try_from("US").unwrap()));
    aws_dn.push(DnType::OrganizationName, "Amazon");
    aws_dn.push(DnType::OrganizationalUnitName, "AWS");
    aws_dn.push(DnType::CommonName, "aws.nitro-enclaves");
    let mut root_params = ca(aws_dn);
    root_params.serial_number =
        Some(SerialNumber::from_slice(&hex::decode("00f93175681b90afe11d46ccb4e4e7f856").unwrap()));
    let root_key = key();
    let fake_root = root_params.self_signed(&root_key).unwrap();
    let fake_root_der = fake_root.der().to_vec();
    assert_eq!(issuer_and_subject(&fake_root_der), (aws_issuer, aws_subject), "names must be exact");
    assert_ne!(fake_root_der, aws.der());
    let fake_root_issuer = Issuer::new(root_params, root_key);

    let mut int_dn = DistinguishedName::new();
    int_dn.push(DnType::CommonName, "fake.us-east-1.aws.nitro-enclaves");
    let int_params = ca(int_dn);
    let int_key = key();
    let intermediate = int_params.signed_by(&int_key, &fake_root_issuer).unwrap();
    let int_issuer = Issuer::new(int_params, int_key);

    let mut leaf_dn = DistinguishedName::new();
    leaf_dn.push(DnType::CommonName, "i-fake-enc0.fake.us-east-1.aws.nitro-enclaves");
    let mut leaf_params = ca(leaf_dn);
    leaf_params.is_ca = IsCa::ExplicitNoCa;
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let leaf_key = key();
    let leaf = leaf_params.signed_by(&leaf_key, &int_issuer).unwrap();
    let signer =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &leaf_key.serialize_der()).unwrap();
    let sign = |doc: &AttestationDoc| {
        let payload = doc.to_cbor();
        let tbs = cose::sig_structure(&cose::ES384_PROTECTED_HEADER, &payload);
        let sig = signer.sign(&aws_lc_rs::rand::SystemRandom::new(), &tbs).unwrap();
        cose::encode_sign1(&cose::ES384_PROTECTED_HEADER, &payload, sig.as_ref())
    };

    let mut doc = sample_doc(pki());
    doc.certificate = leaf.der().to_vec();
    doc.cabundle = vec![fake_root_der.clone(), intermediate.der().to_vec()];
    let bytes = sign(&doc);
    // The chain itself is sound: it verifies when the look-alike is what one trusts...
    let fake_trusted = TrustedRoot::from_der(fake_root_der.clone()).unwrap();
    assert_eq!(verify(&bytes, &fake_trusted, NOW, &expectations()).unwrap(), doc);
    // ... and fails against the pinned AWS root, whose name it carries.
    let e = verify(&bytes, &aws, NOW, &expectations()).unwrap_err();
    assert_eq!(e, VerifyError::Chain("a certificate signature is invalid".into()));

    // Also with the look-alike offered as an intermediate (cabundle[1]) so that a path
    // leaf -> intermediate -> look-alike -> "AWS root" could be tried.
    doc.cabundle = vec![aws.der().to_vec(), fake_root_der, intermediate.der().to_vec()];
    let e = verify(&sign(&doc), &aws, NOW, &expectations()).unwrap_err();
    assert_eq!(e, VerifyError::Chain("a certificate signature is invalid".into()));
}

/// `set` puts `n` bytes in one optional field; 1024 must verify and 1025 must be refused at
/// step 2 with the field named.
fn check_optional_field_limit(name: &str, set: fn(&mut AttestationDoc, Vec<u8>)) {
    let mut doc = sample_doc(pki());
    set(&mut doc, vec![0x5a; MAX_OPTIONAL_FIELD_LEN]);
    let bytes = pki().sign(&doc);
    assert_eq!(verify(&bytes, &root(), NOW, &Expectations::default()).unwrap(), doc);
    assert_eq!(decode_unverified(&bytes).unwrap(), doc);

    set(&mut doc, vec![0x5a; MAX_OPTIONAL_FIELD_LEN + 1]);
    let bytes = pki().sign(&doc);
    for e in [
        verify(&bytes, &root(), NOW, &Expectations::default()).unwrap_err(),
        decode_unverified(&bytes).unwrap_err(),
    ] {
        assert!(matches!(&e, VerifyError::Payload(m) if m.contains(name) && m.contains("1025")), "{e}");
    }
}

#[test]
fn user_data_of_1025_bytes_is_rejected_and_1024_accepted() {
    check_optional_field_limit("user_data", |d, v| d.user_data = Some(v));
}

#[test]
fn nonce_of_1025_bytes_is_rejected_and_1024_accepted() {
    check_optional_field_limit("nonce", |d, v| d.nonce = Some(v));
}

#[test]
fn public_key_of_1025_bytes_is_rejected_and_1024_accepted() {
    check_optional_field_limit("public_key", |d, v| d.public_key = Some(v));
}

#[test]
fn pcr_of_a_wrong_length_is_rejected() {
    for len in [0, 1, 31, 33, 47, 49, 63, 65, 96] {
        let mut doc = sample_doc(pki());
        doc.pcrs.insert(3, vec![3; len]);
        let e = verify(&pki().sign(&doc), &root(), NOW, &Expectations::default()).unwrap_err();
        assert!(matches!(&e, VerifyError::Payload(m) if m.contains("PCR3")), "{len}: {e}");
    }
    // The lengths of SHA-256, SHA-384 and SHA-512 are accepted.
    for len in [32, 48, 64] {
        let mut doc = sample_doc(pki());
        doc.pcrs.insert(3, vec![3; len]);
        assert_eq!(verify(&pki().sign(&doc), &root(), NOW, &Expectations::default()).unwrap(), doc);
    }
}

#[test]
fn pcr_index_32_is_rejected() {
    let mut doc = sample_doc(pki());
    doc.pcrs.insert(31, vec![31; 48]);
    assert_eq!(verify(&pki().sign(&doc), &root(), NOW, &Expectations::default()).unwrap(), doc);
    for index in [32u8, 33, 255] {
        let mut doc = sample_doc(pki());
        doc.pcrs.insert(index, vec![0; 48]);
        let e = verify(&pki().sign(&doc), &root(), NOW, &Expectations::default()).unwrap_err();
        assert!(matches!(&e, VerifyError::Payload(m) if m.contains("0..=31")), "{index}: {e}");
    }
}
