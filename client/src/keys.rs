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

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [KeyAlgorithm; 3] = [KeyAlgorithm::Es256, KeyAlgorithm::Es256k, KeyAlgorithm::EdDsa];

    fn spki_der(signer: &KeySigner) -> Vec<u8> {
        let text = signer.public_key_pem().unwrap();
        let (label, der) = pem::decode_vec(text.as_bytes()).unwrap();
        assert_eq!(label, PUBLIC_KEY_LABEL);
        der
    }

    /// Runs `program args` (FILE replaced by a file holding `text`); `None`, with a notice, when
    /// the program is not installed.
    fn run_on_file(program: &str, args: &[&str], files: &[(&str, &[u8])]) -> Option<std::process::Output> {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in files {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        let args: Vec<String> = args
            .iter()
            .map(|a| match files.iter().find(|(name, _)| name == a) {
                Some((name, _)) => dir.path().join(name).display().to_string(),
                None => (*a).to_owned(),
            })
            .collect();
        match std::process::Command::new(program).args(&args).output() {
            Ok(out) => Some(out),
            Err(_) => {
                println!("NOTICE: {program} not available; skipping that check");
                None
            }
        }
    }

    #[test]
    fn ed25519_signatures_verify_with_ed25519_dalek() {
        use ed25519_dalek::pkcs8::DecodePublicKey as _;
        let signer = KeySigner::generate(KeyAlgorithm::EdDsa, "http://localhost").unwrap();
        let message = br#"{"type":"key.get","challenge":"abc","origin":"http://localhost"}"#;
        let signature = signer.sign(message).unwrap();
        let key = ed25519_dalek::VerifyingKey::from_public_key_der(&spki_der(&signer)).unwrap();
        let signature = ed25519_dalek::Signature::from_slice(&signature).unwrap();
        key.verify_strict(message, &signature).unwrap();
        assert!(key.verify_strict(b"another message", &signature).is_err());
    }

    #[test]
    fn secp256k1_signatures_are_der_low_s_and_verify_with_k256() {
        use k256::ecdsa::signature::Verifier as _;
        use k256::pkcs8::DecodePublicKey as _;
        let signer = KeySigner::generate(KeyAlgorithm::Es256k, "http://localhost").unwrap();
        let key = k256::ecdsa::VerifyingKey::from_public_key_der(&spki_der(&signer)).unwrap();
        // AWS-LC draws s at random: half its raw signatures are high-S, so 32 low-S ones in a
        // row show the normalisation (a miss would show with probability 1 - 2^-32).
        for i in 0u8..32 {
            let message = [i; 40];
            let der = signer.sign(&message).unwrap();
            let signature = k256::ecdsa::Signature::from_der(&der).unwrap();
            assert_eq!(signature.normalize_s(), signature, "high-S signature {i}");
            // `Verifier` hashes with SHA-256, as ES256K does.
            key.verify(&message, &signature).unwrap();
            assert!(key.verify(&[i ^ 1; 40], &signature).is_err());
        }
    }

    #[test]
    fn p256_signatures_are_der_and_verify_with_openssl() {
        let signer = KeySigner::generate(KeyAlgorithm::Es256, "http://localhost").unwrap();
        let message = b"client data bytes";
        let der = signer.sign(message).unwrap();
        assert_eq!(der[0], 0x30, "a DER SEQUENCE");
        // aws-lc-rs's own verifier, with the SPKI as published.
        let key = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
            spki_der(&signer),
        );
        key.verify(message, &der).unwrap();
        assert!(key.verify(b"other", &der).is_err());
        // An independent implementation: OpenSSL.
        let public = signer.public_key_pem().unwrap();
        let verify = ["dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.der", "msg"];
        let files: [(&str, &[u8]); 3] = [("pub.pem", public.as_bytes()), ("sig.der", &der), ("msg", message)];
        if let Some(out) = run_on_file("openssl", &verify, &files) {
            assert!(out.status.success(), "openssl: {}", String::from_utf8_lossy(&out.stderr));
            let files: [(&str, &[u8]); 3] =
                [("pub.pem", public.as_bytes()), ("sig.der", &der), ("msg", b"other")];
            let out = run_on_file("openssl", &verify, &files).unwrap();
            assert!(!out.status.success(), "openssl accepted a signature over another message");
        }
    }

    /// The DER of a PKCS#8 v1 document: SEQUENCE { INTEGER 0, ... } (v2 has version 1).
    fn pkcs8_version(der: &[u8]) -> u8 {
        assert_eq!(der[0], 0x30);
        let header = if der[1] & 0x80 == 0 { 2 } else { 2 + usize::from(der[1] & 0x7f) };
        assert_eq!(&der[header..header + 2], &[0x02, 0x01]);
        der[header + 2]
    }

    #[test]
    fn private_keys_are_pkcs8_v1_pem_that_round_trips_and_openssl_and_python_load() {
        let python = "import sys\ntry:\n from cryptography.hazmat.primitives.serialization import load_pem_private_key\nexcept ImportError:\n print('NOTICE: python cryptography not importable; skipping that check'); sys.exit(0)\nk = load_pem_private_key(open(sys.argv[1], 'rb').read(), None)\nprint(type(k).__name__)\n";
        for algorithm in ALL {
            let signer = KeySigner::generate(algorithm, "http://localhost").unwrap();
            let pem_text = signer.private_key_pem().unwrap();
            assert!(pem_text.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{algorithm}");
            let (_, der) = pem::decode_vec(pem_text.as_bytes()).unwrap();
            assert_eq!(pkcs8_version(&der), 0, "{algorithm}: PKCS#8 v1");
            let again = KeySigner::from_pem("id", algorithm, "o", &pem_text).unwrap();
            assert_eq!(again.public_key_pem().unwrap(), signer.public_key_pem().unwrap(), "{algorithm}");
            let files: [(&str, &[u8]); 1] = [("key.pem", pem_text.as_bytes())];
            if let Some(out) = run_on_file("openssl", &["pkey", "-in", "key.pem", "-noout"], &files) {
                assert!(
                    out.status.success(),
                    "{algorithm}: openssl: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            if let Some(out) = run_on_file("python3", &["-c", python, "key.pem"], &files) {
                assert!(
                    out.status.success(),
                    "{algorithm}: python: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let said = String::from_utf8_lossy(&out.stdout);
                assert!(said.contains("PrivateKey") || said.contains("NOTICE"), "{algorithm}: {said}");
            }
        }
    }

    #[test]
    fn keys_made_by_openssl_load_and_sign() {
        let cases: [(KeyAlgorithm, &[&str]); 3] = [
            (KeyAlgorithm::Es256, &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
            (
                KeyAlgorithm::Es256k,
                &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1"],
            ),
            (KeyAlgorithm::EdDsa, &["genpkey", "-algorithm", "ED25519"]),
        ];
        for (algorithm, args) in cases {
            let Some(out) = run_on_file("openssl", args, &[]) else { return };
            assert!(out.status.success(), "{algorithm}: {}", String::from_utf8_lossy(&out.stderr));
            let pem_text = String::from_utf8(out.stdout).unwrap();
            let signer = KeySigner::from_pem("id", algorithm, "o", &pem_text).unwrap();
            assert!(!signer.sign(b"x").unwrap().is_empty());
        }
    }

    #[test]
    fn bad_keys_are_refused_without_echoing_them() {
        let signer = KeySigner::generate(KeyAlgorithm::Es256, "o").unwrap();
        let pem_text = signer.private_key_pem().unwrap();
        // The right PEM under the wrong algorithm.
        for algorithm in [KeyAlgorithm::Es256k, KeyAlgorithm::EdDsa] {
            let err = KeySigner::from_pem("id", algorithm, "o", &pem_text).unwrap_err();
            assert!(matches!(err, ClientError::Credentials(_)), "{err}");
        }
        let body: String = pem_text.lines().filter(|l| !l.starts_with("-----")).collect();
        for bad in ["not a key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"] {
            let err = KeySigner::from_pem("id", KeyAlgorithm::Es256, "o", bad).unwrap_err();
            assert!(!err.to_string().contains(&body[..20]));
        }
        let public = signer.public_key_pem().unwrap();
        assert!(KeySigner::from_pem("id", KeyAlgorithm::Es256, "o", &public).is_err());
        assert!("RS256".parse::<KeyAlgorithm>().is_err());
        assert_eq!("ES256K".parse::<KeyAlgorithm>().unwrap(), KeyAlgorithm::Es256k);
    }

    #[test]
    fn debug_never_shows_the_key() {
        for algorithm in ALL {
            let signer = KeySigner::generate(algorithm, "http://localhost").unwrap();
            let pem_text = signer.private_key_pem().unwrap();
            let body: String = pem_text.lines().filter(|l| !l.starts_with("-----")).collect();
            let debug = format!("{signer:?}");
            assert!(debug.contains("redacted"), "{debug}");
            assert!(!debug.contains(&body[..16]), "{debug}");
            let credential = signer.local_credential().unwrap();
            assert!(!format!("{credential:?}").contains(&body[..16]));
        }
    }

    #[test]
    fn key_create_signs_its_exact_client_data() {
        let signer = KeySigner::generate(KeyAlgorithm::EdDsa, "http://localhost:8080").unwrap();
        let info = signer.key_create("Y2hhbGxlbmdl").unwrap();
        assert_eq!(info.cred_id, signer.cred_id());
        let data = signer_common::encoding::from_b64(&info.client_data).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&data).unwrap();
        assert_eq!(json["type"], "key.create");
        assert_eq!(json["challenge"], "Y2hhbGxlbmdl");
        assert_eq!(json["origin"], "http://localhost:8080");
        let attestation: KeyAttestation =
            serde_json::from_slice(&signer_common::encoding::from_b64(&info.attestation_data).unwrap())
                .unwrap();
        assert_eq!(attestation.public_key, signer.public_key_pem().unwrap());
        let signature = signer_common::encoding::from_b64(&attestation.signature).unwrap();
        let key =
            aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::ED25519, spki_der(&signer));
        key.verify(&data, &signature).unwrap();
        assert_eq!(signer.cred_id().len(), 22);
    }
}
