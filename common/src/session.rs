//! Session receipts: the cheap attestation mode. See `SPEC.md`, "Session receipts".
//!
//! At boot (and then every [`SESSION_REFRESH_MS`]) the enclave makes an Ed25519 receipt key and
//! obtains one attestation document for it: the *session document*, whose `public_key` is the
//! key as a COSE_Key and whose `user_data` is [`SESSION_DOCUMENT_USER_DATA`]. A result in session
//! mode carries the receipt, the receipt key's signature over it, and the session document's id
//! (its SHA-256). A client verifies the session document once, caches it by id, and then checks
//! each receipt with one Ed25519 verification.

use coset::iana::{self, EnumI64};
use coset::{CborSerializable, CoseKey, CoseKeyBuilder, KeyType, Label};
use sha2::{Digest, Sha256};

/// `user_data` of a session document. It names the purpose of `public_key`, so a document made
/// for another purpose (a provisioning key, say) is never taken for a receipt key.
pub const SESSION_DOCUMENT_USER_DATA: &[u8] = b"signer/session-receipt-key/v1";

/// Domain-separation prefix of the message the receipt key signs.
pub const RECEIPT_SIGNATURE_CONTEXT: &[u8] = b"signer/receipt/v1\0";

/// How often the enclave makes a new receipt key and session document (1 hour; the NSM's leaf
/// certificates live about 3 hours).
pub const SESSION_REFRESH_MS: u64 = 60 * 60 * 1000;

/// Why a session document's key is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionKeyError {
    /// `public_key` is not a COSE_Key for an Ed25519 public key.
    #[error("session document public_key is not an Ed25519 COSE_Key")]
    NotEd25519,
}

/// The exact bytes the receipt key signs for `receipt`.
pub fn signed_message(receipt: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(RECEIPT_SIGNATURE_CONTEXT.len() + receipt.len());
    message.extend_from_slice(RECEIPT_SIGNATURE_CONTEXT);
    message.extend_from_slice(receipt);
    message
}

/// The id of a session document: SHA-256 of its bytes.
pub fn session_id(document: &[u8]) -> [u8; 32] {
    Sha256::digest(document).into()
}

/// An Ed25519 public key as a COSE_Key (RFC 9053: kty OKP, crv Ed25519, x).
pub fn encode_receipt_key(public_key: &[u8; 32]) -> Vec<u8> {
    let key = CoseKeyBuilder::new_okp_key()
        .param(
            iana::OkpKeyParameter::Crv.to_i64(),
            ciborium::Value::from(iana::EllipticCurve::Ed25519.to_i64()),
        )
        .param(iana::OkpKeyParameter::X.to_i64(), ciborium::Value::Bytes(public_key.to_vec()))
        .algorithm(iana::Algorithm::EdDSA)
        .build();
    match key.to_vec() {
        Ok(bytes) => bytes,
        // Encoding a fixed, valid structure into memory cannot fail.
        Err(e) => unreachable!("COSE_Key encoding failed: {e}"),
    }
}

/// The Ed25519 public key in a session document's `public_key`.
pub fn decode_receipt_key(bytes: &[u8]) -> Result<[u8; 32], SessionKeyError> {
    let key = CoseKey::from_slice(bytes).map_err(|_| SessionKeyError::NotEd25519)?;
    if key.kty != KeyType::Assigned(iana::KeyType::OKP) {
        return Err(SessionKeyError::NotEd25519);
    }
    if key.alg.is_some()
        && key.alg != Some(coset::RegisteredLabelWithPrivate::Assigned(iana::Algorithm::EdDSA))
    {
        return Err(SessionKeyError::NotEd25519);
    }
    let param = |label: iana::OkpKeyParameter| {
        key.params.iter().find(|(l, _)| *l == Label::Int(label.to_i64())).map(|(_, v)| v)
    };
    let crv_is_ed25519 = param(iana::OkpKeyParameter::Crv)
        .and_then(|v| v.as_integer())
        .is_some_and(|i| i128::from(i) == i128::from(iana::EllipticCurve::Ed25519.to_i64()));
    if !crv_is_ed25519 {
        return Err(SessionKeyError::NotEd25519);
    }
    let x = param(iana::OkpKeyParameter::X).and_then(|v| v.as_bytes()).ok_or(SessionKeyError::NotEd25519)?;
    x.as_slice().try_into().map_err(|_| SessionKeyError::NotEd25519)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipt_key_round_trips_and_golden() {
        let encoded = encode_receipt_key(&[7; 32]);
        assert_eq!(decode_receipt_key(&encoded).unwrap(), [7; 32]);
        // {1: 1 (OKP), 3: -8 (EdDSA), -1: 6 (Ed25519), -2: h'07..07'}
        assert_eq!(hex::encode(&encoded[..9]), "a40101032720062158");
    }

    #[test]
    fn refuses_other_keys() {
        let p256 = CoseKeyBuilder::new_ec2_pub_key(iana::EllipticCurve::P_256, vec![1; 32], vec![2; 32])
            .build()
            .to_vec()
            .unwrap();
        assert_eq!(decode_receipt_key(&p256), Err(SessionKeyError::NotEd25519));
        let x25519 = CoseKeyBuilder::new_okp_key()
            .param(
                iana::OkpKeyParameter::Crv.to_i64(),
                ciborium::Value::from(iana::EllipticCurve::X25519.to_i64()),
            )
            .param(iana::OkpKeyParameter::X.to_i64(), ciborium::Value::Bytes(vec![1; 32]))
            .build()
            .to_vec()
            .unwrap();
        assert_eq!(decode_receipt_key(&x25519), Err(SessionKeyError::NotEd25519));
        let mut short = encode_receipt_key(&[7; 32]);
        short.truncate(short.len() - 1);
        assert_eq!(decode_receipt_key(&short), Err(SessionKeyError::NotEd25519));
        assert_eq!(decode_receipt_key(b"\xa0"), Err(SessionKeyError::NotEd25519));
    }

    #[test]
    fn signed_message_is_domain_separated() {
        assert_eq!(signed_message(b"r"), b"signer/receipt/v1\0r");
    }
}
