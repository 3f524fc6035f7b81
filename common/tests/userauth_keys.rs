//! Credential public keys: COSE keys and PEM SubjectPublicKeyInfo parsed, each defect refused,
//! and signatures checked strictly (ECDSA in strict DER only, high S accepted, Ed25519 strict).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use coset::cbor::value::Value;
use coset::iana::{self, EnumI64 as _};
use coset::{CborSerializable as _, CoseKey, CoseKeyBuilder, Label};
use p256::ecdsa::signature::Signer as _;
use signer_common::encoding::from_b64;
use signer_common::userauth::{AuthError, CredentialPublicKey};

// Written by OpenSSL 3.0 (`openssl ec -pubout`, `openssl pkey -pubout`, `openssl dgst -sha256
// -sign`, `openssl pkeyutl -sign -rawin`) over CLIENT_DATA.
const CLIENT_DATA: &str =
    r#"{"type":"key.get","challenge":"Y2hhbGxlbmdl","origin":"http://localhost:8080","extra":1}"#;
const P256_PEM: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEIDyOQ3DXNhRwVB80nTecHXNR5I6l
hhnOIoTkuN68e9kTZMmd2HLf+EqXPIul+NseMzn0vXJrefxv3mf4F7WTLQ==
-----END PUBLIC KEY-----
";
const P256_SIG: &str =
    "MEUCIDQE51AkFYDVoUk2VmW2EC8aW_me5lc-KlZTszCKae0DAiEAwrKVuSx2rdWy7kd9mojopGrjcD0o3LJeG2WfiDBR-bY";
const K256_PEM: &str = "-----BEGIN PUBLIC KEY-----
MFYwEAYHKoZIzj0CAQYFK4EEAAoDQgAEiITxwyZAFIpWRjqCv/IERryURWFCr4pt
CZGzWjaklOvwFYBDeTj1tIyXE5D4vCwQewTbZMXW/JvOKBHhftmWvw==
-----END PUBLIC KEY-----
";
const K256_SIG: &str =
    "MEYCIQDGvbbrr5iv9QaOyTSjnSxN5e_usA0GZnWkeR_6iVbMigIhAKwET-FU7RWZI_2bPfFZb4BwuzEXWxJapqEzFfz4MUqw";
const ED25519_PEM: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJB6KGtRt5nmlGkCyRNOjJBHvoRawUwGf3eMu5vvmf1Y=
-----END PUBLIC KEY-----
";
const ED25519_SIG: &str =
    "N0rXADysesFqECZ1e4AvAjmuLKU0H5NizPL-hpoTTWWZ9IFjSMjsY7Kwv0_StIOqSWItMdDgkMje_X9eA6wlDg";
const P384_PEM: &str = "-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEn5NRNWmQVhmYGyfpJ1x6xVDOzAOfY4X7
dSH+iDfiJBPS3WGzBYbCYQUMGTHsSS3aIY3DlEAicSeCAqj+eXXOqIz6S/DTlLTe
LiwnnCqiPp/nBVrRFHozsrLj7h6Hrali
-----END PUBLIC KEY-----
";
const RSA_PEM: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEArtcIv8Jow7Yg5+MbHIyR
Lgz7+hGcF3bbTKREA4FBFuK8uMVWwYoAhFeMi+77UlMiTtgC596HNEdNkwyQNOYz
qxOVomCt0XkoUrjCMCnm1Y03rq1cJez/pL6hGNDtvD017gVNOI+JFeaFDR9nlpDv
LjBZWvXSmk4ppZwsex8cDEJayYEhwSdZbbBocgGI7N1+H74giB1L7U3Qu9CNfr2r
8BbnQCTHWVgvWPOvUYckiiHp7HnLKX10fsNRDuobSQ1Zn3xy9NXl6BPYvJ64RV41
dAXVdcRsdR/1wGfIUT9kDnz/50DbOB5nql/SVMvDrRJcAdVrLBuzEU8JatztgZ7C
eQIDAQAB
-----END PUBLIC KEY-----
";
/// The RS256 COSE key of the py_webauthn vector (tests/vectors/webauthn).
const RSA_COSE: &str = "pAEDAzkBACBZAQDfV20epzvQP-HtcdDpX-cGzdOxy73WQEvsU7Dnr9UWJophEfpngouvgnRLXaEUn_d8HGkp_HIx8rrpkx4BVs6X_B6ZjhLlezjIdJbLbVeb92BaEsmNn1HW2N9Xj2QM8cH-yx28_vCjf82ahQ9gyAr552Bn96G22n8jqFRQKdVpO-f-bvpvaP3IQ9F5LCX7CUaxptgbog1SFO6FI6ob5SlVVB00lVXsaYg8cIDZxCkkENkGiFPgwEaZ7995SCbiyCpUJbMqToLMgojPkAhWeyktu7TlK6UBWdJMHc3FPAIs0lH_2_2hKS-mGI1uZAFVAfW1X-mzKL0czUm2P1UlUox7IUMBAAE";

fn b64(text: &str) -> Vec<u8> {
    from_b64(text).unwrap()
}

fn p256_key() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_slice(&[0x42; 32]).unwrap()
}

fn k256_key() -> k256::ecdsa::SigningKey {
    k256::ecdsa::SigningKey::from_slice(&[0x43; 32]).unwrap()
}

fn ec2_cose(curve: iana::EllipticCurve, alg: iana::Algorithm, point: &[u8]) -> Vec<u8> {
    CoseKeyBuilder::new_ec2_pub_key(curve, point[1..33].to_vec(), point[33..65].to_vec())
        .algorithm(alg)
        .build()
        .to_vec()
        .unwrap()
}

fn p256_cose() -> Vec<u8> {
    let point = p256_key().verifying_key().to_sec1_point(false);
    ec2_cose(iana::EllipticCurve::P_256, iana::Algorithm::ES256, point.as_bytes())
}

fn k256_cose() -> Vec<u8> {
    let point = k256_key().verifying_key().to_sec1_point(false);
    ec2_cose(iana::EllipticCurve::Secp256k1, iana::Algorithm::ES256K, point.as_bytes())
}

fn ed25519_cose(x: &[u8]) -> Vec<u8> {
    CoseKeyBuilder::new_okp_key()
        .param(iana::OkpKeyParameter::Crv.to_i64(), Value::from(iana::EllipticCurve::Ed25519.to_i64()))
        .param(iana::OkpKeyParameter::X.to_i64(), Value::Bytes(x.to_vec()))
        .algorithm(iana::Algorithm::EdDSA)
        .build()
        .to_vec()
        .unwrap()
}

/// `cose` with parameter `label` replaced by `value` (removed when None).
fn with_param(cose: &[u8], label: i64, value: Option<Value>) -> Vec<u8> {
    let mut key = CoseKey::from_slice(cose).unwrap();
    key.params.retain(|(l, _)| *l != Label::Int(label));
    if let Some(value) = value {
        key.params.push((Label::Int(label), value));
    }
    key.to_vec().unwrap()
}

fn malformed(result: Result<CredentialPublicKey, AuthError>) -> bool {
    matches!(result, Err(AuthError::Malformed(_)))
}

fn unsupported(result: Result<CredentialPublicKey, AuthError>) -> bool {
    matches!(result, Err(AuthError::Unsupported(_)))
}

#[test]
fn cose_keys_of_each_algorithm_parse_and_verify() {
    let message = b"authenticator data || client data hash";
    let p256 = CredentialPublicKey::from_cose_key(&p256_cose()).unwrap();
    let CredentialPublicKey::P256(point) = &p256 else { panic!("not P-256") };
    assert_eq!(point.len(), 65);
    assert_eq!(point[0], 0x04);
    let sig: p256::ecdsa::Signature = p256_key().sign(message);
    p256.verify(message, sig.to_der().as_bytes()).unwrap();
    assert_eq!(p256.verify(b"other", sig.to_der().as_bytes()), Err(AuthError::BadSignature));

    let k256 = CredentialPublicKey::from_cose_key(&k256_cose()).unwrap();
    let CredentialPublicKey::Secp256k1(point) = &k256 else { panic!("not secp256k1") };
    assert_eq!(point.len(), 33);
    let sig: k256::ecdsa::Signature = k256_key().sign(message);
    k256.verify(message, sig.to_der().as_bytes()).unwrap();
    assert_eq!(k256.verify(b"other", sig.to_der().as_bytes()), Err(AuthError::BadSignature));
    assert_eq!((p256.cose_algorithm(), k256.cose_algorithm()), (-7, -47));

    let ed = ed25519_dalek::SigningKey::from_bytes(&[0x44; 32]);
    let ed_public = CredentialPublicKey::from_cose_key(&ed25519_cose(ed.verifying_key().as_bytes())).unwrap();
    use ed25519_dalek::Signer as _;
    ed_public.verify(message, &ed.sign(message).to_bytes()).unwrap();
    assert_eq!(ed_public.verify(b"other", &ed.sign(message).to_bytes()), Err(AuthError::BadSignature));

    let rsa = CredentialPublicKey::from_cose_key(&b64(RSA_COSE)).unwrap();
    assert_eq!(rsa.algorithm(), "RS256");
    assert_eq!(rsa.verify(message, &[0x55; 256]), Err(AuthError::BadSignature));
}

#[test]
fn each_cose_key_defect_is_refused() {
    let p256 = p256_cose();
    // Curve of another algorithm, key type of another algorithm.
    assert!(malformed(CredentialPublicKey::from_cose_key(&with_param(&p256, -1, Some(Value::from(8))))));
    let mut key = CoseKey::from_slice(&p256).unwrap();
    key.alg = Some(coset::Algorithm::Assigned(iana::Algorithm::EdDSA));
    assert!(malformed(CredentialPublicKey::from_cose_key(&key.clone().to_vec().unwrap())));
    key.alg = None;
    assert!(malformed(CredentialPublicKey::from_cose_key(&key.clone().to_vec().unwrap())));
    // An algorithm not accepted (ES384), an OKP curve other than Ed25519.
    key.alg = Some(coset::Algorithm::Assigned(iana::Algorithm::ES384));
    assert!(unsupported(CredentialPublicKey::from_cose_key(&key.clone().to_vec().unwrap())));
    let ed = ed25519_cose(ed25519_dalek::SigningKey::from_bytes(&[0x44; 32]).verifying_key().as_bytes());
    assert!(unsupported(CredentialPublicKey::from_cose_key(&with_param(&ed, -1, Some(Value::from(4))))));
    // x of 31 bytes, y missing, y as the compressed-form boolean, x not an integer curve.
    assert!(malformed(CredentialPublicKey::from_cose_key(&with_param(
        &p256,
        -2,
        Some(Value::Bytes(vec![1; 31]))
    ))));
    assert!(malformed(CredentialPublicKey::from_cose_key(&with_param(&p256, -3, None))));
    assert!(malformed(CredentialPublicKey::from_cose_key(&with_param(&p256, -3, Some(Value::Bool(true))))));
    assert!(malformed(CredentialPublicKey::from_cose_key(&with_param(
        &p256,
        -1,
        Some(Value::Text("P-256".into()))
    ))));
    // A point off the curve (y + 1), on either curve.
    for cose in [p256.clone(), k256_cose()] {
        let key = CoseKey::from_slice(&cose).unwrap();
        let y = key.params.iter().find(|(l, _)| *l == Label::Int(-3)).unwrap().1.as_bytes().unwrap().clone();
        let mut off = y.clone();
        off[31] ^= 1;
        assert!(malformed(CredentialPublicKey::from_cose_key(&with_param(
            &cose,
            -3,
            Some(Value::Bytes(off))
        ))));
    }
    // Ed25519: a small-order key (the identity), a key that is not a point, 33 bytes.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert!(malformed(CredentialPublicKey::from_cose_key(&ed25519_cose(&identity))));
    assert!(malformed(CredentialPublicKey::from_cose_key(&ed25519_cose(&[0xff; 32]))));
    assert!(malformed(CredentialPublicKey::from_cose_key(&ed25519_cose(&[9; 33]))));
    // A repeated parameter, trailing bytes, not CBOR, not a map.
    let Value::Map(mut entries) = ciborium::from_reader::<Value, _>(p256.as_slice()).unwrap() else {
        panic!()
    };
    entries.push(entries[entries.len() - 1].clone());
    let mut repeated = Vec::new();
    ciborium::into_writer(&Value::Map(entries), &mut repeated).unwrap();
    assert!(malformed(CredentialPublicKey::from_cose_key(&repeated)));
    let mut trailing = p256.clone();
    trailing.push(0);
    assert!(malformed(CredentialPublicKey::from_cose_key(&trailing)));
    assert!(malformed(CredentialPublicKey::from_cose_key(&[0xff, 0x00])));
    assert!(malformed(CredentialPublicKey::from_cose_key(&[0x80])));
    // The original still parses.
    assert!(CredentialPublicKey::from_cose_key(&p256).is_ok());
}

#[test]
fn each_rsa_key_defect_is_refused() {
    let rsa = b64(RSA_COSE);
    let key = CoseKey::from_slice(&rsa).unwrap();
    let n = key.params.iter().find(|(l, _)| *l == Label::Int(-1)).unwrap().1.as_bytes().unwrap().clone();
    // 1024 bits: too short; 8200 bits: too long.
    assert!(unsupported(CredentialPublicKey::from_cose_key(&with_param(
        &rsa,
        -1,
        Some(Value::Bytes(n[..128].to_vec()))
    ))));
    assert!(unsupported(CredentialPublicKey::from_cose_key(&with_param(
        &rsa,
        -1,
        Some(Value::Bytes(vec![0xc5; 1025]))
    ))));
    // 2048 bits with a leading zero byte (not minimal), an empty modulus.
    let mut padded = vec![0];
    padded.extend_from_slice(&n);
    assert!(malformed(CredentialPublicKey::from_cose_key(&with_param(&rsa, -1, Some(Value::Bytes(padded))))));
    assert!(malformed(CredentialPublicKey::from_cose_key(&with_param(&rsa, -1, Some(Value::Bytes(vec![]))))));
    // Even exponent, exponent 1, exponent of 5 bytes.
    for e in [vec![1, 0, 0], vec![1], vec![1, 0, 0, 0, 1]] {
        assert!(malformed(CredentialPublicKey::from_cose_key(&with_param(&rsa, -2, Some(Value::Bytes(e))))));
    }
    // 2041 bits (256 bytes, top byte 1): too short, though 256 bytes long.
    let mut short = n.clone();
    short[0] = 1;
    assert!(unsupported(CredentialPublicKey::from_cose_key(&with_param(
        &rsa,
        -1,
        Some(Value::Bytes(short))
    ))));
    // 3 and a 4-byte odd exponent are accepted; 8192 bits accepted.
    assert!(
        CredentialPublicKey::from_cose_key(&with_param(&rsa, -2, Some(Value::Bytes(vec![1, 0, 0, 1]))))
            .is_ok()
    );
    assert!(CredentialPublicKey::from_cose_key(&with_param(&rsa, -2, Some(Value::Bytes(vec![3])))).is_ok());
    assert!(
        CredentialPublicKey::from_cose_key(&with_param(&rsa, -1, Some(Value::Bytes(vec![0xc5; 1024]))))
            .is_ok()
    );
    assert!(CredentialPublicKey::from_cose_key(&rsa).is_ok());
}

#[test]
fn openssl_pem_keys_parse_and_verify_their_signatures() {
    let message = CLIENT_DATA.as_bytes();
    for (pem, sig, alg) in
        [(P256_PEM, P256_SIG, "ES256"), (K256_PEM, K256_SIG, "ES256K"), (ED25519_PEM, ED25519_SIG, "EdDSA")]
    {
        let key = CredentialPublicKey::from_spki_pem(pem).unwrap();
        assert_eq!(key.algorithm(), alg);
        key.verify(message, &b64(sig)).unwrap();
        assert_eq!(key.verify(b"other", &b64(sig)), Err(AuthError::BadSignature), "{alg}");
    }
    // The secp256k1 key is kept compressed, the P-256 one uncompressed.
    let CredentialPublicKey::Secp256k1(point) = CredentialPublicKey::from_spki_pem(K256_PEM).unwrap() else {
        panic!()
    };
    assert_eq!(point.len(), 33);
    let CredentialPublicKey::P256(point) = CredentialPublicKey::from_spki_pem(P256_PEM).unwrap() else {
        panic!()
    };
    assert_eq!(point.len(), 65);
    // ed25519-dalek's PEM (as Node and Python write it, same SPKI) parses the same.
    use ed25519_dalek::pkcs8::EncodePublicKey as _;
    let ed = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
    let pem = ed.to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF).unwrap();
    assert_eq!(
        CredentialPublicKey::from_spki_pem(&pem).unwrap(),
        CredentialPublicKey::Ed25519(serde_bytes::ByteBuf::from(ed.as_bytes().to_vec()))
    );
}

#[test]
fn pem_defects_and_other_algorithms_are_refused() {
    assert!(unsupported(CredentialPublicKey::from_spki_pem(P384_PEM)));
    assert!(unsupported(CredentialPublicKey::from_spki_pem(RSA_PEM)));
    assert!(malformed(CredentialPublicKey::from_spki_pem(&P256_PEM.replace("PUBLIC KEY", "PRIVATE KEY"))));
    assert!(malformed(CredentialPublicKey::from_spki_pem("not a key")));
    assert!(malformed(CredentialPublicKey::from_spki_pem(&P256_PEM.replace("hhnO", "hhnP"))));
    let (_, der) = spki::der::pem::decode_vec(P256_PEM.as_bytes()).unwrap();
    assert!(CredentialPublicKey::from_spki_der(&der).is_ok());
    let mut trailing = der.clone();
    trailing.push(0);
    assert!(malformed(CredentialPublicKey::from_spki_der(&trailing)));
    // Ed25519 with parameters (RFC 8410 forbids them): NULL added after the OID.
    let (_, ed) = spki::der::pem::decode_vec(ED25519_PEM.as_bytes()).unwrap();
    let mut with_null = vec![0x30, 0x2c, 0x30, 0x07];
    with_null.extend_from_slice(&ed[4..9]);
    with_null.extend_from_slice(&[0x05, 0x00]);
    with_null.extend_from_slice(&ed[9..]);
    assert!(malformed(CredentialPublicKey::from_spki_der(&with_null)));
    assert!(CredentialPublicKey::from_spki_der(&ed).is_ok());
}

/// DER of SEQUENCE { r, s } with the given length encodings.
fn der(seq_len: &[u8], r: &[u8], s: &[u8], r_len: &[u8]) -> Vec<u8> {
    let mut out = vec![0x30];
    out.extend_from_slice(seq_len);
    out.push(0x02);
    out.extend_from_slice(r_len);
    out.extend_from_slice(r);
    out.extend_from_slice(&[0x02, s.len() as u8]);
    out.extend_from_slice(s);
    out
}

/// Minimal DER INTEGER content of a 32-byte unsigned big-endian value.
fn int(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(31);
    let mut out = bytes[start..].to_vec();
    if out[0] & 0x80 != 0 {
        out.insert(0, 0);
    }
    out
}

#[test]
fn ber_and_malformed_ecdsa_signatures_are_refused() {
    let message = b"message";
    let p256 = CredentialPublicKey::from_cose_key(&p256_cose()).unwrap();
    let k256 = CredentialPublicKey::from_cose_key(&k256_cose()).unwrap();
    let p_sig: p256::ecdsa::Signature = p256_key().sign(message);
    let k_sig: k256::ecdsa::Signature = k256_key().sign(message);
    for (key, fixed) in [(&p256, p_sig.to_bytes().to_vec()), (&k256, k_sig.to_bytes().to_vec())] {
        let (r, s) = (int(&fixed[..32]), int(&fixed[32..]));
        let body = 2 + r.len() + 2 + s.len();
        let good = der(&[body as u8], &r, &s, &[r.len() as u8]);
        key.verify(message, &good).unwrap();
        let mut bad = vec![
            // Long-form lengths where the short form fits.
            der(&[0x81, body as u8], &r, &s, &[r.len() as u8]),
            der(&[body as u8 + 1], &r, &s, &[0x81, r.len() as u8]),
            // Indefinite length.
            {
                let mut v = der(&[0x80], &r, &s, &[r.len() as u8]);
                v.extend_from_slice(&[0, 0]);
                v
            },
            // A padded integer (an extra leading zero), two extra zeros.
            {
                let mut padded = vec![0];
                padded.extend_from_slice(&r);
                der(&[body as u8 + 1], &padded, &s, &[padded.len() as u8])
            },
            // Trailing bytes after the sequence; a sequence length that is too long.
            {
                let mut v = good.clone();
                v.push(0);
                v
            },
            der(&[body as u8 + 1], &r, &s, &[r.len() as u8]),
            // The fixed form instead of DER; empty; an OCTET STRING tag.
            fixed.clone(),
            vec![],
            {
                let mut v = good.clone();
                v[2] = 0x04;
                v
            },
        ];
        // A negative r: the sign byte removed from an r whose top bit is set, or the top bit set
        // on a one-byte-shorter r.
        if r[0] == 0 {
            bad.push(der(&[body as u8 - 1], &r[1..], &s, &[r.len() as u8 - 1]));
        } else {
            let mut negative = r.clone();
            negative[0] |= 0x80;
            bad.push(der(&[body as u8], &negative, &s, &[r.len() as u8]));
        }
        // r = 0.
        bad.push(der(&[(2 + 1 + 2 + s.len()) as u8], &[0], &s, &[1]));
        for (i, sig) in bad.iter().enumerate() {
            assert!(key.verify(message, sig).unwrap_err().is_malformed(), "{} case {i}", key.algorithm());
        }
        // A signature over 1 KiB is refused before parsing.
        assert!(key.verify(message, &vec![0x30; 1025]).unwrap_err().is_malformed());
        key.verify(message, &good).unwrap();
    }
}

#[test]
fn high_s_ecdsa_signatures_are_accepted() {
    let message = b"message";
    let p256 = CredentialPublicKey::from_cose_key(&p256_cose()).unwrap();
    let sig: p256::ecdsa::Signature = p256_key().sign(message);
    let (r, s) = (sig.r(), sig.s());
    let low = p256::ecdsa::Signature::from_scalars(r.to_bytes(), s.to_bytes()).unwrap().normalize_s();
    let high = p256::ecdsa::Signature::from_scalars(low.r().to_bytes(), (-*low.s()).to_bytes()).unwrap();
    assert_ne!(high, low);
    p256.verify(message, low.to_der().as_bytes()).unwrap();
    p256.verify(message, high.to_der().as_bytes()).unwrap();

    let k256 = CredentialPublicKey::from_cose_key(&k256_cose()).unwrap();
    let sig: k256::ecdsa::Signature = k256_key().sign(message);
    let low = sig.normalize_s();
    let high = k256::ecdsa::Signature::from_scalars(low.r().to_bytes(), (-*low.s()).to_bytes()).unwrap();
    assert_ne!(high, low);
    k256.verify(message, low.to_der().as_bytes()).unwrap();
    k256.verify(message, high.to_der().as_bytes()).unwrap();
    assert_eq!(k256.verify(b"other", high.to_der().as_bytes()), Err(AuthError::BadSignature));
}

#[test]
fn ed25519_non_canonical_s_is_refused() {
    use ed25519_dalek::Signer as _;
    let message = b"message";
    let ed = ed25519_dalek::SigningKey::from_bytes(&[0x44; 32]);
    let key = CredentialPublicKey::from_cose_key(&ed25519_cose(ed.verifying_key().as_bytes())).unwrap();
    let sig = ed.sign(message).to_bytes();
    key.verify(message, &sig).unwrap();
    // S + L (the group order), little-endian: the same signature, non-canonical.
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut malleable = sig;
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(sig[32 + i]) + u16::from(L[i]) + carry;
        malleable[32 + i] = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(key.verify(message, &malleable), Err(AuthError::BadSignature));
    assert!(key.verify(message, &sig[..63]).unwrap_err().is_malformed());
    key.verify(message, &sig).unwrap();
}
