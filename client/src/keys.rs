//! Local Key credentials (API.md, "User action signing", step 2, `Key`): a key pair held by the
//! client, loaded from or written to PKCS#8 v1 PEM (RFC 5208, which OpenSSL, Python and Node
//! load), signing the exact client data bytes.
//!
//! - `ES256`: ECDSA P-256 over SHA-256, DER signature.
//! - `ES256K`: ECDSA secp256k1 over SHA-256, DER signature, low-S.
//! - `EdDSA`: Ed25519 over the bytes.
//!
//! The key lives in aws-lc-rs key pairs (AWS-LC cleanses key memory when it frees it); every
//! copy of its encoding is in a zeroizing buffer, and `Debug` never shows it.

use std::fmt;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P256K1_SHA256_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
    KeyPair as _,
};
use ed25519_dalek::pkcs8::spki::der::pem::{self, LineEnding};
use signer_common::api::auth::{CredentialInfo, KeyAttestation};
use signer_common::encoding::to_b64url;
use zeroize::Zeroizing;

use crate::credentials::{Credentials, LocalCredential, Secret};
use crate::error::ClientError;

/// The PEM label of a PKCS#8 private key.
const PRIVATE_KEY_LABEL: &str = "PRIVATE KEY";
/// The PEM label of a SubjectPublicKeyInfo.
const PUBLIC_KEY_LABEL: &str = "PUBLIC KEY";
/// Random bytes in a new credential id.
const CRED_ID_LEN: usize = 16;

/// The algorithm of a Key credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// ECDSA secp256k1 with SHA-256.
    Es256k,
    /// Ed25519.
    EdDsa,
}

impl KeyAlgorithm {
    /// The JOSE name: `ES256`, `ES256K` or `EdDSA`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::Es256 => "ES256",
            KeyAlgorithm::Es256k => "ES256K",
            KeyAlgorithm::EdDsa => "EdDSA",
        }
    }
}

impl std::str::FromStr for KeyAlgorithm {
    type Err = ClientError;

    fn from_str(text: &str) -> Result<KeyAlgorithm, ClientError> {
        match text {
            "ES256" => Ok(KeyAlgorithm::Es256),
            "ES256K" => Ok(KeyAlgorithm::Es256k),
            "EdDSA" => Ok(KeyAlgorithm::EdDsa),
            _ => Err(ClientError::InvalidInput(format!(
                "the key algorithm must be ES256, ES256K or EdDSA, not {text:?}"
            ))),
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

enum KeyPair {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A Key credential's private key, its id and the origin it signs for.
pub struct KeySigner {
    cred_id: String,
    origin: String,
    algorithm: KeyAlgorithm,
    key: KeyPair,
}

impl fmt::Debug for KeySigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySigner")
            .field("cred_id", &self.cred_id)
            .field("origin", &self.origin)
            .field("algorithm", &self.algorithm)
            .field("key", &"<redacted>")
            .finish()
    }
}

fn bad_key(what: &str) -> ClientError {
    ClientError::Credentials(format!("the credential's private key {what}"))
}

impl KeySigner {
    /// The key of `pem` (PKCS#8, v1 or v2) as credential `cred_id` signing for `origin`.
    pub fn from_pem(
        cred_id: impl Into<String>,
        algorithm: KeyAlgorithm,
        origin: impl Into<String>,
        pem: &str,
    ) -> Result<KeySigner, ClientError> {
        let (label, der) = pem::decode_vec(pem.trim().as_bytes()).map_err(|_| bad_key("is not PEM"))?;
        let der = Zeroizing::new(der);
        if label != PRIVATE_KEY_LABEL {
            return Err(bad_key("is not a PKCS#8 \"PRIVATE KEY\" PEM"));
        }
        let wrong = |_| bad_key(&format!("is not an {algorithm} key"));
        let key = match algorithm {
            KeyAlgorithm::Es256 => KeyPair::Ecdsa(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &der).map_err(wrong)?,
            ),
            KeyAlgorithm::Es256k => KeyPair::Ecdsa(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256K1_SHA256_ASN1_SIGNING, &der).map_err(wrong)?,
            ),
            KeyAlgorithm::EdDsa => KeyPair::Ed25519(Ed25519KeyPair::from_pkcs8(&der).map_err(wrong)?),
        };
        Ok(KeySigner { cred_id: cred_id.into(), origin: origin.into(), algorithm, key })
    }

    /// The `credential` of a credentials file, signing for its `origin`.
    pub fn from_credentials(credentials: &Credentials) -> Result<KeySigner, ClientError> {
        let credential = &credentials.credential;
        if credential.kind != "Key" {
            return Err(ClientError::Credentials(format!(
                "the credential is of kind {:?}; only Key credentials sign locally",
                credential.kind
            )));
        }
        let algorithm: KeyAlgorithm = credential.algorithm.parse().map_err(|_| {
            ClientError::Credentials(format!("unknown key algorithm {:?}", credential.algorithm))
        })?;
        KeySigner::from_pem(
            credential.cred_id.clone(),
            algorithm,
            credentials.origin.clone(),
            credential.private_key_pem.expose(),
        )
    }

    /// A new random key with a new random credential id (16 bytes, base64url).
    pub fn generate(algorithm: KeyAlgorithm, origin: impl Into<String>) -> Result<KeySigner, ClientError> {
        let failed = |_| ClientError::InvalidInput(format!("cannot generate an {algorithm} key"));
        let key = match algorithm {
            KeyAlgorithm::Es256 => {
                KeyPair::Ecdsa(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).map_err(failed)?)
            }
            KeyAlgorithm::Es256k => {
                KeyPair::Ecdsa(EcdsaKeyPair::generate(&ECDSA_P256K1_SHA256_ASN1_SIGNING).map_err(failed)?)
            }
            KeyAlgorithm::EdDsa => KeyPair::Ed25519(Ed25519KeyPair::generate().map_err(failed)?),
        };
        let mut id = [0u8; CRED_ID_LEN];
        getrandom::fill(&mut id).map_err(|e| ClientError::InvalidInput(format!("no randomness: {e}")))?;
        Ok(KeySigner { cred_id: to_b64url(&id), origin: origin.into(), algorithm, key })
    }

    /// The credential id (base64url).
    pub fn cred_id(&self) -> &str {
        &self.cred_id
    }

    /// The origin put in client data.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// Signs `message` (the exact client data bytes): a DER ECDSA signature over SHA-256 (low-S
    /// for secp256k1), or an Ed25519 signature.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ClientError> {
        let failed = || ClientError::InvalidInput(format!("the {} key could not sign", self.algorithm));
        match &self.key {
            KeyPair::Ed25519(key) => Ok(key.sign(message).as_ref().to_vec()),
            KeyPair::Ecdsa(key) => {
                let der = key.sign(&SystemRandom::new(), message).map_err(|_| failed())?;
                if self.algorithm != KeyAlgorithm::Es256k {
                    return Ok(der.as_ref().to_vec());
                }
                // AWS-LC leaves s as drawn; secp256k1 verifiers (and the enclave) want low-S.
                let signature = k256::ecdsa::Signature::from_der(der.as_ref()).map_err(|_| failed())?;
                Ok(signature.normalize_s().to_der().as_bytes().to_vec())
            }
        }
    }

    /// The private key as PKCS#8 v1 PEM (RFC 5208: no public key), LF line endings.
    pub fn private_key_pem(&self) -> Result<Zeroizing<String>, ClientError> {
        let failed = |_| ClientError::InvalidInput("cannot encode the private key".into());
        let document = match &self.key {
            KeyPair::Ecdsa(key) => key.to_pkcs8v1().map_err(failed)?,
            KeyPair::Ed25519(key) => key.to_pkcs8v1().map_err(failed)?,
        };
        pem::encode_string(PRIVATE_KEY_LABEL, LineEnding::LF, document.as_ref())
            .map(Zeroizing::new)
            .map_err(|_| ClientError::InvalidInput("cannot encode the private key".into()))
    }

    /// The public key as PEM SubjectPublicKeyInfo.
    pub fn public_key_pem(&self) -> Result<String, ClientError> {
        let failed = |_| ClientError::InvalidInput("cannot encode the public key".into());
        let der = match &self.key {
            KeyPair::Ecdsa(key) => key.public_key().as_der().map_err(failed)?.as_ref().to_vec(),
            KeyPair::Ed25519(key) => key.public_key().as_der().map_err(failed)?.as_ref().to_vec(),
        };
        pem::encode_string(PUBLIC_KEY_LABEL, LineEnding::LF, &der)
            .map_err(|_| ClientError::InvalidInput("cannot encode the public key".into()))
    }

    /// The `credential` object of a credentials file for this key.
    pub fn local_credential(&self) -> Result<LocalCredential, ClientError> {
        Ok(LocalCredential {
            kind: "Key".into(),
            cred_id: self.cred_id.clone(),
            algorithm: self.algorithm.as_str().into(),
            private_key_pem: Secret::new(self.private_key_pem()?.as_str()),
        })
    }

    /// `credentialInfo` registering this key for `challenge` (API.md, "Registration and login"):
    /// client data `{"type":"key.create","challenge","origin"}`, and as attestation data the
    /// JSON `{ publicKey: PEM, signature }` with the signature over the exact client data bytes.
    pub fn key_create(&self, challenge: &str) -> Result<CredentialInfo, ClientError> {
        let client_data = client_data("key.create", challenge, &self.origin)?;
        let attestation = KeyAttestation {
            public_key: self.public_key_pem()?,
            signature: to_b64url(&self.sign(&client_data)?),
        };
        let attestation = serde_json::to_vec(&attestation)
            .map_err(|e| ClientError::InvalidInput(format!("cannot encode the attestation: {e}")))?;
        Ok(CredentialInfo {
            cred_id: self.cred_id.clone(),
            client_data: to_b64url(&client_data),
            attestation_data: to_b64url(&attestation),
        })
    }
}

/// The client data of a Key credential: JSON `{"type","challenge","origin"}`, in this order.
pub fn client_data(kind: &str, challenge: &str, origin: &str) -> Result<Vec<u8>, ClientError> {
    #[derive(serde::Serialize)]
    struct ClientData<'a> {
        #[serde(rename = "type")]
        kind: &'a str,
        challenge: &'a str,
        origin: &'a str,
    }
    serde_json::to_vec(&ClientData { kind, challenge, origin })
        .map_err(|e| ClientError::InvalidInput(format!("cannot encode the client data: {e}")))
}
