//! COSE_Sign1 (RFC 9052) as the Nitro Secure Module uses it: ES384, protected header `{1: -35}`,
//! empty unprotected header, attached payload.

use ciborium::Value;

use super::VerifyError;
use super::cbor;

/// The CBOR tag of a COSE_Sign1 structure.
pub const COSE_SIGN1_TAG: u64 = 18;

/// COSE algorithm identifier of ES384 (ECDSA with SHA-384 on P-384).
pub const ALG_ES384: i64 = -35;

/// The serialized protected header `{1: -35}` (alg: ES384), as the NSM emits it.
pub const ES384_PROTECTED_HEADER: [u8; 4] = [0xa1, 0x01, 0x38, 0x22];

/// Length of a raw (r || s) P-384 ECDSA signature.
pub const ES384_SIGNATURE_LEN: usize = 96;

/// The bytes an ES384 signer signs (RFC 9052 section 4.4):
/// `["Signature1", protected, h'' (external_aad), payload]`.
pub fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + protected.len() + 24);
    cbor::head(&mut out, cbor::ARRAY, 4);
    cbor::text(&mut out, "Signature1");
    cbor::bytes(&mut out, protected);
    cbor::bytes(&mut out, &[]);
    cbor::bytes(&mut out, payload);
    out
}

/// An untagged COSE_Sign1 `[protected, {}, payload, signature]`, the form the NSM emits.
pub fn encode_sign1(protected: &[u8], payload: &[u8], signature: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + protected.len() + signature.len() + 16);
    cbor::head(&mut out, cbor::ARRAY, 4);
    cbor::bytes(&mut out, protected);
    cbor::head(&mut out, cbor::MAP, 0);
    cbor::bytes(&mut out, payload);
    cbor::bytes(&mut out, signature);
    out
}

/// The parts of a decoded COSE_Sign1 that verification needs.
#[derive(Debug, Clone)]
pub(crate) struct Sign1 {
    /// Serialized protected header, exactly as received (it is covered by the signature).
    pub protected: Vec<u8>,
    /// The payload bytes (the attestation document map).
    pub payload: Vec<u8>,
    /// Raw r || s signature.
    pub signature: Vec<u8>,
}

fn err(msg: impl Into<String>) -> VerifyError {
    VerifyError::Cose(msg.into())
}

/// Step 1: decodes a COSE_Sign1 (tagged with 18 or untagged), checks that the protected
/// header is exactly `{1: -35}` and that nothing follows the item.
pub(crate) fn decode_sign1(document: &[u8]) -> Result<Sign1, VerifyError> {
    let value = cbor::decode_one(document).map_err(err)?;
    let value = match value {
        Value::Tag(COSE_SIGN1_TAG, inner) => *inner,
        Value::Tag(tag, _) => {
            return Err(err(format!("unexpected CBOR tag {tag} (COSE_Sign1 is 18)")));
        }
        other => other,
    };
    let Value::Array(items) = value else {
        return Err(err("not a CBOR array"));
    };
    let [protected, unprotected, payload, signature]: [Value; 4] = items
        .try_into()
        .map_err(|items: Vec<Value>| err(format!("array has {} items, expected 4", items.len())))?;

    let Value::Bytes(protected) = protected else {
        return Err(err("protected header is not a byte string"));
    };
    check_protected_header(&protected)?;
    if !matches!(unprotected, Value::Map(_)) {
        return Err(err("unprotected header is not a map"));
    }
    let Value::Bytes(payload) = payload else {
        return Err(err("payload is not a byte string (detached payloads are not accepted)"));
    };
    let Value::Bytes(signature) = signature else {
        return Err(err("signature is not a byte string"));
    };
    if signature.len() != ES384_SIGNATURE_LEN {
        return Err(err(format!(
            "signature is {} bytes, expected {ES384_SIGNATURE_LEN} (ES384 r || s)",
            signature.len()
        )));
    }
    Ok(Sign1 { protected, payload, signature })
}

fn check_protected_header(protected: &[u8]) -> Result<(), VerifyError> {
    let header = cbor::decode_one(protected).map_err(|e| err(format!("protected header: {e}")))?;
    let Value::Map(entries) = header else {
        return Err(err("protected header is not a map"));
    };
    match entries.as_slice() {
        [(Value::Integer(k), Value::Integer(alg))]
            if i128::from(*k) == 1 && i128::from(*alg) == i128::from(ALG_ES384) =>
        {
            Ok(())
        }
        _ => Err(err("protected header is not exactly {1: -35} (alg ES384)")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn roundtrip_untagged_and_tagged() {
        let sig = [7u8; 96];
        let doc = encode_sign1(&ES384_PROTECTED_HEADER, b"payload", &sig);
        let s = decode_sign1(&doc).unwrap();
        assert_eq!(s.payload, b"payload");
        assert_eq!(s.signature, sig);
        let mut tagged = vec![0xd2];
        tagged.extend_from_slice(&doc);
        assert_eq!(decode_sign1(&tagged).unwrap().payload, b"payload");
        let mut other_tag = vec![0xd1];
        other_tag.extend_from_slice(&doc);
        assert!(decode_sign1(&other_tag).is_err());
    }

    #[test]
    fn rejects_other_protected_headers() {
        let sig = [7u8; 96];
        // ES256 {1: -7}
        let doc = encode_sign1(&[0xa1, 0x01, 0x26], b"p", &sig);
        assert!(matches!(decode_sign1(&doc), Err(VerifyError::Cose(_))));
        // {1: -35, 4: h''} (extra entry)
        let doc = encode_sign1(&[0xa2, 0x01, 0x38, 0x22, 0x04, 0x40], b"p", &sig);
        assert!(decode_sign1(&doc).is_err());
        // empty
        let doc = encode_sign1(&[], b"p", &sig);
        assert!(decode_sign1(&doc).is_err());
        // trailing byte inside the protected bstr
        let doc = encode_sign1(&[0xa1, 0x01, 0x38, 0x22, 0x00], b"p", &sig);
        assert!(decode_sign1(&doc).is_err());
    }

    #[test]
    fn sig_structure_matches_rfc_layout() {
        let s = sig_structure(&ES384_PROTECTED_HEADER, b"ab");
        let mut want = vec![0x84, 0x6a];
        want.extend_from_slice(b"Signature1");
        want.extend_from_slice(&[0x44, 0xa1, 0x01, 0x38, 0x22, 0x40, 0x42, b'a', b'b']);
        assert_eq!(s, want);
    }
}
