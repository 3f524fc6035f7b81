//! The JSON answers of the parent's HTTP API, as this client reads them: [`Wallet`],
//! [`WalletList`], [`SignatureResult`], [`EnclaveAttestation`] and the error body. All of them in
//! this one module, so that moving to the shared `signer_common::api` types is one swap.
//!
//! Nothing here is trusted: these are the parent's claims. [`crate::request`] verifies them
//! against what was asked.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use signer_common::encoding::{from_b64, from_hex_lenient, from_hex0x};
use signer_common::protocol::{AttestationMode, Curve};

use crate::error::ClientError;

/// The name of an attestation mode in the API (`X-Attestation`, `attestationMode`): `fresh` or
/// `session`.
pub fn attestation_mode_name(mode: AttestationMode) -> &'static str {
    match mode {
        AttestationMode::Fresh => "fresh",
        AttestationMode::Session => "session",
    }
}

/// Parses `fresh` or `session` (any case), as [`attestation_mode_name`] writes them.
pub fn parse_attestation_mode(text: &str) -> Option<AttestationMode> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("fresh") {
        Some(AttestationMode::Fresh)
    } else if text.eq_ignore_ascii_case("session") {
        Some(AttestationMode::Session)
    } else {
        None
    }
}

/// A wallet as the parent returns it. Unknown fields are kept in `extra`, so serialising a
/// `Wallet` gives back the parent's JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Wallet {
    /// The wallet id.
    pub id: String,
    /// `secp256k1` or `ed25519`.
    pub curve: String,
    /// `ECDSA` or `EdDSA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// `0x`-hex public key: SEC1 compressed for secp256k1, 32 bytes for Ed25519.
    pub public_key: String,
    /// Chain address, when the parent derives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// `Active`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Creation time (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_created: Option<String>,
    /// The wallet's name, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Base64url attestation document of the creation (`user_data` = SHA-256(receipt)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<String>,
    /// Base64url `WalletCreated` receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
    /// Any other fields, as the parent sent them.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Wallet {
    /// The public key bytes.
    pub fn public_key_bytes(&self) -> Result<Vec<u8>, ClientError> {
        from_hex0x(&self.public_key).map_err(|_| ClientError::Decode("wallet publicKey is not 0x-hex".into()))
    }

    /// The curve, when it is one this client knows.
    pub fn curve(&self) -> Option<Curve> {
        self.curve.parse().ok()
    }

    /// The creation receipt's bytes, when the parent returned one.
    pub fn receipt_bytes(&self) -> Result<Option<Vec<u8>>, ClientError> {
        decode_optional_b64(self.receipt.as_deref(), "receipt")
    }

    /// The creation attestation document's bytes, when the parent returned one.
    pub fn attestation_bytes(&self) -> Result<Option<Vec<u8>>, ClientError> {
        decode_optional_b64(self.attestation.as_deref(), "attestation")
    }
}

/// One page of `GET /wallets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WalletList {
    /// The wallets on this page.
    pub items: Vec<Wallet>,
    /// Pass as `paginationToken` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// The parts of a signature as the parent returns them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureParts {
    /// `0x`-hex `r` (ECDSA) or `R` (Ed25519).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r: Option<String>,
    /// `0x`-hex `s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s: Option<String>,
    /// The ECDSA recovery id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recid: Option<u8>,
    /// `0x`-hex chain-ready signature: `r || s || v` (65 bytes) or Ed25519 (64 bytes).
    pub encoded: String,
}

/// The answer to `POST /wallets/{id}/signatures`. Unknown fields are kept in `extra`.
///
/// Its evidence is one of two forms ([`SignatureResult::evidence`]): in fresh mode an
/// `attestation` document; in session mode a `receiptSignature` and the `sessionId` of the
/// session document that attests the key which made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureResult {
    /// The signature request id.
    pub id: String,
    /// The wallet that signed.
    pub wallet_id: String,
    /// `Signed`.
    pub status: String,
    /// The signature.
    pub signature: SignatureParts,
    /// Base64url receipt.
    pub receipt: String,
    /// `fresh` or `session`; absent from parents that predate session mode (fresh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation_mode: Option<String>,
    /// Fresh mode: base64url attestation document (`user_data` = SHA-256(receipt)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<String>,
    /// Session mode: base64url Ed25519 signature of the session receipt key over the receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_signature: Option<String>,
    /// Session mode: hex SHA-256 of the session document (an untrusted hint of which document to
    /// fetch: verification recomputes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Any other fields, as the parent sent them.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The evidence of a [`SignatureResult`], decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureEvidence {
    /// A fresh attestation document whose `user_data` is SHA-256 of the receipt.
    Fresh {
        /// The COSE_Sign1 document.
        attestation: Vec<u8>,
    },
    /// The receipt key's signature over the receipt, and the id of the session document that
    /// attests the key.
    Session {
        /// Ed25519 signature over `signed_message(receipt)`.
        receipt_signature: Vec<u8>,
        /// SHA-256 of the session document, as the parent claims it.
        session_id: [u8; 32],
    },
}

impl SignatureResult {
    /// The receipt's bytes.
    pub fn receipt_bytes(&self) -> Result<Vec<u8>, ClientError> {
        from_b64(&self.receipt).map_err(|_| ClientError::Decode("receipt is not base64url".into()))
    }

    /// The attestation mode of the answer: `attestationMode` when present, otherwise fresh (the
    /// form of parents that predate session mode).
    pub fn mode(&self) -> Result<AttestationMode, ClientError> {
        match &self.attestation_mode {
            None => Ok(AttestationMode::Fresh),
            Some(text) => parse_attestation_mode(text)
                .ok_or_else(|| ClientError::Decode(format!("unknown attestationMode {text:?}"))),
        }
    }

    /// The evidence, decoded: the form named by `attestationMode`, whose fields must be present.
    /// The fields of the other form must be absent.
    pub fn evidence(&self) -> Result<SignatureEvidence, ClientError> {
        match self.mode()? {
            AttestationMode::Fresh => {
                if self.receipt_signature.is_some() || self.session_id.is_some() {
                    return Err(ClientError::Decode("a fresh-mode answer with session fields".into()));
                }
                Ok(SignatureEvidence::Fresh { attestation: self.attestation_bytes()? })
            }
            AttestationMode::Session => {
                if self.attestation.is_some() {
                    return Err(ClientError::Decode("a session-mode answer with an attestation".into()));
                }
                Ok(SignatureEvidence::Session {
                    receipt_signature: self.receipt_signature_bytes()?,
                    session_id: self.session_id_bytes()?,
                })
            }
        }
    }

    /// The attestation document's bytes (fresh mode; an error in session mode).
    pub fn attestation_bytes(&self) -> Result<Vec<u8>, ClientError> {
        let text = self
            .attestation
            .as_deref()
            .ok_or_else(|| ClientError::Decode("the answer has no attestation (session mode?)".into()))?;
        from_b64(text).map_err(|_| ClientError::Decode("attestation is not base64url".into()))
    }

    /// The receipt key's signature (session mode; an error in fresh mode).
    pub fn receipt_signature_bytes(&self) -> Result<Vec<u8>, ClientError> {
        let text = self
            .receipt_signature
            .as_deref()
            .ok_or_else(|| ClientError::Decode("the answer has no receiptSignature".into()))?;
        from_b64(text).map_err(|_| ClientError::Decode("receiptSignature is not base64url".into()))
    }

    /// The session document id the parent names (session mode; an error in fresh mode).
    pub fn session_id_bytes(&self) -> Result<[u8; 32], ClientError> {
        let text = self
            .session_id
            .as_deref()
            .ok_or_else(|| ClientError::Decode("the answer has no sessionId".into()))?;
        parse_session_id(text).ok_or_else(|| ClientError::Decode("sessionId is not 32 bytes of hex".into()))
    }

    /// The chain-ready signature bytes (`signature.encoded`).
    pub fn encoded_bytes(&self) -> Result<Vec<u8>, ClientError> {
        from_hex0x(&self.signature.encoded)
            .map_err(|_| ClientError::Decode("signature.encoded is not 0x-hex".into()))
    }
}

/// A session document id: 32 bytes of hex, with or without `0x`.
pub fn parse_session_id(text: &str) -> Option<[u8; 32]> {
    from_hex_lenient(text).ok().and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok())
}

/// The answer to `GET /enclave/attestation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnclaveAttestation {
    /// The COSE_Sign1 attestation document.
    pub attestation: Vec<u8>,
    /// The PCRs the parent says the document carries (verify the document to trust them).
    pub pcrs: BTreeMap<u8, Vec<u8>>,
}

#[derive(Deserialize)]
pub(crate) struct RawEnclaveAttestation {
    pub(crate) attestation: String,
    #[serde(default)]
    pub(crate) pcrs: BTreeMap<String, String>,
}

#[derive(Deserialize)]
pub(crate) struct RawSessionDocument {
    pub(crate) id: String,
    pub(crate) attestation: String,
}

#[derive(Deserialize)]
pub(crate) struct ErrorBody {
    pub(crate) error: ErrorDetail,
}

#[derive(Deserialize)]
pub(crate) struct ErrorDetail {
    pub(crate) code: String,
    #[serde(default)]
    pub(crate) message: String,
}

fn decode_optional_b64(text: Option<&str>, what: &str) -> Result<Option<Vec<u8>>, ClientError> {
    text.map(|t| from_b64(t).map_err(|_| ClientError::Decode(format!("{what} is not base64url")))).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wallet_json_round_trips_with_unknown_fields() {
        let json = serde_json::json!({
            "id": "wa-1", "curve": "ed25519", "scheme": "EdDSA", "publicKey": "0x01",
            "status": "Active", "dateCreated": "2026-01-01T00:00:00Z", "attestation": "AA",
            "receipt": "AQ", "custom": { "x": 1 }
        });
        let wallet: Wallet = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(wallet.curve(), Some(Curve::Ed25519));
        assert_eq!(wallet.public_key_bytes().unwrap(), vec![1]);
        assert_eq!(wallet.receipt_bytes().unwrap(), Some(vec![1]));
        assert_eq!(serde_json::to_value(&wallet).unwrap(), json);
    }

    #[test]
    fn signature_results_in_both_forms() {
        let base = serde_json::json!({
            "id": "sig-1", "walletId": "wa-1", "status": "Signed", "receipt": "AQ",
            "signature": { "encoded": "0x01" },
        });
        let with = |fields: Value| {
            let mut json = base.clone();
            for (k, v) in fields.as_object().unwrap() {
                json[k] = v.clone();
            }
            serde_json::from_value::<SignatureResult>(json).unwrap()
        };
        // A parent that predates session mode: no attestationMode, fresh.
        let old = with(serde_json::json!({ "attestation": "Ag" }));
        assert_eq!(old.mode().unwrap(), AttestationMode::Fresh);
        assert_eq!(old.evidence().unwrap(), SignatureEvidence::Fresh { attestation: vec![2] });
        let fresh = with(serde_json::json!({ "attestationMode": "fresh", "attestation": "Ag" }));
        assert_eq!(fresh.evidence().unwrap(), SignatureEvidence::Fresh { attestation: vec![2] });
        let id = "ab".repeat(32);
        let session = with(
            serde_json::json!({ "attestationMode": "session", "receiptSignature": "Aw", "sessionId": id }),
        );
        assert_eq!(
            session.evidence().unwrap(),
            SignatureEvidence::Session { receipt_signature: vec![3], session_id: [0xab; 32] }
        );
        assert!(session.attestation_bytes().is_err());
        // Serialising gives back the parent's fields, and only those.
        let json = serde_json::to_value(&session).unwrap();
        assert_eq!(json["attestationMode"], "session");
        assert!(json.get("attestation").is_none());
        // Missing or mixed fields.
        for bad in [
            serde_json::json!({ "attestationMode": "session", "receiptSignature": "Aw" }),
            serde_json::json!({ "attestationMode": "session", "sessionId": "ab".repeat(32) }),
            serde_json::json!({ "attestationMode": "fresh" }),
            serde_json::json!({ "attestation": "Ag", "sessionId": "ab".repeat(32) }),
            serde_json::json!({ "attestationMode": "Hourly", "attestation": "Ag" }),
        ] {
            assert!(with(bad.clone()).evidence().is_err(), "{bad}");
        }
        assert_eq!(parse_attestation_mode(" Session "), Some(AttestationMode::Session));
        assert_eq!(parse_attestation_mode("fresh"), Some(AttestationMode::Fresh));
        assert_eq!(parse_attestation_mode("both"), None);
        for mode in [AttestationMode::Fresh, AttestationMode::Session] {
            assert_eq!(parse_attestation_mode(attestation_mode_name(mode)), Some(mode));
        }
    }
}
