//! End-user signatures: the credential public keys, and the checks of WebAuthn and Key
//! assertions and registrations, as numbered steps (see `SPEC.md` in this folder). Sans-I/O;
//! the enclave runs these checks, clients and the parent may reuse the parsing.
//!
//! - [`CredentialPublicKey`]: a credential's public key, from a COSE key or a PEM
//!   SubjectPublicKeyInfo, and its signature check.
//! - [`verify_assertion`]: a `webauthn.get` or `key.get` assertion against a stored credential.
//! - [`verify_registration`]: a `webauthn.create` or `key.create` registration.
//! - [`request_challenge`]: the challenge of a one-shot signed request.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::identity::{CredentialKind, UserVerification};

mod request_signature;

pub use request_signature::{is_valid_request_id, request_challenge};

/// A credential's public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CredentialPublicKey {
    /// ECDSA P-256 with SHA-256 (COSE ES256): SEC1 uncompressed point, 65 bytes.
    P256(ByteBuf),
    /// ECDSA secp256k1 with SHA-256 (COSE ES256K): SEC1 compressed point, 33 bytes.
    Secp256k1(ByteBuf),
    /// Ed25519 (COSE EdDSA): 32 bytes.
    Ed25519(ByteBuf),
    /// RSASSA-PKCS1-v1_5 with SHA-256 (COSE RS256): modulus and public exponent, big-endian.
    Rsa {
        /// Modulus.
        n: ByteBuf,
        /// Public exponent.
        e: ByteBuf,
    },
}

impl CredentialPublicKey {
    /// The JOSE/COSE algorithm name: `ES256`, `ES256K`, `EdDSA` or `RS256`.
    pub fn algorithm(&self) -> &'static str {
        match self {
            CredentialPublicKey::P256(_) => "ES256",
            CredentialPublicKey::Secp256k1(_) => "ES256K",
            CredentialPublicKey::Ed25519(_) => "EdDSA",
            CredentialPublicKey::Rsa { .. } => "RS256",
        }
    }

    /// Checks `signature` over `message`: ECDSA over SHA-256(message) with a strict DER
    /// signature, Ed25519 over the message, RSA PKCS#1 v1.5 over SHA-256(message).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), AuthError> {
        match self {
            CredentialPublicKey::Ed25519(key) => {
                let key: [u8; 32] = key
                    .as_slice()
                    .try_into()
                    .map_err(|_| AuthError::Malformed("Ed25519 key length".into()))?;
                let key = aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::ED25519, key);
                key.verify(message, signature).map_err(|_| AuthError::BadSignature)
            }
            _ => Err(AuthError::Unsupported("not yet implemented".into())),
        }
    }
}

/// What an assertion or registration must name: the challenge the enclave issued and the
/// application's origin, relying party and user-verification policy.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The base64url challenge, compared with `clientData.challenge` as text.
    pub challenge: &'a str,
    /// The application's expected origin.
    pub origin: &'a str,
    /// The application's relying-party id (WebAuthn only).
    pub rp_id: &'a str,
    /// Whether the UV flag is required (WebAuthn only).
    pub user_verification: UserVerification,
}

/// What a valid assertion tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asserted {
    /// The counter to store (the authenticator's; 0 for Key credentials).
    pub sign_count: u32,
    /// Whether the authenticator verified the user (always false for Key credentials).
    pub user_verified: bool,
}

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

/// Why an assertion or registration was refused. Messages name the failed check, never a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Not decodable: bad JSON, CBOR, DER, COSE key, PEM or lengths (answered 400).
    #[error("malformed: {0}")]
    Malformed(String),
    /// An algorithm or attestation format this build does not accept (answered 400).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// `clientData.type` is not the one expected.
    #[error("client data type is not {0}")]
    WrongType(&'static str),
    /// `clientData.challenge` is not the challenge issued.
    #[error("challenge does not match")]
    ChallengeMismatch,
    /// `clientData.origin` is not the application's.
    #[error("origin does not match the application's")]
    OriginMismatch,
    /// `authenticatorData.rpIdHash` is not SHA-256 of the application's rpId.
    #[error("rpIdHash does not match the application's rpId")]
    RpIdMismatch,
    /// The UP flag is not set.
    #[error("user presence flag not set")]
    UserNotPresent,
    /// The UV flag is not set and the application requires it.
    #[error("user verification required")]
    UserNotVerified,
    /// The signature does not verify under the credential's key.
    #[error("signature does not verify")]
    BadSignature,
    /// The signature counter did not increase.
    #[error("signature counter went backwards (possible cloned authenticator)")]
    CounterWentBackwards,
    /// A registration names another credential id than its authenticator data.
    #[error("credential id does not match")]
    CredentialIdMismatch,
}

impl AuthError {
    /// True when the input could not be decoded or uses something unsupported (HTTP 400); false
    /// when it decoded and a check failed (HTTP 403).
    pub fn is_malformed(&self) -> bool {
        matches!(self, AuthError::Malformed(_) | AuthError::Unsupported(_))
    }
}

#[derive(Deserialize)]
struct ClientData {
    #[serde(rename = "type")]
    kind: String,
    challenge: String,
    origin: String,
}

/// Checks an assertion by a `kind` credential against `expected` and the stored credential.
/// `authenticator_data` is required for Fido2 and refused for Key.
pub fn verify_assertion(
    kind: CredentialKind,
    expected: &Expected<'_>,
    public_key: &CredentialPublicKey,
    stored_sign_count: u32,
    client_data: &[u8],
    authenticator_data: Option<&[u8]>,
    signature: &[u8],
) -> Result<Asserted, AuthError> {
    let _ = stored_sign_count;
    match kind {
        CredentialKind::Key => {
            if authenticator_data.is_some() {
                return Err(AuthError::Malformed("a Key assertion has no authenticatorData".into()));
            }
            let data: ClientData = serde_json::from_slice(client_data)
                .map_err(|e| AuthError::Malformed(format!("clientData: {e}")))?;
            if data.kind != "key.get" {
                return Err(AuthError::WrongType("key.get"));
            }
            if data.challenge != expected.challenge {
                return Err(AuthError::ChallengeMismatch);
            }
            if data.origin != expected.origin {
                return Err(AuthError::OriginMismatch);
            }
            public_key.verify(client_data, signature)?;
            Ok(Asserted { sign_count: 0, user_verified: false })
        }
        CredentialKind::Fido2 => Err(AuthError::Unsupported("not yet implemented".into())),
    }
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
    // Interim (helper B, for the enclave's tests): Ed25519 Key registrations only. Helper A's
    // branch replaces this function whole; on a merge conflict take A's version.
    let _ = cred_id;
    if kind != CredentialKind::Key {
        return Err(AuthError::Unsupported("not yet implemented".into()));
    }
    let attestation: crate::api::auth::KeyAttestation = serde_json::from_slice(attestation_data)
        .map_err(|e| AuthError::Malformed(format!("attestationData: {e}")))?;
    let data: ClientData =
        serde_json::from_slice(client_data).map_err(|e| AuthError::Malformed(format!("clientData: {e}")))?;
    if data.kind != "key.create" {
        return Err(AuthError::WrongType("key.create"));
    }
    if data.challenge != expected.challenge {
        return Err(AuthError::ChallengeMismatch);
    }
    if data.origin != expected.origin {
        return Err(AuthError::OriginMismatch);
    }
    const ED25519_SPKI_PREFIX: [u8; 12] =
        [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
    let b64: String =
        attestation.public_key.lines().filter(|l| !l.starts_with("-----")).collect::<Vec<_>>().concat();
    let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64.trim())
        .map_err(|_| AuthError::Malformed("publicKey PEM".into()))?;
    let key = der
        .strip_prefix(&ED25519_SPKI_PREFIX[..])
        .filter(|k| k.len() == 32)
        .ok_or_else(|| AuthError::Unsupported("only Ed25519 Key credentials for now".into()))?;
    let public_key = CredentialPublicKey::Ed25519(ByteBuf::from(key.to_vec()));
    let signature = crate::encoding::from_b64(&attestation.signature)
        .map_err(|_| AuthError::Malformed("signature is not base64url".into()))?;
    public_key.verify(client_data, &signature)?;
    Ok(Registered { public_key, sign_count: 0, user_verified: false })
}
