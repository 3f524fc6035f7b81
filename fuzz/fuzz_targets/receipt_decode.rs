//! Receipts: decoding never panics, and a decoded receipt re-encodes to exactly the input bytes
//! (the deterministic-encoding promise that makes `user_data = SHA-256(receipt)` unambiguous).
//!
//! Exception, by SPEC.md §3: decoders ignore keys they do not know, and `to_cbor` cannot bring
//! them back. For such inputs the re-encoding must decode to the same receipt instead.
#![no_main]

use ciborium::Value;
use libfuzzer_sys::fuzz_target;
use signer_common::receipt::Receipt;

const KNOWN_KEYS: [&str; 11] = [
    "v",
    "kind",
    "walletId",
    "curve",
    "publicKey",
    "payloadSha256",
    "payload",
    "signature",
    "requestId",
    "nonce",
    "time",
];

/// Whether every key of the (already decoded, so well-formed) map is one a version-1 receipt has.
fn only_known_keys(data: &[u8]) -> bool {
    match ciborium::de::from_reader::<Value, _>(data) {
        Ok(Value::Map(entries)) => {
            entries.iter().all(|(k, _)| matches!(k, Value::Text(t) if KNOWN_KEYS.contains(&t.as_str())))
        }
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(receipt) = Receipt::from_cbor(data) else {
        return;
    };
    let encoded = receipt.to_cbor();
    if only_known_keys(data) {
        assert_eq!(encoded, data, "a decoded receipt does not re-encode to its bytes");
    } else {
        assert_eq!(Receipt::from_cbor(&encoded).as_ref(), Ok(&receipt), "re-encoding changed the receipt");
    }
});
