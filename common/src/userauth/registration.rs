//! Verifying a registration (WebAuthn L3 §7.1, and its Key-credential counterpart).

use ciborium::Value;
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};

use crate::api::auth::KeyAttestation;
use crate::identity::CredentialKind;

use super::authenticator_data::{self, FLAG_UV};
use super::client_data;
use super::error::{AuthError, malformed};
use super::expected::{Expected, MAX_ATTESTATION_LEN, MAX_CREDENTIAL_ID_LEN, check_len};
use super::public_key::{COSE_EDDSA, COSE_ES256, COSE_RS256, CredentialPublicKey};

/// A credential proven by a valid registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    /// Its public key.
    pub public_key: CredentialPublicKey,
    /// Its initial signature counter.
    pub sign_count: u32,
    /// Whether the authenticator verified the user.
    pub user_verified: bool,
}

/// Checks a registration: for Key, `attestation_data` is JSON `{ publicKey: PEM, signature:
/// base64url }` over the exact `key.create` client data; for Fido2 it is the attestationObject
/// (formats `none` and `packed`), whose credential id must equal `cred_id`.
pub fn verify_registration(
    kind: CredentialKind,
    expected: &Expected<'_>,
    cred_id: &[u8],
    client_data: &[u8],
    attestation_data: &[u8],
) -> Result<Registered, AuthError> {
    check_len("attestation data", attestation_data, MAX_ATTESTATION_LEN)?;
    if cred_id.is_empty() || cred_id.len() > MAX_CREDENTIAL_ID_LEN {
        return Err(malformed("credential id empty or longer than 1023 bytes"));
    }
    match kind {
        CredentialKind::Key => verify_key(expected, client_data, attestation_data),
        CredentialKind::Fido2 => verify_fido2(expected, cred_id, client_data, attestation_data),
    }
}

/// A Key credential's registration (SPEC.md, "Registration, Key").
fn verify_key(
    expected: &Expected<'_>,
    client_data: &[u8],
    attestation_data: &[u8],
) -> Result<Registered, AuthError> {
    // 1-4. The client data is JSON with type `key.create`, the challenge and the origin.
    client_data::check(client_data, "key.create", expected)?;
    // 5. The attestation data is JSON { publicKey: PEM SubjectPublicKeyInfo, signature }.
    let attestation: KeyAttestation = serde_json::from_slice(attestation_data)
        .map_err(|_| malformed("Key attestation is not the expected JSON"))?;
    let public_key = CredentialPublicKey::from_spki_pem(&attestation.public_key)?;
    let signature = crate::encoding::from_b64(&attestation.signature)
        .map_err(|_| malformed("Key attestation signature is not base64"))?;
    // 6. The signature over the exact client data bytes verifies with that key.
    public_key.verify(client_data, &signature)?;
    Ok(Registered { public_key, sign_count: 0, user_verified: false })
}

/// A WebAuthn registration, steps numbered after WebAuthn Level 3 §7.1. Steps 1-4 (the
/// ceremony) are the client's; 26-27 (the id is not registered yet, storing) the caller's.
fn verify_fido2(
    expected: &Expected<'_>,
    cred_id: &[u8],
    client_data: &[u8],
    attestation_object: &[u8],
) -> Result<Registered, AuthError> {
    // 5-6. Decode clientDataJSON as UTF-8 JSON (within its size limit).
    // 7. type is `webauthn.create`.
    // 8. challenge equals the one issued.
    // 9. origin is the application's.
    // 10. crossOrigin is not true (we refuse cross-origin ceremonies; no topOrigin check).
    client_data::check(client_data, "webauthn.create", expected)?;
    // 11. hash = SHA-256(clientDataJSON).
    let client_data_hash = Sha256::digest(client_data);
    // 12. Decode the attestationObject: { fmt, attStmt, authData }, nothing else, nothing after.
    let object = AttestationObject::parse(attestation_object)?;
    let data = authenticator_data::parse(&object.auth_data)?;
    // 13. rpIdHash is SHA-256 of the application's rpId.
    // 14. UP is set.
    // 15. UV is set if the application requires user verification.
    // 16-18. BS without BE was refused at parsing; no backup policy.
    data.check(expected)?;
    // (AT) A registration carries attested credential data.
    let attested = data
        .attested
        .as_ref()
        .ok_or_else(|| malformed("a registration's authenticator data lacks the AT flag"))?;
    // 25. The credential id is at most 1023 bytes (checked at parsing) and the one named.
    if attested.cred_id != cred_id {
        return Err(AuthError::CredentialIdMismatch);
    }
    // 19. The key's algorithm is one we accept (ES256, ES256K, EdDSA, RS256).
    let public_key = CredentialPublicKey::from_cose_key(attested.public_key)?;
    // 20. Extensions: none requested, so any the authenticator added are ignored.
    // 21-22. The attestation statement's format, and its verification.
    let mut signed = Vec::with_capacity(object.auth_data.len() + 32);
    signed.extend_from_slice(&object.auth_data);
    signed.extend_from_slice(&client_data_hash);
    match object.fmt.as_str() {
        "none" => {
            if !object.att_stmt.is_empty() {
                return Err(malformed("attestation format none with a statement"));
            }
        }
        "packed" => verify_packed(&object.att_stmt, &public_key, &signed)?,
        _ => return Err(AuthError::Unsupported("attestation format".into())),
    }
    // 23-24. No trust path: we do not trust attestation CAs (SPEC.md, "Not done").
    Ok(Registered { public_key, sign_count: data.sign_count, user_verified: data.has(FLAG_UV) })
}

/// The packed attestation statement (WebAuthn L3 §8.2): `{alg, sig}` for self attestation,
/// `{alg, sig, x5c}` with a certificate chain.
fn verify_packed(
    att_stmt: &[(Value, Value)],
    public_key: &CredentialPublicKey,
    signed: &[u8],
) -> Result<(), AuthError> {
    let mut alg = None;
    let mut sig = None;
    let mut x5c = None;
    for (key, value) in att_stmt {
        let slot = match key.as_text() {
            Some("alg") => &mut alg,
            Some("sig") => &mut sig,
            Some("x5c") => &mut x5c,
            Some("ecdaaKeyId") => return Err(AuthError::Unsupported("ECDAA attestation".into())),
            _ => return Err(malformed("packed statement has an unknown member")),
        };
        if slot.replace(value).is_some() {
            return Err(malformed("packed statement repeats a member"));
        }
    }
    let alg = alg
        .and_then(Value::as_integer)
        .and_then(|i| i64::try_from(i).ok())
        .ok_or_else(|| malformed("packed statement alg is not an integer"))?;
    let sig = sig.and_then(Value::as_bytes).ok_or_else(|| malformed("packed statement sig is not bytes"))?;
    match x5c {
        // Self attestation: alg is the credential key's and sig verifies with it.
        None => {
            if alg != public_key.cose_algorithm() {
                return Err(malformed("packed self attestation alg is not the credential key's"));
            }
            public_key.verify(signed, sig)
        }
        // Full attestation: sig verifies with the leaf certificate's key; the chain is not
        // checked against any root (we do not trust attestation CAs).
        Some(x5c) => {
            let leaf = x5c
                .as_array()
                .and_then(|chain| chain.first())
                .and_then(Value::as_bytes)
                .ok_or_else(|| malformed("packed statement x5c is not a list of certificates"))?;
            let der = rustls_pki_types::CertificateDer::from(leaf.as_slice());
            let cert = webpki::EndEntityCert::try_from(&der)
                .map_err(|_| malformed("packed statement x5c leaf is not a certificate"))?;
            let algorithm: &dyn rustls_pki_types::SignatureVerificationAlgorithm = match alg {
                COSE_ES256 => webpki::aws_lc_rs::ECDSA_P256_SHA256,
                COSE_EDDSA => webpki::aws_lc_rs::ED25519,
                COSE_RS256 => webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
                _ => return Err(AuthError::Unsupported("packed attestation algorithm".into())),
            };
            cert.verify_signature(algorithm, signed, sig).map_err(|_| AuthError::BadSignature)
        }
    }
}

/// A decoded attestationObject.
struct AttestationObject {
    fmt: String,
    att_stmt: Vec<(Value, Value)>,
    auth_data: ByteBuf,
}

impl AttestationObject {
    fn parse(bytes: &[u8]) -> Result<Self, AuthError> {
        let mut reader = bytes;
        let value: Value =
            ciborium::from_reader(&mut reader).map_err(|_| malformed("attestationObject is not CBOR"))?;
        if !reader.is_empty() {
            return Err(malformed("trailing bytes after attestationObject"));
        }
        let Value::Map(entries) = value else {
            return Err(malformed("attestationObject is not a map"));
        };
        let (mut fmt, mut att_stmt, mut auth_data) = (None, None, None);
        for (key, value) in entries {
            let repeated = match (key.as_text(), value) {
                (Some("fmt"), Value::Text(text)) => fmt.replace(text).is_some(),
                (Some("attStmt"), Value::Map(map)) => att_stmt.replace(map).is_some(),
                (Some("authData"), Value::Bytes(data)) => auth_data.replace(ByteBuf::from(data)).is_some(),
                _ => return Err(malformed("attestationObject has an unknown or mistyped member")),
            };
            if repeated {
                return Err(malformed("attestationObject repeats a member"));
            }
        }
        match (fmt, att_stmt, auth_data) {
            (Some(fmt), Some(att_stmt), Some(auth_data)) => {
                Ok(AttestationObject { fmt, att_stmt, auth_data })
            }
            _ => Err(malformed("attestationObject lacks fmt, attStmt or authData")),
        }
    }
}
