//! `POST /wallets/{id}/signatures`.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use signer_common::api::{
    Signature, SignatureEvidence, SignatureParts, SignatureRequest, attestation_mode_name,
};
use signer_common::encoding::{from_hex0x, to_b64url, to_hex0x};
use signer_common::protocol::{AttestationMode, Curve, Evidence, MAX_MESSAGE_LEN, Outcome, SignKind};

use super::calls::{Forward, checked_call_auth, forward as forward_call};
use super::middleware::{RawBody, parse_json};
use super::state::{AppState, header_attestation_mode, now_rfc3339, random_hex, store_error};
use super::wallets::wallet_id;
use crate::auth::Caller;
use crate::error::ApiError;

/// The JSON evidence fields of an enclave's evidence.
pub fn evidence_json(evidence: Evidence) -> SignatureEvidence {
    match evidence {
        Evidence::Document(document) => SignatureEvidence {
            attestation_mode: attestation_mode_name(AttestationMode::Fresh).into(),
            attestation: Some(to_b64url(&document)),
            receipt_signature: None,
            session_id: None,
        },
        Evidence::Session { session_id, signature } => SignatureEvidence {
            attestation_mode: attestation_mode_name(AttestationMode::Session).into(),
            attestation: None,
            receipt_signature: Some(to_b64url(&signature)),
            session_id: Some(hex::encode(&session_id)),
        },
    }
}

/// Splits the enclave's encoded signature into its parts.
pub fn signature_parts(curve: Curve, encoded: &[u8]) -> Result<SignatureParts, ApiError> {
    let bad = || {
        ApiError::Internal(format!(
            "the enclave answered a {}-byte {} signature",
            encoded.len(),
            curve.as_str()
        ))
    };
    let (r, s, recid) = match curve {
        Curve::Secp256k1 => {
            if encoded.len() != 65 || encoded[64] > 3 {
                return Err(bad());
            }
            (&encoded[..32], &encoded[32..64], Some(encoded[64]))
        }
        Curve::Ed25519 => {
            if encoded.len() != 64 {
                return Err(bad());
            }
            (&encoded[..32], &encoded[32..], None)
        }
    };
    Ok(SignatureParts { r: to_hex0x(r), s: to_hex0x(s), recid, encoded: to_hex0x(encoded) })
}

fn parse_sign_body(body: SignatureRequest) -> Result<(SignKind, Vec<u8>), ApiError> {
    let hex = |field: &'static str, text: &str| {
        from_hex0x(text).map_err(|reason| ApiError::InvalidHex { field, reason })
    };
    match body.kind.as_str() {
        "Hash" => {
            let text = body
                .hash
                .ok_or_else(|| ApiError::InvalidParameter("`hash` is required for kind Hash".into()))?;
            let hash = hex("hash", &text)?;
            if hash.len() != 32 {
                return Err(ApiError::InvalidHashLength);
            }
            Ok((SignKind::Hash, hash))
        }
        "Message" => {
            let text = body
                .message
                .ok_or_else(|| ApiError::InvalidParameter("`message` is required for kind Message".into()))?;
            let message = hex("message", &text)?;
            if message.len() > MAX_MESSAGE_LEN {
                return Err(ApiError::InvalidParameter(format!(
                    "`message` is longer than {MAX_MESSAGE_LEN} bytes"
                )));
            }
            Ok((SignKind::Message, message))
        }
        _ => Err(ApiError::UnknownKind),
    }
}

/// `POST /wallets/{id}/signatures`: executed by the enclave after it checks the user's signature
/// and that the user owns the wallet.
pub(super) async fn sign(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawBody(bytes): RawBody,
) -> Result<Json<Signature>, ApiError> {
    let id = wallet_id(path)?;
    let body: SignatureRequest = parse_json(&bytes)?;
    let (kind, _payload) = parse_sign_body(body)?;
    let mode = header_attestation_mode(&headers)?;
    // The user's authorisation before the wallet is looked up: nothing is read for a call
    // without one.
    let auth = checked_call_auth(&headers)?;
    let wallet = state.store.get_sealed_wallet(&caller.org_id, &id).await.map_err(store_error)?;
    let wallet = wallet.ok_or(ApiError::NotFound("wallet"))?;
    let request_id = format!("sig-{}", random_hex(16)?);
    // Into the request's span, so the one access-log line per request names them.
    tracing::Span::current()
        .record("signature_id", request_id.as_str())
        .record("wallet_id", wallet.sealed.wallet_id.as_str());
    let curve = wallet.sealed.curve;
    let wallet_id = wallet.sealed.wallet_id.clone();
    let forward = Forward {
        caller: &caller,
        headers: &headers,
        method: &method,
        uri: &uri,
        body: bytes,
        auth,
        request_id: request_id.clone(),
        wallet: Some(wallet),
        with_credentials: false,
        users: Vec::new(),
        attestation: mode,
    };
    let signed = match forward_call(&state, forward).await {
        Ok(forwarded) => match forwarded.called.outcome {
            Outcome::Signed(signed) => signed,
            _ => {
                return Err(ApiError::Internal("the enclave answered another outcome to a signature".into()));
            }
        },
        Err(e) => {
            // A refused blob or ownership record: read the row again next time rather than a
            // remembered copy, so a row put right in the database is used without a restart.
            // (A refused signature forgets it too; that costs one read.)
            if matches!(e, ApiError::SealedWalletInvalid | ApiError::Forbidden(_)) {
                state.store.forget_sealed_wallet(&wallet_id);
            }
            return Err(e);
        }
    };
    Ok(Json(Signature {
        id: request_id,
        wallet_id,
        kind: kind.as_str().to_owned(),
        status: "Signed".to_owned(),
        signature: signature_parts(curve, &signed.signature)?,
        receipt: to_b64url(&signed.receipt),
        evidence: evidence_json(signed.evidence),
        date_signed: now_rfc3339(),
    }))
}

#[cfg(test)]
mod tests {
    use signer_common::encoding::DecodeError;

    use super::*;

    #[test]
    fn sign_bodies() {
        let body = |kind: &str, hash: Option<&str>, message: Option<&str>| SignatureRequest {
            kind: kind.into(),
            hash: hash.map(Into::into),
            message: message.map(Into::into),
        };
        let hash = format!("0x{}", "11".repeat(32));
        assert_eq!(
            parse_sign_body(body("Hash", Some(&hash), None)).unwrap(),
            (SignKind::Hash, vec![0x11; 32])
        );
        assert_eq!(parse_sign_body(body("Hash", Some("0x1111"), None)), Err(ApiError::InvalidHashLength));
        let missing_prefix = parse_sign_body(body("Hash", Some(&hash[2..]), None)).unwrap_err();
        assert_eq!(
            missing_prefix,
            ApiError::InvalidHex { field: "hash", reason: DecodeError::MissingPrefix }
        );
        assert_eq!(missing_prefix.to_string(), "`hash` must start with 0x");
        let odd = parse_sign_body(body("Hash", Some("0xabc"), None)).unwrap_err();
        assert_eq!(odd.to_string(), "`hash` has an odd number of hex digits (3)");
        assert!(matches!(parse_sign_body(body("Hash", None, None)), Err(ApiError::InvalidParameter(_))));
        assert_eq!(parse_sign_body(body("Message", None, Some("0x"))).unwrap(), (SignKind::Message, vec![]));
        let bad_digit = parse_sign_body(body("Message", None, Some("0xzz"))).unwrap_err();
        assert_eq!(bad_digit.to_string(), "`message` has a character that is not a hex digit at position 2");
        assert_eq!(bad_digit.code(), "invalid_hex");
        assert_eq!(parse_sign_body(body("hash", Some(&hash), None)), Err(ApiError::UnknownKind));
    }

    #[test]
    fn signature_parts_by_curve() {
        let mut k1 = vec![0xaa; 32];
        k1.extend([0xbb; 32]);
        k1.push(1);
        let parts = signature_parts(Curve::Secp256k1, &k1).unwrap();
        assert_eq!(parts.r, format!("0x{}", "aa".repeat(32)));
        assert_eq!(parts.s, format!("0x{}", "bb".repeat(32)));
        assert_eq!(parts.recid, Some(1));
        assert_eq!(parts.encoded, to_hex0x(&k1));
        let parts = signature_parts(Curve::Ed25519, &k1[..64]).unwrap();
        assert_eq!(parts.recid, None);
        assert_eq!(parts.s, format!("0x{}", "bb".repeat(32)));
        assert!(signature_parts(Curve::Ed25519, &k1).is_err());
        assert!(signature_parts(Curve::Secp256k1, &k1[..64]).is_err());
    }
}
