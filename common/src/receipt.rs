//! The receipt: a deterministic CBOR description of one enclave result. See `SPEC.md`.
//!
//! Encoded in RFC 8949 core deterministic encoding (definite lengths, shortest integer forms,
//! map keys sorted bytewise by their encoding), so any client can re-encode a decoded receipt and
//! compare bytes. The attestation document's `user_data` is [`Receipt::digest`] of those bytes.

use ciborium::Value;
use sha2::{Digest, Sha256};

use crate::protocol::Curve;

/// The receipt format version.
pub const RECEIPT_VERSION: u64 = 1;

/// The largest receipt a decoder accepts: room for a maximal message plus the other fields.
pub const MAX_RECEIPT_LEN: usize = crate::protocol::MAX_MESSAGE_LEN + 1024;

/// What a receipt describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReceiptKind {
    /// A new wallet's public key.
    WalletCreated,
    /// A signature over a 32-byte hash.
    Hash,
    /// A signature over a message.
    Message,
}

impl ReceiptKind {
    /// The text value in the receipt.
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptKind::WalletCreated => "WalletCreated",
            ReceiptKind::Hash => "Hash",
            ReceiptKind::Message => "Message",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "WalletCreated" => Some(ReceiptKind::WalletCreated),
            "Hash" => Some(ReceiptKind::Hash),
            "Message" => Some(ReceiptKind::Message),
            _ => None,
        }
    }
}

/// A decoded receipt (version 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// What this receipt describes.
    pub kind: ReceiptKind,
    /// The wallet.
    pub wallet_id: String,
    /// The wallet's curve.
    pub curve: Curve,
    /// SEC1 compressed (33 bytes) for secp256k1, 32 bytes for Ed25519.
    pub public_key: Vec<u8>,
    /// SHA-256 of the bytes submitted for signing; `None` for `WalletCreated`.
    pub payload_sha256: Option<[u8; 32]>,
    /// The bytes submitted for signing (the 32-byte hash, or the message), so that a receipt
    /// alone lets anyone check the signature; `None` for `WalletCreated`.
    pub payload: Option<Vec<u8>>,
    /// The encoded signature; `None` for `WalletCreated`.
    pub signature: Option<Vec<u8>>,
    /// The id of the signature request or wallet creation.
    pub request_id: String,
    /// The client's nonce (`X-Request-Nonce`), when it sent one: in session mode the receipt is
    /// where a client finds it, since the session document is shared by many requests.
    pub nonce: Option<Vec<u8>>,
    /// Milliseconds since the epoch, from the enclave's clock.
    pub time: u64,
}

/// Why bytes are not a valid receipt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptError {
    /// Longer than [`MAX_RECEIPT_LEN`].
    #[error("receipt is larger than {MAX_RECEIPT_LEN} bytes")]
    TooLarge,
    /// Not one CBOR map.
    #[error("receipt is not a CBOR map: {0}")]
    Malformed(String),
    /// A field is missing or has the wrong type or value.
    #[error("receipt field `{0}` is missing or invalid")]
    Field(&'static str),
    /// Valid CBOR but not in deterministic encoding, so the signed bytes are ambiguous.
    #[error("receipt is not in deterministic CBOR encoding")]
    NotDeterministic,
    /// A key appears more than once.
    #[error("receipt repeats a map key")]
    DuplicateKey,
    /// A receipt version this build does not know.
    #[error("unsupported receipt version")]
    Version,
}

impl Receipt {
    /// The deterministic CBOR encoding.
    pub fn to_cbor(&self) -> Vec<u8> {
        let mut entries: Vec<(&str, Value)> = vec![
            ("v", Value::Integer(RECEIPT_VERSION.into())),
            ("kind", Value::Text(self.kind.as_str().into())),
            ("walletId", Value::Text(self.wallet_id.clone())),
            ("curve", Value::Text(self.curve.as_str().into())),
            ("publicKey", Value::Bytes(self.public_key.clone())),
            ("requestId", Value::Text(self.request_id.clone())),
            ("time", Value::Integer(self.time.into())),
        ];
        if let Some(digest) = self.payload_sha256 {
            entries.push(("payloadSha256", Value::Bytes(digest.to_vec())));
        }
        if let Some(nonce) = &self.nonce {
            entries.push(("nonce", Value::Bytes(nonce.clone())));
        }
        if let Some(payload) = &self.payload {
            entries.push(("payload", Value::Bytes(payload.clone())));
        }
        if let Some(signature) = &self.signature {
            entries.push(("signature", Value::Bytes(signature.clone())));
        }
        encode_deterministic_map(entries)
    }

    /// SHA-256 of the encoded receipt: the attestation document's `user_data`.
    pub fn digest(receipt_bytes: &[u8]) -> [u8; 32] {
        Sha256::digest(receipt_bytes).into()
    }

    /// Decodes a receipt, refusing anything that is not in deterministic encoding. Unknown keys
    /// are allowed (later versions may add fields) but still count for the byte comparison.
    pub fn from_cbor(bytes: &[u8]) -> Result<Receipt, ReceiptError> {
        if bytes.len() > MAX_RECEIPT_LEN {
            return Err(ReceiptError::TooLarge);
        }
        let mut reader = bytes;
        let value: Value = ciborium::de::from_reader_with_recursion_limit(&mut reader, 16)
            .map_err(|e| ReceiptError::Malformed(e.to_string()))?;
        if !reader.is_empty() {
            return Err(ReceiptError::Malformed("trailing bytes".into()));
        }
        let Value::Map(entries) = value else {
            return Err(ReceiptError::Malformed("not a map".into()));
        };
        // Deterministic form: re-encoding the decoded entries in canonical order gives the same bytes.
        let mut keyed = Vec::with_capacity(entries.len());
        for (key, value) in &entries {
            let Value::Text(key) = key else {
                return Err(ReceiptError::Malformed("non-text key".into()));
            };
            keyed.push((key.as_str(), value.clone()));
        }
        // RFC 8949 forbids repeated keys; decoders disagree on which copy wins, so the same
        // signed bytes could read differently elsewhere.
        let mut names: Vec<&str> = keyed.iter().map(|(k, _)| *k).collect();
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err(ReceiptError::DuplicateKey);
        }
        if encode_deterministic_map(keyed) != bytes {
            return Err(ReceiptError::NotDeterministic);
        }
        let get = |name: &'static str| {
            entries.iter().find(|(k, _)| matches!(k, Value::Text(t) if t == name)).map(|(_, v)| v)
        };
        let text = |name: &'static str| match get(name) {
            Some(Value::Text(t)) => Ok(t.clone()),
            _ => Err(ReceiptError::Field(name)),
        };
        let bytes_field = |name: &'static str| match get(name) {
            Some(Value::Bytes(b)) => Ok(Some(b.clone())),
            None => Ok(None),
            _ => Err(ReceiptError::Field(name)),
        };
        let uint = |name: &'static str| match get(name) {
            Some(Value::Integer(i)) => u64::try_from(*i).map_err(|_| ReceiptError::Field(name)),
            _ => Err(ReceiptError::Field(name)),
        };

        if uint("v")? != RECEIPT_VERSION {
            return Err(ReceiptError::Version);
        }
        let kind = ReceiptKind::parse(&text("kind")?).ok_or(ReceiptError::Field("kind"))?;
        let curve: Curve = text("curve")?.parse().map_err(|_| ReceiptError::Field("curve"))?;
        let public_key = bytes_field("publicKey")?.ok_or(ReceiptError::Field("publicKey"))?;
        if public_key.len() != curve.public_key_len() {
            return Err(ReceiptError::Field("publicKey"));
        }
        let payload_sha256 = match bytes_field("payloadSha256")? {
            Some(b) => Some(<[u8; 32]>::try_from(b).map_err(|_| ReceiptError::Field("payloadSha256"))?),
            None => None,
        };
        let signature = bytes_field("signature")?;
        let payload = bytes_field("payload")?;
        let is_signature = kind != ReceiptKind::WalletCreated;
        if payload_sha256.is_some() != is_signature {
            return Err(ReceiptError::Field("payloadSha256"));
        }
        if signature.is_some() != is_signature {
            return Err(ReceiptError::Field("signature"));
        }
        match (&payload, &payload_sha256) {
            (None, None) => {}
            (Some(p), Some(d)) if Receipt::digest(p) == *d => {}
            _ => return Err(ReceiptError::Field("payload")),
        }
        Ok(Receipt {
            kind,
            wallet_id: text("walletId")?,
            curve,
            public_key,
            payload_sha256,
            payload,
            signature,
            request_id: text("requestId")?,
            nonce: bytes_field("nonce")?,
            time: uint("time")?,
        })
    }
}

/// Encodes a map with text keys in RFC 8949 core deterministic order: keys sorted bytewise by
/// their encoding, which for text keys means shorter keys first, then byte order.
fn encode_deterministic_map(mut entries: Vec<(&str, Value)>) -> Vec<u8> {
    entries.sort_by(|(a, _), (b, _)| a.len().cmp(&b.len()).then_with(|| a.as_bytes().cmp(b.as_bytes())));
    let map = Value::Map(entries.into_iter().map(|(k, v)| (Value::Text(k.to_owned()), v)).collect());
    let mut out = Vec::with_capacity(256);
    // ciborium writes definite lengths and shortest integer forms; writing to a Vec cannot fail.
    if let Err(e) = ciborium::into_writer(&map, &mut out) {
        unreachable!("CBOR encoding into memory failed: {e}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Receipt {
        Receipt {
            kind: ReceiptKind::Hash,
            wallet_id: "wa-1".into(),
            curve: Curve::Ed25519,
            public_key: vec![7; 32],
            payload_sha256: Some(Receipt::digest(&[1; 32])),
            payload: Some(vec![1; 32]),
            signature: Some(vec![2; 64]),
            request_id: "sig-1".into(),
            nonce: Some(vec![3; 8]),
            time: 1_700_000_000_000,
        }
    }

    #[test]
    fn round_trips() {
        let bytes = sample().to_cbor();
        assert_eq!(Receipt::from_cbor(&bytes).unwrap(), sample());
    }

    #[test]
    fn golden_wallet_created_receipt() {
        let receipt = Receipt {
            kind: ReceiptKind::WalletCreated,
            wallet_id: "wa-1".into(),
            curve: Curve::Ed25519,
            public_key: vec![0; 32],
            payload_sha256: None,
            payload: None,
            signature: None,
            request_id: "wc-1".into(),
            nonce: None,
            time: 1,
        };
        let expected = concat!(
            "a7", // map of 7, keys in canonical order:
            "6176",
            "01", // "v": 1
            "646b696e64",
            "6d57616c6c657443726561746564", // "kind": "WalletCreated"
            "6474696d65",
            "01", // "time": 1
            "656375727665",
            "6765643235353139", // "curve": "ed25519"
            "6877616c6c65744964",
            "6477612d31", // "walletId": "wa-1"
            "697075626c69634b6579",
            "5820",
            "00000000000000000000000000000000",
            "00000000000000000000000000000000", // "publicKey": 32 zero bytes
            "69726571756573744964",
            "6477632d31", // "requestId": "wc-1"
        );
        let bytes = receipt.to_cbor();
        assert_eq!(hex::encode(&bytes), expected);
        assert_eq!(Receipt::from_cbor(&bytes).unwrap(), receipt);
    }

    #[test]
    fn refuses_non_deterministic_encoding() {
        let bytes = sample().to_cbor();
        // Same content, but the map header in a longer form (0xb8 0x09 instead of 0xa9).
        assert_eq!(bytes[0], 0xab);
        let mut long_header = vec![0xb8, 11];
        long_header.extend_from_slice(&bytes[1..]);
        assert_eq!(Receipt::from_cbor(&long_header), Err(ReceiptError::NotDeterministic));
    }

    #[test]
    fn refuses_payload_that_does_not_match_its_digest() {
        let mut receipt = sample();
        receipt.payload = Some(vec![9; 32]);
        assert_eq!(Receipt::from_cbor(&receipt.to_cbor()), Err(ReceiptError::Field("payload")));
    }

    #[test]
    fn refuses_missing_signature_on_a_signature_receipt() {
        let mut receipt = sample();
        receipt.signature = None;
        assert_eq!(Receipt::from_cbor(&receipt.to_cbor()), Err(ReceiptError::Field("signature")));
    }
}
