//! The JSON types of the parent's HTTP API (see `API.md`), shared by the parent, which writes
//! them, and clients, which read them; and the parsing of the API's headers. No I/O.
//!
//! Requests refuse unknown fields (a misspelt `nmae` is an error, not silently ignored); answers
//! accept unknown fields, so a client keeps working when the API adds one. Optional fields are
//! `Option`s, left out of the JSON when `None`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::encoding::{DecodeError, from_b64, from_hex_lenient, from_hex0x};
use crate::protocol::{AttestationMode, Curve, MAX_NONCE_LEN};

pub mod auth;

/// The header carrying the client's attestation nonce (hex, `0x` optional, 1 to 64 bytes).
pub const NONCE_HEADER: &str = "x-request-nonce";

/// The header choosing how a signature is attested: `fresh` (default) or `session`.
pub const ATTESTATION_HEADER: &str = "x-attestation";

/// `POST /wallets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWalletRequest {
    /// `secp256k1` or `ed25519`.
    pub curve: String,
    /// An optional display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A wallet: the answer of `POST /wallets` and `GET /wallets/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Wallet {
    /// Wallet id (chosen by the enclave).
    pub id: String,
    /// `secp256k1` or `ed25519`.
    pub curve: String,
    /// `ECDSA` or `EdDSA`.
    pub scheme: String,
    /// `0x` hex: SEC1 compressed for secp256k1, 32 bytes for Ed25519.
    pub public_key: String,
    /// A chain address, when the API gives one (not yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// `Active`.
    pub status: String,
    /// RFC 3339.
    pub date_created: String,
    /// The name given at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// base64url COSE_Sign1 attestation document of the creation receipt.
    pub attestation: String,
    /// base64url deterministic CBOR receipt (`kind: WalletCreated`).
    pub receipt: String,
}

/// `GET /wallets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WalletList {
    /// One page, oldest first.
    pub items: Vec<Wallet>,
    /// Pass as `paginationToken` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// `POST /wallets/{id}/signatures`: `{ kind: "Hash", hash }` or `{ kind: "Message", message }`,
/// both `0x` hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignatureRequest {
    /// `Hash` or `Message`.
    pub kind: String,
    /// For `Hash`: `0x` and 32 bytes of hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// For `Message`: `0x` hex of the message bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The parts of a signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureParts {
    /// `0x` hex, 32 bytes.
    pub r: String,
    /// `0x` hex, 32 bytes.
    pub s: String,
    /// The recovery id (0 or 1), secp256k1 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recid: Option<u8>,
    /// `0x` hex of the chain-ready signature: `r||s||v` (65 bytes) or Ed25519's 64 bytes.
    pub encoded: String,
}

/// The answer of `POST /wallets/{id}/signatures`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Signature {
    /// The signature request id (`sig-...`), also in the receipt.
    pub id: String,
    /// The wallet.
    pub wallet_id: String,
    /// `Hash` or `Message`.
    pub kind: String,
    /// `Signed`.
    pub status: String,
    /// The signature.
    pub signature: SignatureParts,
    /// base64url deterministic CBOR receipt.
    pub receipt: String,
    /// What binds the receipt to the enclave (its fields sit beside the others in the JSON).
    #[serde(flatten)]
    pub evidence: SignatureEvidence,
    /// RFC 3339.
    pub date_signed: String,
}

/// The evidence fields of a signature answer: a fresh attestation document, or a session
/// receipt signature with the id of the session document that attests its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureEvidence {
    /// `fresh` or `session` ([`attestation_mode_name`]), as asked with `X-Attestation`.
    pub attestation_mode: String,
    /// Fresh mode: base64url COSE_Sign1 attestation document with `user_data` = SHA-256(receipt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<String>,
    /// Session mode: base64url Ed25519 signature of the session receipt key over the receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_signature: Option<String>,
    /// Session mode: hex SHA-256 of the session document (`GET /enclave/attestation/session?id=`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

/// `GET /enclave/attestation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationAnswer {
    /// base64url COSE_Sign1 attestation document.
    pub attestation: String,
    /// PCR index (decimal) to lowercase hex without `0x` (as nitro-cli prints PCRs).
    pub pcrs: BTreeMap<String, String>,
}

/// `GET /enclave/attestation/session`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionDocumentAnswer {
    /// Hex SHA-256 of the document.
    pub id: String,
    /// base64url COSE_Sign1 attestation document whose `public_key` is the receipt key.
    pub attestation: String,
}

/// `GET /healthz` (`status: "ok"`) and `GET /readyz` (`status: "ready"`, `nsm`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: String,
    /// `/readyz`: the enclave's NSM backend (`nitro` or `mock`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nsm: Option<String>,
}

/// Every error answer: `{ "error": { "code", "message" } }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorAnswer {
    /// The error.
    pub error: ErrorDetail,
}

/// The `error` of an [`ErrorAnswer`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable snake_case code, e.g. `invalid_hex`.
    pub code: String,
    /// One line for people; never a secret.
    pub message: String,
}

/// A field of an answer that does not decode (the client's view: the parent sent something
/// malformed). Names the field, never echoes its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {problem}")]
pub struct AnswerError {
    /// The field's JSON name.
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl AnswerError {
    fn new(field: &'static str, problem: impl std::fmt::Display) -> AnswerError {
        AnswerError { field, problem: problem.to_string() }
    }
}

fn b64_field(field: &'static str, text: &str) -> Result<Vec<u8>, AnswerError> {
    from_b64(text).map_err(|e| AnswerError::new(field, e))
}

fn hex0x_field(field: &'static str, text: &str) -> Result<Vec<u8>, AnswerError> {
    from_hex0x(text).map_err(|e| AnswerError::new(field, e))
}

impl Wallet {
    /// The curve, when it is one this version knows.
    pub fn curve(&self) -> Option<Curve> {
        self.curve.parse().ok()
    }

    /// The public key bytes.
    pub fn public_key_bytes(&self) -> Result<Vec<u8>, AnswerError> {
        hex0x_field("publicKey", &self.public_key)
    }

    /// The creation receipt's bytes.
    pub fn receipt_bytes(&self) -> Result<Vec<u8>, AnswerError> {
        b64_field("receipt", &self.receipt)
    }

    /// The creation attestation document's bytes.
    pub fn attestation_bytes(&self) -> Result<Vec<u8>, AnswerError> {
        b64_field("attestation", &self.attestation)
    }
}

/// The evidence of a [`Signature`], decoded: which form it has, and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvidenceBytes {
    /// A fresh attestation document whose `user_data` is SHA-256 of the receipt.
    Fresh {
        /// The COSE_Sign1 document.
        attestation: Vec<u8>,
    },
    /// The receipt key's signature over the receipt, and the id of the session document that
    /// attests the key.
    Session {
        /// Ed25519 signature over the session's signed message of the receipt.
        receipt_signature: Vec<u8>,
        /// SHA-256 of the session document, as the parent names it (a hint of which document to
        /// fetch: verification recomputes it).
        session_id: [u8; 32],
    },
}

impl Signature {
    /// The receipt's bytes.
    pub fn receipt_bytes(&self) -> Result<Vec<u8>, AnswerError> {
        b64_field("receipt", &self.receipt)
    }

    /// The chain-ready signature bytes (`signature.encoded`).
    pub fn encoded_bytes(&self) -> Result<Vec<u8>, AnswerError> {
        hex0x_field("signature.encoded", &self.signature.encoded)
    }

    /// The attestation mode the answer names.
    pub fn mode(&self) -> Result<AttestationMode, AnswerError> {
        parse_attestation_mode(&self.evidence.attestation_mode)
            .ok_or_else(|| AnswerError::new("attestationMode", "is neither fresh nor session"))
    }

    /// The evidence, decoded: the form named by `attestationMode`, whose fields must be present;
    /// the fields of the other form must be absent.
    pub fn evidence_bytes(&self) -> Result<EvidenceBytes, AnswerError> {
        let evidence = &self.evidence;
        match self.mode()? {
            AttestationMode::Fresh => {
                if evidence.receipt_signature.is_some() || evidence.session_id.is_some() {
                    return Err(AnswerError::new(
                        "attestationMode",
                        "is fresh but session fields are present",
                    ));
                }
                let attestation =
                    evidence.attestation.as_deref().ok_or(AnswerError::new("attestation", "is missing"))?;
                Ok(EvidenceBytes::Fresh { attestation: b64_field("attestation", attestation)? })
            }
            AttestationMode::Session => {
                if evidence.attestation.is_some() {
                    return Err(AnswerError::new(
                        "attestationMode",
                        "is session but an attestation is present",
                    ));
                }
                let signature = evidence
                    .receipt_signature
                    .as_deref()
                    .ok_or(AnswerError::new("receiptSignature", "is missing"))?;
                let id = evidence.session_id.as_deref().ok_or(AnswerError::new("sessionId", "is missing"))?;
                Ok(EvidenceBytes::Session {
                    receipt_signature: b64_field("receiptSignature", signature)?,
                    session_id: parse_session_id(id)
                        .ok_or(AnswerError::new("sessionId", "is not 32 bytes of hex"))?,
                })
            }
        }
    }
}

/// A session document id (`sessionId`, `?id=`): 32 bytes of hex, with or without `0x`.
pub fn parse_session_id(text: &str) -> Option<[u8; 32]> {
    from_hex_lenient(text).ok().and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok())
}

/// Why a nonce was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NonceError {
    /// Not hex.
    #[error("nonce {0}")]
    Hex(DecodeError),
    /// Empty or longer than [`MAX_NONCE_LEN`].
    #[error("nonce must be 1 to {MAX_NONCE_LEN} bytes, not {0}")]
    Length(usize),
}

/// Parses a nonce (`X-Request-Nonce`, `?nonce=`, `--nonce`): hex with or without `0x`, surrounding
/// white space ignored, 1 to [`MAX_NONCE_LEN`] bytes.
pub fn parse_nonce(text: &str) -> Result<Vec<u8>, NonceError> {
    let bytes = from_hex_lenient(text).map_err(NonceError::Hex)?;
    if bytes.is_empty() || bytes.len() > MAX_NONCE_LEN {
        return Err(NonceError::Length(bytes.len()));
    }
    Ok(bytes)
}

/// The name of an attestation mode in `X-Attestation` and `attestationMode`.
pub fn attestation_mode_name(mode: AttestationMode) -> &'static str {
    match mode {
        AttestationMode::Fresh => "fresh",
        AttestationMode::Session => "session",
    }
}

/// Parses `fresh` or `session` (any case, surrounding white space ignored), as
/// [`attestation_mode_name`] writes them.
pub fn parse_attestation_mode(text: &str) -> Option<AttestationMode> {
    let text = text.trim();
    [AttestationMode::Fresh, AttestationMode::Session]
        .into_iter()
        .find(|mode| text.eq_ignore_ascii_case(attestation_mode_name(*mode)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces() {
        assert_eq!(parse_nonce("0xab01").unwrap(), vec![0xab, 0x01]);
        assert_eq!(parse_nonce(" AB01 ").unwrap(), vec![0xab, 0x01]);
        assert_eq!(parse_nonce(&"00".repeat(64)).unwrap().len(), 64);
        assert_eq!(parse_nonce(&"00".repeat(65)), Err(NonceError::Length(65)));
        assert_eq!(parse_nonce("0x"), Err(NonceError::Length(0)));
        assert_eq!(parse_nonce(""), Err(NonceError::Length(0)));
        assert_eq!(parse_nonce("abc"), Err(NonceError::Hex(DecodeError::OddLength(3))));
        assert_eq!(parse_nonce("abc").unwrap_err().to_string(), "nonce has an odd number of hex digits (3)");
        for bad in ["zz", "0x0g", "0x 01"] {
            assert!(matches!(parse_nonce(bad), Err(NonceError::Hex(DecodeError::NotHex(_)))), "{bad}");
        }
    }

    #[test]
    fn attestation_modes_round_trip() {
        for mode in [AttestationMode::Fresh, AttestationMode::Session] {
            assert_eq!(parse_attestation_mode(attestation_mode_name(mode)), Some(mode));
        }
        assert_eq!(parse_attestation_mode(" SESSION "), Some(AttestationMode::Session));
        assert_eq!(parse_attestation_mode("sessions"), None);
        assert_eq!(parse_attestation_mode(""), None);
    }

    #[test]
    fn requests_refuse_unknown_fields_and_answers_accept_them() {
        let e = serde_json::from_str::<CreateWalletRequest>(r#"{"curve":"ed25519","nmae":"x"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `nmae`"), "{e}");
        assert!(serde_json::from_str::<SignatureRequest>(r#"{"kind":"Hash","hash":"0x","x":1}"#).is_err());
        let answer = r#"{"attestation":"AA","pcrs":{"0":"aa"},"later":true}"#;
        let parsed: AttestationAnswer = serde_json::from_str(answer).unwrap();
        assert_eq!(parsed.pcrs["0"], "aa");
    }

    #[test]
    fn signature_answers_keep_their_wire_form() {
        let signature = Signature {
            id: "sig-1".into(),
            wallet_id: "wa-1".into(),
            kind: "Hash".into(),
            status: "Signed".into(),
            signature: SignatureParts {
                r: "0x11".into(),
                s: "0x22".into(),
                recid: None,
                encoded: "0x1122".into(),
            },
            receipt: "UA".into(),
            evidence: SignatureEvidence {
                attestation_mode: "session".into(),
                attestation: None,
                receipt_signature: Some("Ug".into()),
                session_id: Some("5e".into()),
            },
            date_signed: "2026-12-01T00:00:00.000Z".into(),
        };
        let json = serde_json::to_string(&signature).unwrap();
        assert_eq!(
            json,
            r#"{"id":"sig-1","walletId":"wa-1","kind":"Hash","status":"Signed","signature":{"r":"0x11","s":"0x22","encoded":"0x1122"},"receipt":"UA","attestationMode":"session","receiptSignature":"Ug","sessionId":"5e","dateSigned":"2026-12-01T00:00:00.000Z"}"#
        );
        let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
        value["addedLater"] = serde_json::json!(1);
        assert_eq!(serde_json::from_value::<Signature>(value).unwrap(), signature);
        let error: ErrorAnswer =
            serde_json::from_str(r#"{"error":{"code":"invalid_hex","message":"m","hint":1}}"#).unwrap();
        assert_eq!(error.error.code, "invalid_hex");
    }

    #[test]
    fn evidence_decodes_in_either_form_and_refuses_mixed_or_missing_fields() {
        let base = serde_json::json!({
            "id": "sig-1", "walletId": "wa-1", "kind": "Hash", "status": "Signed", "receipt": "AQ",
            "signature": { "r": "0x01", "s": "0x02", "encoded": "0x0102" }, "dateSigned": "2026-12-01T00:00:00Z",
        });
        let with = |fields: serde_json::Value| {
            let mut json = base.clone();
            for (k, v) in fields.as_object().unwrap() {
                json[k] = v.clone();
            }
            serde_json::from_value::<Signature>(json).unwrap()
        };
        let fresh = with(serde_json::json!({ "attestationMode": "fresh", "attestation": "Ag" }));
        assert_eq!(fresh.evidence_bytes().unwrap(), EvidenceBytes::Fresh { attestation: vec![2] });
        assert_eq!(fresh.receipt_bytes().unwrap(), vec![1]);
        assert_eq!(fresh.encoded_bytes().unwrap(), vec![1, 2]);
        let id = "ab".repeat(32);
        let session = with(
            serde_json::json!({ "attestationMode": "session", "receiptSignature": "Aw", "sessionId": id }),
        );
        assert_eq!(
            session.evidence_bytes().unwrap(),
            EvidenceBytes::Session { receipt_signature: vec![3], session_id: [0xab; 32] }
        );
        for bad in [
            serde_json::json!({ "attestationMode": "session", "receiptSignature": "Aw" }),
            serde_json::json!({ "attestationMode": "session", "sessionId": "ab".repeat(32) }),
            serde_json::json!({ "attestationMode": "session", "receiptSignature": "Aw", "sessionId": "abcd" }),
            serde_json::json!({ "attestationMode": "session", "receiptSignature": "Aw", "sessionId": id, "attestation": "Ag" }),
            serde_json::json!({ "attestationMode": "fresh" }),
            serde_json::json!({ "attestationMode": "fresh", "attestation": "Ag", "sessionId": "ab".repeat(32) }),
            serde_json::json!({ "attestationMode": "fresh", "attestation": "not base64!" }),
            serde_json::json!({ "attestationMode": "weekly", "attestation": "Ag" }),
        ] {
            assert!(with(bad.clone()).evidence_bytes().is_err(), "{bad}");
        }
        let error = with(serde_json::json!({ "attestationMode": "fresh" })).evidence_bytes().unwrap_err();
        assert_eq!(error.to_string(), "`attestation` is missing");
    }
}
