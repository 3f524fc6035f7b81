//! WebAuthn and Key assertions and registrations made in the test with its own keys: accepted
//! as made, and each altered one refused (the attack the check stops).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use ciborium::Value;
use coset::iana;
use coset::{CborSerializable as _, CoseKeyBuilder};
use p256::ecdsa::signature::Signer as _;
use sha2::{Digest, Sha256};
use signer_common::api::auth::KeyAttestation;
use signer_common::encoding::to_b64url;
use signer_common::identity::{CredentialKind, UserVerification};
use signer_common::userauth::{
    Asserted, AuthError, CredentialPublicKey, Expected, MAX_CLIENT_DATA_LEN, verify_assertion,
    verify_registration,
};

const ORIGIN: &str = "http://localhost:8080";
const RP_ID: &str = "localhost";
const CHALLENGE: &str = "c2lnbmVyLWNoYWxsZW5nZQ";
const UP: u8 = 0x01;
const UV: u8 = 0x04;
const BE: u8 = 0x08;
const BS: u8 = 0x10;
const AT: u8 = 0x40;
const ED: u8 = 0x80;

fn expected() -> Expected<'static> {
    Expected {
        challenge: CHALLENGE,
        origin: ORIGIN,
        rp_id: RP_ID,
        user_verification: UserVerification::Preferred,
    }
}

fn required() -> Expected<'static> {
    Expected { user_verification: UserVerification::Required, ..expected() }
}

fn client_data(kind: &str) -> Vec<u8> {
    // Not in the browser's key order, with extra members.
    format!(r#"{{"origin":"{ORIGIN}","tokenBinding":{{"status":"present"}},"challenge":"{CHALLENGE}","type":"{kind}","crossOrigin":false}}"#)
        .into_bytes()
}

fn signing_key() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_slice(&[0x21; 32]).unwrap()
}

fn cose_key() -> Vec<u8> {
    let point = signing_key().verifying_key().to_sec1_point(false);
    let p = point.as_bytes();
    CoseKeyBuilder::new_ec2_pub_key(iana::EllipticCurve::P_256, p[1..33].to_vec(), p[33..65].to_vec())
        .algorithm(iana::Algorithm::ES256)
        .build()
        .to_vec()
        .unwrap()
}

fn public_key() -> CredentialPublicKey {
    CredentialPublicKey::from_cose_key(&cose_key()).unwrap()
}

fn auth_data(rp_id: &str, flags: u8, count: u32, tail: &[u8]) -> Vec<u8> {
    let mut data = Sha256::digest(rp_id.as_bytes()).to_vec();
    data.push(flags);
    data.extend_from_slice(&count.to_be_bytes());
    data.extend_from_slice(tail);
    data
}

fn sign(auth_data: &[u8], client_data: &[u8]) -> Vec<u8> {
    let mut message = auth_data.to_vec();
    message.extend_from_slice(&Sha256::digest(client_data));
    let sig: p256::ecdsa::Signature = signing_key().sign(&message);
    sig.to_der().as_bytes().to_vec()
}

/// Signs `auth_data` with `client_data` and checks the assertion.
fn assert_with(
    expected: &Expected<'_>,
    stored: u32,
    client_data: &[u8],
    auth_data: &[u8],
) -> Result<Asserted, AuthError> {
    let sig = sign(auth_data, client_data);
    verify_assertion(
        CredentialKind::Fido2,
        expected,
        &public_key(),
        stored,
        client_data,
        Some(auth_data),
        &sig,
    )
}

fn extensions() -> Vec<u8> {
    let mut out = Vec::new();
    let map = Value::Map(vec![(Value::Text("credProtect".into()), Value::Integer(2.into()))]);
    ciborium::into_writer(&map, &mut out).unwrap();
    out
}

#[test]
fn a_fido2_assertion_is_accepted_as_made() {
    let cd = client_data("webauthn.get");
    let got = assert_with(&expected(), 4, &cd, &auth_data(RP_ID, UP, 5, &[])).unwrap();
    assert_eq!(got, Asserted { sign_count: 5, user_verified: false });
    let got = assert_with(&required(), 4, &cd, &auth_data(RP_ID, UP | UV | BE | BS, 5, &[])).unwrap();
    assert_eq!(got, Asserted { sign_count: 5, user_verified: true });
    // No counter on either side (passkeys that keep none).
    assert_eq!(assert_with(&expected(), 0, &cd, &auth_data(RP_ID, UP, 0, &[])).unwrap().sign_count, 0);
    // Extensions (ED) as one CBOR map.
    assert!(assert_with(&expected(), 0, &cd, &auth_data(RP_ID, UP | ED, 1, &extensions())).is_ok());
}

#[test]
fn fido2_assertion_attacks_are_refused() {
    let cd = client_data("webauthn.get");
    let ok = auth_data(RP_ID, UP, 5, &[]);
    // A registration's client data, or a Key credential's, replayed as an assertion.
    assert_eq!(
        assert_with(&expected(), 0, &client_data("webauthn.create"), &ok),
        Err(AuthError::WrongType("webauthn.get"))
    );
    assert_eq!(
        assert_with(&expected(), 0, &client_data("key.get"), &ok),
        Err(AuthError::WrongType("webauthn.get"))
    );
    // Made in a cross-origin iframe.
    let cross =
        String::from_utf8(cd.clone()).unwrap().replace(r#""crossOrigin":false"#, r#""crossOrigin":true"#);
    assert_eq!(assert_with(&expected(), 0, cross.as_bytes(), &ok), Err(AuthError::OriginMismatch));
    // No user presence; no UV where required.
    assert_eq!(
        assert_with(&expected(), 0, &cd, &auth_data(RP_ID, UV, 5, &[])),
        Err(AuthError::UserNotPresent)
    );
    assert_eq!(assert_with(&required(), 0, &cd, &ok), Err(AuthError::UserNotVerified));
    // Another relying party's assertion.
    assert_eq!(
        assert_with(&expected(), 0, &cd, &auth_data("evil.example", UP, 5, &[])),
        Err(AuthError::RpIdMismatch)
    );
    // The counter did not grow: a cloned authenticator.
    assert_eq!(assert_with(&expected(), 5, &cd, &ok), Err(AuthError::CounterWentBackwards));
    assert_eq!(assert_with(&expected(), 6, &cd, &ok), Err(AuthError::CounterWentBackwards));
    assert_eq!(
        assert_with(&expected(), 5, &cd, &auth_data(RP_ID, UP, 0, &[])),
        Err(AuthError::CounterWentBackwards)
    );
    // Malformed authenticator data: BS without BE, AT in an assertion, ED without a map,
    // ED with a non-map, trailing bytes, fewer than 37 bytes.
    for data in [
        auth_data(RP_ID, UP | BS, 5, &[]),
        auth_data(RP_ID, UP | AT, 5, &[0; 18]),
        auth_data(RP_ID, UP | ED, 5, &[]),
        auth_data(RP_ID, UP | ED, 5, &[0x01]),
        auth_data(RP_ID, UP | ED, 5, &[&extensions()[..], &[0]].concat()),
        auth_data(RP_ID, UP, 5, &[0]),
        ok[..36].to_vec(),
    ] {
        assert!(assert_with(&expected(), 0, &cd, &data).unwrap_err().is_malformed());
    }
    // Malformed client data: repeated type, not JSON, a missing member, over 4 KiB.
    let repeated = format!(
        r#"{{"type":"webauthn.get","type":"webauthn.get","challenge":"{CHALLENGE}","origin":"{ORIGIN}"}}"#
    );
    let missing = format!(r#"{{"type":"webauthn.get","challenge":"{CHALLENGE}"}}"#);
    let padded = String::from_utf8(cd.clone()).unwrap().replace(
        r#""crossOrigin""#,
        &format!(r#""pad":"{}","crossOrigin""#, "a".repeat(MAX_CLIENT_DATA_LEN)),
    );
    for bad in [repeated.as_bytes(), b"not json", missing.as_bytes(), padded.as_bytes()] {
        assert!(assert_with(&expected(), 0, bad, &ok).unwrap_err().is_malformed());
    }
    // Signed over other client data, or by another key.
    let sig = sign(&ok, &client_data("webauthn.get.x"));
    let got = verify_assertion(CredentialKind::Fido2, &expected(), &public_key(), 0, &cd, Some(&ok), &sig);
    assert_eq!(got, Err(AuthError::BadSignature));
    let other_key = p256::ecdsa::SigningKey::from_slice(&[0x31; 32]).unwrap();
    let other = CredentialPublicKey::P256(serde_bytes::ByteBuf::from(
        other_key.verifying_key().to_sec1_point(false).as_bytes().to_vec(),
    ));
    let sig = sign(&ok, &cd);
    let got = verify_assertion(CredentialKind::Fido2, &expected(), &other, 0, &cd, Some(&ok), &sig);
    assert_eq!(got, Err(AuthError::BadSignature));
    // Unchanged, it passes.
    assert!(assert_with(&expected(), 0, &cd, &ok).is_ok());
}

#[test]
fn key_assertions_with_each_key_type() {
    let cd =
        format!(r#"{{"challenge":"{CHALLENGE}","origin":"{ORIGIN}","type":"key.get","clientVersion":"1"}}"#)
            .into_bytes();
    let p256_sig: p256::ecdsa::Signature = signing_key().sign(&cd);
    let k256 = k256::ecdsa::SigningKey::from_slice(&[0x22; 32]).unwrap();
    let k256_sig: k256::ecdsa::Signature = k256.sign(&cd);
    let k256_pub = CredentialPublicKey::from_spki_der(&spki_der(
        "1.2.840.10045.2.1",
        Some("1.3.132.0.10"),
        k256.verifying_key().to_sec1_point(true).as_bytes(),
    ))
    .unwrap();
    let ed = ed25519_dalek::SigningKey::from_bytes(&[0x23; 32]);
    use ed25519_dalek::Signer as _;
    let ed_pub =
        CredentialPublicKey::Ed25519(serde_bytes::ByteBuf::from(ed.verifying_key().as_bytes().to_vec()));
    for (key, sig) in [
        (public_key(), p256_sig.to_der().as_bytes().to_vec()),
        (k256_pub, k256_sig.to_der().as_bytes().to_vec()),
        (ed_pub, ed.sign(&cd).to_bytes().to_vec()),
    ] {
        let got = verify_assertion(CredentialKind::Key, &expected(), &key, 7, &cd, None, &sig).unwrap();
        assert_eq!(got, Asserted { sign_count: 0, user_verified: false });
        // A WebAuthn client data, another challenge, another origin, other bytes.
        let alg = key.algorithm();
        let bad = String::from_utf8(cd.clone()).unwrap();
        for (text, err) in [
            (bad.replace("key.get", "webauthn.get"), AuthError::WrongType("key.get")),
            (bad.replace(CHALLENGE, "AAAA"), AuthError::ChallengeMismatch),
            (bad.replace(ORIGIN, "http://localhost:8081"), AuthError::OriginMismatch),
            (bad.replace("\"1\"", "\"2\""), AuthError::BadSignature),
        ] {
            let got =
                verify_assertion(CredentialKind::Key, &expected(), &key, 0, text.as_bytes(), None, &sig);
            assert_eq!(got, Err(err), "{alg}");
        }
        assert!(verify_assertion(CredentialKind::Key, &expected(), &key, 0, &cd, None, &sig).is_ok());
    }
}

/// A DER SubjectPublicKeyInfo, for keys the test makes.
fn spki_der(alg: &str, curve: Option<&str>, key: &[u8]) -> Vec<u8> {
    use spki::der::Encode as _;
    let info = spki::SubjectPublicKeyInfoOwned {
        algorithm: spki::AlgorithmIdentifierOwned {
            oid: spki::ObjectIdentifier::new_unwrap(alg),
            parameters: curve.map(|c| spki::der::Any::from(spki::ObjectIdentifier::new_unwrap(c))),
        },
        subject_public_key: spki::der::asn1::BitString::from_bytes(key).unwrap(),
    };
    info.to_der().unwrap()
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

fn attestation_object(fmt: &str, att_stmt: Vec<(Value, Value)>, auth_data: &[u8]) -> Vec<u8> {
    let map = Value::Map(vec![
        (text("fmt"), text(fmt)),
        (text("attStmt"), Value::Map(att_stmt)),
        (text("authData"), Value::Bytes(auth_data.to_vec())),
    ]);
    let mut out = Vec::new();
    ciborium::into_writer(&map, &mut out).unwrap();
    out
}

const CRED_ID: &[u8] = b"credential-id-0123456789";

/// Registration authenticator data: the attested credential data of `cred_id` and `cose`.
fn reg_auth_data(rp_id: &str, flags: u8, cred_id: &[u8], cose: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut attested = vec![0xaa; 16];
    attested.extend_from_slice(&(cred_id.len() as u16).to_be_bytes());
    attested.extend_from_slice(cred_id);
    attested.extend_from_slice(cose);
    attested.extend_from_slice(tail);
    auth_data(rp_id, flags, 0, &attested)
}

fn register(client_data: &[u8], object: &[u8]) -> Result<signer_common::userauth::Registered, AuthError> {
    verify_registration(CredentialKind::Fido2, &expected(), CRED_ID, client_data, object)
}

fn packed_self(auth: &[u8], cd: &[u8], alg: i64) -> Vec<u8> {
    attestation_object(
        "packed",
        vec![(text("alg"), Value::Integer(alg.into())), (text("sig"), Value::Bytes(sign(auth, cd)))],
        auth,
    )
}

#[test]
fn none_and_packed_self_registrations_are_accepted() {
    let cd = client_data("webauthn.create");
    let auth = reg_auth_data(RP_ID, UP | UV | AT, CRED_ID, &cose_key(), &[]);
    let got = register(&cd, &attestation_object("none", vec![], &auth)).unwrap();
    assert_eq!(got.public_key, public_key());
    assert!(got.user_verified);
    assert_eq!(got.sign_count, 0);
    let got = register(&cd, &packed_self(&auth, &cd, -7)).unwrap();
    assert_eq!(got.public_key, public_key());
    // With extensions after the COSE key.
    let auth = reg_auth_data(RP_ID, UP | AT | ED, CRED_ID, &cose_key(), &extensions());
    let got = register(&cd, &packed_self(&auth, &cd, -7)).unwrap();
    assert!(!got.user_verified);
}

#[test]
fn registration_attacks_are_refused() {
    let cd = client_data("webauthn.create");
    let auth = reg_auth_data(RP_ID, UP | AT, CRED_ID, &cose_key(), &[]);
    let none = attestation_object("none", vec![], &auth);
    // An assertion's client data; another challenge (the expected one changed).
    assert_eq!(register(&client_data("webauthn.get"), &none), Err(AuthError::WrongType("webauthn.create")));
    let other = Expected { challenge: "b3RoZXI", ..expected() };
    assert_eq!(
        verify_registration(CredentialKind::Fido2, &other, CRED_ID, &cd, &none),
        Err(AuthError::ChallengeMismatch)
    );
    // The credential id named is not the authenticator's.
    assert_eq!(
        verify_registration(CredentialKind::Fido2, &expected(), b"another-id", &cd, &none),
        Err(AuthError::CredentialIdMismatch)
    );
    // Another relying party, no user presence, no UV where required.
    let evil = attestation_object(
        "none",
        vec![],
        &reg_auth_data("evil.example", UP | AT, CRED_ID, &cose_key(), &[]),
    );
    assert_eq!(register(&cd, &evil), Err(AuthError::RpIdMismatch));
    let absent = attestation_object("none", vec![], &reg_auth_data(RP_ID, AT, CRED_ID, &cose_key(), &[]));
    assert_eq!(register(&cd, &absent), Err(AuthError::UserNotPresent));
    assert_eq!(
        verify_registration(CredentialKind::Fido2, &required(), CRED_ID, &cd, &none),
        Err(AuthError::UserNotVerified)
    );
    // Packed self attestation: signed over other client data, or naming another algorithm.
    assert_eq!(register(&cd, &packed_self(&auth, &client_data("x"), -7)), Err(AuthError::BadSignature));
    assert!(register(&cd, &packed_self(&auth, &cd, -8)).unwrap_err().is_malformed());
    // Malformed: no AT flag, none with a statement, unknown format, trailing bytes, unknown
    // member, a credential id over 1023 bytes, a COSE key with trailing garbage.
    let no_at = attestation_object("none", vec![], &auth_data(RP_ID, UP, 0, &[]));
    let none_stmt = attestation_object("none", vec![(text("alg"), Value::Integer((-7).into()))], &auth);
    let mut trailing = none.clone();
    trailing.push(0);
    let long_id = vec![7; 1024];
    let long = attestation_object("none", vec![], &reg_auth_data(RP_ID, UP | AT, &long_id, &cose_key(), &[]));
    let garbage =
        attestation_object("none", vec![], &reg_auth_data(RP_ID, UP | AT, CRED_ID, &cose_key(), &[0]));
    // Attested credential data cut short: before the id length, inside the id.
    let short = attestation_object("none", vec![], &auth_data(RP_ID, UP | AT, 0, &[0xaa; 17]));
    let mut cut = vec![0xaa; 16];
    cut.extend_from_slice(&50u16.to_be_bytes());
    cut.extend_from_slice(&[1; 49]);
    let cut = attestation_object("none", vec![], &auth_data(RP_ID, UP | AT, 0, &cut));
    let mut unknown = Vec::new();
    ciborium::into_writer(
        &Value::Map(vec![
            (text("fmt"), text("none")),
            (text("attStmt"), Value::Map(vec![])),
            (text("authData"), Value::Bytes(auth.clone())),
            (text("extra"), Value::Null),
        ]),
        &mut unknown,
    )
    .unwrap();
    for bad in [no_at, none_stmt, trailing, long, garbage, short, cut, unknown, b"not cbor".to_vec()] {
        assert!(register(&cd, &bad).unwrap_err().is_malformed());
    }
    assert!(matches!(
        register(&cd, &attestation_object("fido-u2f", vec![], &auth)),
        Err(AuthError::Unsupported(_))
    ));
    assert!(matches!(
        verify_registration(CredentialKind::Fido2, &expected(), &long_id, &cd, &none),
        Err(AuthError::Malformed(_))
    ));
    // Unchanged, it passes.
    assert!(register(&cd, &none).is_ok());
}

#[test]
fn packed_registration_with_a_certificate() {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let attester = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
    let rc_key = rcgen::KeyPair::try_from(pkcs8.as_ref()).unwrap();
    let cert = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap().self_signed(&rc_key).unwrap();
    let cd = client_data("webauthn.create");
    let auth = reg_auth_data(RP_ID, UP | AT, CRED_ID, &cose_key(), &[]);
    let mut message = auth.clone();
    message.extend_from_slice(&Sha256::digest(&cd));
    let packed = |sig: Vec<u8>, x5c: Value| {
        attestation_object(
            "packed",
            vec![
                (text("alg"), Value::Integer((-7).into())),
                (text("sig"), Value::Bytes(sig)),
                (text("x5c"), x5c),
            ],
            &auth,
        )
    };
    let chain = Value::Array(vec![Value::Bytes(cert.der().to_vec())]);
    let sig = attester.sign(&rng, &message).unwrap().as_ref().to_vec();
    assert_eq!(register(&cd, &packed(sig.clone(), chain.clone())).unwrap().public_key, public_key());
    // Signed by the credential key instead of the certificate's.
    assert_eq!(register(&cd, &packed(sign(&auth, &cd), chain.clone())), Err(AuthError::BadSignature));
    // Not a certificate; an empty chain.
    assert!(
        register(&cd, &packed(sig.clone(), Value::Array(vec![Value::Bytes(vec![0x30, 0])])))
            .unwrap_err()
            .is_malformed()
    );
    assert!(register(&cd, &packed(sig.clone(), Value::Array(vec![]))).unwrap_err().is_malformed());
    // RS256 named with a P-256 certificate: the certificate's key cannot verify it.
    let rs256 = attestation_object(
        "packed",
        vec![
            (text("alg"), Value::Integer((-257).into())),
            (text("sig"), Value::Bytes(sig.clone())),
            (text("x5c"), chain.clone()),
        ],
        &auth,
    );
    assert_eq!(register(&cd, &rs256), Err(AuthError::BadSignature));
    // ECDAA is not supported; ES256K certificates neither.
    let ecdaa = attestation_object(
        "packed",
        vec![
            (text("alg"), Value::Integer((-7).into())),
            (text("sig"), Value::Bytes(sig.clone())),
            (text("ecdaaKeyId"), Value::Bytes(vec![1])),
        ],
        &auth,
    );
    assert!(matches!(register(&cd, &ecdaa), Err(AuthError::Unsupported(_))));
    let es256k = attestation_object(
        "packed",
        vec![
            (text("alg"), Value::Integer((-47).into())),
            (text("sig"), Value::Bytes(sig.clone())),
            (text("x5c"), chain.clone()),
        ],
        &auth,
    );
    assert!(matches!(register(&cd, &es256k), Err(AuthError::Unsupported(_))));
    assert!(register(&cd, &packed(sig, chain)).is_ok());
}

#[test]
fn packed_registration_with_an_ed25519_certificate() {
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
    let pkcs8 = Ed25519KeyPair::generate_pkcs8v1(&aws_lc_rs::rand::SystemRandom::new()).unwrap();
    let attester = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let rc_key = rcgen::KeyPair::try_from(pkcs8.as_ref()).unwrap();
    let cert = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap().self_signed(&rc_key).unwrap();
    assert!(!attester.public_key().as_ref().is_empty());
    let cd = client_data("webauthn.create");
    let auth = reg_auth_data(RP_ID, UP | AT, CRED_ID, &cose_key(), &[]);
    let mut message = auth.clone();
    message.extend_from_slice(&Sha256::digest(&cd));
    let object = |sig: &[u8]| {
        attestation_object(
            "packed",
            vec![
                (text("alg"), Value::Integer((-8).into())),
                (text("sig"), Value::Bytes(sig.to_vec())),
                (text("x5c"), Value::Array(vec![Value::Bytes(cert.der().to_vec())])),
            ],
            &auth,
        )
    };
    assert_eq!(register(&cd, &object(attester.sign(&message).as_ref())).unwrap().public_key, public_key());
    assert_eq!(register(&cd, &object(attester.sign(b"other").as_ref())), Err(AuthError::BadSignature));
}

#[test]
fn key_registrations() {
    let cd = format!(r#"{{"type":"key.create","challenge":"{CHALLENGE}","origin":"{ORIGIN}"}}"#).into_bytes();
    let ed = ed25519_dalek::SigningKey::from_bytes(&[0x24; 32]);
    use ed25519_dalek::Signer as _;
    use ed25519_dalek::pkcs8::EncodePublicKey as _;
    let pem = ed.verifying_key().to_public_key_pem(spki::der::pem::LineEnding::LF).unwrap();
    let attestation = |data: &[u8]| {
        serde_json::to_vec(&KeyAttestation {
            public_key: pem.clone(),
            signature: to_b64url(&ed.sign(data).to_bytes()),
        })
        .unwrap()
    };
    let got =
        verify_registration(CredentialKind::Key, &expected(), b"key-1", &cd, &attestation(&cd)).unwrap();
    assert_eq!(got.public_key.algorithm(), "EdDSA");
    assert_eq!((got.sign_count, got.user_verified), (0, false));
    // Signed over other bytes; a key.get client data; not the JSON; no key.
    assert_eq!(
        verify_registration(CredentialKind::Key, &expected(), b"key-1", &cd, &attestation(b"other")),
        Err(AuthError::BadSignature)
    );
    let get = String::from_utf8(cd.clone()).unwrap().replace("key.create", "key.get");
    assert_eq!(
        verify_registration(
            CredentialKind::Key,
            &expected(),
            b"key-1",
            get.as_bytes(),
            &attestation(get.as_bytes())
        ),
        Err(AuthError::WrongType("key.create"))
    );
    assert!(
        verify_registration(CredentialKind::Key, &expected(), b"key-1", &cd, b"{}")
            .unwrap_err()
            .is_malformed()
    );
    assert!(
        verify_registration(CredentialKind::Key, &expected(), b"", &cd, &attestation(&cd))
            .unwrap_err()
            .is_malformed()
    );
    assert!(verify_registration(CredentialKind::Key, &expected(), b"key-1", &cd, &attestation(&cd)).is_ok());
}

#[test]
fn size_limits_are_inclusive() {
    use signer_common::userauth::{
        MAX_ATTESTATION_LEN, MAX_AUTHENTICATOR_DATA_LEN, MAX_CREDENTIAL_ID_LEN, MAX_SIGNATURE_LEN,
    };
    // The limits SPEC.md and the task fix.
    assert_eq!(
        [
            MAX_CLIENT_DATA_LEN,
            MAX_AUTHENTICATOR_DATA_LEN,
            MAX_ATTESTATION_LEN,
            MAX_SIGNATURE_LEN,
            MAX_CREDENTIAL_ID_LEN
        ],
        [4096, 4096, 16384, 1024, 1023]
    );
    // Client data of exactly 4 KiB passes, one byte more is malformed.
    let base = client_data("webauthn.get");
    let pad = |total: usize| {
        let text = String::from_utf8(base.clone()).unwrap();
        let filler = total - base.len() - r#","pad":"""#.len();
        text.replacen(",", &format!(r#","pad":"{}","#, "a".repeat(filler)), 1).into_bytes()
    };
    let ok = auth_data(RP_ID, UP, 1, &[]);
    assert_eq!(pad(MAX_CLIENT_DATA_LEN).len(), MAX_CLIENT_DATA_LEN);
    assert!(assert_with(&expected(), 0, &pad(MAX_CLIENT_DATA_LEN), &ok).is_ok());
    assert!(assert_with(&expected(), 0, &pad(MAX_CLIENT_DATA_LEN + 1), &ok).unwrap_err().is_malformed());
    // Authenticator data of exactly 4 KiB (an extension map with a byte string), and one more.
    let with_extension = |total: usize| {
        let head = 37 + 1 + 2 + 3; // fixed part, map(1), key "x", bytes header of 2-byte length
        let mut ext = vec![0xa1, 0x61, b'x', 0x59];
        ext.extend_from_slice(&((total - head) as u16).to_be_bytes());
        ext.extend(std::iter::repeat_n(0u8, total - head));
        auth_data(RP_ID, UP | ED, 1, &ext)
    };
    assert_eq!(with_extension(MAX_AUTHENTICATOR_DATA_LEN).len(), MAX_AUTHENTICATOR_DATA_LEN);
    assert!(assert_with(&expected(), 0, &base, &with_extension(MAX_AUTHENTICATOR_DATA_LEN)).is_ok());
    let got = assert_with(&expected(), 0, &base, &with_extension(MAX_AUTHENTICATOR_DATA_LEN + 1));
    assert!(got.unwrap_err().is_malformed());
    // A 1024-byte signature (RSA-8192) is checked, not refused as too long.
    let rsa = signer_common::userauth::CredentialPublicKey::Rsa {
        n: serde_bytes::ByteBuf::from(vec![0xc5; 1024]),
        e: serde_bytes::ByteBuf::from(vec![1, 0, 1]),
    };
    assert_eq!(rsa.verify(b"m", &[1; 1024]), Err(AuthError::BadSignature));
    // A credential id of exactly 1023 bytes registers.
    let cd = client_data("webauthn.create");
    let id = vec![0x5a; MAX_CREDENTIAL_ID_LEN];
    let object = attestation_object("none", vec![], &reg_auth_data(RP_ID, UP | AT, &id, &cose_key(), &[]));
    assert!(verify_registration(CredentialKind::Fido2, &expected(), &id, &cd, &object).is_ok());
    // A Key attestation of exactly 16 KiB (JSON padded with spaces), and one more.
    let kcd =
        format!(r#"{{"type":"key.create","challenge":"{CHALLENGE}","origin":"{ORIGIN}"}}"#).into_bytes();
    let ed = ed25519_dalek::SigningKey::from_bytes(&[0x25; 32]);
    use ed25519_dalek::Signer as _;
    use ed25519_dalek::pkcs8::EncodePublicKey as _;
    let json = serde_json::to_vec(&KeyAttestation {
        public_key: ed.verifying_key().to_public_key_pem(spki::der::pem::LineEnding::LF).unwrap(),
        signature: to_b64url(&ed.sign(&kcd).to_bytes()),
    })
    .unwrap();
    let padded = |total: usize| {
        let mut out = json.clone();
        out.resize(total, b' ');
        out
    };
    assert!(
        verify_registration(CredentialKind::Key, &expected(), b"k", &kcd, &padded(MAX_ATTESTATION_LEN))
            .is_ok()
    );
    let got =
        verify_registration(CredentialKind::Key, &expected(), b"k", &kcd, &padded(MAX_ATTESTATION_LEN + 1));
    assert!(got.unwrap_err().is_malformed());
}
