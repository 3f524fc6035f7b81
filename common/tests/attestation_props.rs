//! Property tests of the attestation decoder and verifier: arbitrary input never panics, no
//! mutation of a valid document verifies as anything but the original, and `to_cbor` round-trips
//! through `decode_unverified` for arbitrary valid field values.
//!
//! Case counts are kept small so that the file runs in a few seconds in a debug build; raise
//! `PROPTEST_CASES` to search harder (`PROPTEST_CASES=5000 cargo test --test attestation_props`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;
use std::sync::OnceLock;

use ciborium::Value;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::Index;
use signer_common::attestation::test_pki::{TestPki, TestPkiParams};
use signer_common::attestation::{
    AttestationDoc, DIGEST_SHA384, Expectations, MAX_CABUNDLE_LEN, MAX_CERTIFICATE_LEN,
    MAX_OPTIONAL_FIELD_LEN, MAX_PCRS, TrustedRoot, cose, decode_unverified, document_from_file_bytes, verify,
};

/// 2025-01-01T00:00:00Z, inside the test PKI's validity.
const NOW: u64 = 1_735_689_600;

/// A valid document, with the root and time at which it verifies.
struct Valid {
    name: String,
    bytes: Vec<u8>,
    root: TrustedRoot,
    at: u64,
    doc: AttestationDoc,
}

fn pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(|| TestPki::new(&TestPkiParams::new("props", (2024, 1, 1), (2026, 1, 1))))
}

fn sample_doc() -> AttestationDoc {
    AttestationDoc {
        module_id: "i-props-enc0".into(),
        digest: DIGEST_SHA384.into(),
        timestamp: NOW * 1000,
        pcrs: (0u8..16).map(|i| (i, vec![i; 48])).collect(),
        certificate: pki().leaf_der.clone(),
        cabundle: pki().cabundle(),
        public_key: Some(b"receipt key".to_vec()),
        user_data: Some(vec![0xab; 32]),
        nonce: None,
    }
}

/// A test-PKI document and two real AWS ones (a plain one, and tempo's with an
/// indefinite-length payload map and a high-S signature).
fn valid_documents() -> &'static [Valid] {
    static VALID: OnceLock<Vec<Valid>> = OnceLock::new();
    VALID.get_or_init(|| {
        let doc = sample_doc();
        let mut valid = vec![Valid {
            name: "test-pki".into(),
            bytes: pki().sign(&doc),
            root: pki().root(),
            at: NOW,
            doc,
        }];
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/nitro");
        for (file, at) in [
            ("evervault_valid-attestation-doc-bytes.cbor", 1_665_651_483),
            ("base_tempo_aws_attestation_2026_01_03.b64", 1_767_472_868),
        ] {
            let bytes = document_from_file_bytes(&std::fs::read(dir.join(file)).unwrap()).unwrap();
            let root = TrustedRoot::aws_nitro_root_g1();
            let doc = verify(&bytes, &root, at, &Expectations::default()).unwrap();
            valid.push(Valid { name: file.into(), bytes, root, at, doc });
        }
        valid
    })
}

/// The signed parts of a COSE_Sign1 (protected header, payload, signature), if it is one.
fn signed_parts(document: &[u8]) -> Option<[Vec<u8>; 3]> {
    let value: Value = ciborium::de::from_reader(document).ok()?;
    let value = match value {
        Value::Tag(18, inner) => *inner,
        other => other,
    };
    let items = value.into_array().ok()?;
    let bytes = |i: usize| items.get(i)?.as_bytes().cloned();
    Some([bytes(0)?, bytes(2)?, bytes(3)?])
}

/// Arbitrary CBOR items, biased towards what a document is made of.
fn cbor_item() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(|i| Value::Integer(i.into())),
        any::<u64>().prop_map(|i| Value::Integer(i.into())),
        (0u8..40).prop_map(|i| Value::Integer(i.into())),
        Just(Value::Integer((-35).into())),
        vec(any::<u8>(), 0..64).prop_map(Value::Bytes),
        vec(any::<u8>(), 96).prop_map(Value::Bytes),
        vec(any::<u8>(), 48).prop_map(Value::Bytes),
        prop::sample::select(vec![
            "module_id",
            "digest",
            "SHA384",
            "timestamp",
            "pcrs",
            "certificate",
            "cabundle",
            "public_key",
            "user_data",
            "nonce",
            "",
        ])
        .prop_map(|s| Value::Text(s.into())),
        "(?s:.){0,16}".prop_map(Value::Text),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
        any::<f64>().prop_map(Value::Float),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec((inner.clone(), inner.clone()), 0..4).prop_map(Value::Map),
            (prop_oneof![Just(18u64), Just(24), any::<u64>()], inner)
                .prop_map(|(t, v)| Value::Tag(t, Box::new(v))),
        ]
    })
}

fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).unwrap();
    out
}

/// A change to a document's bytes.
#[derive(Debug, Clone)]
enum Mutation {
    /// XOR these masks in at these positions.
    FlipBits(Vec<(Index, u8)>),
    /// Keep only a prefix.
    Truncate(Index),
    /// Insert bytes at a position.
    Insert(Index, Vec<u8>),
    /// Remove 1..=count bytes from a position.
    Delete(Index, usize),
    /// Replace a byte range with an encoded CBOR item.
    SpliceRange(Index, usize, Value),
    /// Replace one item of the COSE array, or one value of the payload map, with a CBOR item
    /// (the document re-encoded, not re-signed).
    ReplaceItem(Index, Value),
}

impl Mutation {
    /// Whether the mutated document must fail whatever it became. Structural splices may
    /// legitimately change what is not signed (the unprotected header, the tag, the framing).
    fn must_fail(&self) -> bool {
        matches!(self, Mutation::FlipBits(_) | Mutation::Truncate(_) | Mutation::Delete(..))
    }

    fn apply(&self, original: &[u8]) -> Vec<u8> {
        let mut bytes = original.to_vec();
        let len = bytes.len();
        match self {
            Mutation::FlipBits(flips) => {
                for (at, mask) in flips {
                    bytes[at.index(len)] ^= mask;
                }
            }
            Mutation::Truncate(at) => bytes.truncate(at.index(len)),
            Mutation::Insert(at, insert) => {
                let at = at.index(len + 1);
                bytes.splice(at..at, insert.iter().copied());
            }
            Mutation::Delete(at, count) => {
                let at = at.index(len);
                bytes.drain(at..(at + count).min(len));
            }
            Mutation::SpliceRange(at, count, item) => {
                let at = at.index(len + 1);
                bytes.splice(at..(at + count).min(len), encode(item));
            }
            Mutation::ReplaceItem(which, item) => {
                let Ok(Value::Array(mut items)) = ciborium::de::from_reader::<Value, _>(original) else {
                    unreachable!("the originals are untagged COSE_Sign1 arrays");
                };
                // Positions 0..4 are the COSE items; the rest index the payload map's values.
                let payload_map =
                    items[2].as_bytes().and_then(|p| ciborium::de::from_reader(p.as_slice()).ok());
                let Some(Value::Map(mut entries)) = payload_map else {
                    unreachable!("the originals have a map payload");
                };
                let i = which.index(4 + entries.len());
                if i < 4 {
                    items[i] = item.clone();
                } else {
                    entries[i - 4].1 = item.clone();
                    items[2] = Value::Bytes(encode(&Value::Map(entries)));
                }
                bytes = encode(&Value::Array(items));
            }
        }
        bytes
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        vec((any::<Index>(), 1u8..=255), 1..4).prop_map(Mutation::FlipBits),
        vec((any::<Index>(), (0u32..8).prop_map(|b| 1u8 << b)), 1..2).prop_map(Mutation::FlipBits),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), vec(any::<u8>(), 1..16)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<Index>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<Index>(), 0usize..64, cbor_item()).prop_map(|(i, n, v)| Mutation::SpliceRange(i, n, v)),
        (any::<Index>(), cbor_item()).prop_map(|(i, v)| Mutation::ReplaceItem(i, v)),
    ]
}

/// Arbitrary valid payload field values (every field within the limits AWS sets).
fn valid_doc() -> impl Strategy<Value = AttestationDoc> {
    let pcr = prop_oneof![vec(any::<u8>(), 32), vec(any::<u8>(), 48), vec(any::<u8>(), 64)];
    let optional = || prop::option::of(vec(any::<u8>(), 0..=MAX_OPTIONAL_FIELD_LEN));
    (
        "(?s:.){1,64}",
        1..=u64::MAX,
        btree_map(0..MAX_PCRS as u8, pcr, 1..=MAX_PCRS),
        vec(any::<u8>(), 1..=MAX_CERTIFICATE_LEN),
        vec(vec(any::<u8>(), 1..=MAX_CERTIFICATE_LEN), 1..=MAX_CABUNDLE_LEN),
        (optional(), optional(), optional()),
    )
        .prop_map(
            |(module_id, timestamp, pcrs, certificate, cabundle, (public_key, user_data, nonce))| {
                AttestationDoc {
                    module_id,
                    digest: DIGEST_SHA384.into(),
                    timestamp,
                    pcrs,
                    certificate,
                    cabundle,
                    public_key,
                    user_data,
                    nonce,
                }
            },
        )
}

/// A COSE-looking prefix (untagged or tagged array of 4, ES384 header) to get past the first
/// checks more often than random bytes do.
fn cose_prefix() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(vec![
        vec![],
        vec![0x84],
        vec![0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0],
        vec![0xd2, 0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0],
        vec![0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0, 0x59],
    ])
}

/// `cases` cases, or `PROPTEST_CASES` when it is set.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(cases);
    ProptestConfig::with_cases(cases)
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn arbitrary_bytes_never_panic(prefix in cose_prefix(), body in vec(any::<u8>(), 0..8192)) {
        let mut input = prefix;
        input.extend_from_slice(&body);
        // Decoding may succeed in theory (an unsigned document is still a document)...
        let _ = decode_unverified(&input);
        // ... but nothing random verifies, against the test root or the AWS one.
        for valid in valid_documents().iter().take(2) {
            prop_assert!(verify(&input, &valid.root, valid.at, &Expectations::default()).is_err());
        }
    }

    #[test]
    fn mutated_documents_never_panic_and_never_verify(which in any::<Index>(), m in mutation()) {
        let valid = &valid_documents()[which.index(valid_documents().len())];
        let mutated = m.apply(&valid.bytes);
        let _ = decode_unverified(&mutated);
        let result = verify(&mutated, &valid.root, valid.at, &Expectations::default());
        if mutated == valid.bytes {
            prop_assert_eq!(result.unwrap(), valid.doc.clone());
        } else if m.must_fail() {
            prop_assert!(result.is_err(), "{}: {:?} verified", valid.name, m);
        } else if let Ok(doc) = result {
            // Only what the signature does not cover may have changed (the unprotected header,
            // the tag): the signed bytes, and so the result, are the original's.
            prop_assert_eq!(signed_parts(&mutated), signed_parts(&valid.bytes), "{}: {:?}", valid.name, m);
            prop_assert_eq!(doc, valid.doc.clone());
        }
    }

    #[test]
    fn to_cbor_round_trips_through_decode_unverified(doc in valid_doc()) {
        let payload = doc.to_cbor();
        let document = cose::encode_sign1(&cose::ES384_PROTECTED_HEADER, &payload, &[0x11; 96]);
        prop_assert_eq!(decode_unverified(&document).unwrap(), doc.clone());
        // Tagged, and with the payload as an indefinite-length map, it decodes the same.
        let mut tagged = vec![0xd2];
        tagged.extend_from_slice(&document);
        prop_assert_eq!(decode_unverified(&tagged).unwrap(), doc.clone());
        let mut indefinite = vec![0xbf];
        indefinite.extend_from_slice(&payload[1..]);
        indefinite.push(0xff);
        let document = cose::encode_sign1(&cose::ES384_PROTECTED_HEADER, &indefinite, &[0x11; 96]);
        let decoded = decode_unverified(&document).unwrap();
        prop_assert_eq!(&decoded, &doc);
        // Re-encoding what was decoded gives the definite-length bytes again.
        prop_assert_eq!(decoded.to_cbor(), payload);
    }
}

proptest! {
    // Each case signs and verifies a whole document: fewer cases.
    #![proptest_config(config(32))]

    #[test]
    fn signed_arbitrary_valid_fields_verify_as_themselves(doc in valid_doc()) {
        let mut doc = doc;
        doc.certificate = pki().leaf_der.clone();
        doc.cabundle = pki().cabundle();
        let bytes = pki().sign(&doc);
        let expect = Expectations {
            pcrs: doc.pcrs.clone(),
            user_data: doc.user_data.clone(),
            nonce: doc.nonce.clone(),
            public_key: doc.public_key.clone(),
            max_age: None,
        };
        prop_assert_eq!(verify(&bytes, &pki().root(), NOW, &expect).unwrap(), doc);
    }
}
